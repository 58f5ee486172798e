#include "agent/pod_workers.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/pods/pod_status.h"

namespace kubenode::agent {

namespace {
std::string fullName(const api::Pod& pod) {
  return pod.metadata.namespace_ + "/" + pod.metadata.name;
}
}  // namespace

std::optional<api::Time> runtimeStartTime(const pods::PodRuntimeStatus& runtime) {
  absl::Time oldest = absl::InfiniteFuture();
  for (const pods::RuntimeSandbox& s : runtime.sandboxes) {
    if (s.createdAt != absl::InfinitePast())
      oldest = std::min(oldest, s.createdAt);
  }
  if (oldest == absl::InfiniteFuture())
    return std::nullopt;
  return api::Time(oldest);
}

PodWorkers::PodWorkers(PodSyncer& syncer, EventRecorder& events, PodWorkersOptions options)
    : syncer_(syncer), events_(events), options_(std::move(options)) {}

PodWorkers::~PodWorkers() {
  stop();
}

void PodWorkers::startWorker(const api::Pod& pod, bool orphan, std::optional<int64_t> grace) {
  auto w = std::make_unique<Worker>();
  w->pod = pod;
  w->status = pod.status;
  w->orphan = orphan;
  w->terminating = orphan;
  w->gracePeriodOverride = grace;
  if (orphan)
    w->pod.metadata.deletionTimestamp = api::Time(absl::Now());
  Worker* raw = w.get();
  const std::string uid = pod.metadata.uid;
  workers_[uid] = std::move(w);
  raw->thread = std::thread([this, uid, raw] { run(uid, raw); });
}

void PodWorkers::reapLocked(std::vector<std::thread>& out) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->second->done) {
      out.push_back(std::move(it->second->thread));
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void PodWorkers::setPods(const std::vector<api::Pod>& pods) {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    if (stopping_)
      return;
    sourcesReady_ = true;
    reapLocked(finished);
    std::set<std::string> desired;
    for (const api::Pod& pod : pods) {
      desired.insert(pod.metadata.uid);
      auto it = workers_.find(pod.metadata.uid);
      if (it == workers_.end()) {
        startWorker(pod, false, std::nullopt);
        continue;
      }
      Worker& w = *it->second;
      if (w.terminating)
        continue;  // a kill is never overtaken by an update
      if (!(w.pod.spec == pod.spec) || !(w.pod.metadata == pod.metadata)) {
        w.pod = pod;
        w.wake = true;
        w.cv.notify_one();
      }
    }
    for (auto& [uid, w] : workers_) {
      if (desired.contains(uid) || w->terminating)
        continue;
      w->terminating = true;
      w->pod.metadata.deletionTimestamp = api::Time(absl::Now());
      w->pod.metadata.deletionGracePeriodSeconds = podGracePeriod(w->pod, std::nullopt);
      w->wake = true;
      w->cv.notify_one();
    }
  }
  for (std::thread& t : finished)
    t.join();
}

void PodWorkers::podChanged(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(uid);
  if (it == workers_.end())
    return;
  it->second->wake = true;
  it->second->cv.notify_one();
}

void PodWorkers::setProbeResults(const std::string& uid, pods::ProbeResults results) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(uid);
  if (it == workers_.end())
    return;
  it->second->probes = std::move(results);
  it->second->wake = true;
  it->second->cv.notify_one();
}

void PodWorkers::terminateOrphan(const api::Pod& pod, std::optional<int64_t> gracePeriod) {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    if (stopping_)
      return;
    reapLocked(finished);
    if (workers_.contains(pod.metadata.uid))
      return;
    spdlog::info("pod {}/{} uid {} runs in the runtime but no source wants it: terminating",
                 pod.metadata.namespace_, pod.metadata.name, pod.metadata.uid);
    startWorker(pod, true, gracePeriod);
  }
  for (std::thread& t : finished)
    t.join();
}

std::vector<api::Pod> PodWorkers::podsWithStatus() const {
  std::lock_guard lock(mu_);
  std::vector<api::Pod> out;
  for (const auto& [uid, w] : workers_) {
    if (w->done || w->orphan)
      continue;
    api::Pod pod = w->pod;
    pod.status = w->status;
    out.push_back(std::move(pod));
  }
  return out;
}

std::set<std::string> PodWorkers::knownUids() const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  for (const auto& [uid, w] : workers_) {
    if (!w->done)
      out.insert(uid);
  }
  return out;
}

bool PodWorkers::sourcesReady() const {
  std::lock_guard lock(mu_);
  return sourcesReady_;
}

