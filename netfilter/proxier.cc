#include "netfilter/proxier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "netfilter/chain_names.h"
#include "netfilter/diff.h"
#include "netfilter/service_port.h"

namespace kubenode::netfilter {

Proxier::Proxier(ProxierOptions options, RuleWriter& writer, Conntrack* conntrack, TimeSource& time,
                 SyncObserver* observer)
    : options_(std::move(options)),
      writer_(writer),
      conntrack_(conntrack),
      time_(time),
      observer_(observer),
      timer_(time.createTimer([this] { onTimer(); })) {}

Proxier::~Proxier() = default;

void Proxier::start() {
  started_ = true;
  pending_ = true;
  nextPeriodic_ = time_.now() + options_.syncPeriod;
  schedule();
}

void Proxier::setServices(std::vector<api::Service> services) {
  services_ = std::move(services);
  requestSync();
}

void Proxier::setEndpointSlices(std::vector<api::EndpointSlice> slices) {
  slices_ = std::move(slices);
  requestSync();
}

void Proxier::requestSync() {
  pending_ = true;
  if (started_)
    schedule();
}

// One timer serves both the rate-limited sync of recorded changes (no sooner
// than --min-sync-period after the previous sync started, as kube-proxy's
// BoundedFrequencyRunner) and the periodic one.
void Proxier::schedule() {
  SteadyTime when = nextPeriodic_;
  if (pending_) {
    SteadyTime earliest = time_.now();
    if (lastSyncStart_)
      earliest = std::max(earliest, *lastSyncStart_ + options_.minSyncPeriod);
    when = std::min(when, earliest);
  }
  timer_->enableAt(when);
}

void Proxier::onTimer() {
  const SteadyTime now = time_.now();
  const bool periodic = now >= nextPeriodic_;
  const bool allowed = !lastSyncStart_ || now >= *lastSyncStart_ + options_.minSyncPeriod;
  if (periodic || (pending_ && allowed)) {
    syncProxyRules(periodic);
    return;
  }
  schedule();
}

namespace {

// The service ports present before or after that differ, each side sorted as
// buildServicePorts sorts them (by name, then protocol).
void changedPorts(const std::vector<ServicePortInfo>& before,
                  const std::vector<ServicePortInfo>& after, std::vector<ServicePortInfo>& was,
                  std::vector<ServicePortInfo>& now) {
  auto key = [](const ServicePortInfo& p) { return std::tie(p.name, p.protocol); };
  size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    if (j == after.size() || (i < before.size() && key(before[i]) < key(after[j]))) {
      was.push_back(before[i++]);
    } else if (i == before.size() || key(after[j]) < key(before[i])) {
      now.push_back(after[j++]);
    } else {
      if (!(before[i] == after[j])) {
        was.push_back(before[i]);
        now.push_back(after[j]);
      }
      ++i;
      ++j;
    }
  }
}

// A diff made only of per-service objects: KUBE-SVC/SVL/EXT/FW/SEP chains
// (named after their own service port, so no other port shares them), affinity
// sets (KUBE-SEP-*) and map elements.
bool onlyServiceObjects(const RulesetDiff& d) {
  auto serviceChain = [](const std::string& name) { return isServiceChainName(name); };
  auto serviceSet = [](const std::string& name) { return name.rfind("KUBE-SEP-", 0) == 0; };
  for (const Chain& c : d.chainsToAdd)
    if (!serviceChain(c.name))
      return false;
  for (const Chain& c : d.chainsToReplace)
    if (!serviceChain(c.name))
      return false;
  for (const std::string& n : d.chainsToFlush)
    if (!serviceChain(n))
      return false;
  for (const std::string& n : d.chainsToDelete)
    if (!serviceChain(n))
      return false;
  for (const Set& s : d.setsToAdd)
    if (!serviceSet(s.name))
      return false;
  for (const std::string& n : d.setsToDelete)
    if (!serviceSet(n))
      return false;
  return !d.needsFullRebuild;
}

}  // namespace

