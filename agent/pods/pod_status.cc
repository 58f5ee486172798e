#include "agent/pods/pod_status.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "agent/pods/container_config.h"
#include "agent/pods/qos.h"

namespace kubenode::agent::pods {
namespace {

constexpr char kContainerCreating[] = "ContainerCreating";
constexpr char kPodInitializing[] = "PodInitializing";

std::optional<api::Time> apiTime(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::UnixEpoch())
    return std::nullopt;
  return api::Time(t);
}

std::string containerId(const std::string& id) {
  return "containerd://" + id;
}

const api::ContainerStatus* findStatus(const std::vector<api::ContainerStatus>& list,
                                       const std::string& name) {
  for (const api::ContainerStatus& s : list) {
    if (s.name == name)
      return &s;
  }
  return nullptr;
}

// convertContainerStatus: one runtime container as an API status.
api::ContainerStatus convert(const RuntimeContainer& rc, const api::Container& spec,
                             const api::ContainerStatus* old) {
  api::ContainerStatus s;
  s.name = rc.name;
  s.restartCount = rc.restartCount;
  s.image = rc.image.empty() ? spec.image : rc.image;
  s.imageID = rc.imageRef;
  s.containerID = containerId(rc.id);
  switch (rc.state) {
    case ContainerState::kRunning:
      s.state.running = api::ContainerStateRunning{.startedAt = apiTime(rc.startedAt)};
      break;
    case ContainerState::kCreated:
      s.state.waiting = api::ContainerStateWaiting{};  // created, waiting to run
      break;
    case ContainerState::kExited:
      s.state.terminated = api::ContainerStateTerminated{.exitCode = rc.exitCode,
                                                         .reason = rc.reason,
                                                         .message = rc.message,
                                                         .startedAt = apiTime(rc.startedAt),
                                                         .finishedAt = apiTime(rc.finishedAt),
                                                         .containerID = s.containerID};
      break;
    case ContainerState::kUnknown:
      if (old != nullptr && old->state.running.has_value()) {
        // It ran and the runtime lost it: say it ended, so that a run-once pod is not
        // shown as never started (and run again by whoever trusts that).
        s.state.terminated = api::ContainerStateTerminated{
            .exitCode = 137,
            .reason = "ContainerStatusUnknown",
            .message = "The container could not be located when the pod was terminated"};
        s.restartCount = old->restartCount + 1;
      } else {
        s.state.waiting = api::ContainerStateWaiting{};
      }
      break;
  }
  return s;
}

// convertToAPIContainerStatuses for one list (init or app containers).
std::vector<api::ContainerStatus> convertStatuses(const api::Pod& pod,
                                                  const PodRuntimeStatus& runtime,
                                                  const std::vector<api::ContainerStatus>& previous,
                                                  const std::vector<api::Container>& specs,
                                                  bool isInit, const WaitingReasons& waiting) {
  const bool hasInit = !pod.spec.initContainers.empty();
  std::vector<api::ContainerStatus> out;
  out.reserve(specs.size());

  for (const api::Container& c : specs) {
    api::ContainerStatus s;
    s.name = c.name;
    s.image = c.image;
    s.state.waiting =
        api::ContainerStateWaiting{.reason = hasInit ? kPodInitializing : kContainerCreating};
    if (const api::ContainerStatus* old = findStatus(previous, c.name)) {
      if (old->state.terminated.has_value()) {
        s = *old;  // a finished container that the runtime may have removed since
      } else {
        s.restartCount = old->restartCount;
        s.lastState = old->lastState;
      }
    }
    out.push_back(std::move(s));
  }

  // Newest first by creation, as the kubelet sorts them (the listing should already be).
  std::vector<const RuntimeContainer*> byAge;
  for (const RuntimeContainer& rc : runtime.containers)
    byAge.push_back(&rc);
  std::stable_sort(byAge.begin(), byAge.end(),
                   [](const auto* a, const auto* b) { return a->createdAt > b->createdAt; });

  for (size_t i = 0; i < specs.size(); ++i) {
    const api::Container& c = specs[i];
    api::ContainerStatus& s = out[i];
    const api::ContainerStatus* old = findStatus(previous, c.name);
    int seen = 0;
    for (const RuntimeContainer* rc : byAge) {
      if (rc->name != c.name)
        continue;
      api::ContainerStatus converted = convert(*rc, c, old);
      if (seen == 0) {
        s = std::move(converted);
      } else {
        s.lastState = converted.state;  // the attempt before the newest
        break;
      }
      ++seen;
    }
    if (seen > 0 || old == nullptr || old->state.terminated.has_value() ||
        !old->state.running.has_value())
      continue;
    // It was running and the runtime no longer has it at all: not "never started" (which
    // would turn the pod Pending), but ended for an unknown reason.
    bool isDefaultWaiting =
        s.state.waiting.has_value() &&
        s.state.waiting->reason == (hasInit ? kPodInitializing : kContainerCreating);
    if (!isDefaultWaiting || s.lastState.terminated.has_value())
      continue;
    s.lastState.terminated = api::ContainerStateTerminated{
        .exitCode = 137,
        .reason = "ContainerStatusUnknown",
        .message =
            "The container could not be located when the pod was deleted.  The "
            "container used to be Running"};
    if (!pod.metadata.deletionTimestamp.has_value())
      s.restartCount += 1;
  }

  // Containers that will be started again show why they are not running yet.
  for (size_t i = 0; i < specs.size(); ++i) {
    const api::Container& c = specs[i];
    if (isInit) {
      const RuntimeContainer* rc = runtime.latestContainer(c.name);
      if (rc != nullptr && rc->state == ContainerState::kExited && rc->exitCode == 0)
        continue;  // a succeeded init container never runs again
    }
    if (!shouldContainerBeRestarted(pod, c, runtime))
      continue;
    auto reason = waiting.find(c.name);
    if (reason == waiting.end())
      continue;
    api::ContainerStatus& s = out[i];
    if (s.state.terminated.has_value())
      s.lastState = s.state;
    s.state = api::ContainerState{.waiting = reason->second};
  }
  return out;
}

// The prober manager's rules: started once the startup probe succeeded (or there is
// none), ready once started and the readiness probe succeeded (or there is none); only
// while running. Init containers are ready when they exited 0.
void applyProbes(const std::vector<api::Container>& specs, std::vector<api::ContainerStatus>& out,
                 const PodRuntimeStatus& runtime, const ProbeResults& probes, bool isInit) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const api::Container& c = specs[i];
    api::ContainerStatus& s = out[i];
    bool running = s.state.running.has_value();
    if (isInit) {
      s.ready = s.state.terminated.has_value() && s.state.terminated->exitCode == 0;
      s.started = running;
      continue;
    }
    if (!running) {
      s.ready = false;
      s.started = false;
      continue;
    }
    const RuntimeContainer* rc = runtime.latestContainer(c.name);
    const ContainerProbeResults* r = rc ? probes.find(c.name, rc->id) : nullptr;
    bool started =
        !c.startupProbe.has_value() || (r != nullptr && r->startup == ProbeResult::kSuccess);
    bool ready = started && (!c.readinessProbe.has_value() ||
                             (r != nullptr && r->readiness == ProbeResult::kSuccess));
    s.started = started;
    s.ready = ready;
  }
}

