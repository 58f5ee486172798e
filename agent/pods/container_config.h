// Pod -> CRI translation: the PodSandboxConfig and ContainerConfig the kubelet would hand
// containerd for a pod, computed as pure functions of the pod and the node's settings
// (pkg/kubelet/kuberuntime generatePodSandboxConfig / generateContainerConfig, the DNS
// configurer, makeEnvironmentVariables, makeMounts, the cm cpu helpers). No I/O: callers
// read resolv.conf, create directories and files, and pass their paths in.
//
//   NodeSettings node{.nodeName = "n1", .clusterDns = {"10.96.0.10"},
//                     .clusterDomain = "cluster.local",
//                     .hostResolvConf = parseResolvConf(resolvConfText)};
//   cri::v1::PodSandboxConfig sandbox = makeSandboxConfig(pod, /*attempt=*/0, node);
//   ContainerContext ctx{.node = node, .podIps = {"10.88.0.2"},
//                        .volumePaths = podVolumeHostPaths(pod, node)};
//   absl::StatusOr<cri::v1::ContainerConfig> c =
//       makeContainerConfig(pod, pod.spec.containers[0], ctx);
//   if (!c.ok()) ...  // kInvalidArgument: "spec.containers[0].env[2].valueFrom.fieldRef
//                     //  .fieldPath: Unsupported value: \"x\": ..."
//
// Thread-safety: every function is reentrant; values in, values out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/expansion.h"
#include "api/pod.h"
#include "cri/runtime_client.h"  // cri::v1: the generated CRI messages

