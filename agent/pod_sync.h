// The pod executor: carries out what computePodActions decides, through CRI, in the
// kubelet's numbered steps (kuberuntime_manager.go SyncPod): 1. kill the pod if needed,
// 2. kill containers that must go, 3. create the sandbox, 4. start the next init container,
// 5. start app containers. Images are ensured per imagePullPolicy with pull back-off, the
// pod's files are set up first (pod_volumes.h), and every step records the kubelet's
// events. It also terminates pods: preStop hook, StopContainer with what is left of the
// grace period, then the sandbox; and removes what a terminated pod leaves behind.
//
//   PodSyncer syncer(runtime, images, reader, events, options);
//   SyncResult r = syncer.syncPod(pod, probes);          // one pass; call again on events
//   api::PodStatus s = computePodStatus(pod, r.runtime, probes, r.waiting, previous, now);
//   syncer.killPod(pod, r.runtime, std::nullopt);         // terminate (grace from the spec)
//   syncer.removePod(pod);                                 // then forget it on the node
//
// Thread-safety: syncPod/killPod/removePod of one pod must not overlap (the pod worker
// serializes them); calls for different pods may run concurrently.
#pragma once

#include <functional>
#include <optional>
#include <semaphore>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/events.h"
#include "agent/pod_runtime_reader.h"
#include "agent/pod_volumes.h"
#include "agent/pods/backoff.h"
#include "agent/pods/container_config.h"
#include "agent/pods/pod_actions.h"
#include "agent/pods/pod_status.h"
#include "agent/pods/probe_results.h"
#include "agent/pods/runtime_pod.h"
#include "api/pod.h"
#include "cri/image_client.h"
#include "cri/runtime_client.h"

namespace kubenode::agent {

struct PodSyncerOptions {
  pods::NodeSettings node{};
  std::vector<std::string> hostIps{};  // the node's addresses (status.hostIP)
  int64_t memoryCapacityBytes = 0;
  // How long to wait before looking at a pod again after a failure that has no back-off
  // of its own (sandbox creation, a volume that is not ready).
  absl::Duration retryAfterFailure = absl::Seconds(5);
  // Validates a Localhost seccomp profile and returns what to pass to CRI; empty: the
  // profile name is used as given.
  std::function<absl::StatusOr<std::string>(const std::string& localhostProfile)>
      localhostSeccomp{};
};

struct SyncResult {
  // The runtime's view of the pod after the sync (re-read when the sync changed anything).
  pods::PodRuntimeStatus runtime{};
  // Why containers that should run do not: CrashLoopBackOff, ErrImagePull, ...
  pods::WaitingReasons waiting{};
  // Look at the pod again after this long at the latest (a back-off ends, a retry).
  absl::Duration requeueAfter = absl::InfiniteDuration();
  // The runtime did not answer: nothing could be decided.
  absl::Status error{};
};

class PodSyncer {
 public:
  PodSyncer(cri::RuntimeClient& runtime, cri::ImageClient& images, PodRuntimeReader& reader,
            EventRecorder& events, PodSyncerOptions options,
            std::function<absl::Time()> clock = absl::Now);

  // One SyncPod pass.
  SyncResult syncPod(const api::Pod& pod, const pods::ProbeResults& probes);

  // Stops every running container of the pod (preStop first, in parallel, each within the
  // grace period: `gracePeriodOverride`, else spec.terminationGracePeriodSeconds, else 30 s)
  // and every ready sandbox. The first error, after trying everything.
  absl::Status killPod(const api::Pod& pod, const pods::PodRuntimeStatus& status,
                       std::optional<int64_t> gracePeriodOverride);

  // After killPod: removes the pod's sandboxes (containerd removes their containers), its
  // volumes, files and logs, and forgets its back-off and events.
  absl::Status removePod(const api::Pod& pod, const pods::PodRuntimeStatus& status);

  // Garbage collection: removes a dead container and its log file.
  absl::Status removeContainer(const std::string& containerId);

  const PodSyncerOptions& options() const { return options_; }
  PodRuntimeReader& reader() { return reader_; }
  pods::BackOff& crashBackOff() { return crashBackOff_; }

 private:
  struct StartOutcome {
    std::optional<api::ContainerStateWaiting> waiting{};
    absl::Duration requeueAfter = absl::InfiniteDuration();
  };
  StartOutcome startContainer(const api::Pod& pod, const api::Container& container, bool init,
                              const std::string& sandboxId,
                              const cri::v1::PodSandboxConfig& sandboxConfig,
                              const pods::PodRuntimeStatus& status);
  // Ensures the image per imagePullPolicy: the image ref to run, or the waiting state.
  struct ImageOutcome {
    std::string imageRef{};
    std::optional<int64_t> uid{};
    std::string username{};
    std::optional<api::ContainerStateWaiting> waiting{};
    absl::Duration requeueAfter = absl::InfiniteDuration();
  };
  ImageOutcome ensureImage(const api::Pod& pod, const api::Container& container);
  // Reads the sandbox just created (one PodSandboxStatus) into `status`, newest first;
  // false when the runtime did not answer (the caller re-reads the whole pod).
  bool addNewSandbox(const std::string& sandboxId, const cri::v1::PodSandboxConfig& config,
                     pods::PodRuntimeStatus& status);
  void killContainer(const api::Pod& pod, const api::Container* spec,
                     const pods::RuntimeContainer& container, int64_t gracePeriod,
                     const std::string& message, absl::Status& error);
  void runPreStop(const api::Pod& pod, const api::Container& spec,
                  const pods::RuntimeContainer& container, absl::Duration budget);
  absl::Status stopSandboxes(const pods::PodRuntimeStatus& status);

  cri::RuntimeClient& runtime_;
  cri::ImageClient& images_;
  PodRuntimeReader& reader_;
  EventRecorder& events_;
  const PodSyncerOptions options_;
  const std::function<absl::Time()> clock_;
  PodVolumes volumes_;
  pods::BackOff crashBackOff_;  // CrashLoopBackOff, shared by all pods as the kubelet's
  pods::BackOff pullBackOff_;   // ImagePullBackOff
  // At most this many RunPodSandbox calls at once: containerd, runc and CNI saturate two
  // cores with ~4, and 30 at once only delay every pod's first start (bench/pods).
  std::counting_semaphore<4> sandboxSlots_{4};
};

// The grace period for stopping a container: the probe's for a probe kill, else the
// override, else the pod's (default 30 s); at least 2 s for StopContainer as the kubelet's
// minimumGracePeriodInSeconds.
int64_t podGracePeriod(const api::Pod& pod, std::optional<int64_t> gracePeriodOverride);

}  // namespace kubenode::agent
