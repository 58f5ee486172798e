// CRI listings -> PodRuntimeStatus: rebuilds what the runtime knows about each pod from
// the kubelet labels and annotations alone (labels.h), so that the agent can recover its
// state from containerd after a restart, and so that the garbage collector can tell what
// is ours from what is not. Pure: callers do the ListPodSandbox / ListContainers (and,
// when they want IPs, exit codes and times, the *Status) calls and hand the answers in.
//
//   RuntimeSnapshot snap;
//   snap.sandboxes = *runtime.listPodSandbox({});
//   snap.containers = *runtime.listContainers({});
//   for (const auto& c : snap.containers)
//     snap.containerStatuses[c.id()] = runtime.containerStatus(c.id(), false)->status();
//   RuntimeListing listing = groupRuntimePods(snap);
//   const PodRuntimeStatus& web = listing.pods.at(uid);  // newest sandbox/container first
//   for (const std::string& id : listing.orphanContainers) ...  // GC: sandbox is gone
//
// Thread-safety: reentrant; values in, values out.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/pods/runtime_pod.h"
#include "api/pod.h"
#include "cri/runtime_client.h"  // cri::v1: the generated CRI messages

namespace kubenode::agent::pods {

// One relist of the runtime.
struct RuntimeSnapshot {
  std::vector<cri::v1::PodSandbox> sandboxes{};
  std::vector<cri::v1::Container> containers{};
  // By sandbox ID, where fetched: adds the IPs and the network namespace mode.
  std::map<std::string, cri::v1::PodSandboxStatus> sandboxStatuses{};
  // By container ID, where fetched: adds times, exit code, reason and message.
  std::map<std::string, cri::v1::ContainerStatus> containerStatuses{};
};

struct RuntimeListing {
  // By pod UID: every sandbox and container carrying the kubelet's pod labels.
  std::map<std::string, PodRuntimeStatus> pods{};
  // IDs of our containers (kubelet labels) whose sandbox is not in the listing: they can
  // never run again and only the garbage collector should meet them.
  std::vector<std::string> orphanContainers{};
  // IDs of sandboxes and containers without the kubelet's labels: not ours, never touched.
  std::vector<std::string> foreignSandboxes{};
  std::vector<std::string> foreignContainers{};
};

RuntimeListing groupRuntimePods(const RuntimeSnapshot& snapshot);

// A sandbox or container is ours when it carries the pod UID label (sandboxes) or the
// pod UID and container name labels (containers), as the kubelet's isManagedByKubelet.
bool isKubeletSandbox(const cri::v1::PodSandbox& sandbox);
bool isKubeletContainer(const cri::v1::Container& container);

// The runtime's container status as a RuntimeContainer: state, times (zero nanoseconds
// becomes InfinitePast), exit code, reason, message, image, image ref, and the restart
// count and spec hash from the annotations. sandboxId stays empty (the status does not
// carry it).
RuntimeContainer fromContainerStatus(const cri::v1::ContainerStatus& status);
// The same from a listing entry, which has no times but creation, no exit code.
RuntimeContainer fromListedContainer(const cri::v1::Container& container);
RuntimeSandbox fromListedSandbox(const cri::v1::PodSandbox& sandbox,
                                 const cri::v1::PodSandboxStatus* status);

// The kubelet's annotations on one container, parsed back
// (getContainerInfoFromAnnotations): what the agent needs to stop a container politely
// when the pod's spec is gone.
struct ContainerAnnotations {
  uint64_t hash = 0;
  int32_t restartCount = 0;
  std::string terminationMessagePath{};
  std::string terminationMessagePolicy{};
  std::optional<int64_t> podDeletionGracePeriod{};
  std::optional<int64_t> podTerminationGracePeriod{};
  std::optional<api::LifecycleHandler> preStopHandler{};
  std::vector<api::ContainerPort> ports{};
};
// Fields that are missing or do not parse keep their defaults.
ContainerAnnotations parseContainerAnnotations(
    const google::protobuf::Map<std::string, std::string>& annotations);

}  // namespace kubenode::agent::pods
