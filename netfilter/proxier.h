// The proxier's sync loop, shaped as kube-proxy's: watch handlers only record
// changes; one rate-limited sync (syncProxyRules) computes the desired ruleset
// from all services and slices, diffs it against what was last applied, and
// sends the changes as one transaction. Any failure makes the next sync a full
// rebuild; the periodic sync reads the table back and rebuilds it when someone
// changed it behind kubenode's back; after a successful apply the UDP conntrack
// entries of removed endpoints are deleted. After the first sync only the
// service ports that changed are rebuilt and diffed.
//
//   AsioTimeSource time(io);
//   Proxier proxier({.node = node}, *writer, conntrack.get(), time, &metrics);
//   proxier.start();                          // first sync (full) as soon as possible
//   proxier.setServices(services);            // from the API watch, on the same strand
//   proxier.setEndpointSlices(slices);        // -> one sync at most every --min-sync-period
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/endpoint_slice.h"
#include "api/service.h"
#include "netfilter/conntrack.h"
#include "netfilter/diff.h"
#include "netfilter/rule_writer.h"
#include "netfilter/ruleset.h"
#include "netfilter/time_source.h"

namespace kubenode::netfilter {

// One sync's outcome, for metrics and logs.
struct SyncRecord {
  bool success = false;
  bool full = false;           // a whole-table rebuild was sent
  bool periodic = false;       // the --sync-period sync (with its drift check)
  std::string drift{};         // what the read-back found changed, if anything
  std::string error{};         // why the apply failed
  double durationSeconds = 0;  // the whole sync: compute, diff, apply, conntrack
  size_t rulesProgrammed = 0;  // in the table after a success
  size_t chainsProgrammed = 0;
  size_t conntrackEntriesDeleted = 0;
  std::chrono::system_clock::time_point finishedAt{};
};

// Metrics hooks: the agent exports these through prometheus (sync duration
// histogram, rules and chains programmed, last successful sync time, sync
// errors). Called on the proxier's strand after every sync.
class SyncObserver {
 public:
  virtual ~SyncObserver() = default;
  virtual void onSync(const SyncRecord& record) = 0;
};

struct ProxierOptions {
  NodeSettings node{};
  Duration minSyncPeriod = std::chrono::seconds(1);  // --min-sync-period
  Duration syncPeriod = std::chrono::seconds(30);    // --sync-period
};

// Thread-safety: every method, and the time source's callbacks, on one strand.
class Proxier {
 public:
  // `conntrack` and `observer` may be null; all pointers must outlive the proxier.
  Proxier(ProxierOptions options, RuleWriter& writer, Conntrack* conntrack, TimeSource& time,
          SyncObserver* observer = nullptr);
  ~Proxier();

  // Schedules the first sync (a full rebuild) now, then the periodic ones.
  void start();
  // Record the complete current lists (as a cache hands them over) and request a
  // sync; nothing is computed here.
  void setServices(std::vector<api::Service> services);
  void setEndpointSlices(std::vector<api::EndpointSlice> slices);
  // Runs one sync now, whatever the rate limit (for `kubenode proxy apply` and
  // tests). `periodic` adds the read-back drift check.
  SyncRecord syncProxyRules(bool periodic = false);

  // Lines about ignored fields and objects from the last sync's inputs.
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool syncPending() const { return pending_; }

 private:
  // What the proxier remembers of the table it programmed: not the ruleset (at
  // 10,000 services x 10 endpoints that is 210,000 rules, over 100 MB), only what
  // the drift check and the metrics need.
  struct Applied {
    ReadBackRequest request{};
    TableState expected{};
    size_t rules = 0;
    size_t chains = 0;
  };
  struct ServiceDiff {
    RulesetDiff diff{};
    std::ptrdiff_t rulesDelta = 0;
    // Changes to hairpinRefs_ once the diff is applied: address, delta.
    std::vector<std::pair<uint32_t, int>> hairpinDeltas{};
  };
  // The diff between the rulesets of the changed ports, before and after.
  std::optional<ServiceDiff> serviceDiff(const std::vector<ServicePortInfo>& was,
                                         const std::vector<ServicePortInfo>& now) const;
  void requestSync();
  void schedule();
  void onTimer();

  ProxierOptions options_;
  RuleWriter& writer_;
  Conntrack* conntrack_;
  TimeSource& time_;
  SyncObserver* observer_;
  std::unique_ptr<Timer> timer_;

  std::vector<api::Service> services_;
  std::vector<api::EndpointSlice> slices_;
  bool started_ = false;
  bool pending_ = false;  // changes recorded since the last sync (or a retry is due)
  bool needFull_ = true;  // the next sync rebuilds the whole table
  std::optional<SteadyTime> lastSyncStart_;
  SteadyTime nextPeriodic_{};
  std::optional<Applied> applied_;  // unset until a sync succeeds; stale after a failure
  std::vector<ServicePortInfo> lastPorts_;
  // How many of lastPorts_ use each endpoint address, sorted by address (a
  // tenth of a hash map's memory at 100,000 endpoints). Ports share endpoints, so
  // the element `ip . ip` of hairpin-endpoints goes only when the count drops to
  // zero, which a diff of the changed ports alone cannot tell.
  std::vector<std::pair<uint32_t, uint32_t>> hairpinRefs_;
  uint32_t hairpinRefs(uint32_t ip) const;
  std::vector<std::string> warnings_;
};

}  // namespace kubenode::netfilter
