// GrpcRuntimeService: RuntimeClient and ImageClient over gRPC to a CRI runtime
// (containerd) listening on a unix socket.
//
// One channel serves both services. It connects in the background and
// reconnects on its own: while the runtime is down, calls fail fast with
// kUnavailable (no wait-for-ready, which would hold a caller until its whole
// deadline); when the runtime comes back on the same socket, the channel
// reconnects within max_reconnect_backoff and calls succeed again, with no
// action from the caller. A background thread per client watches the
// channel's connectivity so that reconnection does not wait for a call.
//
//   auto runtime = cri::GrpcRuntimeService::create("unix:///run/containerd/containerd.sock");
//   if (!runtime.ok()) { /* bad --container-runtime-endpoint */ }
//   auto version = (*runtime)->version(cri::kCriApiVersion);
//
// Thread-safety: every method may be called concurrently from any thread
// (gRPC stubs and channels are thread-safe; the object has no other mutable
// state). Destruction must not race with calls.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cri/call_options.h"
#include "cri/image_client.h"
#include "cri/proto/runtime_v1.grpc.pb.h"
#include "cri/runtime_client.h"

namespace grpc {
class Channel;
}

namespace kubenode::cri {

struct GrpcRuntimeServiceOptions {
  ClientTimeouts timeouts;
  // Upper bound of gRPC's reconnect back-off. gRPC's default (120 s) would
  // leave the node without a runtime for minutes after a containerd restart.
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // How long one connection attempt may take, from connect() to the
  // runtime's first HTTP/2 frame (gRPC's default is 20 s).
  absl::Duration connect_timeout = absl::Seconds(5);
  // The kubelet raises gRPC's 4 MiB default to 16 MiB so that large
  // ListContainers / ExecSync answers fit.
  int max_message_bytes = 16 * 1024 * 1024;
  // Called after every CRI call with the method ("RunPodSandbox"), how long it took and
  // its outcome, on the calling thread: the agent's metrics hook. Must be thread-safe.
  std::function<void(absl::string_view method, absl::Duration elapsed, const absl::Status& status)>
      on_call_done;
};

class GrpcRuntimeService final : public RuntimeClient, public ImageClient {
 public:
  // endpoint is the --container-runtime-endpoint value: "unix:///abs/path" or
  // a plain absolute path. Returns at once and connects in the background; a
  // runtime that is not running yet only makes calls fail with kUnavailable
  // until it is. A malformed endpoint is kInvalidArgument with a message
  // naming the flag.
  static absl::StatusOr<std::unique_ptr<GrpcRuntimeService>> create(
      absl::string_view endpoint, GrpcRuntimeServiceOptions options = {});

  // The gRPC target ("unix:///abs/path") for an endpoint, or why it is not
  // acceptable. Exposed for flag validation and tests.
  static absl::StatusOr<std::string> parseEndpoint(absl::string_view endpoint);

  // Stops the connectivity watcher (waits up to kWatchInterval).
  ~GrpcRuntimeService() override;
  GrpcRuntimeService(const GrpcRuntimeService&) = delete;
  GrpcRuntimeService& operator=(const GrpcRuntimeService&) = delete;

