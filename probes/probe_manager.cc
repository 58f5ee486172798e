#include "probes/probe_manager.h"

#include <algorithm>
#include "fmt/format.h"

namespace kubenode::probes {

namespace {

constexpr std::string_view kRuntimePrefix = "://";

std::string stripRuntimePrefix(const std::string& id) {
  size_t at = id.find(kRuntimePrefix);
  return at == std::string::npos ? id : id.substr(at + kRuntimePrefix.size());
}

const api::ContainerStatus* statusOf(const api::Pod& pod, const std::string& name) {
  for (const api::ContainerStatus& s : pod.status.containerStatuses) {
    if (s.name == name)
      return &s;
  }
  return nullptr;
}

Result initialResult(ProbeType type) {
  switch (type) {
    case ProbeType::kReadiness:
      return Result::kFailure;
    case ProbeType::kLiveness:
      return Result::kSuccess;
    case ProbeType::kStartup:
      return Result::kUnknown;
  }
  return Result::kUnknown;
}

bool terminal(const api::Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

}  // namespace

struct ProbeManager::Worker {
  Key key;
  uint64_t serial = 0;
  ProbeType type = ProbeType::kLiveness;
  Worker* startup = nullptr;  // the same container's startup worker, if it has one
  std::shared_ptr<const api::Pod> pod;
  size_t containerIndex = 0;
  absl::Time created;

  std::string containerId;  // the attempt the results are about
  Result published = Result::kUnknown;
  Result lastResult = Result::kUnknown;  // the latest outcome, counted by resultRun
  int resultRun = 0;
  bool onHold = false;  // a liveness/startup failure: wait for the next container
  bool done = false;    // no more probing for this pod
  bool inFlight = false;
  absl::Time nextRun = absl::InfiniteFuture();
  // The target resolved for (containerId, podIP): resolving is string work per probe.
  std::optional<absl::StatusOr<ProbeTarget>> target;
  std::string targetPodIp;

