// Finding the log files `kubenode logs [-n NS] POD [-c CONTAINER] [--previous]` must print,
// with kubectl's error texts. The pod's log directory is `<podLogsDir>/<ns>_<name>_<uid>/`;
// the running agent (its /pods) knows the pod's current UID, its containers in spec order and
// their restart counts; without it the newest directory of that name and the restart counts
// of the files on disk stand in.
//
//   PodView view = podViewFromApi(podFromAgent, "/var/log/pods");  // or podViewFromDisk(...)
//   absl::StatusOr<LogTarget> target =
//       resolveLogTarget({.ns = "default", .pod = "web", .container = ""}, view);
//   if (!target.ok()) std::cerr << "error: " << target.status().message();
//   // "a container name must be specified for pod web, choose one of: [app sidecar]"
//   std::vector<LogFile> files = containerLogFiles(target->containerDir, target->restartCount);
//
// Thread-safety: reentrant.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/pod.h"

namespace kubenode::agent::logs {

struct PodLogRequest {
  std::string ns = "default";
  std::string pod{};
  std::string container{};  // empty: the only one, or the default-container annotation's
  bool previous = false;
};

// What is known of a pod's containers.
struct PodView {
  std::string name{};
  std::string logDir{};                       // <podLogsDir>/<ns>_<name>_<uid>
  std::vector<std::string> containers{};      // app containers (spec order, or sorted from disk)
  std::vector<std::string> initContainers{};  // known only from the agent
  std::string defaultContainer{};             // kubectl.kubernetes.io/default-container
  struct Status {
    int restartCount = 0;
    bool running = false;
    std::string waitingReason{};  // "ContainerCreating", "CrashLoopBackOff", ...
  };
  std::map<std::string, Status> statuses{};  // from the agent only
  bool fromAgent = false;
};

// From the agent's view of the pod (its /pods).
PodView podViewFromApi(const api::Pod& pod, const std::string& podLogsDir);

// One entry of the pod logs directory.
struct DirectoryEntry {
  std::string name{};
  absl::Time modified{};
};
// Pure: of `entries`, the newest directory of pod ns/name ("<ns>_<name>_<uid>"); nullopt
// when there is none.
std::optional<std::string> newestPodDirectory(const std::vector<DirectoryEntry>& entries,
                                              const std::string& ns, const std::string& name);

// From the directories on disk. kNotFound `pods "web" not found` when there is none.
absl::StatusOr<PodView> podViewFromDisk(const std::string& podLogsDir, const std::string& ns,
                                        const std::string& name);

struct LogTarget {
  std::string container{};
  std::string containerDir{};
  int restartCount = 0;
  // Whether the container runs now (from the agent; false when unknown): -f stops when it
  // no longer does.
  bool running = false;
  bool knownFromAgent = false;
};

// Which container and restart to print. Errors, as kubectl words them:
//   kInvalidArgument  "a container name must be specified for pod web, choose one of:
//                      [a b]" (and " or one of the init containers: [i]")
//   kInvalidArgument  "container x is not valid for pod web"
//   kNotFound         "previous terminated container \"c\" in pod \"web\" not found"
//   kFailedPrecondition "container \"c\" in pod \"web\" is waiting to start: ContainerCreating"
// `loggedRestarts(containerDir)` lists the restart counts with files (loggedRestartCounts).
absl::StatusOr<LogTarget> resolveLogTarget(
    const PodLogRequest& request, const PodView& view,
    const std::function<std::vector<int>(const std::string&)>& loggedRestarts);

}  // namespace kubenode::agent::logs