bool PodWorkers::blockedByFullName(const std::string& uid, const api::Pod& pod) const {
  const std::string name = fullName(pod);
  for (const auto& [otherUid, other] : workers_) {
    if (otherUid != uid && other->terminating && !other->done && fullName(other->pod) == name)
      return true;
  }
  return false;
}

void PodWorkers::run(const std::string& uid, Worker* w) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!w->wake && absl::Now() < w->nextSync) {
      if (w->nextSync == absl::InfiniteFuture())
        w->cv.wait(lock);
      else
        w->cv.wait_until(lock, absl::ToChronoTime(w->nextSync));
      continue;
    }
    w->wake = false;
    if (!w->terminating && blockedByFullName(uid, w->pod)) {
      // Wait for the older pod of that name to be gone (it does not wake us: poll).
      w->nextSync = absl::Now() + absl::Milliseconds(200);
      continue;
    }
    // The pod with its last status: startTime drives activeDeadlineSeconds.
    api::Pod pod = w->pod;
    pod.status = w->status;
    const bool terminating = w->terminating;
    const std::optional<int64_t> grace = w->gracePeriodOverride;
    const pods::ProbeResults probes = w->probes;
    api::PodStatus previous = w->status;
    lock.unlock();

    if (terminating) {
      // Terminate: stop everything within the grace period, then remove it all.
      absl::Status s;
      absl::StatusOr<pods::PodRuntimeStatus> st = syncer_.reader().podStatus(uid);
      if (!st.ok()) {
        s = st.status();
      } else {
        s = syncer_.killPod(pod, *st, grace);
        if (s.ok()) {
          absl::StatusOr<pods::PodRuntimeStatus> after = syncer_.reader().podStatus(uid);
          s = after.ok() ? syncer_.removePod(pod, *after) : after.status();
        }
      }
      lock.lock();
      if (!s.ok()) {
        spdlog::warn("pod {}/{}: terminating: {}; retrying", pod.metadata.namespace_,
                     pod.metadata.name, std::string(s.message()));
        w->nextSync = absl::Now() + absl::Seconds(2);
        continue;
      }
      spdlog::info("pod {}/{} uid {} terminated and removed", pod.metadata.namespace_,
                   pod.metadata.name, uid);
      events_.forget(uid);
      break;
    }

    SyncResult r = syncer_.syncPod(pod, probes);
    const absl::Time now = absl::Now();
    // startTime is set once; the runtime keeps it across restarts of the agent (an adopted
    // pod has no previous status here), where the kubelet has it from the API server.
    if (!previous.startTime)
      previous.startTime = runtimeStartTime(r.runtime);
    api::PodStatus status = pods::computePodStatus(pod, r.runtime, probes, r.waiting, previous, now,
                                                   syncer_.options().hostIps);
    if (!r.error.ok()) {
      spdlog::warn("pod {}/{}: sync: {}", pod.metadata.namespace_, pod.metadata.name,
                   std::string(r.error.message()));
    }
    lock.lock();
    w->status = status;
    bool started = !status.containerStatuses.empty();
    for (const api::ContainerStatus& c : status.containerStatuses)
      started = started && c.state.running.has_value();
    if (started && !w->startReported) {
      w->startReported = true;
      if (options_.onPodStarted)
        options_.onPodStarted(now - w->firstSeen);
    }
    absl::Duration wait = std::min(options_.resyncInterval, r.requeueAfter);
    if (wait < absl::ZeroDuration())
      wait = absl::ZeroDuration();
    w->nextSync = now + wait;
    if (options_.onStatus) {
      api::Pod withStatus = w->pod;
      withStatus.status = status;
      lock.unlock();
      options_.onStatus(withStatus);
      lock.lock();
    }
  }
  w->done = true;
  doneCv_.notify_all();
}

bool PodWorkers::stop(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  stopping_ = true;
  for (auto& [uid, w] : workers_)
    w->cv.notify_one();
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  bool all = doneCv_.wait_until(lock, deadline, [&] {
    for (auto& [uid, w] : workers_) {
      if (!w->done)
        return false;
    }
    return true;
  });
  std::vector<std::thread> threads;
  for (auto& [uid, w] : workers_) {
    if (w->done)
      threads.push_back(std::move(w->thread));
    else
      w->thread.detach();  // stuck in a long runtime call; the process is exiting
  }
  if (all)
    workers_.clear();
  lock.unlock();
  for (std::thread& t : threads) {
    if (t.joinable())
      t.join();
  }
  return all;
}

}  // namespace kubenode::agent