  // RuntimeClient.
  absl::StatusOr<v1::VersionResponse> version(absl::string_view api_version,
                                              const CallOptions& options = {}) override;
  absl::StatusOr<std::string> runPodSandbox(const v1::PodSandboxConfig& config,
                                            absl::string_view runtime_handler,
                                            const CallOptions& options = {}) override;
  absl::Status stopPodSandbox(absl::string_view pod_sandbox_id,
                              const CallOptions& options = {}) override;
  absl::Status removePodSandbox(absl::string_view pod_sandbox_id,
                                const CallOptions& options = {}) override;
  absl::StatusOr<v1::PodSandboxStatusResponse> podSandboxStatus(
      absl::string_view pod_sandbox_id, bool verbose, const CallOptions& options = {}) override;
  absl::StatusOr<std::vector<v1::PodSandbox>> listPodSandbox(
      const v1::PodSandboxFilter& filter, const CallOptions& options = {}) override;
  absl::StatusOr<std::string> createContainer(absl::string_view pod_sandbox_id,
                                              const v1::ContainerConfig& config,
                                              const v1::PodSandboxConfig& sandbox_config,
                                              const CallOptions& options = {}) override;
  absl::Status startContainer(absl::string_view container_id,
                              const CallOptions& options = {}) override;
  absl::Status stopContainer(absl::string_view container_id, int64_t grace_period_seconds,
                             const CallOptions& options = {}) override;
  absl::Status removeContainer(absl::string_view container_id,
                               const CallOptions& options = {}) override;
  absl::StatusOr<std::vector<v1::Container>> listContainers(
      const v1::ContainerFilter& filter, const CallOptions& options = {}) override;
  absl::StatusOr<v1::ContainerStatusResponse> containerStatus(
      absl::string_view container_id, bool verbose, const CallOptions& options = {}) override;
  absl::Status updateContainerResources(absl::string_view container_id,
                                        const v1::LinuxContainerResources& resources,
                                        const CallOptions& options = {}) override;
  absl::Status reopenContainerLog(absl::string_view container_id,
                                  const CallOptions& options = {}) override;
  absl::StatusOr<v1::ExecSyncResponse> execSync(absl::string_view container_id,
                                                const std::vector<std::string>& cmd,
                                                absl::Duration timeout,
                                                const CallOptions& options = {}) override;
  absl::StatusOr<v1::ContainerStats> containerStats(absl::string_view container_id,
                                                    const CallOptions& options = {}) override;
  absl::StatusOr<std::vector<v1::ContainerStats>> listContainerStats(
      const v1::ContainerStatsFilter& filter, const CallOptions& options = {}) override;
  absl::StatusOr<v1::StatusResponse> status(bool verbose, const CallOptions& options = {}) override;

  // ImageClient.
  absl::StatusOr<std::vector<v1::Image>> listImages(const v1::ImageFilter& filter,
                                                    const CallOptions& options = {}) override;
  absl::StatusOr<v1::ImageStatusResponse> imageStatus(const v1::ImageSpec& image, bool verbose,
                                                      const CallOptions& options = {}) override;
  absl::StatusOr<std::string> pullImage(const v1::ImageSpec& image, const v1::AuthConfig* auth,
                                        const v1::PodSandboxConfig* sandbox_config,
                                        const CallOptions& options = {}) override;
  absl::Status removeImage(const v1::ImageSpec& image, const CallOptions& options = {}) override;
  absl::StatusOr<std::vector<v1::FilesystemUsage>> imageFsInfo(
      const CallOptions& options = {}) override;

  // Extra time given to ExecSync beyond the command's own timeout, so that the
  // runtime's report of the timeout arrives before the client gives up.
  static constexpr absl::Duration kExecSyncMargin = absl::Seconds(2);

  // How often the connectivity watcher wakes up while the channel is not READY.
  static constexpr std::chrono::milliseconds kWatchInterval{100};
  // How often it looks at a READY channel. A failed call wakes it at once, so this
  // only bounds how late a silent disconnection (no call in flight) is noticed.
  static constexpr std::chrono::milliseconds kReadyCheckInterval{2000};

 private:
  GrpcRuntimeService(std::shared_ptr<grpc::Channel> channel, GrpcRuntimeServiceOptions options);

  // The deadline for a call: the caller's, else `fallback`.
  absl::Duration timeoutFor(const CallOptions& options, absl::Duration fallback) const;
  // Runs one unary call with a deadline, maps its status, and reports it to on_call_done.
  template <typename Fn>
  absl::Status invoke(absl::string_view method, absl::Duration timeout, Fn&& fn) const;
  void watchConnectivity();

  const GrpcRuntimeServiceOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex watch_mu_;
  mutable std::condition_variable watch_cv_;
  mutable bool call_failed_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::thread watcher_;  // last: starts once everything above is constructed
};

}  // namespace kubenode::cri
