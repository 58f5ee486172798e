// The container log manager: size-based rotation of the CRI log files containerd writes, with
// the kubelet's semantics (pkg/kubelet/logs container log manager) and names:
//
//   - every check period (10 s) each running container's log file is looked at;
//   - one at or above --container-log-max-size is renamed to `<path>.<YYYYMMDD-HHMMSS>` (UTC)
//     and CRI ReopenContainerLog makes containerd write a fresh `<path>`; if the reopen fails
//     the rename is undone, so no output is lost;
//   - at most --container-log-max-files files are kept per container, the live one included:
//     older rotated files are removed oldest first, and the rotated files kept are
//     gzip-compressed at each rotation, so all but the newest rotated file are compressed
//     (`<path>.<stamp>.gz`, written as `.gz.tmp` and renamed, so a reader never sees half a gzip
//     file).
//
// The decision is a pure function (planRotation); ContainerLogManager carries it out.
//
//   absl::StatusOr<RotationPolicy> policy = makeRotationPolicy("10Mi", 5);
//   CriRunningContainerLogs running(runtime);  // or the pod workers' own view
//   ContainerLogManager manager(loop, runtime, running, *policy);
//   manager.start();  // checks every 10 s on `loop`
//
// Thread-safety: planRotation is reentrant. A ContainerLogManager lives on its io_context:
// start(), stop() and the checks run there; rotateLogs() may be called from one other thread
// when the loop is not running (tests). Its checks block (CRI calls, gzip of a file of up to
// max-size), so give it a loop that may block, not one serving latency-sensitive work.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cri/runtime_client.h"

namespace kubenode::agent::logs {

struct RotationPolicy {
  int64_t maxSizeBytes = 10 * 1024 * 1024;  // --container-log-max-size 10Mi
  int maxFiles = 5;                         // --container-log-max-files
};

// From the flags' values; kInvalidArgument naming the flag: the size must be a positive
// quantity ("10Mi"), the file count at least 2 (the live file and one rotated).
absl::StatusOr<RotationPolicy> makeRotationPolicy(std::string_view containerLogMaxSize,
                                                  int containerLogMaxFiles);

// What to do with one container's log directory. Names are relative to the directory.
struct RotationPlan {
  std::vector<std::string> remove{};    // leftovers (.tmp, plain files with a .gz twin), excess
  std::vector<std::string> compress{};  // rotated files to gzip, oldest first
  std::string rotateTo{};               // the live file's new name; empty: not this time
};

// Pure. `logName` is the live file's name ("0.log"), `size` its size, `names` every name in
// its directory. nullopt while the file is below the policy's size.
std::optional<RotationPlan> planRotation(std::string_view logName, int64_t size,
                                         const std::vector<std::string>& names,
                                         const RotationPolicy& policy, absl::Time now);

// A running container and the absolute path of the log file containerd writes for it.
struct ContainerLogInfo {
  std::string containerId{};
  std::string logPath{};
};

// Which containers' logs to watch. The agent may implement it from its pod workers' state;
// CriRunningContainerLogs asks the runtime, as the kubelet's manager does.
class RunningContainerLogs {
 public:
  virtual ~RunningContainerLogs() = default;
  // Containers running now with a log file. Called on the manager's loop.
  virtual absl::StatusOr<std::vector<ContainerLogInfo>> runningContainerLogs() = 0;
};

// ListContainers(state RUNNING) and each one's ContainerStatus.log_path.
class CriRunningContainerLogs final : public RunningContainerLogs {
 public:
  explicit CriRunningContainerLogs(cri::RuntimeClient& runtime) : runtime_(runtime) {}
  absl::StatusOr<std::vector<ContainerLogInfo>> runningContainerLogs() override;

 private:
  cri::RuntimeClient& runtime_;
};

class ContainerLogManager {
 public:
  using Clock = std::function<absl::Time()>;

  ContainerLogManager(boost::asio::io_context& loop, cri::RuntimeClient& runtime,
                      RunningContainerLogs& containers, RotationPolicy policy, Clock clock = {},
                      std::chrono::steady_clock::duration period = std::chrono::seconds(10));

  // Schedules a check every period on the loop (the first one a period from now).
  void start();
  // Cancels the checks; a check already running finishes.
  void stop();

  // One check of every running container; returns the first error (all containers are still
  // tried). A container that stopped meanwhile is not an error.
  absl::Status rotateLogs();
  // One container's check.
  absl::Status rotateLog(const ContainerLogInfo& container);

 private:
  void schedule();

  boost::asio::io_context& loop_;
  cri::RuntimeClient& runtime_;
  RunningContainerLogs& containers_;
  RotationPolicy policy_;
  Clock clock_;
  std::chrono::steady_clock::duration period_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
};

// gzip-compresses `path` into `path.gz` (through `path.gz.tmp`) and removes `path`.
absl::Status compressLogFile(const std::string& path);

}  // namespace kubenode::agent::logs