namespace kubenode::agent::pods {

// How the kubelet names cgroups (--cgroup-driver).
enum class CgroupDriver { kCgroupfs, kSystemd };

// The resolver settings of a resolv.conf file, parsed as the kubelet parses it:
// nameserver lines accumulate; the last search line and the last options line win;
// a search domain's trailing dot is dropped; '#' lines are comments.
struct ResolvConf {
  std::vector<std::string> nameservers{};
  std::vector<std::string> searches{};
  std::vector<std::string> options{};
  friend bool operator==(const ResolvConf&, const ResolvConf&) = default;
};
ResolvConf parseResolvConf(std::string_view text);

// What the node contributes to every pod's configuration (flags and machine facts).
struct NodeSettings {
  std::string nodeName{};
  std::string rootDir = "/var/lib/kubelet";  // --root-dir
  std::string podLogsDir = "/var/log/pods";  // where containerd writes the pods' logs
  std::vector<std::string> clusterDns{};     // --cluster-dns
  std::string clusterDomain{};               // --cluster-domain
  // The host's resolver config (--resolv-conf, parsed). nullopt is --resolv-conf="":
  // pods with the host's DNS policy then get a localhost nameserver and search ".", as
  // the kubelet does to disable lookups instead of inheriting the runtime's default.
  std::optional<ResolvConf> hostResolvConf{};
  std::vector<std::string> nodeIps{};  // for that localhost fallback: "::1" for IPv6 nodes
  CgroupDriver cgroupDriver = CgroupDriver::kCgroupfs;
  // --pod-infra-container-image: never passed through CRI (containerd runs its own
  // sandbox_image); kept here so that image GC can protect it.
  std::string podInfraImage{};
  // --seccomp-default: containers without a seccomp profile get RuntimeDefault
  // instead of Unconfined.
  bool seccompDefault = false;
  // --cpu-cfs-quota and --cpu-cfs-quota-period (microseconds).
  bool cpuCfsQuota = true;
  int64_t cpuCfsQuotaPeriodUs = 100000;
};

// ---- Sandbox ---------------------------------------------------------------------------

cri::v1::PodSandboxConfig makeSandboxConfig(const api::Pod& pod, uint32_t attempt,
                                            const NodeSettings& node);

// The pieces of the sandbox config, exposed for callers and tests.
// `<podLogsDir>/<namespace>_<name>_<uid>`.
std::string podLogDirectory(const api::Pod& pod, const NodeSettings& node);
// spec.hostname or the pod name, cut to 63 characters without a trailing '-' or '.'.
std::string podHostname(const api::Pod& pod);
// The pod's resolver config for its dnsPolicy (ClusterFirst, ClusterFirstWithHostNet,
// Default, None), within the resolver's limits (3 nameservers, 32 search domains,
// 2048 characters).
cri::v1::DNSConfig podDnsConfig(const api::Pod& pod, const NodeSettings& node);
// The pod's cgroup by QoS class: cgroupfs "/kubepods/burstable/pod<uid>",
// "/kubepods/besteffort/pod<uid>", "/kubepods/pod<uid>" (Guaranteed); systemd
// "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice", ...
std::string podCgroupParent(const api::Pod& pod, const NodeSettings& node);
// network NODE for hostNetwork, pid NODE for hostPID (else CONTAINER), ipc NODE for
// hostIPC (else POD).
cri::v1::NamespaceOption podNamespaceOptions(const api::Pod& pod);

// ---- Containers ------------------------------------------------------------------------

// What a container's config needs besides the pod: the node, what the runtime and the
// volume setup already did, and the facts of this attempt.
struct ContainerContext {
  NodeSettings node{};
  int32_t restartCount = 0;           // metadata.attempt and the log file's name
  std::vector<std::string> podIps{};  // from the sandbox status; empty for hostNetwork
  std::vector<std::string> hostIps{};
  // What the runtime runs: the image ID PullImage/ImageStatus answered. Empty: the
  // container's spec.image as written.
  std::string imageRef{};
  // The image's default user from ImageStatus, checked against runAsNonRoot.
  std::optional<int64_t> imageUid{};
  std::string imageUsername{};
  // Volume name -> host path, for every volume a mount may name (podVolumeHostPaths).
  std::map<std::string, std::string> volumePaths{};
  // The host file mounted at terminationMessagePath; empty: not mounted.
  std::string terminationMessageHostPath{};
  // The pod's hosts file mounted at /etc/hosts unless a volume mount already covers it;
  // empty: not mounted.
  std::string etcHostsHostPath{};
  int64_t memoryCapacityBytes = 0;  // the node's, for a Burstable container's oom_score_adj
};

// kInvalidArgument naming the field for what the user must fix (an unsupported
// fieldRef, a subPath escaping its volume, a mount of an unknown volume, a Localhost
// seccomp profile without a name), or, for runAsNonRoot that cannot hold, the kubelet's
// message naming the pod and container ("container has runAsNonRoot and image will run
// as root (pod: \"web_default(<uid>)\", container: app)"). An image that names no user
// (ctx.imageUid and ctx.imageUsername both empty) runs as root.
absl::StatusOr<cri::v1::ContainerConfig> makeContainerConfig(const api::Pod& pod,
                                                             const api::Container& container,
                                                             const ContainerContext& ctx);

// Volume name -> host path: emptyDir `<rootDir>/pods/<uid>/volumes/kubernetes.io~empty-dir/
// <name>`, hostPath as written.
std::map<std::string, std::string> podVolumeHostPaths(const api::Pod& pod,
                                                      const NodeSettings& node);

// A stable 64-bit hash of the container's spec (FNV-1a over its canonical JSON), stored
// in the io.kubernetes.container.hash annotation (hex) to tell when a spec changed.
uint64_t containerSpecHash(const api::Container& container);

// ---- Pieces of the container config, exposed for tests and for callers ---------------

// Kubernetes' $(VAR) expansion (api/expansion.h), also used by the prober.
using api::expandVariables;

// The container's environment in definition order (a name defined twice keeps its first
// position and its last value): values with $(VAR) references to earlier variables
// expanded, fieldRefs resolved. `path` is the container's field path for errors
// ("spec.containers[0]").
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> containerEnvironment(
    const api::Pod& pod, const api::Container& container, const ContainerContext& ctx,
    std::string_view path);

// The cm helpers: CPU shares for a request (min 2, max 262144) and CFS quota for a limit
// (0 for no limit, at least 1000).
int64_t milliCpuToShares(int64_t milliCpu);
int64_t milliCpuToQuota(int64_t milliCpu, int64_t periodUs);

// oom_score_adj as the kubelet computes it per QoS class: Guaranteed and node-critical
// -997, BestEffort 1000, Burstable 1000 - 1000*memoryRequest/capacity within [3, 999].
int64_t containerOomScoreAdj(const api::Pod& pod, const api::Container& container,
                             int64_t memoryCapacityBytes);

cri::v1::LinuxContainerResources containerResources(const api::Pod& pod,
                                                    const api::Container& container,
                                                    const ContainerContext& ctx);

// `<name>/<restartCount>.log`, relative to the sandbox's log directory.
std::string containerLogPath(std::string_view containerName, int32_t restartCount);

}  // namespace kubenode::agent::pods
