#include "agent/pods/pod_actions.h"

#include <fmt/format.h>

#include "agent/pods/container_config.h"

namespace kubenode::agent::pods {
namespace {

bool isNever(const api::Pod& pod) {
  return pod.spec.restartPolicy == "Never";
}
bool isOnFailure(const api::Pod& pod) {
  return pod.spec.restartPolicy == "OnFailure";
}

// shouldRestartOnFailure: anything but Never restarts failed containers.
bool shouldRestartOnFailure(const api::Pod& pod) {
  return !isNever(pod);
}

// The newest exited container of that name: its exit time starts the back-off clock
// (doBackOff looks for the newest exited one, skipping a running newer attempt).
const RuntimeContainer* newestExited(const PodRuntimeStatus& status, std::string_view name) {
  for (const RuntimeContainer& c : status.containers) {
    if (c.name == name && c.state == ContainerState::kExited)
      return &c;
  }
  return nullptr;
}

// Time left in the container's crash-loop back-off, or nullopt when it may start now.
std::optional<absl::Duration> backOffLeft(const api::Pod& pod, const api::Container& container,
                                          const PodRuntimeStatus& status, const BackOff& backoff,
                                          absl::Time now) {
  const RuntimeContainer* exited = newestExited(status, container.name);
  if (exited == nullptr)
    return std::nullopt;
  std::string key = containerBackOffKey(pod, container, containerSpecHash(container));
  absl::Duration left = backoff.remainingSince(key, exited->finishedAt, now);
  if (left <= absl::ZeroDuration())
    return std::nullopt;
  return left;
}

bool isInitContainerFailed(const RuntimeContainer& c) {
  // An OOM-killed init container exits non-zero too; an unknown state counts as failed.
  return (c.state == ContainerState::kExited && c.exitCode != 0) ||
         c.state == ContainerState::kUnknown;
}

struct InitProgress {
  const RuntimeContainer* failed = nullptr;  // the newest failed init container, if any
  std::optional<size_t> next{};              // the init container to run next
  bool done = false;                         // every init container succeeded
};

// findNextInitContainerToRun.
InitProgress findNextInitContainer(const api::Pod& pod, const PodRuntimeStatus& status) {
  const auto& inits = pod.spec.initContainers;
  if (inits.empty())
    return {.done = true};
  // A running app container means initialization finished at some point; its init
  // containers may have been garbage collected since, and must not run again.
  for (const api::Container& c : pod.spec.containers) {
    const RuntimeContainer* rc = status.latestContainer(c.name);
    if (rc != nullptr && rc->state == ContainerState::kRunning)
      return {.done = true};
  }
  // The last failed one, counting from the end.
  for (size_t i = inits.size(); i-- > 0;) {
    const RuntimeContainer* rc = status.latestContainer(inits[i].name);
    if (rc != nullptr && isInitContainerFailed(*rc))
      return {.failed = rc, .next = i};
  }
  // None failed: continue after the last one that ran.
  for (size_t i = inits.size(); i-- > 0;) {
    const RuntimeContainer* rc = status.latestContainer(inits[i].name);
    if (rc == nullptr)
      continue;
    if (rc->state == ContainerState::kRunning)
      return {};  // still running: nothing to do
    if (rc->state == ContainerState::kExited) {
      if (i + 1 == inits.size())
        return {.done = true};
      return {.next = i + 1};
    }
  }
  return {.next = 0};
}

bool containerSucceeded(const PodRuntimeStatus& status, std::string_view name) {
  const RuntimeContainer* rc = status.latestContainer(name);
  return rc != nullptr && rc->state == ContainerState::kExited && rc->exitCode == 0;
}

// PodSandboxChanged: whether a new sandbox is needed, its attempt, and the sandbox ID the
// pod keeps using (or the one to kill).
struct SandboxDecision {
  bool create = false;
  uint32_t attempt = 0;
  std::string id{};
};

SandboxDecision sandboxChanged(const api::Pod& pod, const PodRuntimeStatus& status) {
  if (status.sandboxes.empty())
    return {.create = true, .attempt = 0};
  const RuntimeSandbox& newest = status.sandboxes.front();
  size_t ready = 0;
  for (const RuntimeSandbox& s : status.sandboxes)
    ready += s.ready ? 1 : 0;
  // More than one ready sandbox, or a ready one that is not the newest: start clean.
  if (ready > 1 || !newest.ready)
    return {.create = true, .attempt = newest.attempt + 1, .id = newest.id};
  if (!newest.statusKnown)
    return {.create = false, .attempt = newest.attempt, .id = newest.id};
  // hostNetwork toggled (an edited static manifest): the old sandbox cannot be reused.
  if (newest.hostNetwork != pod.spec.hostNetwork)
    return {.create = true, .attempt = newest.attempt + 1};
  // A pod-network sandbox without an IP lost its network (CNI failure, node reboot).
  if (!pod.spec.hostNetwork && newest.ip.empty())
    return {.create = true, .attempt = newest.attempt + 1, .id = newest.id};
  return {.create = false, .attempt = newest.attempt, .id = newest.id};
}

// Adds the container to containersToStart, or to backOff when its crash-loop back-off
// has not passed.
void startOrBackOff(PodActions& actions, const api::Pod& pod, size_t index, StartReason reason,
                    const PodRuntimeStatus& status, const BackOff& backoff, absl::Time now) {
  const api::Container& c = pod.spec.containers[index];
  if (std::optional<absl::Duration> left = backOffLeft(pod, c, status, backoff, now)) {
    actions.backOff[c.name] = *left;
    return;
  }
  actions.containersToStart.push_back({.index = index, .name = c.name, .reason = reason});
}

void startInitOrBackOff(PodActions& actions, const api::Pod& pod, size_t index,
                        const PodRuntimeStatus& status, const BackOff& backoff, absl::Time now) {
  const api::Container& c = pod.spec.initContainers[index];
  if (std::optional<absl::Duration> left = backOffLeft(pod, c, status, backoff, now)) {
    actions.backOff[c.name] = *left;
    return;
  }
  actions.nextInitContainerToStart = index;
}

StartReason reasonForNotRunning(const RuntimeContainer* rc) {
  if (rc == nullptr)
    return StartReason::kNotStartedYet;
  switch (rc->state) {
    case ContainerState::kCreated:
      return StartReason::kCreatedNotStarted;
    case ContainerState::kUnknown:
      return StartReason::kUnknownState;
    default:
      return StartReason::kRestartPolicy;
  }
}

std::string unknownStateMessage(std::string_view what) {
  return fmt::format("{} is in \"unknown\" state, try killing it before restart", what);
}

}  // namespace

std::string_view toString(StartReason reason) {
  switch (reason) {
    case StartReason::kNotStartedYet:
      return "not started yet";
    case StartReason::kRestartPolicy:
      return "exited and restartPolicy says restart";
    case StartReason::kCreatedNotStarted:
      return "created but not started";
    case StartReason::kUnknownState:
      return "state unknown";
    case StartReason::kLivenessFailed:
      return "failed liveness probe";
    case StartReason::kStartupFailed:
      return "failed startup probe";
    case StartReason::kSpecChanged:
      return "spec changed (hash)";
    case StartReason::kSandboxRecreated:
      return "sandbox recreated";
  }
  return "unknown";
}

std::string_view toString(KillReason reason) {
  switch (reason) {
    case KillReason::kSpecChanged:
      return "SpecChanged";
    case KillReason::kLivenessProbe:
      return "LivenessProbe";
    case KillReason::kStartupProbe:
      return "StartupProbe";
    case KillReason::kUnknownState:
      return "Unknown";
  }
  return "Unknown";
}

bool restartPolicyRestarts(const api::Pod& pod, int32_t exitCode) {
  if (isNever(pod))
    return false;
  if (isOnFailure(pod))
    return exitCode != 0;
  return true;
}

bool shouldContainerBeRestarted(const api::Pod& pod, const api::Container& container,
                                const PodRuntimeStatus& status) {
  if (pod.metadata.deletionTimestamp.has_value())
    return false;
  const RuntimeContainer* rc = status.latestContainer(container.name);
  // Never ran, or every earlier attempt was garbage collected.
  if (rc == nullptr)
    return true;
  switch (rc->state) {
    case ContainerState::kRunning:
      return false;
    case ContainerState::kUnknown:
    case ContainerState::kCreated:
      return true;
    case ContainerState::kExited:
      return restartPolicyRestarts(pod, rc->exitCode);
  }
  return true;
}

void recordContainerStart(BackOff& backoff, const api::Pod& pod, const api::Container& container,
                          const PodRuntimeStatus& status, absl::Time now) {
  const RuntimeContainer* exited = newestExited(status, container.name);
  if (exited == nullptr)
    return;
  backoff.next(containerBackOffKey(pod, container, containerSpecHash(container)),
               exited->finishedAt, now);
}

bool pastActiveDeadline(const api::Pod& pod, absl::Time now) {
  if (!pod.spec.activeDeadlineSeconds.has_value() || !pod.status.startTime.has_value())
    return false;
  return now - pod.status.startTime->time() >= absl::Seconds(*pod.spec.activeDeadlineSeconds);
}

bool podIsFinished(const api::Pod& pod, const PodRuntimeStatus& status) {
  InitProgress init = findNextInitContainer(pod, status);
  if (!init.done)
    return init.failed != nullptr && !shouldRestartOnFailure(pod);
  if (pod.spec.containers.empty())
    return false;
  for (const api::Container& c : pod.spec.containers) {
    const RuntimeContainer* rc = status.latestContainer(c.name);
    if (rc == nullptr || rc->state != ContainerState::kExited)
      return false;
    if (restartPolicyRestarts(pod, rc->exitCode))
      return false;
  }
  return true;
}

PodActions computePodActions(const api::Pod& pod, const PodRuntimeStatus& status,
                             const ProbeResults& probes, const BackOff& backoff, absl::Time now,
                             bool podTerminating) {
  PodActions actions;
  SandboxDecision sandbox = sandboxChanged(pod, status);
  actions.sandboxId = sandbox.id;
  actions.attempt = sandbox.attempt;

  // Deleted or being terminated: only stop what runs; the pod worker then cleans up.
  if (podTerminating || pod.metadata.deletionTimestamp.has_value() ||
      pastActiveDeadline(pod, now)) {
    actions.killPod = true;
    return actions;
  }

  if (sandbox.create) {
    // A new sandbox restarts everything: kill what is left of the old one first.
    actions.killPod = true;
    actions.createSandbox = true;
    // A Never pod whose containers already ran gets no second sandbox: it is done, and a
    // new sandbox would only be torn down again. With no container seen yet, the sandbox
    // creation itself failed before: retry it.
    if (!shouldRestartOnFailure(pod) && sandbox.attempt != 0 && !status.containers.empty()) {
      actions.createSandbox = false;
      return actions;
    }
    std::vector<size_t> toStart;
    for (size_t i = 0; i < pod.spec.containers.size(); ++i) {
      // OnFailure keeps its successes even across sandboxes.
      if (isOnFailure(pod) && containerSucceeded(status, pod.spec.containers[i].name))
        continue;
      toStart.push_back(i);
    }
    if (toStart.empty() && findNextInitContainer(pod, status).done) {
      actions.createSandbox = false;  // nothing would run in it
      return actions;
    }
    if (!pod.spec.initContainers.empty()) {
      startInitOrBackOff(actions, pod, 0, status, backoff, now);
      return actions;
    }
    for (size_t i : toStart)
      startOrBackOff(actions, pod, i, StartReason::kSandboxRecreated, status, backoff, now);
    return actions;
  }

  // Init containers, strictly one after the other.
  InitProgress init = findNextInitContainer(pod, status);
  if (!init.done) {
    if (init.next.has_value()) {
      if (init.failed != nullptr && !shouldRestartOnFailure(pod)) {
        actions.killPod = true;  // Never: the pod failed
        actions.initFailed = true;
      } else {
        // Kill one in an unknown state first, so two of it never run at once.
        if (init.failed != nullptr && init.failed->state == ContainerState::kUnknown) {
          const api::Container& next = pod.spec.initContainers[*init.next];
          actions.containersToKill[init.failed->id] = {
              .name = next.name,
              .init = true,
              .reason = KillReason::kUnknownState,
              .message = unknownStateMessage(fmt::format("Init container {}", next.name))};
        }
        startInitOrBackOff(actions, pod, *init.next, status, backoff, now);
      }
    }
    return actions;  // app containers wait until every init container succeeded
  }

  size_t keep = 0;
  for (size_t i = 0; i < pod.spec.containers.size(); ++i) {
    const api::Container& c = pod.spec.containers[i];
    const RuntimeContainer* rc = status.latestContainer(c.name);

    if (rc == nullptr || rc->state != ContainerState::kRunning) {
      if (shouldContainerBeRestarted(pod, c, status)) {
        startOrBackOff(actions, pod, i, reasonForNotRunning(rc), status, backoff, now);
        if (rc != nullptr && rc->state == ContainerState::kUnknown) {
          actions.containersToKill[rc->id] = {
              .name = c.name,
              .reason = KillReason::kUnknownState,
              .message = unknownStateMessage(fmt::format("Container {}", c.name))};
        }
      }
      continue;
    }

    // Running: keep it unless its spec changed or a probe says it must go.
    const ContainerProbeResults* results = probes.find(c.name, rc->id);
    bool restart = shouldRestartOnFailure(pod);
    KillReason killReason;
    StartReason startReason;
    std::string message;
    // A zero hash: the container carries no hash annotation (not created by us, or by an
    // older agent); do not restart it on a guess.
    if (rc->specHash != 0 && rc->specHash != containerSpecHash(c)) {
      killReason = KillReason::kSpecChanged;
      startReason = StartReason::kSpecChanged;
      message = fmt::format("Container {} definition changed", c.name);
      restart = true;  // whatever the policy: the new spec must run
    } else if (results != nullptr && results->liveness == ProbeResult::kFailure) {
      killReason = KillReason::kLivenessProbe;
      startReason = StartReason::kLivenessFailed;
      message = fmt::format("Container {} failed liveness probe", c.name);
    } else if (results != nullptr && results->startup == ProbeResult::kFailure) {
      killReason = KillReason::kStartupProbe;
      startReason = StartReason::kStartupFailed;
      message = fmt::format("Container {} failed startup probe", c.name);
    } else {
      ++keep;
      continue;
    }
    if (restart) {
      message += ", will be restarted";
      startOrBackOff(actions, pod, i, startReason, status, backoff, now);
    }
    actions.containersToKill[rc->id] = {.name = c.name, .reason = killReason, .message = message};
  }

  // Nothing runs and nothing will: stop the sandbox. Containers waiting out a back-off
  // will run again, so they keep the pod alive.
  if (keep == 0 && actions.containersToStart.empty() && actions.backOff.empty())
    actions.killPod = true;
  return actions;
}

}  // namespace kubenode::agent::pods
