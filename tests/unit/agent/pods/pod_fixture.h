// Test fixture shared by the pod decision tests: a pod and what the runtime shows of it,
// built with short calls (running("web", "c1"), exited("web", "c0", 1)).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "agent/pods/backoff.h"
#include "agent/pods/container_config.h"
#include "agent/pods/probe_results.h"
#include "agent/pods/runtime_pod.h"
#include "api/pod.h"

namespace kubenode::agent::pods {

inline const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// Base fixture: pod default/web (restartPolicy Always), app containers "web" and "side",
// running in ready sandbox "s1" with IP 10.88.0.5; no init containers.
struct World {
  api::Pod pod;
  PodRuntimeStatus status;
  ProbeResults probes;
  BackOff backoff;
  absl::Time now = kNow;

  World() {
    pod.metadata.name = "web";
    pod.metadata.namespace_ = "default";
    pod.metadata.uid = "uid-1";
    pod.spec.restartPolicy = "Always";
    pod.spec.containers.push_back({.name = "web", .image = "busybox"});
    pod.spec.containers.push_back({.name = "side", .image = "busybox"});
    status.uid = "uid-1";
    status.name = "web";
    status.namespace_ = "default";
    status.sandboxes.push_back(sandbox("s1", true, 0));
  }

  static RuntimeSandbox sandbox(std::string id, bool ready, uint32_t attempt) {
    return {.id = std::move(id),
            .ready = ready,
            .createdAt = kNow - absl::Minutes(5),
            .attempt = attempt,
            .ip = "10.88.0.5",
            .statusKnown = true};
  }

  const api::Container& spec(std::string_view name) const {
    for (const auto* list : {&pod.spec.initContainers, &pod.spec.containers}) {
      for (const api::Container& c : *list)
        if (c.name == name)
          return c;
    }
    throw std::runtime_error("no container " + std::string(name));
  }

  // Adds a container as the newest of the pod (containers are listed newest first).
  RuntimeContainer& add(std::string_view name, std::string id, ContainerState state) {
    RuntimeContainer c{.id = std::move(id),
                       .name = std::string(name),
                       .sandboxId = status.sandboxes.empty() ? "" : status.sandboxes[0].id,
                       .state = state,
                       .createdAt = now - absl::Minutes(1),
                       .specHash = containerSpecHash(spec(name))};
    if (state != ContainerState::kCreated)
      c.startedAt = now - absl::Minutes(1);
    status.containers.insert(status.containers.begin(), c);
    return status.containers.front();
  }
  RuntimeContainer& running(std::string_view name, std::string id) {
    return add(name, std::move(id), ContainerState::kRunning);
  }
  RuntimeContainer& exited(std::string_view name, std::string id, int32_t code,
                           absl::Duration ago = absl::Seconds(30)) {
    RuntimeContainer& c = add(name, std::move(id), ContainerState::kExited);
    c.exitCode = code;
    c.finishedAt = now - ago;
    return c;
  }
  void bothRunning() {
    running("web", "c-web");
    running("side", "c-side");
  }
  void addInit(std::string name) {
    pod.spec.initContainers.push_back({.name = std::move(name), .image = "busybox"});
  }
  // Records that `name` was restarted `times` times, as the pod worker does.
  void backOffSteps(std::string_view name, int times) {
    for (int i = 0; i < times; ++i)
      backoff.next(containerBackOffKey(pod, spec(name), containerSpecHash(spec(name))),
                   now - absl::Seconds(40), now - absl::Seconds(35));
  }
};

}  // namespace kubenode::agent::pods
