#include "netfilter/proxier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

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
  Ruleset desired = buildRuleset(ports.ports, options_.node);

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
                   desired.table, record.drift);
      full = true;
    }
  }

  absl::Status status;
  if (full) {
    status = writer_.apply(desired, nullptr);
  } else {
    RulesetDiff diff = diffRulesets(*lastApplied_, desired);
    if (!diff.empty())
      status = writer_.apply(desired, &diff);
  }
  record.full = full;
  record.success = status.ok();
  if (status.ok()) {
    needFull_ = false;
    for (const Chain& c : desired.chains)
      record.rulesProgrammed += c.rules.size();
    record.chainsProgrammed = desired.chains.size();
    lastApplied_ = std::move(desired);
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