// Go's %s of a []string: "[a b]".
std::string goList(const std::vector<std::string>& names) {
  std::string s = "[";
  for (size_t i = 0; i < names.size(); ++i)
    s += (i ? " " : "") + names[i];
  return s + "]";
}

api::PodCondition initializedCondition(const api::Pod& pod,
                                       const std::vector<api::ContainerStatus>& init,
                                       const std::string& phase) {
  std::vector<std::string> unready;
  for (const api::Container& c : pod.spec.initContainers) {
    const api::ContainerStatus* s = findStatus(init, c.name);
    if (s == nullptr || !s->ready)
      unready.push_back(c.name);
  }
  if (phase == "Succeeded")
    return {.type = "Initialized", .status = "True", .reason = "PodCompleted"};
  if (!unready.empty()) {
    return {.type = "Initialized",
            .status = "False",
            .reason = "ContainersNotInitialized",
            .message = "containers with incomplete status: " + goList(unready)};
  }
  return {.type = "Initialized", .status = "True"};
}

api::PodCondition containersReadyCondition(const api::Pod& pod,
                                           const std::vector<api::ContainerStatus>& statuses,
                                           const std::string& phase) {
  if (phase == "Succeeded")
    return {.type = "ContainersReady", .status = "False", .reason = "PodCompleted"};
  if (phase == "Failed")
    return {.type = "ContainersReady", .status = "False", .reason = "PodFailed"};
  std::vector<std::string> unready;
  for (const api::Container& c : pod.spec.containers) {
    const api::ContainerStatus* s = findStatus(statuses, c.name);
    if (s == nullptr || !s->ready)
      unready.push_back(c.name);
  }
  if (!unready.empty()) {
    return {.type = "ContainersReady",
            .status = "False",
            .reason = "ContainersNotReady",
            .message = "containers with unready status: " + goList(unready)};
  }
  return {.type = "ContainersReady", .status = "True"};
}

