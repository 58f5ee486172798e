// FakeRuntimeService: an in-memory CRI runtime for unit tests of pod logic.
//
// It implements RuntimeClient and ImageClient with the state machines a real
// runtime keeps, so code under test meets the same answers it would get from
// containerd:
//   sandbox:   RunPodSandbox -> READY --StopPodSandbox--> NOTREADY --Remove--> gone
//              (RemovePodSandbox of a READY sandbox stops it first, as containerd does)
//   container: Create -> CREATED --Start--> RUNNING --Stop / exitContainer()--> EXITED
// Errors follow containerd where a caller could tell the difference: unknown
// IDs are kNotFound (except the idempotent Stop/Remove calls documented in
// the interfaces), calls in the wrong state are kFailedPrecondition (start a
// container twice, create a container in a stopped sandbox, exec in a
// container that is not running), a reused
// (namespace, name, uid, attempt) is kAlreadyExists. Every error message
// starts with the CRI method name, as the gRPC client's do.
//
// Tests program it and inspect what was called:
//
//   absl::Time now = absl::FromUnixSeconds(1000);
//   cri::FakeRuntimeService fake([&] { return now; });
//   fake.addImage("busybox:latest");
//   fake.setExecResult("", {"cat", "/tmp/healthy"}, {.exit_code = 1});
//   fake.failNext("RunPodSandbox", absl::UnavailableError("containerd restarting"));
//   ... run the code under test against `fake` (as a RuntimeClient&) ...
//   now += absl::Seconds(5);
//   ASSERT_TRUE(fake.exitContainer(id, 137, "OOMKilled").ok());
//   EXPECT_EQ(fake.callCount("StartContainer"), 1);
//
// Timestamps (created_at, started_at, finished_at) come from the injected
// clock. IDs are predictable: "sandbox-1", "sandbox-2", ..., "container-1", ...
// Sandbox IPs are 10.88.0.2, 10.88.0.3, ... unless the sandbox uses the node's
// network namespace (then the IP is empty, as with hostNetwork pods).
//
// Thread-safety: every method, including the test helpers, may be called from
// any thread; one mutex guards all state.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cri/image_client.h"
#include "cri/runtime_client.h"

namespace kubenode::cri {

class FakeRuntimeService final : public RuntimeClient, public ImageClient {
 public:
  using Clock = std::function<absl::Time()>;

  // What ExecSync answers for a command.
  struct ExecResult {
    std::string stdout_data{};
    std::string stderr_data{};
    int32_t exit_code = 0;
    // The command did not finish within its timeout: ExecSync fails with
    // kDeadlineExceeded, as containerd does.
    bool timed_out = false;
  };

  // One call made through the interfaces, in order.
  struct Call {
    std::string method;            // the CRI method name: "RunPodSandbox", "ExecSync", ...
    std::string target;            // the sandbox/container ID or image the call was about, if any
    absl::Duration timeout;        // CallOptions::timeout as passed (zero: client default)
    std::vector<std::string> cmd;  // ExecSync only: the command
  };

  // clock: the time source for timestamps; absl::Now when empty.
  explicit FakeRuntimeService(Clock clock = {});

  // ---- Programming the fake ---------------------------------------------

  // Makes an image present, known by each of `tags` (e.g. "busybox:latest").
  // Returns its ID ("sha256:..." derived from the first tag).
  std::string addImage(absl::string_view tag, std::vector<std::string> more_tags = {});

  // Makes every PullImage of `image` fail with `status` (until cleared with
  // an OK status).
  void setPullImageError(absl::string_view image, absl::Status status);

  // Makes the next `times` calls of `method` (a CRI method name, e.g.
  // "RunPodSandbox") fail with `status` before touching any state. The
  // error's message gains the method prefix.
  void failNext(absl::string_view method, absl::Status status, int times = 1);
  void clearInjectedErrors();

  // ExecSync of exactly `cmd` in `container_id` answers `result`. An empty
  // container_id applies to every container without a more specific entry.
  // Unprogrammed commands succeed with exit code 0 and no output.
  void setExecResult(absl::string_view container_id, std::vector<std::string> cmd,
                     ExecResult result);

  // The process of a RUNNING container ends by itself with `exit_code`.
  // reason defaults to "Completed" for 0 and "Error" otherwise.
  absl::Status exitContainer(absl::string_view container_id, int32_t exit_code,
                             absl::string_view reason = "", absl::string_view message = "");

  // The sandbox dies (e.g. its pause process was killed): NOTREADY, and its
  // running containers exit with 137.
  absl::Status killSandbox(absl::string_view pod_sandbox_id);

  // Sets a runtime condition reported by Status ("RuntimeReady", "NetworkReady").
  void setRuntimeCondition(absl::string_view type, bool status, absl::string_view reason = "",
                           absl::string_view message = "");

  // ---- Inspecting the fake ----------------------------------------------

  std::vector<Call> calls() const;
  // Number of calls recorded for a CRI method name.
  int callCount(absl::string_view method) const;
  void clearCalls();

  // The configs a sandbox / container was created with (kNotFound if gone).
  absl::StatusOr<v1::PodSandboxConfig> sandboxConfig(absl::string_view pod_sandbox_id) const;
  absl::StatusOr<v1::ContainerConfig> containerConfig(absl::string_view container_id) const;

  // ---- RuntimeClient ----------------------------------------------------

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

  // ---- ImageClient ------------------------------------------------------

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

 private:
  struct Sandbox {
    v1::PodSandboxConfig config;
    std::string runtime_handler;
    v1::PodSandboxState state = v1::SANDBOX_READY;
    int64_t created_at = 0;
    std::string ip;
  };
  struct ContainerRecord {
    std::string sandbox_id;
    v1::ContainerConfig config;
    std::string image_ref;
    v1::ContainerState state = v1::CONTAINER_CREATED;
    int64_t created_at = 0;
    int64_t started_at = 0;
    int64_t finished_at = 0;
    int32_t exit_code = 0;
    std::string reason;
    std::string message;
    std::string log_path;
    v1::LinuxContainerResources resources;
  };

  // Records the call and returns the injected error for it, if any.
  absl::Status enter(absl::string_view method, absl::string_view target, const CallOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t nowNanos() const;
  // The image known by `ref` (a tag or an ID), or null.
  const v1::Image* findImage(absl::string_view ref) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void finishContainer(ContainerRecord& container, int32_t exit_code, absl::string_view reason,
                       absl::string_view message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  v1::ContainerStatus statusOf(absl::string_view id, const ContainerRecord& container) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const Clock clock_;

  mutable absl::Mutex mu_;
  // std::map: List* answers come out in ID order, which keeps tests stable.
  std::map<std::string, Sandbox, std::less<>> sandboxes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ContainerRecord, std::less<>> containers_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Image> images_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status, std::less<>> pull_errors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<absl::Status>, std::less<>> injected_ ABSL_GUARDED_BY(mu_);
  // Keyed by container ID ("" for any), then by the command's arguments.
  std::map<std::string, std::map<std::vector<std::string>, ExecResult>, std::less<>> exec_results_
      ABSL_GUARDED_BY(mu_);
  std::vector<v1::RuntimeCondition> conditions_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  int next_sandbox_ ABSL_GUARDED_BY(mu_) = 1;
  int next_container_ ABSL_GUARDED_BY(mu_) = 1;
  int next_ip_ ABSL_GUARDED_BY(mu_) = 2;
};

}  // namespace kubenode::cri
