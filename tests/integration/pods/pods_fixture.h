// The fixture shared by the pods integration tests: a kubenode binary per test on the
// process's private containerd (harness), with helpers that read what an operator sees
// (/pods, /events, ctr's listing).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/json_codec.h"
#include "tests/harness/agent_process.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/process.h"

namespace kubenode::pods_test {

using harness::AgentProcess;
using harness::ContainerdEnvironment;
using harness::eventually;

class PodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    agent_ = std::make_unique<AgentProcess>(
        KUBENODE_BINARY, ContainerdEnvironment::containerd().dir() + "/pods-" + name,
        ContainerdEnvironment::containerd().endpoint());
  }
  void TearDown() override {
    if (HasFailure())
      std::cerr << "kubenode's log:\n" << harness::readFile(agent_->logPath()) << "\n";
    agent_.reset();
  }

  // The pod's status once `condition` holds for it (polled), or nullopt.
  std::optional<api::Pod> waitForPod(const std::string& name,
                                     const std::function<bool(const api::Pod&)>& condition,
                                     absl::Duration timeout) {
    std::optional<api::Pod> last;
    bool ok = eventually(
        [&] {
          last = agent_->pod(name);
          return last.has_value() && condition(*last);
        },
        timeout);
    if (!ok) {
      ADD_FAILURE() << "pod " << name << " did not reach the expected state; last seen: "
                    << (last ? api::encodeJson(*last, 2) : std::string("absent"));
      return std::nullopt;
    }
    return last;
  }

  // IDs of every container and sandbox the runtime has (ctr's view: pause containers
  // count as sandboxes).
  std::set<std::string> runtimeContainers() {
    absl::StatusOr<std::string> out =
        harness::runCommand({"ctr", "--address", ContainerdEnvironment::containerd().socketPath(),
                             "-n", "k8s.io", "containers", "ls", "-q"},
                            absl::Seconds(10));
    EXPECT_TRUE(out.ok()) << out.status();
    std::set<std::string> ids;
    for (absl::string_view line : absl::StrSplit(out.ok() ? *out : "", '\n', absl::SkipEmpty()))
      ids.insert(std::string(line));
    return ids;
  }

  bool hasEvent(const std::string& podName, const std::string& reason,
                const std::string& messagePart) {
    for (const api::Event& e : agent_->events()) {
      if (e.involvedObject.name == podName && e.reason == reason &&
          e.message.find(messagePart) != std::string::npos)
        return true;
    }
    return false;
  }

  std::unique_ptr<AgentProcess> agent_;
};

inline const api::ContainerStatus* statusOf(const api::Pod& pod, const std::string& name) {
  for (const auto* list : {&pod.status.initContainerStatuses, &pod.status.containerStatuses}) {
    for (const api::ContainerStatus& s : *list) {
      if (s.name == name)
        return &s;
    }
  }
  return nullptr;
}

inline std::string conditionStatus(const api::Pod& pod, const std::string& type) {
  for (const api::PodCondition& c : pod.status.conditions) {
    if (c.type == type)
      return c.status;
  }
  return "";
}

// The pod's (first) app container runs.
inline bool running(const api::Pod& p) {
  return !p.status.containerStatuses.empty() &&
         p.status.containerStatuses[0].state.running.has_value();
}

inline std::string stripRuntime(const std::string& containerId) {
  return containerId.substr(containerId.find("://") + 3);
}

}  // namespace kubenode::pods_test