  const api::Container& container() const { return pod->spec.containers[containerIndex]; }
  const api::Probe& spec() const { return *probeOf(container(), type); }
  absl::Duration period() const { return absl::Seconds(std::max(1, spec().periodSeconds)); }
};

ProbeManager::ProbeManager(ProbeManagerOptions options) : options_(std::move(options)) {
  if (!options_.random)
    options_.random = [] { return 0.0; };
}

ProbeManager::~ProbeManager() = default;

absl::Duration ProbeManager::firstJitter(const Worker& w, absl::Time now) {
  // Right after a (re)start of the agent every container's probes would fire together:
  // spread them over a whole period as the kubelet does. Later, a new container's first
  // probe only needs to stay out of step with its neighbours.
  absl::Duration range = w.period();
  if (now - options_.start >= range)
    range = std::min(range, kMaxFirstProbeJitter);
  double r = std::clamp(options_.random(), 0.0, 0.999999);
  return range * r;
}

void ProbeManager::unschedule(Worker& w) {
  schedule_.erase({w.nextRun, &w});
}

void ProbeManager::reschedule(Worker& w, absl::Time nextRun) {
  unschedule(w);
  w.nextRun = nextRun;
  if (!w.done && !w.inFlight && nextRun != absl::InfiniteFuture())
    schedule_.insert({nextRun, &w});
}

void ProbeManager::setResult(Worker& w, Result r) {
  if (w.published == r)
    return;
  w.published = r;
  changes_.push_back(ResultChange{.podUid = std::get<0>(w.key),
                                  .containerName = std::get<1>(w.key),
                                  .containerId = w.containerId,
                                  .type = w.type,
                                  .result = r});
}

void ProbeManager::updatePods(const std::vector<api::Pod>& pods, absl::Time now) {
  std::set<Key> seen;
  for (const api::Pod& p : pods) {
    if (terminal(p))
      continue;  // the kubelet's workers exit once the pod is Succeeded or Failed
    auto pod = std::make_shared<const api::Pod>(p);
    for (size_t i = 0; i < pod->spec.containers.size(); ++i) {
      const api::Container& c = pod->spec.containers[i];
      for (ProbeType type : {ProbeType::kStartup, ProbeType::kLiveness, ProbeType::kReadiness}) {
        if (probeOf(c, type) == nullptr)
          continue;
        Key key{pod->metadata.uid, c.name, type};
        seen.insert(key);
        std::unique_ptr<Worker>& w = workers_[key];
        if (!w) {
          w = std::make_unique<Worker>();
          w->key = key;
          w->serial = nextWorker_++;
          w->type = type;
          w->created = now;
        }
        w->pod = pod;
        w->containerIndex = i;
        if (w->done)
          continue;
        const api::ContainerStatus* cs = statusOf(*pod, c.name);
        const std::string id = cs != nullptr ? stripRuntimePrefix(cs->containerID) : "";
        if (id.empty() || id == w->containerId)
          continue;
        // A new container: results start again from the initial value.
        w->containerId = id;
        w->target.reset();
        w->published = Result::kUnknown;
        w->lastResult = Result::kUnknown;
        w->resultRun = 0;
        w->onHold = false;
        changes_.push_back(ResultChange{.podUid = pod->metadata.uid,
                                        .containerName = c.name,
                                        .containerId = id,
                                        .type = type,
                                        .result = initialResult(type)});
        w->published = initialResult(type);
        absl::Time first = now;
        if (cs->state.running && cs->state.running->startedAt) {
          first = std::max(now, cs->state.running->startedAt->time() +
                                    absl::Seconds(w->spec().initialDelaySeconds));
        }
        reschedule(*w, first + firstJitter(*w, now));
      }
    }
  }
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (seen.count(it->first) == 0) {
      unschedule(*it->second);
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  std::set<const Worker*> alive;
  for (auto& [key, w] : workers_) {
    alive.insert(w.get());
    w->startup = nullptr;
    if (w->type != ProbeType::kStartup) {
      auto s = workers_.find(Key{std::get<0>(key), std::get<1>(key), ProbeType::kStartup});
      if (s != workers_.end())
        w->startup = s->second.get();
    }
  }
  for (auto it = inFlight_.begin(); it != inFlight_.end();) {
    if (alive.count(it->second) == 0) {
      it = inFlight_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<ProbeRequest> ProbeManager::takeDue(absl::Time now) {
  std::vector<ProbeRequest> due;
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    Worker* w = schedule_.begin()->second;
    const Key& key = w->key;
    const absl::Time scheduled = w->nextRun;
    // The next tick keeps the phase; ticks missed while late are dropped.
    const absl::Duration period = w->period();
    absl::Duration rem;
    reschedule(*w, scheduled + period * (absl::IDivDuration(now - scheduled, period, &rem) + 1));

    const api::Pod& pod = *w->pod;
    const api::ContainerStatus* cs = statusOf(pod, std::get<1>(key));
    if (cs == nullptr || w->containerId.empty() || w->onHold)
      continue;
    if (!cs->state.running) {
      // Not ready while it does not run. (The kubelet records Failure for every probe
      // type here; a liveness Failure left on a created-but-not-started container would
      // kill it as soon as it starts, so only readiness records it.)
      if (w->type == ProbeType::kReadiness)
        setResult(*w, Result::kFailure);
      if (cs->state.terminated && pod.spec.restartPolicy == "Never") {
        unschedule(*w);
        w->done = true;  // it will not run again
      }
      continue;
    }
    if (pod.metadata.deletionTimestamp && w->type != ProbeType::kReadiness) {
      // A quiet shutdown: the pod worker must not kill what it is already stopping.
      setResult(*w, Result::kSuccess);
      unschedule(*w);
      w->done = true;
      continue;
    }
    if (cs->state.running->startedAt &&
        now - cs->state.running->startedAt->time() < absl::Seconds(w->spec().initialDelaySeconds))
      continue;
    bool started = true;
    if (w->type != ProbeType::kStartup) {
      started = w->startup == nullptr || (w->startup->containerId == w->containerId &&
                                          w->startup->published == Result::kSuccess);
    } else {
      started = w->published == Result::kSuccess;
    }
    if ((w->type == ProbeType::kStartup) == started)
      continue;  // startup stops once started; the others wait for it

    if (!w->target || w->targetPodIp != pod.status.podIP) {
      w->target = resolveTarget(w->spec(), w->container(), pod.status.podIP, w->containerId);
      w->targetPodIp = pod.status.podIP;
    }
    const absl::StatusOr<ProbeTarget>& target = *w->target;
    if (!target.ok()) {
      events_.push_back(ProbeEvent{.podUid = pod.metadata.uid,
                                   .podName = pod.metadata.name,
                                   .podNamespace = pod.metadata.namespace_,
                                   .containerName = std::get<1>(key),
                                   .reason = "Unhealthy",
                                   .message = fmt::format("{} probe errored: {}", toString(w->type),
                                                          std::string(target.status().message()))});
      continue;
    }
    const uint64_t id = nextId_++;
    unschedule(*w);
    w->inFlight = true;
    inFlight_[id] = w;
    due.push_back(ProbeRequest{.id = id,
                               .worker = w->serial,
                               .podUid = pod.metadata.uid,
                               .podName = pod.metadata.name,
                               .podNamespace = pod.metadata.namespace_,
                               .containerName = std::get<1>(key),
                               .type = w->type,
                               .target = *target,
                               .timeout = absl::Seconds(std::max(1, w->spec().timeoutSeconds)),
                               .scheduled = scheduled});
  }
  return due;
}

void ProbeManager::complete(uint64_t id, const ProbeOutcome& outcome, absl::Time now) {
  auto f = inFlight_.find(id);
  if (f == inFlight_.end())
    return;
  Worker& w = *f->second;
  inFlight_.erase(f);
  const Key& key = w.key;
  w.inFlight = false;
  // A tick that passed while the probe ran is run now (the kubelet's ticker keeps one),
  // and its lateness counts from now: the probe itself was slow, not the loop.
  reschedule(w, std::max(w.nextRun, now));
  if (w.done || w.onHold)
    return;
  const api::Pod& pod = *w.pod;
  const Result r = outcome.result == Outcome::kFailure ? Result::kFailure : Result::kSuccess;
  if (outcome.result != Outcome::kSuccess) {
    const bool failed = r == Result::kFailure;
    events_.push_back(
        ProbeEvent{.podUid = pod.metadata.uid,
                   .podName = pod.metadata.name,
                   .podNamespace = pod.metadata.namespace_,
                   .containerName = std::get<1>(key),
                   .reason = failed ? "Unhealthy" : "ProbeWarning",
                   .message = fmt::format("{} probe {}: {}", toString(w.type),
                                          failed ? "failed" : "warning", outcome.output)});
  }
  if (w.lastResult == r) {
    ++w.resultRun;
  } else {
    w.lastResult = r;
    w.resultRun = 1;
  }
  const api::Probe& spec = w.spec();
  if ((r == Result::kFailure && w.resultRun < std::max(1, spec.failureThreshold)) ||
      (r == Result::kSuccess && w.resultRun < std::max(1, spec.successThreshold)))
    return;
  setResult(w, r);
  if (r == Result::kFailure && w.type != ProbeType::kReadiness) {
    // The pod worker restarts the container; probing it while it stops is pointless.
    w.onHold = true;
    w.resultRun = 0;
  }
  if (r == Result::kSuccess && w.type == ProbeType::kStartup) {
    // Started: readiness need not wait for its next tick (the kubelet triggers it too).
    auto rd = workers_.find(Key{std::get<0>(key), std::get<1>(key), ProbeType::kReadiness});
    if (rd != workers_.end() && !rd->second->inFlight)
      reschedule(*rd->second, std::min(rd->second->nextRun, now));
  }
}

absl::Time ProbeManager::nextDue() const {
  return schedule_.empty() ? absl::InfiniteFuture() : schedule_.begin()->first;
}

std::vector<ResultChange> ProbeManager::takeResultChanges() {
  return std::exchange(changes_, {});
}

std::vector<ProbeEvent> ProbeManager::takeEvents() {
  return std::exchange(events_, {});
}

size_t ProbeManager::workerCount() const {
  return workers_.size();
}

}  // namespace kubenode::probes
