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
