#include "netfilter/render.h"

#include <fmt/format.h>

namespace kubenode::netfilter {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string_view dir(Direction d) {
  return d == Direction::kSource ? "saddr" : "daddr";
}

std::string hex(uint32_t v) {
  return fmt::format("0x{:08x}", v);
}

std::string keyField(KeyField f);

std::string joinKey(const std::vector<KeyField>& key) {
  std::string out;
  for (KeyField f : key)
    out += (out.empty() ? "" : " . ") + keyField(f);
  return out;
}

std::string renderMatch(const Match& m) {
  return std::visit(
      Overloaded{
          [](const IpMatch& x) {
            return fmt::format("ip {} {}{}", dir(x.direction), x.negate ? "!= " : "",
                               x.cidr.toString());
          },
          [](const PortMatch& x) {
            return fmt::format("{} dport {}", protocolName(x.protocol), x.port);
          },
          [](const L4ProtoMatch& x) {
            return fmt::format("meta l4proto {}", protocolName(x.protocol));
          },
          [](const FibLocalMatch& x) { return fmt::format("fib {} type local", dir(x.direction)); },
          [](const CtStateNewMatch&) { return std::string("ct state new"); },
          [](const MarkMatch& x) {
            return fmt::format("meta mark & {} {} {}", hex(x.mask),
                               x.bitsSet ? "!=" : "==", hex(0));
          },
          [](const NumgenMatch& x) {
            // nft prints an equality on numgen without "==".
            return fmt::format("numgen random mod {} {}", x.modulus, x.value);
          },
          [](const SetMatch& x) { return fmt::format("ip {} @{}", dir(x.direction), x.set); },
          [](const CtStatusDnatMatch&) { return std::string("ct status dnat"); },
          [](const KeySetMatch& x) { return fmt::format("{} @{}", joinKey(x.key), x.set); },
      },
      m);
}

std::string renderStatement(const Statement& s) {
  return std::visit(Overloaded{
                        [](const MarkOrStatement& x) {
                          return fmt::format("meta mark set meta mark | {}", hex(x.bits));
                        },
                        [](const MarkXorStatement& x) {
                          return fmt::format("meta mark set meta mark ^ {}", hex(x.bits));
                        },
                        [](const SetUpdateStatement& x) {
                          return fmt::format("update @{} {{ ip {} }}", x.set, dir(x.direction));
                        },
                    },
                    s);
}

std::string keyField(KeyField f) {
  switch (f) {
    case KeyField::kIpSaddr:
      return "ip saddr";
    case KeyField::kIpDaddr:
      return "ip daddr";
    case KeyField::kL4Proto:
      return "meta l4proto";
    case KeyField::kThDport:
      return "th dport";
  }
  return "";
}

std::string renderVerdict(const Verdict& v) {
  return std::visit(
      Overloaded{
          [](const ContinueVerdict&) { return std::string(); },
          [](const JumpVerdict& x) { return "jump " + x.chain; },
          [](const GotoVerdict& x) { return "goto " + x.chain; },
          [](const ReturnVerdict&) { return std::string("return"); },
          [](const AcceptVerdict&) { return std::string("accept"); },
          [](const DropVerdict&) { return std::string("drop"); },
          [](const RejectVerdict&) { return std::string("reject"); },
          [](const DnatVerdict& x) {
            return fmt::format("dnat to {}:{}", x.ip.toString(), x.port);
          },
          [](const MasqueradeVerdict& x) {
            return std::string(x.fullyRandom ? "masquerade fully-random" : "masquerade");
          },
          [](const VmapVerdict& x) { return fmt::format("{} vmap @{}", joinKey(x.key), x.map); },
      },
      v);
}

std::string keyTypeName(KeyType t) {
  switch (t) {
    case KeyType::kIpv4Addr:
      return "ipv4_addr";
    case KeyType::kInetProto:
      return "inet_proto";
    case KeyType::kInetService:
      return "inet_service";
  }
  return "";
}

std::string renderKeyValue(const KeyValue& v) {
  return std::visit(Overloaded{
                        [](const Ipv4Addr& x) { return x.toString(); },
                        [](const Protocol& x) { return std::string(protocolName(x)); },
                        [](const Port& x) { return std::to_string(x.value); },
                    },
                    v);
}

std::string hookName(Hook h) {
  switch (h) {
    case Hook::kPrerouting:
      return "prerouting";
    case Hook::kInput:
      return "input";
    case Hook::kForward:
      return "forward";
    case Hook::kOutput:
      return "output";
    case Hook::kPostrouting:
      return "postrouting";
  }
  return "";
}

// nft prints a standard priority by name where that name is valid for the hook.
std::string priorityName(const BaseHook& b) {
  auto relative = [](std::string_view name, int offset) {
    if (offset == 0)
      return std::string(name);
    return fmt::format("{} {} {}", name, offset < 0 ? "-" : "+", offset < 0 ? -offset : offset);
  };
  if (b.type == ChainType::kFilter)
    return relative("filter", b.priority);
  if (b.hook == Hook::kPrerouting)
    return relative("dstnat", b.priority + 100);
  if (b.hook == Hook::kPostrouting)
    return relative("srcnat", b.priority - 100);
  return std::to_string(b.priority);
}

}  // namespace

