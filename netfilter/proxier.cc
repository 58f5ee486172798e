#include "netfilter/proxier.h"

#include <fmt/format.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
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
  auto serviceSet = [](const std::string& name) { return isAffinitySetName(name); };
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
// would mean the assumption broke: then nullopt, and the caller rebuilds fully.
std::optional<Proxier::ServiceDiff> Proxier::serviceDiff(
    const std::vector<ServicePortInfo>& was, const std::vector<ServicePortInfo>& now) const {
  ServiceDiff out;
  if (was.empty() && now.empty())
    return out;
  const Ruleset old = buildRuleset(was, options_.node);
  const Ruleset fresh = buildRuleset(now, options_.node);
  out.diff = diffRulesets(old, fresh);
  if (!onlyServiceObjects(out.diff))
    return std::nullopt;
  // The two partial rulesets know only their own ports' hairpin elements; the
  // reference counts decide which elements really come and go.
  auto hairpinElement = [](const ElementChange& c) { return c.set == kHairpinEndpointsSet; };
  std::erase_if(out.diff.elementsToAdd, hairpinElement);
  std::erase_if(out.diff.elementsToDelete, hairpinElement);
  std::map<uint32_t, int> delta;
  for (const ServicePortInfo& p : was)
    for (Ipv4Addr ip : hairpinAddresses(p))
      --delta[ip.value];
  for (const ServicePortInfo& p : now)
    for (Ipv4Addr ip : hairpinAddresses(p))
      ++delta[ip.value];
  for (const auto& [ip, d] : delta) {
    if (d == 0)
      continue;
    const int64_t before = hairpinRefs(ip);
    const int64_t after = before + d;
    ElementChange c{std::string(kHairpinEndpointsSet),
                    SetElement{{Ipv4Addr{ip}, Ipv4Addr{ip}}, std::nullopt, {}}};
    if (before == 0 && after > 0)
      out.diff.elementsToAdd.push_back(std::move(c));
    else if (before > 0 && after <= 0)
      out.diff.elementsToDelete.push_back(std::move(c));
    out.hairpinDeltas.emplace_back(ip, d);
  }
  auto rules = [](const Ruleset& r) {
    size_t n = 0;
    for (const Chain& c : r.chains)
      n += c.rules.size();
    return static_cast<std::ptrdiff_t>(n);
  };
  out.rulesDelta = rules(fresh) - rules(old);
  return out;
}

uint32_t Proxier::hairpinRefs(uint32_t ip) const {
  auto it = std::lower_bound(hairpinRefs_.begin(), hairpinRefs_.end(),
                             std::pair<uint32_t, uint32_t>{ip, 0});
  return it != hairpinRefs_.end() && it->first == ip ? it->second : 0;
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

  bool full = needFull_ || !applied_;
  if (periodic && !full) {
    // Drift check: a cheap read-back of sentinels, compared with what the
    // applied table should hold.
    absl::StatusOr<TableState> state = writer_.readBack(applied_->request);
    if (!state.ok()) {
      record.drift = fmt::format("read-back failed: {}", std::string(state.status().message()));
    } else {
      record.drift = describeDrift(applied_->expected, *state);
    }
    if (!record.drift.empty()) {
      spdlog::warn("proxier: table ip {} changed behind kubenode's back ({}); rebuilding it",
                   options_.node.tableName, record.drift);
      full = true;
    }
  }

  // Unless rebuilding, the ports that differ from the last successful sync,
  // before and after: all that a diff and the UDP conntrack cleanup look at.
  std::vector<ServicePortInfo> was, now;
  std::optional<ServiceDiff> change;
  if (!full) {
    changedPorts(lastPorts_, ports.ports, was, now);
    change = serviceDiff(was, now);
    if (!change) {
      spdlog::warn("proxier: a service change touched shared objects; rebuilding the table");
      full = true;
    }
  }

  absl::Status status;
  if (full) {
    FullRebuildSummary summary;
    status = writer_.applyFull(ports.ports, options_.node, summary);
    if (status.ok()) {
      Applied a;
      a.request = readBackRequestFor(summary.rest);
      a.expected = summary.expected(a.request);
      a.rules = summary.rules();
      a.chains = summary.chains();
      applied_ = std::move(a);
      std::vector<uint32_t> all;
      for (const ServicePortInfo& p : ports.ports)
        for (Ipv4Addr ip : hairpinAddresses(p))
          all.push_back(ip.value);
      std::sort(all.begin(), all.end());
      hairpinRefs_.clear();
      for (uint32_t ip : all) {
        if (!hairpinRefs_.empty() && hairpinRefs_.back().first == ip)
          ++hairpinRefs_.back().second;
        else
          hairpinRefs_.emplace_back(ip, 1);
      }
      hairpinRefs_.shrink_to_fit();
    }
    // A full rebuild allocates a 100 MB batch at 10,000 services, freed by now;
    // glibc keeps freed heap pages mapped unless asked, so the proxier would sit
    // at its peak size for good.
    malloc_trim(0);
  } else if (!change->diff.empty()) {
    // With a diff the writer reads only the table's family and name.
    Ruleset table;
    table.table = options_.node.tableName;
    const RulesetDiff& d = change->diff;
    status = writer_.apply(table, &d);
    if (status.ok()) {
      // The diff holds service objects only: the sentinel chains keep their
      // rules; the table's object count and the dispatch maps' elements move.
      TableState& e = applied_->expected;
      const std::ptrdiff_t chains = static_cast<std::ptrdiff_t>(d.chainsToAdd.size()) -
                                    static_cast<std::ptrdiff_t>(d.chainsToDelete.size());
      const std::ptrdiff_t sets = static_cast<std::ptrdiff_t>(d.setsToAdd.size()) -
                                  static_cast<std::ptrdiff_t>(d.setsToDelete.size());
      e.objects = static_cast<uint32_t>(static_cast<std::ptrdiff_t>(e.objects) + chains + sets);
      for (const ElementChange& c : d.elementsToDelete) {
        if (auto it = e.elementCounts.find(c.set); it != e.elementCounts.end())
          --it->second;
      }
      for (const ElementChange& c : d.elementsToAdd) {
        if (auto it = e.elementCounts.find(c.set); it != e.elementCounts.end())
          ++it->second;
      }
      applied_->chains =
          static_cast<size_t>(static_cast<std::ptrdiff_t>(applied_->chains) + chains);
      applied_->rules =
          static_cast<size_t>(static_cast<std::ptrdiff_t>(applied_->rules) + change->rulesDelta);
      for (const auto& [ip, d] : change->hairpinDeltas) {
        auto it = std::lower_bound(hairpinRefs_.begin(), hairpinRefs_.end(),
                                   std::pair<uint32_t, uint32_t>{ip, 0});
        const bool present = it != hairpinRefs_.end() && it->first == ip;
        const int64_t n = (present ? int64_t{it->second} : 0) + d;
        if (n <= 0) {
          if (present)
            hairpinRefs_.erase(it);
        } else if (present) {
          it->second = static_cast<uint32_t>(n);
        } else {
          hairpinRefs_.insert(it, {ip, static_cast<uint32_t>(n)});
        }
      }
    }
  }
  record.full = full;
  record.success = status.ok();
  if (status.ok()) {
    needFull_ = false;
    record.rulesProgrammed = applied_->rules;
    record.chainsProgrammed = applied_->chains;
    if (conntrack_ != nullptr) {
      // Ports that did not change add nothing to the cleanup.
      ConntrackCleanup cleanup =
          full ? conntrackCleanupFor(lastPorts_, ports.ports) : conntrackCleanupFor(was, now);
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