// kube-proxy recomputes every service on every sync; at 10,000 services that
// costs about a second here (building 110,000 chains and diffing them). A
// service port's chains and elements depend only on that port (README.md,
// "Why this shape"), so the diff between the rulesets of just the changed ports,
// before and after, is the diff of the whole table. Anything else in that diff
// would mean the assumption broke: then nullopt, and the caller diffs the whole
// ruleset.
std::optional<RulesetDiff> Proxier::serviceDiff(const std::vector<ServicePortInfo>& before,
                                                const std::vector<ServicePortInfo>& after) const {
  std::vector<ServicePortInfo> was, now;
  changedPorts(before, after, was, now);
  if (was.empty() && now.empty())
    return RulesetDiff{};
  RulesetDiff d = diffRulesets(buildRuleset(was, options_.node), buildRuleset(now, options_.node));
  if (!onlyServiceObjects(d))
    return std::nullopt;
  return d;
}

SyncRecord Proxier::syncProxyRules(bool periodic) {
  const SteadyTime start = time_.now();
  lastSyncStart_ = start;
  pending_ = false;
  if (periodic)
    nextPeriodic_ = start + options_.syncPeriod;

  SyncRecord record;
  record.periodic = periodic;
  ServicePorts ports = buildServicePorts(services_, slices_, options_.node.nodeName);
  warnings_ = std::move(ports.warnings);

  bool full = needFull_ || !lastApplied_;
  if (periodic && !full) {
    // Drift check: a cheap read-back of sentinels, compared with what the last
    // applied ruleset should look like.
    const ReadBackRequest request = readBackRequestFor(*lastApplied_);
    absl::StatusOr<TableState> state = writer_.readBack(request);
    if (!state.ok()) {
      record.drift = fmt::format("read-back failed: {}", std::string(state.status().message()));
    } else {
      record.drift = describeDrift(expectedTableState(*lastApplied_, request), *state);
    }
    if (!record.drift.empty()) {
      spdlog::warn("proxier: table ip {} changed behind kubenode's back ({}); rebuilding it",
                   options_.node.tableName, record.drift);
      full = true;
    }
  }

  absl::Status status;
  if (full) {
    Ruleset desired = buildRuleset(ports.ports, options_.node);
    status = writer_.apply(desired, nullptr);
    lastApplied_ = std::move(desired);
  } else if (std::optional<RulesetDiff> diff = serviceDiff(lastPorts_, ports.ports)) {
    // Only the service ports that changed were rebuilt and diffed; the copy of
    // the applied ruleset follows the diff. On failure it no longer matches the
    // kernel, which does not matter: the next sync is a full rebuild.
    if (!diff->empty()) {
      applyDiff(*lastApplied_, *diff);
      status = writer_.apply(*lastApplied_, &*diff);
    }
  } else {
    Ruleset desired = buildRuleset(ports.ports, options_.node);
    RulesetDiff d = diffRulesets(*lastApplied_, desired);
    if (!d.empty())
      status = writer_.apply(desired, &d);
    lastApplied_ = std::move(desired);
  }
  record.full = full;
  record.success = status.ok();
  if (status.ok()) {
    needFull_ = false;
    for (const Chain& c : lastApplied_->chains)
      record.rulesProgrammed += c.rules.size();
    record.chainsProgrammed = lastApplied_->chains.size();
    if (conntrack_ != nullptr) {
      ConntrackCleanup cleanup = conntrackCleanupFor(lastPorts_, ports.ports);
      if (!cleanup.empty()) {
        absl::StatusOr<size_t> deleted = conntrack_->deleteUdpEntries(cleanup);
        if (deleted.ok())
          record.conntrackEntriesDeleted = *deleted;
        else
          spdlog::warn("proxier: deleting stale UDP conntrack entries: {}",
                       std::string(deleted.status().message()));
      }
    }
    lastPorts_ = std::move(ports.ports);
  } else {
    // kube-proxy's rule: after any failure nothing is known about the kernel's
    // table, so the next sync rebuilds it whole, after --min-sync-period.
    record.error = std::string(status.message());
    spdlog::error("proxier: sync failed ({}), retrying with a full rebuild: {}",
                  full ? "full" : "partial", record.error);
    needFull_ = true;
    pending_ = true;
  }
  record.durationSeconds = std::chrono::duration<double>(time_.now() - start).count();
  record.finishedAt = time_.wallNow();
  if (started_)
    schedule();
  if (observer_ != nullptr)
    observer_->onSync(record);
  return record;
}

}  // namespace kubenode::netfilter
