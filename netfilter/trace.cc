#include "netfilter/trace.h"

#include <fmt/format.h>

#include <algorithm>

#include "netfilter/render.h"

namespace kubenode::netfilter {
namespace {

// What evaluating a chain ended with.
enum class Flow { kFellOff, kReturn, kAccept, kDrop, kReject, kDnat };

class Tracer {
 public:
  Tracer(const Ruleset& rs, Packet p, TraceEnvironment& env) : rs_(rs), p_(p), env_(env) {}

  TraceResult run() {
    result_.mark = p_.mark;
    if (p_.locallyGenerated) {
      if (!hook(Hook::kOutput))
        return finish();
      if (!hook(Hook::kPostrouting))
        return finish();
      if (isLocal(p_.dst))
        hook(Hook::kInput);
    } else {
      if (!hook(Hook::kPrerouting))
        return finish();
      if (isLocal(p_.dst)) {
        hook(Hook::kInput);
      } else {
        if (!hook(Hook::kForward))
          return finish();
        hook(Hook::kPostrouting);
      }
    }
    return finish();
  }

 private:
  TraceResult finish() {
    result_.mark = p_.mark;
    return std::move(result_);
  }

  bool isLocal(Ipv4Addr a) const {
    if (a.isLoopback())
      return true;
    return std::find(env_.localAddresses.begin(), env_.localAddresses.end(), a) !=
           env_.localAddresses.end();
  }

  // Runs the base chains of one hook by priority; false when the packet is gone.
  bool hook(Hook h) {
    std::vector<const Chain*> bases;
    for (const Chain& c : rs_.chains) {
      if (c.base && c.base->hook == h)
        bases.push_back(&c);
    }
    std::stable_sort(bases.begin(), bases.end(), [](const Chain* a, const Chain* b) {
      return a->base->priority < b->base->priority;
    });
    for (const Chain* c : bases) {
      Flow f = evalChain(*c, 0);
      if (f == Flow::kDrop || f == Flow::kReject) {
        result_.outcome = f == Flow::kDrop ? TraceOutcome::kDrop : TraceOutcome::kReject;
        return false;
      }
      if (!result_.error.empty())
        return false;
    }
    return true;
  }

  bool matches(const Match& m) {
    if (const auto* x = std::get_if<IpMatch>(&m)) {
      Ipv4Addr a = x->direction == Direction::kSource ? p_.src : p_.dst;
      return x->cidr.contains(a) != x->negate;
    }
    if (const auto* x = std::get_if<PortMatch>(&m)) {
      return p_.protocol == x->protocol && p_.dport == x->port;
    }
    if (const auto* x = std::get_if<L4ProtoMatch>(&m))
      return p_.protocol == x->protocol;
    if (const auto* x = std::get_if<FibLocalMatch>(&m)) {
      return isLocal(x->direction == Direction::kSource ? p_.src : p_.dst);
    }
    if (std::holds_alternative<CtStateNewMatch>(m))
      return true;  // first packets only
    if (const auto* x = std::get_if<MarkMatch>(&m))
      return ((p_.mark & x->mask) != 0) == x->bitsSet;
    if (const auto* x = std::get_if<NumgenMatch>(&m)) {
      uint32_t v = env_.numgen ? env_.numgen(x->modulus) : 0;
      return v % std::max<uint32_t>(x->modulus, 1) == x->value;
    }
    if (const auto* x = std::get_if<SetMatch>(&m)) {
      const auto& s = env_.dynamicSets[x->set];
      return s.count(x->direction == Direction::kSource ? p_.src : p_.dst) > 0;
    }
    if (std::holds_alternative<CtStatusDnatMatch>(m))
      return dnatDone_;
    if (const auto* x = std::get_if<KeySetMatch>(&m)) {
      const Set* s = rs_.findSet(x->set);
      if (s == nullptr) {
        result_.error = fmt::format("unknown set {}", x->set);
        return false;
      }
      const std::vector<KeyValue> key = packetKey(x->key);
      return std::any_of(s->elements.begin(), s->elements.end(),
                         [&](const SetElement& e) { return e.key == key; });
    }
    return false;
  }

  std::vector<KeyValue> packetKey(const std::vector<KeyField>& fields) const {
    std::vector<KeyValue> key;
    for (KeyField f : fields) {
      switch (f) {
        case KeyField::kIpSaddr:
          key.emplace_back(p_.src);
          break;
        case KeyField::kIpDaddr:
          key.emplace_back(p_.dst);
          break;
        case KeyField::kL4Proto:
          key.emplace_back(p_.protocol);
          break;
        case KeyField::kThDport:
          key.emplace_back(Port{p_.dport});
          break;
      }
    }
    return key;
  }

