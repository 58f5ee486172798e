#include "agent/pods/status_word.h"

#include <fmt/format.h>

namespace kubenode::agent::pods {
namespace {

bool conditionTrue(const api::PodStatus& s, const std::string& type) {
  for (const api::PodCondition& c : s.conditions) {
    if (c.type == type)
      return c.status == "True";
  }
  return false;
}

// translateTimestampSince.
std::string since(const std::optional<api::Time>& t, absl::Time now) {
  if (!t.has_value())
    return "<unknown>";
  return humanDuration(now - t->time());
}

}  // namespace

std::string humanDuration(absl::Duration d) {
  // Go converts d.Seconds() (a float) to int: truncation toward zero.
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < -1)
    return "<invalid>";
  if (seconds < 0)
    return "0s";
  if (seconds < 60 * 2)
    return fmt::format("{}s", seconds);
  int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? fmt::format("{}m", minutes) : fmt::format("{}m{}s", minutes, s);
  }
  if (minutes < 60 * 3)
    return fmt::format("{}m", minutes);
  int64_t hours = absl::ToInt64Hours(d);
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? fmt::format("{}h", hours) : fmt::format("{}h{}m", hours, m);
  }
  if (hours < 48)
    return fmt::format("{}h", hours);
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? fmt::format("{}d", hours / 24) : fmt::format("{}d{}h", hours / 24, h);
  }
  if (hours < 24 * 365 * 2)
    return fmt::format("{}d", hours / 24);
  if (hours < 24 * 365 * 8) {
    int64_t dy = hours / 24 % 365;
    return dy == 0 ? fmt::format("{}y", hours / 24 / 365)
                   : fmt::format("{}y{}d", hours / 24 / 365, dy);
  }
  return fmt::format("{}y", hours / 24 / 365);
}

PodDisplay displayPod(const api::Pod& pod, absl::Time now) {
  const api::PodStatus& st = pod.status;
  int64_t restarts = 0;
  int readyContainers = 0;
  const int totalContainers = static_cast<int>(pod.spec.containers.size());
  std::optional<absl::Time> lastRestart;
  auto noteRestart = [&](const api::ContainerStatus& c) {
    restarts += c.restartCount;
    if (c.lastState.terminated && c.lastState.terminated->finishedAt) {
      absl::Time t = c.lastState.terminated->finishedAt->time();
      if (!lastRestart || *lastRestart < t)
        lastRestart = t;
    }
  };

  std::string reason = st.reason.empty() ? st.phase : st.reason;

  // The first init container that has not succeeded names the state of initialization.
  bool initializing = false;
  for (size_t i = 0; i < st.initContainerStatuses.size(); ++i) {
    const api::ContainerStatus& c = st.initContainerStatuses[i];
    noteRestart(c);
    if (c.state.terminated && c.state.terminated->exitCode == 0)
      continue;
    if (c.state.terminated) {
      const api::ContainerStateTerminated& t = *c.state.terminated;
      if (!t.reason.empty())
        reason = "Init:" + t.reason;
      else if (t.signal != 0)
        reason = fmt::format("Init:Signal:{}", t.signal);
      else
        reason = fmt::format("Init:ExitCode:{}", t.exitCode);
    } else if (c.state.waiting && !c.state.waiting->reason.empty() &&
               c.state.waiting->reason != "PodInitializing") {
      reason = "Init:" + c.state.waiting->reason;
    } else {
      reason = fmt::format("Init:{}/{}", i, pod.spec.initContainers.size());
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(st, "Initialized")) {
    // Past initialization only app containers' restarts count, as kubectl counts them.
    restarts = 0;
    lastRestart.reset();
    bool hasRunning = false;
    // Backwards, so that the first container with something to say wins.
    for (size_t i = st.containerStatuses.size(); i-- > 0;) {
      const api::ContainerStatus& c = st.containerStatuses[i];
      noteRestart(c);
      if (c.state.waiting && !c.state.waiting->reason.empty()) {
        reason = c.state.waiting->reason;
      } else if (c.state.terminated && !c.state.terminated->reason.empty()) {
        reason = c.state.terminated->reason;
      } else if (c.state.terminated) {
        reason = c.state.terminated->signal != 0
                     ? fmt::format("Signal:{}", c.state.terminated->signal)
                     : fmt::format("ExitCode:{}", c.state.terminated->exitCode);
      } else if (c.ready && c.state.running) {
        hasRunning = true;
        ++readyContainers;
      }
    }
    // A completed container beside one still running: the pod is not complete.
    if (reason == "Completed" && hasRunning)
      reason = conditionTrue(st, "Ready") ? "Running" : "NotReady";
  }

  bool terminal = st.phase == "Succeeded" || st.phase == "Failed";
  if (pod.metadata.deletionTimestamp && st.reason == "NodeLost")
    reason = "Unknown";
  else if (pod.metadata.deletionTimestamp && !terminal)
    reason = "Terminating";

  PodDisplay d;
  d.name = pod.metadata.name;
  d.ready = fmt::format("{}/{}", readyContainers, totalContainers);
  d.status = reason;
  d.restarts = std::to_string(restarts);
  if (restarts != 0 && lastRestart)
    d.restarts = fmt::format("{} ({} ago)", restarts, humanDuration(now - *lastRestart));
  d.age = since(pod.metadata.creationTimestamp, now);
  d.ip = st.podIP.empty() ? "<none>" : st.podIP;
  d.node = pod.spec.nodeName.empty() ? "<none>" : pod.spec.nodeName;
  return d;
}

}  // namespace kubenode::agent::pods
