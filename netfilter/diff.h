// What to change to turn the applied ruleset into the desired one, object by
// object, so that one netlink transaction carries only the changes: a
// one-endpoint change touches that service's KUBE-SVC/SVL chain and the
// endpoint's KUBE-SEP chain, nothing else.
//
//   RulesetDiff d = diffRulesets(lastApplied, desired);
//   if (d.empty()) return;  // nothing to send
//   // the writer emits, in this order, in one batch:
//   //  1. flush chainsToReplace and chainsToFlush (stale chains: no rule jumps to them after)
//   //  2. delete elementsToDelete, then setsToDelete (changed definitions and stale sets)
//   //  3. add setsToAdd (with elements), chainsToAdd (empty first, so jumps resolve)
//   //  4. add the rules of chainsToAdd and chainsToReplace, then elementsToAdd
//   //  5. delete chainsToDelete (nftables counts references inside the transaction,
//   //     so a chain emptied and unreferenced in steps 1-2 can go in the same batch)
#pragma once

#include <string>
#include <vector>

#include "netfilter/ruleset.h"

namespace kubenode::netfilter {

struct ElementChange {
  std::string set{};
  SetElement element{};
  friend bool operator==(const ElementChange&, const ElementChange&) = default;
};

struct RulesetDiff {
  std::vector<Set> setsToAdd{};               // new or redefined sets, with their elements
  std::vector<std::string> setsToDelete{};    // stale or redefined
  std::vector<Chain> chainsToAdd{};           // new chains with their rules
  std::vector<Chain> chainsToReplace{};       // existing chains: flush, then these rules
  std::vector<std::string> chainsToFlush{};   // stale chains, flushed now ...
  std::vector<std::string> chainsToDelete{};  // ... and deleted
  std::vector<ElementChange> elementsToDelete{};
  std::vector<ElementChange> elementsToAdd{};
  // A base chain's hook, type or priority differs (kubenode builds the same ones
  // every time, so only after an upgrade): the kernel cannot change them in
  // place; the writer deletes and rebuilds the whole table in one transaction.
  bool needsFullRebuild = false;

  bool empty() const {
    return setsToAdd.empty() && setsToDelete.empty() && chainsToAdd.empty() &&
           chainsToReplace.empty() && chainsToFlush.empty() && chainsToDelete.empty() &&
           elementsToDelete.empty() && elementsToAdd.empty() && !needsFullRebuild;
  }
  // Names of every chain the diff creates, rewrites or removes, sorted.
  std::vector<std::string> touchedChains() const;
};

// Both rulesets must be of the same table. Elements of dynamic sets are runtime
// state (session affinity) and never diffed.
RulesetDiff diffRulesets(const Ruleset& applied, const Ruleset& desired);

// Changes `ruleset` as the kernel changes the table when it commits `diff`, so
// that applyDiff(a, diffRulesets(a, b)) leaves a == b (chains kept base first then
// by name, sets by name, elements by key). Lets the proxier keep its copy of the
// applied ruleset current from a diff of only the service ports that changed,
// without rebuilding the whole ruleset. Cost: proportional to the diff, plus one
// pass over the chains when chains are deleted.
void applyDiff(Ruleset& ruleset, const RulesetDiff& diff);

}  // namespace kubenode::netfilter
