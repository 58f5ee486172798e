// The kubenode binary as an operator runs it, against a private containerd: the runtime
// found, static manifests read, /healthz and /pods served, a hung runtime reported by
// /healthz and recovered from, SIGTERM honoured.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "tests/harness/agent_process.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/process.h"

namespace kubenode {
namespace {

using harness::ContainerdEnvironment;
using ::testing::HasSubstr;

using harness::eventually;
using harness::freePort;
using harness::HttpAnswer;
using harness::httpGet;
using harness::readFile;

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ContainerdEnvironment::containerd().dir() + "/agent-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_ + "/manifests");
    port_ = freePort();
  }
  void TearDown() override {
    if (pid_ > 0)
      harness::terminateProcess(pid_, absl::Seconds(5));
    if (HasFailure())
      std::cerr << "kubenode's log:\n" << readFile(log()) << "\n";
  }
  std::string log() const { return dir_ + "/kubenode.log"; }

  void startAgent() {
    absl::StatusOr<pid_t> pid = harness::startChild(
        {KUBENODE_BINARY, "--container-runtime-endpoint",
         ContainerdEnvironment::containerd().endpoint(), "--pod-manifest-path", dir_ + "/manifests",
         "--root-dir", dir_ + "/root", "--hostname-override", "Node-IT", "--read-only-port",
         std::to_string(port_), "--healthz-port", "0"},
        log());
    ASSERT_TRUE(pid.ok()) << pid.status();
    pid_ = *pid;
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(AgentTest, ServesHealthAndStaticPodsAndStopsOnSigterm) {
  std::ofstream(dir_ + "/manifests/web.yaml") << "apiVersion: v1\nkind: Pod\nmetadata:\n"
                                                 "  name: web\nspec:\n  containers:\n"
                                                 "  - name: httpd\n    image: busybox\n";
  std::ofstream(dir_ + "/manifests/bad.yaml") << "apiVersion: v1\nkind: Pod\nmetadata:\n"
                                                 "  name: bad\nspec:\n  containers: []\n";
  startAgent();
  ASSERT_TRUE(
      eventually([&] { return httpGet(port_, "/healthz").status == 200; }, absl::Seconds(20)));
  EXPECT_EQ(httpGet(port_, "/healthz").body, "ok\n");
  ASSERT_TRUE(eventually(
      [&] { return httpGet(port_, "/pods").body.find("web-node-it") != std::string::npos; },
      absl::Seconds(10)));
  HttpAnswer pods = httpGet(port_, "/pods");
  EXPECT_THAT(pods.body, HasSubstr("\"kind\":\"PodList\""));
  EXPECT_THAT(pods.body, HasSubstr("\"nodeName\":\"node-it\""));
  EXPECT_THAT(pods.body, ::testing::Not(HasSubstr("bad-node-it")));

  // The kubelet's runtime metrics, counted from the real calls made so far.
  HttpAnswer metrics = httpGet(port_, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body,
              HasSubstr("kubelet_runtime_operations_total{operation_type=\"version\"}"));
  EXPECT_THAT(metrics.body,
              HasSubstr("kubelet_runtime_operations_duration_seconds_bucket{operation_type="
                        "\"status\""));

  // `kubenode pods`, as an operator on the node runs it.
  absl::StatusOr<std::string> table = harness::runCommand(
      {KUBENODE_BINARY, "pods", "--read-only-port", std::to_string(port_)}, absl::Seconds(10));
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(*table, HasSubstr("NAME "));
  EXPECT_THAT(*table, HasSubstr("web-node-it"));
  EXPECT_THAT(*table, HasSubstr("node-it"));

  const std::string logText = readFile(log());
  EXPECT_THAT(logText, HasSubstr("container runtime containerd"));
  EXPECT_THAT(logText, HasSubstr("bad.yaml"));
  EXPECT_THAT(logText, HasSubstr("spec.containers: Required value"));

  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(
      eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, absl::Seconds(10)));
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_THAT(readFile(log()), HasSubstr("received SIGTERM"));
}

TEST_F(AgentTest, HealthzNamesAHungRuntimeAndRecoversWhenItAnswers) {
  startAgent();
  ASSERT_TRUE(
      eventually([&] { return httpGet(port_, "/healthz").status == 200; }, absl::Seconds(20)));

  ASSERT_TRUE(ContainerdEnvironment::containerd().freeze().ok());
  HttpAnswer sick;
  bool unhealthy = eventually(
      [&] {
        sick = httpGet(port_, "/healthz");
        return sick.status == 500;
      },
      absl::Seconds(40));
  ASSERT_TRUE(ContainerdEnvironment::containerd().thaw().ok());
  ASSERT_TRUE(unhealthy) << "last answer: " << sick.status << " " << sick.body;
  EXPECT_THAT(sick.body,
              HasSubstr("container runtime at " + ContainerdEnvironment::containerd().endpoint() +
                        " has not answered for"));
  // The agent itself stayed responsive while the runtime hung, and recovers with it.
  EXPECT_TRUE(
      eventually([&] { return httpGet(port_, "/healthz").status == 200; }, absl::Seconds(20)));
}

TEST_F(AgentTest, WaitsForARuntimeThatIsNotThereYet) {
  ASSERT_TRUE(ContainerdEnvironment::containerd().kill().ok());
  startAgent();
  ASSERT_TRUE(
      eventually([&] { return httpGet(port_, "/healthz").status == 500; }, absl::Seconds(10)));
  EXPECT_THAT(httpGet(port_, "/healthz").body, HasSubstr("container runtime at"));
  ASSERT_TRUE(ContainerdEnvironment::containerd().startAgain().ok());
  EXPECT_TRUE(
      eventually([&] { return httpGet(port_, "/healthz").status == 200; }, absl::Seconds(20)));
  EXPECT_TRUE(
      eventually([&] { return readFile(log()).find("kubenode is running") != std::string::npos; },
                 absl::Seconds(10)));
}

}  // namespace
}  // namespace kubenode
