#include "netfilter/diff.h"

#include <algorithm>
#include <map>
#include <set>

namespace kubenode::netfilter {
namespace {

bool sameDefinition(const Set& a, const Set& b) {
  return a.keyType == b.keyType && a.isVerdictMap == b.isVerdictMap && a.dynamic == b.dynamic &&
         a.timeoutSeconds == b.timeoutSeconds && a.maxElements == b.maxElements;
}

bool referencesSet(const Chain& c, const std::string& set) {
  for (const Rule& r : c.rules) {
    for (const Match& m : r.matches) {
      if (const auto* s = std::get_if<SetMatch>(&m); s && s->set == set)
        return true;
    }
    for (const Statement& st : r.statements) {
      if (const auto* u = std::get_if<SetUpdateStatement>(&st); u && u->set == set)
        return true;
    }
    if (const auto* v = std::get_if<VmapVerdict>(&r.verdict); v && v->map == set)
      return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> RulesetDiff::touchedChains() const {
  std::set<std::string> names;
  for (const Chain& c : chainsToAdd)
    names.insert(c.name);
  for (const Chain& c : chainsToReplace)
    names.insert(c.name);
  names.insert(chainsToFlush.begin(), chainsToFlush.end());
  names.insert(chainsToDelete.begin(), chainsToDelete.end());
  return {names.begin(), names.end()};
}

RulesetDiff diffRulesets(const Ruleset& applied, const Ruleset& desired) {
  RulesetDiff d;
  std::map<std::string, const Chain*> old;
  for (const Chain& c : applied.chains)
    old[c.name] = &c;
  std::map<std::string, const Set*> oldSets;
  for (const Set& s : applied.sets)
    oldSets[s.name] = &s;

  // Sets first: a redefined set forces the chains that use it to be rewritten,
  // since the kernel refuses to delete a set a rule still refers to.
  std::set<std::string> redefined;
  std::set<std::string> desiredSets;
  for (const Set& s : desired.sets) {
    desiredSets.insert(s.name);
    auto it = oldSets.find(s.name);
    if (it == oldSets.end()) {
      d.setsToAdd.push_back(s);
      continue;
    }
    const Set& was = *it->second;
    if (!sameDefinition(was, s)) {
      redefined.insert(s.name);
      d.setsToDelete.push_back(s.name);
      Set fresh = s;
      if (fresh.dynamic)
        fresh.elements.clear();
      d.setsToAdd.push_back(std::move(fresh));
      continue;
    }
    if (s.dynamic)
      continue;
    // Both element lists are sorted by key; walk them together.
    size_t i = 0, j = 0;
    while (i < was.elements.size() || j < s.elements.size()) {
      if (j == s.elements.size() ||
          (i < was.elements.size() && was.elements[i].key < s.elements[j].key)) {
        d.elementsToDelete.push_back({s.name, was.elements[i++]});
      } else if (i == was.elements.size() || s.elements[j].key < was.elements[i].key) {
        d.elementsToAdd.push_back({s.name, s.elements[j++]});
      } else {
        if (!(was.elements[i] == s.elements[j])) {
          // A verdict or comment changed: the kernel has no in-place update.
          d.elementsToDelete.push_back({s.name, was.elements[i]});
          d.elementsToAdd.push_back({s.name, s.elements[j]});
        }
        ++i;
        ++j;
      }
    }
  }
  for (const Set& s : applied.sets) {
    if (!desiredSets.count(s.name))
      d.setsToDelete.push_back(s.name);
  }

  std::set<std::string> desiredChains;
  for (const Chain& c : desired.chains) {
    desiredChains.insert(c.name);
    auto it = old.find(c.name);
    if (it == old.end()) {
      d.chainsToAdd.push_back(c);
      continue;
    }
    const Chain& was = *it->second;
    if (was.base != c.base)
      d.needsFullRebuild = true;
    bool usesRedefined = std::any_of(redefined.begin(), redefined.end(),
                                     [&](const std::string& s) { return referencesSet(was, s); });
    if (was.rules != c.rules || usesRedefined)
      d.chainsToReplace.push_back(c);
  }
  for (const Chain& c : applied.chains) {
    if (desiredChains.count(c.name))
      continue;
    d.chainsToFlush.push_back(c.name);
    d.chainsToDelete.push_back(c.name);
  }
  // A stale chain's rules may use a set that is going away: flushing it first
  // (step 1) releases that reference.
  return d;
}

}  // namespace kubenode::netfilter
