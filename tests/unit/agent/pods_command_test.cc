#include "agent/pods_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace kubenode::agent {
namespace {

api::Pod runningPod(const std::string& ns, const std::string& name, absl::Time created) {
  api::Pod pod;
  pod.metadata.namespace_ = ns;
  pod.metadata.name = name;
  pod.metadata.creationTimestamp = api::Time(created);
  pod.spec.nodeName = "node-a";
  api::Container& c = pod.spec.containers.emplace_back();
  c.name = "app";
  c.image = "busybox";
  pod.status.phase = "Running";
  pod.status.podIP = "10.88.0.12";
  api::ContainerStatus& s = pod.status.containerStatuses.emplace_back();
  s.name = "app";
  s.ready = true;
  s.state.running = api::ContainerStateRunning{api::Time(created)};
  return pod;
}

TEST(FormatPodTable, PadsColumnsAsKubectl) {
  const absl::Time now = absl::FromUnixSeconds(1'000'000);
  std::vector<api::Pod> pods = {runningPod("default", "web-node-a", now - absl::Minutes(5)),
                                runningPod("kube-system", "a", now - absl::Seconds(30))};
  EXPECT_EQ(formatPodTable(pods, now, false),
            "NAME         READY   STATUS    RESTARTS   AGE   IP           NODE\n"
            "web-node-a   1/1     Running   0          5m    10.88.0.12   node-a\n"
            "a            1/1     Running   0          30s   10.88.0.12   node-a\n");
  EXPECT_THAT(formatPodTable(pods, now, true),
              ::testing::StartsWith("NAMESPACE     NAME         READY"));
}

TEST(PodsCommand, AnUnreachableAgentIsOneClearLine) {
  std::ostringstream out, err;
  const char* argv[] = {"pods", "--read-only-port", "1"};
  EXPECT_EQ(runPodsCommand(3, argv, out, err), 1);
  EXPECT_THAT(err.str(),
              ::testing::HasSubstr("kubenode pods: cannot reach the agent's read-only endpoint at "
                                   "http://127.0.0.1:1"));
  const std::string message = err.str();
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1);
}

TEST(PodsCommand, BadFlagsNameTheFlag) {
  std::ostringstream out, err;
  const char* argv[] = {"pods", "--read-only-port", "x"};
  EXPECT_EQ(runPodsCommand(3, argv, out, err), 2);
  EXPECT_THAT(err.str(), ::testing::HasSubstr("--read-only-port"));
}

}  // namespace
}  // namespace kubenode::agent
