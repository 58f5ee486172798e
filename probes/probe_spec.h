// What one probe of one container is, resolved from the pod spec the way the kubelet's
// prober resolves it (pkg/kubelet/prober/prober.go): the probe type's name as events and
// metrics spell it, and the target a Prober runs against (pod IP or the probe's host, a
// numeric or named port, the exec command with $(VAR) references to static env values
// expanded). Pure.
//
//   absl::StatusOr<ProbeTarget> t = resolveTarget(*container.livenessProbe, container,
//                                                 pod.status.podIP, containerId);
//   if (!t.ok()) ... "Liveness probe errored: <message>" (no result is recorded)
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/pod.h"
#include "probes/prober.h"

namespace kubenode::probes {

enum class ProbeType { kLiveness, kReadiness, kStartup };

// "Liveness", "Readiness", "Startup": the kubelet's probeType.String(), used in event
// messages ("Liveness probe failed: ...") and the probe_type metric label.
std::string_view toString(ProbeType type);

// The container's probe of that type, or nullptr.
const api::Probe* probeOf(const api::Container& container, ProbeType type);

// The target of `probe` for the container `containerId` (runtime ID without the
// "containerd://" prefix) of a pod whose IP is `podIp`. InvalidArgument for what the
// kubelet reports as a probe error: a named port the container does not declare, a port
// out of range, no pod IP yet for a network probe, a probe with no handler.
absl::StatusOr<ProbeTarget> resolveTarget(const api::Probe& probe, const api::Container& container,
                                          const std::string& podIp, const std::string& containerId);

// The kubelet's ExpandContainerCommandOnlyStatic: $(NAME) becomes the value of the
// container's env entry NAME when that entry has a literal value, $$ becomes $, and
// anything else is left as written.
std::string expandStaticEnv(std::string_view text, const api::Container& container);

}  // namespace kubenode::probes
