// What the runtime knows about one pod, rebuilt from CRI listings (sandboxes and
// containers carrying the kubelet's labels and annotations): the input of the pure pod
// decisions (computePodActions, computePodStatus), as kubecontainer.PodStatus is the
// kubelet's. Values only, no I/O; newest first in both lists.
//
//   PodRuntimeStatus status = ...;  // from cri listings, see container_config.h
//   const RuntimeContainer* web = status.latestContainer("web");
//   if (web && web->state == ContainerState::kExited) ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace kubenode::agent::pods {

enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

struct RuntimeContainer {
  std::string id{};         // CRI container ID
  std::string name{};       // io.kubernetes.container.name
  std::string sandboxId{};  // the sandbox it runs in
  ContainerState state = ContainerState::kUnknown;
  absl::Time createdAt = absl::InfinitePast();
  absl::Time startedAt = absl::InfinitePast();   // InfinitePast: never started
  absl::Time finishedAt = absl::InfinitePast();  // InfinitePast: not finished
  int32_t exitCode = 0;
  std::string reason{};      // the runtime's: "Completed", "Error", "OOMKilled", ...
  std::string message{};     // the termination message when the runtime read one
  std::string image{};       // the image as the spec named it
  std::string imageRef{};    // the runtime's image ID (digest)
  int32_t restartCount = 0;  // annotation io.kubernetes.container.restartCount
  uint64_t specHash = 0;     // annotation io.kubernetes.container.hash
};

struct RuntimeSandbox {
  std::string id{};
  bool ready = false;  // SANDBOX_READY
  absl::Time createdAt = absl::InfinitePast();
  uint32_t attempt = 0;  // metadata.attempt: how many sandboxes the pod had before
  std::string ip{};      // primary pod IP; empty for hostNetwork
  std::vector<std::string> additionalIps{};
  bool hostNetwork = false;  // namespace_options.network == NODE
  // ip, additionalIps and hostNetwork come from a PodSandboxStatus answer (a listing
  // alone does not carry them). Until then computePodActions does not judge the
  // sandbox's network: an unread IP must not look like a lost one and recreate the pod.
  bool statusKnown = false;
};

struct PodRuntimeStatus {
  std::string uid{};
  std::string name{};
  std::string namespace_{};
  std::vector<RuntimeSandbox> sandboxes{};     // newest first
  std::vector<RuntimeContainer> containers{};  // newest first, every attempt still present

  // The newest container of that name, or nullptr.
  const RuntimeContainer* latestContainer(std::string_view containerName) const {
    for (const RuntimeContainer& c : containers) {
      if (c.name == containerName)
        return &c;
    }
    return nullptr;
  }
};

}  // namespace kubenode::agent::pods
