// The pod's API status, computed as the kubelet's generateAPIPodStatus computes it
// (pkg/kubelet/kubelet_pods.go, pkg/kubelet/status/generate.go, the prober manager's
// ready/started rules): phase, conditions, container and init container statuses,
// pod IPs, start time and QoS class. Pure: the status manager calls it after each sync
// and PATCHes (or serves on /pods) what it returns.
//
//   WaitingReasons waiting = waitingReasonsFromActions(pod, actions, crashBackOff);
//   waiting["web"] = {.reason = "ErrImagePull", .message = pullError};  // from the sync
//   api::PodStatus s = computePodStatus(pod, runtime, probes, waiting, pod.status, now,
//                                       {"192.168.1.10"});
//   s.phase;  // "Running"
//
// Thread-safety: reentrant; values in, values out.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "agent/pods/backoff.h"
#include "agent/pods/pod_actions.h"
#include "agent/pods/probe_results.h"
#include "agent/pods/runtime_pod.h"
#include "api/pod.h"

namespace kubenode::agent::pods {

// Why a container that should run is not running, as the last sync found out (the
// kubelet's reasonCache): CrashLoopBackOff, ErrImagePull, ImagePullBackOff,
// CreateContainerError, ... with their messages. By container name (init or app).
using WaitingReasons = std::map<std::string, api::ContainerStateWaiting>;

// CrashLoopBackOff for every container the actions hold back, with the kubelet's
// message: "back-off 40s restarting failed container=web pod=web_default(<uid>)" (the
// delay in force, not the time left).
WaitingReasons waitingReasonsFromActions(const api::Pod& pod, const PodActions& actions,
                                         const BackOff& backoff);

// The waiting states of an image pull, worded as the kubelet's image manager words them:
// ErrImagePull with the pull's error when a pull just failed, ImagePullBackOff with
// "Back-off pulling image \"<image>\"" while imagePullBackOffKey is in back-off, and
// ErrImageNeverPull for imagePullPolicy Never with the image missing.
api::ContainerStateWaiting errImagePull(std::string_view pullError);
api::ContainerStateWaiting imagePullBackOff(const api::Container& container);
api::ContainerStateWaiting errImageNeverPull(const api::Container& container);

// `previous`: the status last reported (or the API's), for what the kubelet keeps:
// terminal phases stay terminal, conditions keep their lastTransitionTime while their
// status holds, startTime is set once, a container that vanished from the runtime keeps
// its last terminated state, and the pod's reason/message stay with its phase.
// `hostIps`: the node's addresses (status.hostIP(s), and podIP(s) of hostNetwork pods).
//
// Container statuses: initContainerStatuses in spec order, containerStatuses sorted by
// name (kubetypes.SortedContainerStatuses, as the kubelet reports them). A container not
// created yet waits with reason ContainerCreating, or PodInitializing in a pod with init
// containers.
api::PodStatus computePodStatus(const api::Pod& pod, const PodRuntimeStatus& status,
                                const ProbeResults& probes, const WaitingReasons& waiting,
                                const api::PodStatus& previous, absl::Time now,
                                const std::vector<std::string>& hostIps = {});

// getPhase: Pending, Running, Succeeded or Failed from the container statuses (init
// containers count: a failed one under Never fails the pod, a pending one keeps it
// Pending).
std::string podPhase(const api::Pod& pod, const std::vector<api::ContainerStatus>& initStatuses,
                     const std::vector<api::ContainerStatus>& statuses);

// A Go time.Duration's String() for whole seconds: "40s", "1m20s", "5m0s", "1h0m0s".
std::string goDurationString(absl::Duration d);

}  // namespace kubenode::agent::pods
