// The side-effect boundary of the proxier: program a desired Ruleset into the
// kernel (or, in unit tests, into a fake), remove it, and read back a cheap
// structural summary of what the kernel holds so that the sync loop can notice
// drift (the table deleted or flushed behind kubenode's back).
//
//   NetlinkRuleWriter writer;                     // netfilter/netlink_rule_writer.h
//   RulesetDiff d = diffRulesets(lastApplied, desired);
//   absl::Status s = writer.apply(desired, &d);   // only the changes, one transaction
//   if (!s.ok()) s = writer.apply(desired, nullptr);  // full rebuild, one transaction
//   TableState now = writer.readBack(readBackRequestFor(desired)).value();
//   if (now != expectedTableState(desired, readBackRequestFor(desired))) { /* drift */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netfilter/diff.h"
#include "netfilter/ruleset.h"

namespace kubenode::netfilter {

// Which chains' rules and which sets' elements readBack() counts. Counting every
// rule of a 10,000-service table costs a dump of 300,000 rules; the sync loop
// asks only for sentinels (see readBackRequestFor).
struct ReadBackRequest {
  std::vector<std::string> chains{};
  std::vector<std::string> sets{};
};

// What the kernel holds, reduced to numbers.
struct TableState {
  bool exists = false;
  // The kernel's use count of the table: its chains plus its sets (kubenode
  // makes no other objects). A deleted chain or set shows here.
  uint32_t objects = 0;
  std::map<std::string, size_t> ruleCounts{};     // per requested chain; absent chain: missing
  std::map<std::string, size_t> elementCounts{};  // per requested set; absent set: missing
  friend bool operator==(const TableState&, const TableState&) = default;
};

// The sentinels the sync loop checks: every base chain, KUBE-SERVICES,
// KUBE-NODEPORTS, KUBE-MARK-MASQ and KUBE-POSTROUTING (a flushed table empties
// them all), and the service dispatch maps (flushed maps lose their elements).
ReadBackRequest readBackRequestFor(const Ruleset& ruleset);

// What readBack(request) returns when the kernel holds exactly `ruleset`. Pure.
// Dynamic sets' elements are runtime state: ask only for non-dynamic sets.
TableState expectedTableState(const Ruleset& ruleset, const ReadBackRequest& request);

// Why two states differ, for the log line of a drift repair: "table missing",
// "chain KUBE-SERVICES has 0 rules, expected 3", ... Empty when equal.
std::string describeDrift(const TableState& expected, const TableState& actual);

// What a whole-table rebuild by applyFull() programmed, for the sync loop's
// drift check and metrics, without the per-port chains themselves: `rest` is
// the ruleset's part that buildRulesetByPort() returns (base and global chains,
// the maps with all their elements); the counts cover every port's piece.
struct FullRebuildSummary {
  Ruleset rest{};
  size_t portChains = 0;
  size_t portSets = 0;
  size_t portRules = 0;

  size_t chains() const { return rest.chains.size() + portChains; }
  size_t rules() const;
  // The expected read-back of the sentinels (readBackRequestFor(rest)).
  TableState expected(const ReadBackRequest& request) const;
};

// The summary of a whole ruleset: per-port chains (isServiceChainName) and
// affinity sets counted, the rest copied.
FullRebuildSummary summarizeFullRebuild(const Ruleset& whole);

// Thread-safety: none; one sync loop owns a writer.
class RuleWriter {
 public:
  virtual ~RuleWriter() = default;
  // Program `desired`. With `diff` (from diffRulesets(lastApplied, desired), or
  // an equal diff of only the changed service ports) send only the changes, and
  // read nothing of `desired` but its family and table name; without it rebuild
  // the whole table from `desired`. One atomic
  // transaction either way: on error nothing of it is applied. Codes:
  // kAborted when the kernel's table is not what the diff assumed (the caller
  // should rebuild fully), kUnavailable for transient kernel resource errors,
  // kPermissionDenied without CAP_NET_ADMIN, kInternal otherwise; the message
  // names the object (chain, rule with its nft text, set, element) that failed.
  virtual absl::Status apply(const Ruleset& desired, const RulesetDiff* diff) = 0;
  // Rebuild the whole table as buildRuleset(ports, node) describes it, in one
  // transaction, as apply(desired, nullptr) would; fills `summary` on success.
  // This default builds the whole ruleset first; the netlink writer sends each
  // port's piece as soon as it is built (buildRulesetByPort) and never holds it all.
  virtual absl::Status applyFull(const std::vector<ServicePortInfo>& ports,
                                 const NodeSettings& node, FullRebuildSummary& summary);
  // Remove kubenode's table (no error when absent).
  virtual absl::Status cleanup() = 0;
  // A cheap structural read-back of the table (see ReadBackRequest).
  virtual absl::StatusOr<TableState> readBack(const ReadBackRequest& request) = 0;
};

}  // namespace kubenode::netfilter
