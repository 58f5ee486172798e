// PodRuntimeReader against the fake runtime: the runtime's exit reason reaches the pod's
// runtime status, and an exited container's status is cached only once it has settled
// (a late OOM event can still change it before then).
#include "agent/pod_runtime_reader.h"

#include <gtest/gtest.h>

#include "agent/pods/labels.h"
#include "cri/fake_runtime_service.h"

namespace kubenode::agent {
namespace {

class PodRuntimeReaderTest : public ::testing::Test {
 protected:
  // A sandbox and one started container of pod "u1" in the fake; returns the container ID.
  std::string startContainer() {
    cri::v1::PodSandboxConfig sandbox;
    sandbox.mutable_metadata()->set_name("web");
    sandbox.mutable_metadata()->set_namespace_("default");
    sandbox.mutable_metadata()->set_uid("u1");
    (*sandbox.mutable_labels())[std::string(pods::kPodUidLabel)] = "u1";
    (*sandbox.mutable_labels())[std::string(pods::kPodNameLabel)] = "web";
    absl::StatusOr<std::string> sandboxId = fake_.runPodSandbox(sandbox, "");
    EXPECT_TRUE(sandboxId.ok()) << sandboxId.status();
    cri::v1::ContainerConfig config;
    config.mutable_metadata()->set_name("app");
    config.mutable_image()->set_image("busybox:latest");
    (*config.mutable_labels())[std::string(pods::kPodUidLabel)] = "u1";
    (*config.mutable_labels())[std::string(pods::kPodNameLabel)] = "web";
    (*config.mutable_labels())[std::string(pods::kContainerNameLabel)] = "app";
    absl::StatusOr<std::string> id = fake_.createContainer(*sandboxId, config, sandbox);
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(fake_.startContainer(*id).ok());
    return *id;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  cri::FakeRuntimeService fake_{[this] { return now_; }};
  PodRuntimeReader reader_{fake_, [this] { return now_; }};
};

TEST_F(PodRuntimeReaderTest, KeepsTheRuntimesOomKilledReason) {
  fake_.addImage("busybox:latest");
  std::string id = startContainer();
  ASSERT_TRUE(fake_.exitContainer(id, 137, "OOMKilled").ok());
  absl::StatusOr<pods::PodRuntimeStatus> status = reader_.podStatus("u1");
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->containers.size(), 1u);
  EXPECT_EQ(status->containers[0].state, pods::ContainerState::kExited);
  EXPECT_EQ(status->containers[0].exitCode, 137);
  EXPECT_EQ(status->containers[0].reason, "OOMKilled");
}

TEST_F(PodRuntimeReaderTest, AnExitedContainerIsReReadUntilItsExitHasSettled) {
  fake_.addImage("busybox:latest");
  std::string id = startContainer();
  ASSERT_TRUE(fake_.exitContainer(id, 137, "Error").ok());
  fake_.clearCalls();

  // Just exited: every read asks the runtime (its reason may still become OOMKilled).
  ASSERT_TRUE(reader_.containerStatus(id).ok());
  now_ += PodRuntimeReader::kExitSettleTime - absl::Milliseconds(1);
  ASSERT_TRUE(reader_.containerStatus(id).ok());
  EXPECT_EQ(fake_.callCount("ContainerStatus"), 2);

  // Settled: read once more, then from the cache.
  now_ += absl::Milliseconds(1);
  ASSERT_TRUE(reader_.containerStatus(id).ok());
  absl::StatusOr<cri::v1::ContainerStatus> cached = reader_.containerStatus(id);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->reason(), "Error");
  EXPECT_EQ(fake_.callCount("ContainerStatus"), 3);
}

}  // namespace
}  // namespace kubenode::agent
