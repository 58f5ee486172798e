// The pod's network as the node gives it, on the private containerd: hostPort through the
// CNI portmap plugin (its rules live in the test process's own network namespace), the
// host's resolver (--resolv-conf) under dnsPolicy Default and ClusterFirst without cluster
// DNS, and status.startTime kept across a kill -9 of the agent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/json_codec.h"
#include "tests/harness/agent_process.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/process.h"
#include "tests/integration/pods/pods_fixture.h"

namespace kubenode::pods_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Replaces every "{key}" in `text`.
std::string fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    const std::string marker = "{" + key + "}";
    for (size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at))
      text.replace(at, marker.size(), value);
  }
  return text;
}

TEST_F(PodsTest, AHostPortAnswersOnTheNodesAddressUntilThePodIsRemoved) {
  // The node's address is the bridge's gateway side, where the test process sits (there is
  // no other interface in its network namespace).
  const std::string nodeIp = ContainerdEnvironment::containerd().gatewayAddress();
  const uint16_t hostPort = harness::freePort();
  agent_->writeManifest("hostport.yaml", fill(R"(apiVersion: v1
kind: Pod
metadata:
  name: hostport
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && echo served through hostPort > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
    - {name: http, containerPort: 8080, hostPort: {port}}
)",
                                              {{"port", std::to_string(hostPort)}}));
  ASSERT_TRUE(agent_->start({"--node-ip", nodeIp}).ok());
  std::optional<api::Pod> pod = waitForPod("hostport-node-it", running, absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->status.hostIP, nodeIp);
  ASSERT_FALSE(pod->status.podIP.empty());

  // The page through the node's address and the hostPort (portmap's DNAT), not only
  // through the pod's own address and port.
  harness::HttpAnswer page;
  ASSERT_TRUE(eventually(
      [&] {
        page = harness::httpGet(hostPort, "/index.html", nodeIp, absl::Seconds(2));
        return page.status == 200;
      },
      absl::Seconds(15)))
      << "no answer on " << nodeIp << ":" << hostPort;
  EXPECT_EQ(page.body, "served through hostPort\n");
  EXPECT_EQ(harness::httpGet(8080, "/index.html", pod->status.podIP).body,
            "served through hostPort\n");
  // portmap also maps the node's loopback (it marks such traffic for masquerade and
  // enables route_localnet on the bridge), as a hostPort answers on a real node's
  // 127.0.0.1.
  EXPECT_EQ(harness::httpGet(hostPort, "/index.html", "127.0.0.1", absl::Seconds(2)).body,
            "served through hostPort\n");

  // The pod removed, the mapping goes with its sandbox (CNI DEL): nothing answers on the
  // port any more, on either address.
  agent_->removeManifest("hostport.yaml");
  ASSERT_TRUE(
      eventually([&] { return !agent_->pod("hostport-node-it").has_value(); }, absl::Seconds(30)));
  EXPECT_TRUE(eventually(
      [&] {
        return harness::httpGet(hostPort, "/index.html", nodeIp, absl::Seconds(2)).status == 0 &&
               harness::httpGet(hostPort, "/index.html", "127.0.0.1", absl::Seconds(2)).status == 0;
      },
      absl::Seconds(10)))
      << "the hostPort still answers after the pod is gone";
}

// A pod that prints its /etc/resolv.conf into its termination message and ends.
std::string resolvPrinter(const std::string& name, const std::string& dnsPolicy) {
  return fill(R"(apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: Never
  dnsPolicy: {policy}
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "cat /etc/resolv.conf > /dev/termination-log"]
)",
              {{"name", name}, {"policy", dnsPolicy}});
}

