// Pod workers: one serialized worker per pod UID, as the kubelet's pod_workers.go. Sources
// hand in the desired pods; each worker syncs its pod (PodSyncer) whenever something
// happens to it (a new spec, a runtime change seen by the watcher, a back-off ending, a
// periodic resync), one sync at a time, keeping only the newest pending update. A pod that
// leaves the desired set is terminated (grace period, preStop), then removed from the node;
// a termination is never dropped or overtaken. A new static pod with the same full name as
// one still terminating (an edited manifest) waits until the old one is gone, as the
// kubelet does, so two copies never run at once.
//
//   PodWorkers workers(syncer, events, {.resyncInterval = absl::Seconds(10)});
//   workers.setPods(podsFromManifests);   // start new, update changed, terminate removed
//   workers.podChanged(uid);              // the runtime watcher saw something
//   std::vector<api::Pod> now = workers.podsWithStatus();  // for /pods
//
// Each worker runs on its own thread while its pod exists (the kubelet's goroutine per
// pod); the threads block in CRI calls, never the agent's loop.
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "agent/events.h"
#include "agent/pod_sync.h"
#include "agent/pods/probe_results.h"
#include "agent/pods/runtime_pod.h"
#include "api/pod.h"

namespace kubenode::agent {

struct PodWorkersOptions {
  // Every pod is synced at least this often, events or not (the kubelet's --sync-frequency
  // is 1 min; a node agent without an event stream keeps it short).
  absl::Duration resyncInterval = absl::Seconds(10);
  // Called after each sync with the pod's new status (metrics, the control plane later).
  std::function<void(const api::Pod&)> onStatus{};
  // Called once per pod when all its containers first run: the time since the worker first
  // saw it (kubelet_pod_start_duration_seconds).
  std::function<void(absl::Duration)> onPodStarted{};
};

class PodWorkers {
 public:
  PodWorkers(PodSyncer& syncer, EventRecorder& events, PodWorkersOptions options = {});
  ~PodWorkers();  // stop(); pods keep running, as when the kubelet stops
  PodWorkers(const PodWorkers&) = delete;
  PodWorkers& operator=(const PodWorkers&) = delete;

  // The complete desired set from the pod source: pods with a new UID start, known UIDs
  // get the newest spec, UIDs no longer present are terminated and removed.
  void setPods(const std::vector<api::Pod>& pods);

  // Something changed in the runtime for that pod: sync it now.
  void podChanged(const std::string& uid);

  // A pod found in the runtime that no source wants (after a restart of the agent, or a
  // leftover): terminate it with the grace period its containers' annotations carry, and
  // remove it. `pod` is rebuilt from the runtime's labels (name, namespace, uid).
  void terminateOrphan(const api::Pod& pod, std::optional<int64_t> gracePeriod);

  // Every pod with a worker, with its last computed status; terminating pods carry a
  // deletionTimestamp (STATUS Terminating).
  std::vector<api::Pod> podsWithStatus() const;

  // UIDs of every pod with a worker (running or terminating).
  std::set<std::string> knownUids() const;

  // True once setPods has been called: orphans can then be told from pods not yet read.
  bool sourcesReady() const;

  // Probe results for a pod's containers (from the prober); the pod is synced.
  void setProbeResults(const std::string& uid, pods::ProbeResults results);

  // Stops every worker after its current step; returns false when some did not finish
  // within `timeout` (a long StopContainer), in which case they are left detached.
  bool stop(absl::Duration timeout = absl::Seconds(5));

 private:
  struct Worker {
    api::Pod pod;
    std::optional<int64_t> gracePeriodOverride;
    bool orphan = false;       // rebuilt from the runtime, not wanted by any source
    bool terminating = false;  // sticky: once asked, the pod goes
    bool wake = true;          // a sync is due now
    bool done = false;         // the thread has finished (pod removed)
    absl::Time nextSync = absl::InfinitePast();
    pods::ProbeResults probes;
    api::PodStatus status;  // last computed
    absl::Time firstSeen = absl::Now();
    bool startReported = false;
    std::condition_variable cv;
    std::thread thread;
  };
  void run(const std::string& uid, Worker* w);
  void startWorker(const api::Pod& pod, bool orphan, std::optional<int64_t> grace);
  void reapLocked(std::vector<std::thread>& out);
  bool blockedByFullName(const std::string& uid, const api::Pod& pod) const;

  PodSyncer& syncer_;
  EventRecorder& events_;
  const PodWorkersOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // guarded by mu_
  std::condition_variable doneCv_;                          // a worker finished
  bool stopping_ = false;                                   // guarded by mu_
  bool sourcesReady_ = false;                               // guarded by mu_
};

// status.startTime as the runtime remembers it: the creation of the pod's oldest sandbox
// still present (the first thing the node did for the pod), or nullopt when it has none.
std::optional<api::Time> runtimeStartTime(const pods::PodRuntimeStatus& runtime);

}  // namespace kubenode::agent