const api::PodCondition* findCondition(const std::vector<api::PodCondition>& list,
                                       const std::string& type) {
  for (const api::PodCondition& c : list) {
    if (c.type == type)
      return &c;
  }
  return nullptr;
}

int terminalRank(const std::string& phase) {
  return phase == "Succeeded" || phase == "Failed" ? 1 : 0;
}

}  // namespace

std::string goDurationString(absl::Duration d) {
  int64_t total = absl::ToInt64Seconds(d);
  if (total == 0)
    return "0s";
  std::string sign = total < 0 ? "-" : "";
  total = total < 0 ? -total : total;
  int64_t h = total / 3600, m = total % 3600 / 60, s = total % 60;
  if (h > 0)
    return fmt::format("{}{}h{}m{}s", sign, h, m, s);
  if (m > 0)
    return fmt::format("{}{}m{}s", sign, m, s);
  return fmt::format("{}{}s", sign, s);
}

api::ContainerStateWaiting errImagePull(std::string_view pullError) {
  return {.reason = "ErrImagePull", .message = std::string(pullError)};
}

api::ContainerStateWaiting imagePullBackOff(const api::Container& container) {
  return {.reason = "ImagePullBackOff",
          .message = fmt::format("Back-off pulling image \"{}\"", container.image)};
}

api::ContainerStateWaiting errImageNeverPull(const api::Container& container) {
  return {.reason = "ErrImageNeverPull",
          .message = fmt::format("Container image \"{}\" is not present with pull policy of Never",
                                 container.image)};
}

WaitingReasons waitingReasonsFromActions(const api::Pod& pod, const PodActions& actions,
                                         const BackOff& backoff) {
  WaitingReasons out;
  for (const auto& [name, left] : actions.backOff) {
    const api::Container* spec = nullptr;
    for (const auto* list : {&pod.spec.initContainers, &pod.spec.containers}) {
      for (const api::Container& c : *list)
        if (c.name == name)
          spec = &c;
    }
    if (spec == nullptr)
      continue;
    absl::Duration delay = backoff.get(containerBackOffKey(pod, *spec, containerSpecHash(*spec)));
    out[name] = api::ContainerStateWaiting{
        .reason = "CrashLoopBackOff",
        .message = fmt::format("back-off {} restarting failed container={} pod={}_{}({})",
                               goDurationString(delay), name, pod.metadata.name,
                               pod.metadata.namespace_, pod.metadata.uid)};
  }
  return out;
}

std::string podPhase(const api::Pod& pod, const std::vector<api::ContainerStatus>& initStatuses,
                     const std::vector<api::ContainerStatus>& statuses) {
  int pendingInit = 0, failedInit = 0;
  for (const api::Container& c : pod.spec.initContainers) {
    const api::ContainerStatus* s = findStatus(initStatuses, c.name);
    if (s == nullptr || s->state.running.has_value()) {
      ++pendingInit;
    } else if (s->state.terminated.has_value()) {
      failedInit += s->state.terminated->exitCode != 0 ? 1 : 0;
    } else if (s->state.waiting.has_value() && s->lastState.terminated.has_value()) {
      failedInit += s->lastState.terminated->exitCode != 0 ? 1 : 0;
    } else {
      ++pendingInit;
    }
  }
  int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const api::Container& c : pod.spec.containers) {
    const api::ContainerStatus* s = findStatus(statuses, c.name);
    if (s == nullptr) {
      ++unknown;
    } else if (s->state.running.has_value()) {
      ++running;
    } else if (s->state.terminated.has_value()) {
      ++stopped;
      succeeded += s->state.terminated->exitCode == 0 ? 1 : 0;
    } else if (s->state.waiting.has_value()) {
      if (s->lastState.terminated.has_value())
        ++stopped;
      else
        ++waiting;
    } else {
      ++unknown;
    }
  }
  const std::string& policy = pod.spec.restartPolicy;
  if (failedInit > 0 && policy == "Never")
    return "Failed";
  if (pendingInit > 0 || waiting > 0)
    return "Pending";
  if (running > 0 && unknown == 0)
    return "Running";
  if (running == 0 && stopped > 0 && unknown == 0) {
    if (policy == "Always" || policy.empty())
      return "Running";  // every container is on its way back
    if (stopped == succeeded)
      return "Succeeded";
    if (policy == "Never")
      return "Failed";
    return "Running";  // OnFailure: the failed ones restart
  }
  return "Pending";
}