TEST_F(PodsTest, PodsGetTheResolverOfResolvConfUnderDefaultAndClusterFirstWithoutClusterDns) {
  const std::string resolvConf = agent_->dir() + "/host-resolv.conf";
  {
    std::filesystem::create_directories(agent_->dir());
    std::ofstream(resolvConf) << "# the node's resolver\n"
                                 "nameserver 192.0.2.53\n"
                                 "nameserver 192.0.2.54\n"
                                 "search corp.example.test lab.example.test\n"
                                 "options ndots:2 timeout:3\n";
  }
  agent_->writeManifest("default.yaml", resolvPrinter("dns-default", "Default"));
  agent_->writeManifest("cluster.yaml", resolvPrinter("dns-cluster", "ClusterFirst"));
  ASSERT_TRUE(agent_->start({"--resolv-conf", resolvConf}).ok());

  for (const std::string name : {"dns-default-node-it", "dns-cluster-node-it"}) {
    std::optional<api::Pod> pod = waitForPod(
        name, [](const api::Pod& p) { return p.status.phase == "Succeeded"; }, absl::Seconds(60));
    ASSERT_TRUE(pod.has_value()) << name;
    const api::ContainerStatus* app = statusOf(*pod, "app");
    ASSERT_TRUE(app && app->state.terminated) << name;
    const std::string& resolv = app->state.terminated->message;
    EXPECT_THAT(resolv, HasSubstr("nameserver 192.0.2.53\n")) << name;
    EXPECT_THAT(resolv, HasSubstr("nameserver 192.0.2.54\n")) << name;
    EXPECT_THAT(resolv, HasSubstr("search corp.example.test lab.example.test\n")) << name;
    EXPECT_THAT(resolv, HasSubstr("ndots:2")) << name;
    EXPECT_THAT(resolv, HasSubstr("timeout:3")) << name;
    // Not the machine's own resolver, nor cluster DNS settings.
    EXPECT_THAT(resolv, Not(HasSubstr("ndots:5"))) << name;
  }
}

TEST_F(PodsTest, AnUnreadableResolvConfIsOneErrorNamingTheFlag) {
  const std::string missing = agent_->dir() + "/no-such-resolv.conf";
  absl::StatusOr<std::string> out = harness::runCommand(
      {KUBENODE_BINARY, "--container-runtime-endpoint",
       ContainerdEnvironment::containerd().endpoint(), "--root-dir", agent_->rootDir(),
       "--read-only-port", "0", "--healthz-port", "0", "--proxy=false", "--resolv-conf", missing},
      absl::Seconds(20));
  ASSERT_FALSE(out.ok()) << "kubenode started with a missing --resolv-conf: " << *out;
  const std::string message(out.status().message());
  EXPECT_THAT(message, HasSubstr("--resolv-conf: cannot read \"" + missing +
                                 "\": No such file or directory"));
  // A directory is no resolver file either.
  out = harness::runCommand(
      {KUBENODE_BINARY, "--container-runtime-endpoint",
       ContainerdEnvironment::containerd().endpoint(), "--root-dir", agent_->rootDir(),
       "--read-only-port", "0", "--healthz-port", "0", "--proxy=false", "--resolv-conf", "/etc"},
      absl::Seconds(20));
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()),
              HasSubstr("--resolv-conf: cannot read \"/etc\": Is a directory"));
}

TEST_F(PodsTest, AnEmptyResolvConfGivesClusterFirstPodsNoHostResolver) {
  agent_->writeManifest("cluster.yaml", resolvPrinter("dns-none", "ClusterFirst"));
  ASSERT_TRUE(agent_->start({"--resolv-conf="}).ok());
  std::optional<api::Pod> pod = waitForPod(
      "dns-none-node-it", [](const api::Pod& p) { return p.status.phase == "Succeeded"; },
      absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());
  const std::string& resolv = statusOf(*pod, "app")->state.terminated->message;
  // Nothing of the machine's /etc/resolv.conf: a resolver that answers nothing.
  const std::string host = harness::readFile("/etc/resolv.conf");
  for (absl::string_view line : absl::StrSplit(host, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "nameserver") && line != "nameserver 127.0.0.1") {
      EXPECT_THAT(resolv, Not(HasSubstr(std::string(line))));
    }
  }
  EXPECT_THAT(resolv, HasSubstr("search ."));
}

TEST_F(PodsTest, AnAdoptedPodKeepsItsStartTimeAfterKill9) {
  agent_->writeManifest("a.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: a
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> before = waitForPod("a-node-it", running, absl::Seconds(60));
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(before->status.startTime.has_value());

  agent_->kill9();
  // Restarted at least a second later, so a startTime taken from the restart shows.
  absl::SleepFor(absl::Milliseconds(1100));  // the clock must move on: nothing to poll
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> after = waitForPod("a-node-it", running, absl::Seconds(30));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status.containerStatuses[0].containerID,
            before->status.containerStatuses[0].containerID);
  ASSERT_TRUE(after->status.startTime.has_value());
  EXPECT_EQ(after->status.startTime->toString(), before->status.startTime->toString());
  EXPECT_EQ(conditionStatus(*after, "Ready"), "True");
}

}  // namespace
}  // namespace kubenode::pods_test
