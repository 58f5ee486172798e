// Which log files `kubenode logs` prints: the pod's directory (the agent's UID, else the newest
// directory of that name), the container (the only one, the default-container annotation, or
// kubectl's error listing the choices), the restart (current or --previous).
#include "agent/logs/pod_logs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kubenode::agent::logs {
namespace {

using ::testing::ElementsAre;

api::Pod webPod() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "u2";
  pod.spec.initContainers.push_back(api::Container{.name = "init"});
  pod.spec.containers.push_back(api::Container{.name = "app"});
  pod.spec.containers.push_back(api::Container{.name = "sidecar"});
  api::ContainerStatus app;
  app.name = "app";
  app.restartCount = 3;
  app.state.running = api::ContainerStateRunning{};
  api::ContainerStatus sidecar;
  sidecar.name = "sidecar";
  sidecar.state.waiting = api::ContainerStateWaiting{.reason = "ContainerCreating"};
  pod.status.containerStatuses = {app, sidecar};
  return pod;
}

// Every container has logs for restarts 0..3.
std::vector<int> allRestarts(const std::string&) {
  return {0, 1, 2, 3};
}
std::vector<int> none(const std::string&) {
  return {};
}

TEST(NewestPodDirectoryTest, PicksTheNewestOfThatNamespaceAndName) {
  const absl::Time t = absl::FromUnixSeconds(1000);
  std::vector<DirectoryEntry> entries = {
      {"default_web_u1", t},
      {"default_web_u2", t + absl::Seconds(5)},
      {"default_web-2_u3", t + absl::Seconds(9)},
      {"other_web_u4", t + absl::Seconds(9)},
      {"default_web_u5_x", t + absl::Seconds(9)},
  };
  EXPECT_EQ(newestPodDirectory(entries, "default", "web"), "default_web_u2");
  EXPECT_EQ(newestPodDirectory(entries, "default", "we"), std::nullopt);
}

TEST(PodViewFromApiTest, UsesTheCurrentUidAndSpecOrder) {
  PodView view = podViewFromApi(webPod(), "/var/log/pods");
  EXPECT_EQ(view.logDir, "/var/log/pods/default_web_u2");
  EXPECT_THAT(view.containers, ElementsAre("app", "sidecar"));
  EXPECT_THAT(view.initContainers, ElementsAre("init"));
  EXPECT_EQ(view.statuses["app"].restartCount, 3);
  EXPECT_TRUE(view.statuses["app"].running);
}

TEST(ResolveLogTargetTest, SeveralContainersNeedANameAsKubectlSays) {
  absl::StatusOr<LogTarget> t =
      resolveLogTarget({.pod = "web"}, podViewFromApi(webPod(), "/l"), allRestarts);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(),
            "a container name must be specified for pod web, choose one of: [app sidecar] or "
            "one of the init containers: [init]");
}

TEST(ResolveLogTargetTest, DefaultContainerAnnotationAndSingleContainerNeedNoName) {
  api::Pod pod = webPod();
  pod.metadata.annotations["kubectl.kubernetes.io/default-container"] = "app";
  absl::StatusOr<LogTarget> t =
      resolveLogTarget({.pod = "web"}, podViewFromApi(pod, "/l"), allRestarts);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->container, "app");
  PodView one{.name = "web", .logDir = "/l/default_web_u1", .containers = {"only"}};
  t = resolveLogTarget({.pod = "web"}, one, allRestarts);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->containerDir, "/l/default_web_u1/only");
  EXPECT_EQ(t->restartCount, 3);  // from the files: the newest
  EXPECT_FALSE(t->knownFromAgent);
}

TEST(ResolveLogTargetTest, CurrentAndPreviousRestartFromTheAgent) {
  const PodView view = podViewFromApi(webPod(), "/l");
  absl::StatusOr<LogTarget> t =
      resolveLogTarget({.pod = "web", .container = "app"}, view, allRestarts);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->containerDir, "/l/default_web_u2/app");
  EXPECT_EQ(t->restartCount, 3);
  EXPECT_TRUE(t->running);
  t = resolveLogTarget({.pod = "web", .container = "app", .previous = true}, view, allRestarts);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->restartCount, 2);
  EXPECT_FALSE(t->running);
}

TEST(ResolveLogTargetTest, ErrorsAsKubectlWordsThem) {
  const PodView view = podViewFromApi(webPod(), "/l");
  absl::StatusOr<LogTarget> t =
      resolveLogTarget({.pod = "web", .container = "app", .previous = true}, view, none);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(t.status().message(), "previous terminated container \"app\" in pod \"web\" not found");
  t = resolveLogTarget({.pod = "web", .container = "db"}, view, allRestarts);
  EXPECT_EQ(t.status().message(), "container db is not valid for pod web");
  t = resolveLogTarget({.pod = "web", .container = "sidecar"}, view, none);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(t.status().message(),
            "container \"sidecar\" in pod \"web\" is waiting to start: ContainerCreating");
  // Restart 0 has no previous.
  PodView one{.name = "web", .logDir = "/l/d", .containers = {"c"}};
  t = resolveLogTarget({.pod = "web", .previous = true}, one,
                       [](const std::string&) { return std::vector<int>{0}; });
  EXPECT_EQ(t.status().message(), "previous terminated container \"c\" in pod \"web\" not found");
}

}  // namespace
}  // namespace kubenode::agent::logs
