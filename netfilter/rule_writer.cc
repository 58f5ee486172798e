#include "netfilter/rule_writer.h"

#include <fmt/format.h>

#include <algorithm>

#include "netfilter/chain_names.h"

namespace kubenode::netfilter {

ReadBackRequest readBackRequestFor(const Ruleset& ruleset) {
  ReadBackRequest r;
  for (const Chain& c : ruleset.chains) {
    if (c.base || c.name == kServicesChain || c.name == kNodePortsChain ||
        c.name == kMarkMasqChain || c.name == kPostroutingChain)
      r.chains.push_back(c.name);
  }
  for (std::string_view s : {kServiceIPsMap, kServiceNodePortsMap}) {
    if (ruleset.findSet(s) != nullptr)
      r.sets.emplace_back(s);
  }
  return r;
}

TableState expectedTableState(const Ruleset& ruleset, const ReadBackRequest& request) {
  TableState t;
  t.exists = true;
  t.objects = static_cast<uint32_t>(ruleset.chains.size() + ruleset.sets.size());
  for (const std::string& name : request.chains) {
    if (const Chain* c = ruleset.findChain(name))
      t.ruleCounts[name] = c->rules.size();
  }
  for (const std::string& name : request.sets) {
    if (const Set* s = ruleset.findSet(name))
      t.elementCounts[name] = s->elements.size();
  }
  return t;
}

size_t FullRebuildSummary::rules() const {
  size_t n = portRules;
  for (const Chain& c : rest.chains)
    n += c.rules.size();
  return n;
}

TableState FullRebuildSummary::expected(const ReadBackRequest& request) const {
  TableState t = expectedTableState(rest, request);
  t.objects += static_cast<uint32_t>(portChains + portSets);
  return t;
}

FullRebuildSummary summarizeFullRebuild(const Ruleset& whole) {
  FullRebuildSummary s;
  s.rest.family = whole.family;
  s.rest.table = whole.table;
  for (const Chain& c : whole.chains) {
    if (isServiceChainName(c.name)) {
      ++s.portChains;
      s.portRules += c.rules.size();
    } else {
      s.rest.chains.push_back(c);
    }
  }
  for (const Set& set : whole.sets) {
    if (isAffinitySetName(set.name))
      ++s.portSets;
    else
      s.rest.sets.push_back(set);
  }
  return s;
}

absl::Status RuleWriter::applyFull(const std::vector<ServicePortInfo>& ports,
                                   const NodeSettings& node, FullRebuildSummary& summary) {
  const Ruleset whole = buildRuleset(ports, node);
  absl::Status status = apply(whole, nullptr);
  if (status.ok())
    summary = summarizeFullRebuild(whole);
  return status;
}

std::string describeDrift(const TableState& expected, const TableState& actual) {
  if (expected == actual)
    return "";
  if (expected.exists != actual.exists)
    return actual.exists ? "table present, expected none" : "table missing";
  std::vector<std::string> parts;
  if (expected.objects != actual.objects)
    parts.push_back(fmt::format("table holds {} chains and sets, expected {}", actual.objects,
                                expected.objects));
  auto compare = [&parts](const std::map<std::string, size_t>& want,
                          const std::map<std::string, size_t>& have, std::string_view kind,
                          std::string_view what) {
    for (const auto& [name, n] : want) {
      auto it = have.find(name);
      if (it == have.end())
        parts.push_back(fmt::format("{} {} missing", kind, name));
      else if (it->second != n)
        parts.push_back(
            fmt::format("{} {} has {} {}, expected {}", kind, name, it->second, what, n));
    }
    for (const auto& [name, n] : have) {
      if (!want.count(name))
        parts.push_back(fmt::format("unexpected {} {}", kind, name));
    }
  };
  compare(expected.ruleCounts, actual.ruleCounts, "chain", "rules");
  compare(expected.elementCounts, actual.elementCounts, "set", "elements");
  std::string out;
  for (const std::string& p : parts)
    out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace kubenode::netfilter
