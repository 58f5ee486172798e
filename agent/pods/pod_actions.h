// What a pod needs done next, decided from its spec and what the runtime shows, as the
// kubelet's computePodActions decides it (pkg/kubelet/kuberuntime/kuberuntime_manager.go):
// kill the pod, (re)create its sandbox, start the next init container, start or kill app
// containers, or wait out a back-off. Pure: the pod worker carries the value out in steps
// (kill, create sandbox, start init container, start containers) and records back-off
// with BackOff::next() when it does start a container.
//
//   PodActions a = computePodActions(pod, runtimeStatus, probes, crashBackOff, now);
//   if (a.killPod) ... stop every container, then the sandbox
//   if (a.createSandbox) ... RunPodSandbox(makeSandboxConfig(pod, a.attempt, node))
//   for (auto& [id, kill] : a.containersToKill) ... StopContainer(id), event kill.message
//   if (a.nextInitContainerToStart) ... start pod.spec.initContainers[*index]
//   for (const ContainerToStart& s : a.containersToStart) ... start pod.spec.containers[s.index]
//   for (auto& [name, wait] : a.backOff) ... status: waiting CrashLoopBackOff, retry after wait
//
// Thread-safety: reentrant; reads `backoff` through its own lock.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "agent/pods/backoff.h"
#include "agent/pods/probe_results.h"
#include "agent/pods/runtime_pod.h"
#include "api/pod.h"

namespace kubenode::agent::pods {

// Why a container is to be started.
enum class StartReason {
  kNotStartedYet,      // no container of that name in the runtime
  kRestartPolicy,      // exited, and restartPolicy says restart
  kCreatedNotStarted,  // created but never started (a start that failed half way)
  kUnknownState,       // the runtime cannot tell its state: killed first, then started
  kLivenessFailed,     // running, failed its liveness probe: killed first
  kStartupFailed,      // running, failed its startup probe: killed first
  kSpecChanged,        // running with another spec hash: killed first
  kSandboxRecreated,   // the pod gets a new sandbox: everything starts again
};
// "not started yet", "exited and restartPolicy says restart", "failed liveness probe", ...
std::string_view toString(StartReason reason);

// Why a container is to be killed (the kubelet's containerKillReason; the pod worker
// uses it for the grace period: a probe's terminationGracePeriodSeconds wins for probe
// kills).
enum class KillReason { kSpecChanged, kLivenessProbe, kStartupProbe, kUnknownState };
// "SpecChanged", "LivenessProbe", "StartupProbe", "Unknown".
std::string_view toString(KillReason reason);

struct ContainerToStart {
  size_t index = 0;  // into pod.spec.containers
  std::string name{};
  StartReason reason = StartReason::kNotStartedYet;
  friend bool operator==(const ContainerToStart&, const ContainerToStart&) = default;
};

struct ContainerToKill {
  std::string name{};
  bool init = false;  // an init container (killed because its state is unknown)
  KillReason reason = KillReason::kSpecChanged;
  // For the Killing event: "Container web failed liveness probe, will be restarted".
  std::string message{};
  friend bool operator==(const ContainerToKill&, const ContainerToKill&) = default;
};

struct PodActions {
  // Stop every container and the sandbox (before creating a new one if createSandbox).
  bool killPod = false;
  bool createSandbox = false;
  // The sandbox the containers run in: the newest one; empty when there is none or its
  // network mode changed (the old one is then only killed).
  std::string sandboxId{};
  // metadata.attempt for the new sandbox: 0 for the first, newest + 1 after.
  uint32_t attempt = 0;
  // Index into pod.spec.initContainers; init containers run one at a time, in order.
  std::optional<size_t> nextInitContainerToStart{};
  std::vector<ContainerToStart> containersToStart{};          // in spec order
  std::map<std::string, ContainerToKill> containersToKill{};  // by runtime container ID
  // Containers (init or app) that are due to start but wait out their crash-loop
  // back-off: name -> time left. Status reports them as CrashLoopBackOff.
  std::map<std::string, absl::Duration> backOff{};
  // An init container failed under restartPolicy Never: the pod has failed for good.
  bool initFailed = false;

  friend bool operator==(const PodActions&, const PodActions&) = default;
};

// `podTerminating`: the pod worker is terminating the pod (manifest removed or replaced);
// like a deletionTimestamp on the pod, or a passed activeDeadlineSeconds, it yields
// killPod and nothing else.
PodActions computePodActions(const api::Pod& pod, const PodRuntimeStatus& status,
                             const ProbeResults& probes, const BackOff& backoff, absl::Time now,
                             bool podTerminating = false);

// restartPolicy says a container that exited with `exitCode` runs again: Always yes,
// OnFailure for a non-zero code, Never no (shouldRestartOnFailure and
// ShouldContainerBeRestarted's policy half). An empty policy is the default, Always.
bool restartPolicyRestarts(const api::Pod& pod, int32_t exitCode);

// ShouldContainerBeRestarted: not for a pod being deleted; yes when the container never
// ran, or is created / unknown; no while it runs; else as restartPolicy says.
bool shouldContainerBeRestarted(const api::Pod& pod, const api::Container& container,
                                const PodRuntimeStatus& status);

// The pod worker calls this when it starts a container (init or app): if an earlier
// attempt of it exited, one more step of crash-loop back-off is recorded (the kubelet's
// doBackOff calls Next at that moment, with the exit time as the event time).
void recordContainerStart(BackOff& backoff, const api::Pod& pod, const api::Container& container,
                          const PodRuntimeStatus& status, absl::Time now);

// spec.activeDeadlineSeconds has passed since status.startTime (the kubelet's active
// deadline handler): the pod is killed and reported Failed with reason DeadlineExceeded.
bool pastActiveDeadline(const api::Pod& pod, absl::Time now);

// The pod is done: a failed init container under Never, or every app container has
// exited and none will be restarted. Its phase is then Succeeded or Failed, and its
// sandbox can be stopped (the pod worker's "pod should terminate").
bool podIsFinished(const api::Pod& pod, const PodRuntimeStatus& status);

}  // namespace kubenode::agent::pods