  std::optional<ElementVerdict> lookup(const VmapVerdict& v) {
    const Set* s = rs_.findSet(v.map);
    if (s == nullptr) {
      result_.error = fmt::format("unknown map {}", v.map);
      return std::nullopt;
    }
    const std::vector<KeyValue> key = packetKey(v.key);
    for (const SetElement& e : s->elements) {
      if (e.key == key)
        return e.verdict;
    }
    return std::nullopt;
  }

  Flow call(const std::string& name, int depth) {
    const Chain* c = rs_.findChain(name);
    if (c == nullptr) {
      result_.error = fmt::format("unknown chain {}", name);
      return Flow::kDrop;
    }
    return evalChain(*c, depth + 1);
  }

  // Follows a jump (come back unless terminal) or goto (the callee's end ends us).
  std::optional<Flow> transfer(bool isGoto, const std::string& chain, int depth) {
    Flow f = call(chain, depth);
    if (f == Flow::kFellOff || f == Flow::kReturn) {
      if (isGoto)
        return Flow::kReturn;
      return std::nullopt;  // continue with the next rule
    }
    return f;
  }

  Flow evalChain(const Chain& c, int depth) {
    if (depth > 32) {
      result_.error = fmt::format("chain nesting too deep at {}", c.name);
      return Flow::kDrop;
    }
    for (size_t i = 0; i < c.rules.size(); ++i) {
      const Rule& r = c.rules[i];
      if (!std::all_of(r.matches.begin(), r.matches.end(),
                       [&](const Match& m) { return matches(m); })) {
        continue;
      }
      result_.steps.push_back(TraceStep{c.name, static_cast<int>(i), renderRule(r)});
      for (const Statement& s : r.statements) {
        if (const auto* x = std::get_if<MarkOrStatement>(&s))
          p_.mark |= x->bits;
        if (const auto* x = std::get_if<MarkXorStatement>(&s))
          p_.mark ^= x->bits;
        if (const auto* x = std::get_if<SetUpdateStatement>(&s)) {
          env_.dynamicSets[x->set].insert(x->direction == Direction::kSource ? p_.src : p_.dst);
        }
      }
      std::optional<Flow> out;
      if (const auto* v = std::get_if<JumpVerdict>(&r.verdict)) {
        out = transfer(false, v->chain, depth);
      } else if (const auto* v = std::get_if<GotoVerdict>(&r.verdict)) {
        out = transfer(true, v->chain, depth);
      } else if (std::holds_alternative<ReturnVerdict>(r.verdict)) {
        out = Flow::kReturn;
      } else if (std::holds_alternative<AcceptVerdict>(r.verdict)) {
        out = Flow::kAccept;
      } else if (std::holds_alternative<DropVerdict>(r.verdict)) {
        out = Flow::kDrop;
      } else if (std::holds_alternative<RejectVerdict>(r.verdict)) {
        out = Flow::kReject;
      } else if (const auto* v = std::get_if<DnatVerdict>(&r.verdict)) {
        result_.outcome = TraceOutcome::kDnat;
        result_.dnatIp = v->ip;
        result_.dnatPort = v->port;
        p_.dst = v->ip;
        p_.dport = v->port;
        dnatDone_ = true;
        out = Flow::kDnat;  // NAT statements end the chain with an accept
      } else if (std::holds_alternative<MasqueradeVerdict>(r.verdict)) {
        result_.masqueraded = true;
        out = Flow::kAccept;
      } else if (const auto* v = std::get_if<VmapVerdict>(&r.verdict)) {
        std::optional<ElementVerdict> ev = lookup(*v);
        if (ev) {
          switch (ev->kind) {
            case ElementVerdict::Kind::kJump:
              out = transfer(false, ev->chain, depth);
              break;
            case ElementVerdict::Kind::kGoto:
              out = transfer(true, ev->chain, depth);
              break;
            case ElementVerdict::Kind::kDrop:
              out = Flow::kDrop;
              break;
            case ElementVerdict::Kind::kAccept:
              out = Flow::kAccept;
              break;
          }
        }
      }
      if (!result_.error.empty())
        return Flow::kDrop;
      if (out)
        return *out;
    }
    return Flow::kFellOff;
  }

  const Ruleset& rs_;
  Packet p_;
  TraceEnvironment& env_;
  TraceResult result_;
  bool dnatDone_ = false;  // `ct status dnat` from here on
};

}  // namespace

std::string TraceResult::dnatTo() const {
  if (!dnatIp)
    return "";
  return fmt::format("{}:{}", dnatIp->toString(), dnatPort);
}

std::vector<std::string> TraceResult::chains() const {
  std::vector<std::string> out;
  for (const TraceStep& s : steps) {
    if (out.empty() || out.back() != s.chain)
      out.push_back(s.chain);
  }
  return out;
}

TraceResult tracePacket(const Ruleset& ruleset, const Packet& packet, TraceEnvironment& env) {
  return Tracer(ruleset, packet, env).run();
}

}  // namespace kubenode::netfilter