api::PodStatus computePodStatus(const api::Pod& pod, const PodRuntimeStatus& status,
                                const ProbeResults& probes, const WaitingReasons& waiting,
                                const api::PodStatus& previous, absl::Time now,
                                const std::vector<std::string>& hostIps) {
  api::PodStatus s;
  s.initContainerStatuses = convertStatuses(pod, status, previous.initContainerStatuses,
                                            pod.spec.initContainers, true, waiting);
  s.containerStatuses =
      convertStatuses(pod, status, previous.containerStatuses, pod.spec.containers, false, waiting);
  applyProbes(pod.spec.initContainers, s.initContainerStatuses, status, probes, true);
  applyProbes(pod.spec.containers, s.containerStatuses, status, probes, false);
  std::sort(s.containerStatuses.begin(), s.containerStatuses.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });

  s.phase = podPhase(pod, s.initContainerStatuses, s.containerStatuses);
  // Terminal is forever: a restarted agent that finds nothing in the runtime must not
  // bring a finished pod back to Pending.
  if (terminalRank(s.phase) == 0 && terminalRank(previous.phase) == 1)
    s.phase = previous.phase;
  if (s.phase == previous.phase) {
    s.reason = previous.reason;
    s.message = previous.message;
  }
  s.startTime = previous.startTime ? previous.startTime : std::optional<api::Time>(api::Time(now));
  // The active deadline handler evicts: Failed, whatever the containers say (they have
  // usually just been killed for it), unless the pod had already ended.
  if (terminalRank(previous.phase) == 0 && pod.spec.activeDeadlineSeconds.has_value() &&
      now - s.startTime->time() >= absl::Seconds(*pod.spec.activeDeadlineSeconds)) {
    s.phase = "Failed";
    s.reason = "DeadlineExceeded";
    s.message = "Pod was active on the node longer than the specified deadline";
  }

  // Conditions, in the kubelet's order; a condition keeps its transition time while its
  // status holds.
  api::PodCondition initialized = initializedCondition(pod, s.initContainerStatuses, s.phase);
  api::PodCondition containersReady = containersReadyCondition(pod, s.containerStatuses, s.phase);
  api::PodCondition ready{.type = "Ready",
                          .status = containersReady.status,
                          .reason = containersReady.reason,
                          .message = containersReady.message};
  api::PodCondition scheduled{.type = "PodScheduled", .status = "True"};
  for (api::PodCondition* c : {&initialized, &ready, &containersReady, &scheduled}) {
    const api::PodCondition* old = findCondition(previous.conditions, c->type);
    c->lastTransitionTime = (old != nullptr && old->status == c->status && old->lastTransitionTime)
                                ? old->lastTransitionTime
                                : std::optional<api::Time>(api::Time(now));
    s.conditions.push_back(*c);
  }

  // Addresses: the newest sandbox's, while it is ready; the node's for hostNetwork.
  if (!hostIps.empty()) {
    s.hostIP = hostIps.front();
    for (const std::string& ip : hostIps)
      s.hostIPs.push_back({.ip = ip});
  }
  if (pod.spec.hostNetwork) {
    s.podIP = s.hostIP;
    s.podIPs = s.hostIPs;
  } else if (!status.sandboxes.empty() && status.sandboxes.front().ready &&
             !status.sandboxes.front().ip.empty()) {
    const RuntimeSandbox& sb = status.sandboxes.front();
    s.podIP = sb.ip;
    s.podIPs.push_back({.ip = sb.ip});
    for (const std::string& ip : sb.additionalIps)
      s.podIPs.push_back({.ip = ip});
  }
  // A finished pod's sandbox is gone; it keeps the addresses it had.
  if (s.podIPs.empty() && terminalRank(s.phase) == 1) {
    s.podIP = previous.podIP;
    s.podIPs = previous.podIPs;
  }

  s.qosClass = std::string(toString(podQosClass(pod)));
  return s;
}

}  // namespace kubenode::agent::pods