std::string renderDuration(uint32_t seconds) {
  if (seconds == 0)
    return "0s";
  std::string out;
  uint32_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  if (d)
    out += fmt::format("{}d", d);
  if (h)
    out += fmt::format("{}h", h);
  if (m)
    out += fmt::format("{}m", m);
  if (s)
    out += fmt::format("{}s", s);
  return out;
}

std::string renderRule(const Rule& rule) {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (part.empty())
      return;
    if (!out.empty())
      out += ' ';
    out += part;
  };
  for (const Match& m : rule.matches)
    add(renderMatch(m));
  if (rule.counter)
    add("counter");
  for (const Statement& s : rule.statements)
    add(renderStatement(s));
  add(renderVerdict(rule.verdict));
  if (!rule.comment.empty())
    add(fmt::format("comment \"{}\"", rule.comment));
  return out;
}

std::string renderElement(const SetElement& e) {
  std::string out;
  for (const KeyValue& k : e.key)
    out += (out.empty() ? "" : " . ") + renderKeyValue(k);
  if (!e.comment.empty())
    out += fmt::format(" comment \"{}\"", e.comment);
  if (e.verdict) {
    switch (e.verdict->kind) {
      case ElementVerdict::Kind::kJump:
        out += " : jump " + e.verdict->chain;
        break;
      case ElementVerdict::Kind::kGoto:
        out += " : goto " + e.verdict->chain;
        break;
      case ElementVerdict::Kind::kDrop:
        out += " : drop";
        break;
      case ElementVerdict::Kind::kAccept:
        out += " : accept";
        break;
    }
  }
  return out;
}

std::string renderSet(const Set& set) {
  std::string out = fmt::format("{} {} {{\n", set.isVerdictMap ? "map" : "set", set.name);
  std::string type;
  for (KeyType t : set.keyType)
    type += (type.empty() ? "" : " . ") + keyTypeName(t);
  if (set.isVerdictMap)
    type += " : verdict";
  out += fmt::format("\ttype {}\n", type);
  if (set.maxElements)
    out += fmt::format("\tsize {}\n", *set.maxElements);
  if (set.dynamic || set.timeoutSeconds) {
    std::string flags;
    if (set.dynamic)
      flags = "dynamic";
    if (set.timeoutSeconds)
      flags += flags.empty() ? "timeout" : ",timeout";
    out += fmt::format("\tflags {}\n", flags);
  }
  if (set.timeoutSeconds)
    out += fmt::format("\ttimeout {}\n", renderDuration(*set.timeoutSeconds));
  if (!set.elements.empty()) {
    out += "\telements = { ";
    for (size_t i = 0; i < set.elements.size(); ++i) {
      if (i > 0)
        out += ",\n\t\t     ";
      out += renderElement(set.elements[i]);
    }
    out += " }\n";
  }
  out += "}\n";
  return out;
}

std::string renderChain(const Chain& chain) {
  std::string out = fmt::format("chain {} {{\n", chain.name);
  if (chain.base) {
    out += fmt::format("\ttype {} hook {} priority {}; policy accept;\n",
                       chain.base->type == ChainType::kNat ? "nat" : "filter",
                       hookName(chain.base->hook), priorityName(*chain.base));
  }
  for (const Rule& r : chain.rules)
    out += "\t" + renderRule(r) + "\n";
  out += "}\n";
  return out;
}

std::string renderNft(const Ruleset& ruleset) {
  std::string out = fmt::format("table {} {} {{\n", ruleset.family, ruleset.table);
  bool first = true;
  auto block = [&](const std::string& text) {
    if (!first)
      out += "\n";
    first = false;
    // Indent every line of the block by one tab.
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      out += "\t" + text.substr(start, end - start + 1);
      start = end + 1;
    }
  };
  for (const Set& s : ruleset.sets)
    block(renderSet(s));
  for (const Chain& c : ruleset.chains)
    block(renderChain(c));
  out += "}\n";
  return out;
}

}  // namespace kubenode::netfilter
