#include "agent/logs/pod_logs.h"

#include <sys/stat.h>

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "agent/logs/log_files.h"

namespace kubenode::agent::logs {
namespace {

constexpr const char* kDefaultContainerAnnotation = "kubectl.kubernetes.io/default-container";

std::string bracketList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i)
    out += (i ? " " : "") + names[i];
  return out + "]";
}

bool isDirectory(const std::string& path, absl::Time* modified = nullptr) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return false;
  if (modified != nullptr)
    *modified = absl::TimeFromTimespec(st.st_mtim);
  return true;
}

}  // namespace

PodView podViewFromApi(const api::Pod& pod, const std::string& podLogsDir) {
  PodView view;
  view.name = pod.metadata.name;
  view.fromAgent = true;
  view.logDir = fmt::format("{}/{}_{}_{}", podLogsDir, pod.metadata.namespace_, pod.metadata.name,
                            pod.metadata.uid);
  for (const api::Container& c : pod.spec.containers)
    view.containers.push_back(c.name);
  for (const api::Container& c : pod.spec.initContainers)
    view.initContainers.push_back(c.name);
  if (auto it = pod.metadata.annotations.find(kDefaultContainerAnnotation);
      it != pod.metadata.annotations.end()) {
    view.defaultContainer = it->second;
  }
  auto add = [&](const std::vector<api::ContainerStatus>& statuses) {
    for (const api::ContainerStatus& s : statuses) {
      view.statuses[s.name] = PodView::Status{
          .restartCount = s.restartCount,
          .running = s.state.running.has_value(),
          .waitingReason = s.state.waiting ? s.state.waiting->reason : std::string()};
    }
  };
  add(pod.status.containerStatuses);
  add(pod.status.initContainerStatuses);
  return view;
}

std::optional<std::string> newestPodDirectory(const std::vector<DirectoryEntry>& entries,
                                              const std::string& ns, const std::string& name) {
  // Namespaces, names and UIDs never hold '_', so the prefix is unambiguous.
  const std::string prefix = fmt::format("{}_{}_", ns, name);
  const DirectoryEntry* best = nullptr;
  for (const DirectoryEntry& e : entries) {
    if (e.name.size() <= prefix.size() || e.name.compare(0, prefix.size(), prefix) != 0 ||
        e.name.find('_', prefix.size()) != std::string::npos) {
      continue;
    }
    if (best == nullptr || e.modified > best->modified ||
        (e.modified == best->modified && e.name > best->name)) {
      best = &e;
    }
  }
  if (best == nullptr)
    return std::nullopt;
  return best->name;
}

absl::StatusOr<PodView> podViewFromDisk(const std::string& podLogsDir, const std::string& ns,
                                        const std::string& name) {
  std::vector<DirectoryEntry> entries;
  for (const std::string& entry : listDirectory(podLogsDir)) {
    absl::Time modified;
    if (isDirectory(podLogsDir + "/" + entry, &modified))
      entries.push_back({.name = entry, .modified = modified});
  }
  std::optional<std::string> dir = newestPodDirectory(entries, ns, name);
  if (!dir)
    return absl::NotFoundError(fmt::format("pods \"{}\" not found", name));
  PodView view;
  view.name = name;
  view.logDir = podLogsDir + "/" + *dir;
  for (const std::string& entry : listDirectory(view.logDir)) {
    if (isDirectory(view.logDir + "/" + entry))
      view.containers.push_back(entry);
  }
  std::sort(view.containers.begin(), view.containers.end());
  return view;
}

absl::StatusOr<LogTarget> resolveLogTarget(
    const PodLogRequest& request, const PodView& view,
    const std::function<std::vector<int>(const std::string&)>& loggedRestarts) {
  std::string container = request.container;
  if (container.empty()) {
    if (!view.defaultContainer.empty()) {
      container = view.defaultContainer;
    } else if (view.containers.size() == 1) {
      container = view.containers.front();
    } else {
      std::string message = fmt::format(
          "a container name must be specified for pod {}, "
          "choose one of: {}",
          view.name, bracketList(view.containers));
      if (!view.initContainers.empty())
        message += " or one of the init containers: " + bracketList(view.initContainers);
      return absl::InvalidArgumentError(message);
    }
  }
  const bool known = std::find(view.containers.begin(), view.containers.end(), container) !=
                         view.containers.end() ||
                     std::find(view.initContainers.begin(), view.initContainers.end(), container) !=
                         view.initContainers.end();
  if (!known) {
    return absl::InvalidArgumentError(
        fmt::format("container {} is not valid for pod {}", container, view.name));
  }
  LogTarget target;
  target.container = container;
  target.containerDir = view.logDir + "/" + container;
  const std::vector<int> logged = loggedRestarts(target.containerDir);
  auto status = view.statuses.find(container);
  if (status != view.statuses.end()) {
    target.knownFromAgent = true;
    target.restartCount = status->second.restartCount;
    target.running = status->second.running;
  } else if (!logged.empty()) {
    target.restartCount = logged.back();
  }
  const auto hasLog = [&](int n) {
    return std::find(logged.begin(), logged.end(), n) != logged.end();
  };
  if (request.previous) {
    const int previous = target.restartCount - 1;
    if (previous < 0 || !hasLog(previous)) {
      return absl::NotFoundError(fmt::format(
          "previous terminated container \"{}\" in pod \"{}\" not found", container, view.name));
    }
    target.restartCount = previous;
    target.running = false;
    return target;
  }
  if (!hasLog(target.restartCount) && status != view.statuses.end() &&
      !status->second.waitingReason.empty()) {
    return absl::FailedPreconditionError(
        fmt::format("container \"{}\" in pod \"{}\" is waiting to start: {}", container, view.name,
                    status->second.waitingReason));
  }
  return target;
}

}  // namespace kubenode::agent::logs
