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
      if (const auto* s = std::get_if<KeySetMatch>(&m); s && s->set == set)
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

namespace {

// The non-base chains, sorted by name, start after the base chains.
std::vector<Chain>::iterator firstRegularChain(std::vector<Chain>& chains) {
  return std::find_if(chains.begin(), chains.end(), [](const Chain& c) { return !c.base; });
}

Chain* findChainSorted(std::vector<Chain>& chains, const std::string& name) {
  auto regular = firstRegularChain(chains);
  for (auto it = chains.begin(); it != regular; ++it) {
    if (it->name == name)
      return &*it;
  }
  auto it = std::lower_bound(regular, chains.end(), name,
                             [](const Chain& c, const std::string& n) { return c.name < n; });
  return it != chains.end() && it->name == name ? &*it : nullptr;
}

Set* findSetSorted(std::vector<Set>& sets, const std::string& name) {
  auto it = std::lower_bound(sets.begin(), sets.end(), name,
                             [](const Set& s, const std::string& n) { return s.name < n; });
  return it != sets.end() && it->name == name ? &*it : nullptr;
}

bool elementBefore(const SetElement& a, const SetElement& b) {
  return a.key < b.key;
}

}  // namespace

void applyDiff(Ruleset& r, const RulesetDiff& d) {
  if (!d.chainsToDelete.empty()) {
    const std::set<std::string> gone(d.chainsToDelete.begin(), d.chainsToDelete.end());
    r.chains.erase(std::remove_if(r.chains.begin(), r.chains.end(),
                                  [&](const Chain& c) { return gone.count(c.name) > 0; }),
                   r.chains.end());
  }
  for (const std::string& name : d.chainsToFlush) {
    if (Chain* c = findChainSorted(r.chains, name))
      c->rules.clear();
  }
  for (const Chain& c : d.chainsToReplace) {
    if (Chain* was = findChainSorted(r.chains, c.name))
      was->rules = c.rules;
  }
  if (!d.chainsToAdd.empty()) {
    std::vector<Chain> added = d.chainsToAdd;
    std::vector<Chain> bases;
    for (auto it = added.begin(); it != added.end();) {
      if (it->base) {
        bases.push_back(std::move(*it));
        it = added.erase(it);
      } else {
        ++it;
      }
    }
    const auto byName = [](const Chain& a, const Chain& b) { return a.name < b.name; };
    std::sort(added.begin(), added.end(), byName);
    const size_t regular = static_cast<size_t>(firstRegularChain(r.chains) - r.chains.begin());
    r.chains.insert(r.chains.begin() + static_cast<std::ptrdiff_t>(regular),
                    std::make_move_iterator(bases.begin()), std::make_move_iterator(bases.end()));
    const size_t middle = r.chains.size();
    r.chains.insert(r.chains.end(), std::make_move_iterator(added.begin()),
                    std::make_move_iterator(added.end()));
    std::inplace_merge(r.chains.begin() + static_cast<std::ptrdiff_t>(regular + bases.size()),
                       r.chains.begin() + static_cast<std::ptrdiff_t>(middle), r.chains.end(),
                       byName);
  }

  for (const ElementChange& e : d.elementsToDelete) {
    if (Set* s = findSetSorted(r.sets, e.set)) {
      auto it = std::lower_bound(s->elements.begin(), s->elements.end(), e.element, elementBefore);
      if (it != s->elements.end() && it->key == e.element.key)
        s->elements.erase(it);
    }
  }
  for (const std::string& name : d.setsToDelete) {
    auto it =
        std::find_if(r.sets.begin(), r.sets.end(), [&](const Set& s) { return s.name == name; });
    if (it != r.sets.end())
      r.sets.erase(it);
  }
  for (const Set& s : d.setsToAdd) {
    auto it = std::lower_bound(r.sets.begin(), r.sets.end(), s.name,
                               [](const Set& x, const std::string& n) { return x.name < n; });
    r.sets.insert(it, s);
  }
  for (const ElementChange& e : d.elementsToAdd) {
    if (Set* s = findSetSorted(r.sets, e.set)) {
      auto it = std::lower_bound(s->elements.begin(), s->elements.end(), e.element, elementBefore);
      s->elements.insert(it, e.element);
    }
  }
}

}  // namespace kubenode::netfilter
