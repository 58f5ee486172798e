// RuntimeClient: the CRI RuntimeService (pod sandboxes and containers) as a
// small C++ interface, one method per CRI method, taking and returning the
// runtime.v1 protobuf messages (cri/proto/runtime_v1.proto), shaped like the
// kubelet's internal runtime API.
//
// Implementations: GrpcRuntimeService (real, over containerd's socket) and
// FakeRuntimeService (in memory, for unit tests of pod logic).
//
// Errors: every failure is an absl::Status whose code is the runtime's gRPC
// code (absl::StatusCode and grpc::StatusCode share their numbers) and whose
// message starts with the CRI method name, e.g.
//   "ContainerStatus: an error occurred when try to find container \"ab12\": not found"
// so callers branch on the code:
//   kNotFound           the sandbox/container is gone (treat as already removed)
//   kUnavailable        the runtime is down or restarting: retry with back-off
//   kDeadlineExceeded   the call took longer than its deadline
//   kFailedPrecondition the object is in the wrong state for this call
//
// Example:
//   cri::v1::PodSandboxConfig config = ...;
//   absl::StatusOr<std::string> sandbox = runtime.runPodSandbox(config, "");
//   if (!sandbox.ok()) return sandbox.status();
//   cri::v1::ContainerConfig web = ...;
//   auto id = runtime.createContainer(*sandbox, web, config);
//   if (id.ok()) status = runtime.startContainer(*id);
//
// Thread-safety: every implementation must allow all methods to be called
// concurrently from any number of threads; each method below says so too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cri/call_options.h"

// GNU modes (-std=gnu++20) predefine the macro `linux`, which breaks the CRI
// messages' `linux` fields in the generated header; the project builds with
// CMAKE_CXX_EXTENSIONS OFF.
#if defined(linux)
#error "cri/: compile with -std=c++20, not gnu++20 (the macro `linux` clashes with CRI fields)"
#endif
#include "cri/proto/runtime_v1.pb.h"

namespace kubenode::cri {

// The generated CRI messages: cri::v1::PodSandboxConfig, cri::v1::ContainerStatus, ...
namespace v1 = ::runtime::v1;

class RuntimeClient {
 public:
  virtual ~RuntimeClient() = default;

  // Runtime name and version. Default deadline: ClientTimeouts::health_check.
  // Thread-safe.
  virtual absl::StatusOr<v1::VersionResponse> version(absl::string_view api_version,
                                                      const CallOptions& options = {}) = 0;

  // Creates and starts a sandbox (pause container, network namespace, pod IP)
  // and returns its ID. An empty runtime_handler selects the runtime's default.
  // Thread-safe.
  virtual absl::StatusOr<std::string> runPodSandbox(const v1::PodSandboxConfig& config,
                                                    absl::string_view runtime_handler,
                                                    const CallOptions& options = {}) = 0;

  // Stops every process of the sandbox and releases its network. Succeeds if
  // already stopped. Thread-safe.
  virtual absl::Status stopPodSandbox(absl::string_view pod_sandbox_id,
                                      const CallOptions& options = {}) = 0;

  // Removes the sandbox and its containers. Succeeds if already removed.
  // Thread-safe.
  virtual absl::Status removePodSandbox(absl::string_view pod_sandbox_id,
                                        const CallOptions& options = {}) = 0;

  // kNotFound if the sandbox does not exist. Thread-safe.
  virtual absl::StatusOr<v1::PodSandboxStatusResponse> podSandboxStatus(
      absl::string_view pod_sandbox_id, bool verbose, const CallOptions& options = {}) = 0;

  // Sandboxes matching every set field of the filter (an empty filter matches
  // all). Thread-safe.
  virtual absl::StatusOr<std::vector<v1::PodSandbox>> listPodSandbox(
      const v1::PodSandboxFilter& filter, const CallOptions& options = {}) = 0;

  // Creates (does not start) a container in a ready sandbox and returns its ID.
  // sandbox_config is the config the sandbox was run with. Thread-safe.
  virtual absl::StatusOr<std::string> createContainer(absl::string_view pod_sandbox_id,
                                                      const v1::ContainerConfig& config,
                                                      const v1::PodSandboxConfig& sandbox_config,
                                                      const CallOptions& options = {}) = 0;

  // Starts a CREATED container. Thread-safe.
  virtual absl::Status startContainer(absl::string_view container_id,
                                      const CallOptions& options = {}) = 0;

  // Signals the container to stop, waits up to grace_period_seconds, then kills
  // it. Succeeds if already exited. The default deadline is the grace period
  // plus ClientTimeouts::runtime_request, as the kubelet does, so a long grace
  // period is never cut short by the client. Thread-safe.
  virtual absl::Status stopContainer(absl::string_view container_id, int64_t grace_period_seconds,
                                     const CallOptions& options = {}) = 0;

  // Removes the container (killing it if running). Succeeds if already removed.
  // Thread-safe.
  virtual absl::Status removeContainer(absl::string_view container_id,
                                       const CallOptions& options = {}) = 0;

  // Containers matching every set field of the filter. Thread-safe.
  virtual absl::StatusOr<std::vector<v1::Container>> listContainers(
      const v1::ContainerFilter& filter, const CallOptions& options = {}) = 0;

  // kNotFound if the container does not exist. Thread-safe.
  virtual absl::StatusOr<v1::ContainerStatusResponse> containerStatus(
      absl::string_view container_id, bool verbose, const CallOptions& options = {}) = 0;

  // Applies new Linux resources to a created or running container.
  // Thread-safe.
  virtual absl::Status updateContainerResources(absl::string_view container_id,
                                                const v1::LinuxContainerResources& resources,
                                                const CallOptions& options = {}) = 0;

  // Reopens the container's log file (after rotation). Thread-safe.
  virtual absl::Status reopenContainerLog(absl::string_view container_id,
                                          const CallOptions& options = {}) = 0;

  // Runs cmd in the container and returns its output and exit code. A non-zero
  // exit code is a result, not an error (an exec probe's failure). `timeout`
  // is the command's own limit (absl::ZeroDuration(): none); when it passes,
  // the call fails with kDeadlineExceeded. The default call deadline is
  // `timeout` plus a margin (so the runtime's own timeout is seen first), or
  // ClientTimeouts::runtime_request when `timeout` is zero. Thread-safe.
  virtual absl::StatusOr<v1::ExecSyncResponse> execSync(absl::string_view container_id,
                                                        const std::vector<std::string>& cmd,
                                                        absl::Duration timeout,
                                                        const CallOptions& options = {}) = 0;

  // Resource usage of one container. Thread-safe.
  virtual absl::StatusOr<v1::ContainerStats> containerStats(absl::string_view container_id,
                                                            const CallOptions& options = {}) = 0;

  // Resource usage of the containers matching the filter. Thread-safe.
  virtual absl::StatusOr<std::vector<v1::ContainerStats>> listContainerStats(
      const v1::ContainerStatsFilter& filter, const CallOptions& options = {}) = 0;

  // Runtime conditions (RuntimeReady, NetworkReady). Default deadline:
  // ClientTimeouts::health_check. Thread-safe.
  virtual absl::StatusOr<v1::StatusResponse> status(bool verbose,
                                                    const CallOptions& options = {}) = 0;
};

}  // namespace kubenode::cri
