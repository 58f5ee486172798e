// The latest probe outcomes per container, as the probe manager (probes/) will hand them
// to the pure pod decisions: liveness and startup failures make computePodActions kill a
// container; readiness and startup successes make computePodStatus report it ready and
// started. A value, copied into each decision.
//
//   ProbeResults probes;
//   probes.set("web", {.containerId = "abc", .liveness = ProbeResult::kFailure});
//   if (const ContainerProbeResults* r = probes.find("web", "abc")) ...
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace kubenode::agent::pods {

// kUnknown: not probed yet (or no probe); the callers decide what that means per probe.
enum class ProbeResult { kUnknown, kSuccess, kFailure };

struct ContainerProbeResults {
  // The runtime container the results were measured on: a result about an earlier
  // attempt of the same container must not kill (or make ready) the new one.
  std::string containerId{};
  ProbeResult liveness = ProbeResult::kUnknown;
  ProbeResult readiness = ProbeResult::kUnknown;
  ProbeResult startup = ProbeResult::kUnknown;
  friend bool operator==(const ContainerProbeResults&, const ContainerProbeResults&) = default;
};

struct ProbeResults {
  std::map<std::string, ContainerProbeResults, std::less<>> byName{};  // by container name

  void set(const std::string& containerName, ContainerProbeResults results) {
    byName[containerName] = std::move(results);
  }
  // The results for that container name measured on that runtime container, or nullptr
  // (none recorded, or recorded for another attempt).
  const ContainerProbeResults* find(std::string_view containerName,
                                    std::string_view containerId) const {
    auto it = byName.find(containerName);
    if (it == byName.end() || it->second.containerId != containerId)
      return nullptr;
    return &it->second;
  }
  friend bool operator==(const ProbeResults&, const ProbeResults&) = default;
};

}  // namespace kubenode::agent::pods
