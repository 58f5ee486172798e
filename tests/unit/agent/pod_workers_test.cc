// The pod executor and the pod workers against the stateful fake runtime: which CRI calls a
// sync makes, back-off by the injected clock, termination never overtaken, an edited static
// pod waiting for its predecessor. The real runtime is the integration tests' business.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/time/clock.h"
#include "agent/pod_sync.h"
#include "agent/pod_workers.h"
#include "api/defaults.h"
#include "cri/fake_runtime_service.h"

namespace kubenode::agent {
namespace {

api::Pod makePod(const std::string& name, const std::string& uid, const std::string& command) {
  api::Pod pod;
  pod.metadata.name = name;
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = uid;
  pod.spec.nodeName = "n1";
  api::Container c;
  c.name = "app";
  c.image = "busybox";
  c.imagePullPolicy = "IfNotPresent";
  c.command = {"sh", "-c", command};
  c.terminationMessagePath = "/dev/termination-log";
  pod.spec.containers.push_back(c);
  pod.spec.terminationGracePeriodSeconds = 1;
  pod.spec.restartPolicy = "Always";
  return pod;
}

std::string readWhole(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline)
      return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

class PodSyncTest : public ::testing::Test {
 protected:
  PodSyncTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("kubenode-podsync-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fake_.addImage("docker.io/library/busybox:latest");
    PodSyncerOptions options;
    options.node.nodeName = "n1";
    options.node.rootDir = dir_ + "/root";
    options.node.podLogsDir = dir_ + "/logs";
    options.node.hostResolvConf = pods::ResolvConf{.nameservers = {"10.0.0.2"}};
    options.hostIps = {"192.168.1.10"};
    syncer_ = std::make_unique<PodSyncer>(fake_, fake_, reader_, events_, options,
                                          [this] { return now_; });
  }
  ~PodSyncTest() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> methods() {
    std::vector<std::string> out;
    for (const cri::FakeRuntimeService::Call& c : fake_.calls()) {
      if (c.method == "RunPodSandbox" || c.method == "CreateContainer" ||
          c.method == "StartContainer" || c.method == "StopContainer" ||
          c.method == "StopPodSandbox" || c.method == "RemovePodSandbox" || c.method == "PullImage")
        out.push_back(c.method);
    }
    return out;
  }

  std::string dir_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  cri::FakeRuntimeService fake_{[this] { return now_; }};
  PodRuntimeReader reader_{fake_};
  EventRecorder events_{"n1"};
  std::unique_ptr<PodSyncer> syncer_;
};

TEST_F(PodSyncTest, FirstSyncCreatesTheSandboxThenStartsTheContainerAndTheNextDoesNothing) {
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  SyncResult r = syncer_->syncPod(pod, {});
  ASSERT_TRUE(r.error.ok()) << r.error;
  EXPECT_EQ(methods(),
            (std::vector<std::string>{"RunPodSandbox", "CreateContainer", "StartContainer"}));
  ASSERT_EQ(r.runtime.containers.size(), 1u);
  EXPECT_EQ(r.runtime.containers[0].state, pods::ContainerState::kRunning);
  EXPECT_TRUE(r.waiting.empty());
  // The pod's files: emptyDir root, hosts file, termination message file.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/root/pods/u1/etc-hosts"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/logs/default_web_u1/app"));

  fake_.clearCalls();
  r = syncer_->syncPod(pod, {});
  EXPECT_TRUE(methods().empty());
  EXPECT_EQ(r.requeueAfter, absl::InfiniteDuration());
}

TEST_F(PodSyncTest, ANewSandboxIsReadWithOneStatusCallNotARelistOfThePod) {
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  SyncResult r = syncer_->syncPod(pod, {});
  ASSERT_TRUE(r.error.ok()) << r.error;
  std::vector<std::string> between;  // the reads from RunPodSandbox to CreateContainer
  bool inside = false;
  for (const cri::FakeRuntimeService::Call& c : fake_.calls()) {
    if (c.method == "CreateContainer")
      break;
    if (inside && c.method != "ImageStatus")
      between.push_back(c.method);
    inside = inside || c.method == "RunPodSandbox";
  }
  EXPECT_EQ(between, (std::vector<std::string>{"PodSandboxStatus"}));
  // Two listings before (the pod's state), two after (the state to report): none between.
  EXPECT_EQ(fake_.callCount("ListPodSandbox"), 2);
  EXPECT_EQ(fake_.callCount("ListContainers"), 2);
  // The IP reached the containers' hosts file, and the status has the new sandbox.
  ASSERT_EQ(r.runtime.sandboxes.size(), 1u);
  ASSERT_FALSE(r.runtime.sandboxes[0].ip.empty());
  EXPECT_THAT(readWhole(dir_ + "/root/pods/u1/etc-hosts"),
              ::testing::HasSubstr(r.runtime.sandboxes[0].ip));
}

TEST_F(PodSyncTest, ARecreatedSandboxAfterAKillRereadsThePod) {
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  SyncResult r = syncer_->syncPod(pod, {});
  ASSERT_EQ(r.runtime.sandboxes.size(), 1u);
  // The sandbox dies under the pod: the next sync kills what is left and makes a new one.
  ASSERT_TRUE(fake_.stopPodSandbox(r.runtime.sandboxes[0].id).ok());
  fake_.clearCalls();
  r = syncer_->syncPod(pod, {});
  ASSERT_TRUE(r.error.ok()) << r.error;
  EXPECT_EQ(fake_.callCount("RunPodSandbox"), 1);
  EXPECT_EQ(fake_.callCount("StartContainer"), 1);
  ASSERT_EQ(r.runtime.sandboxes.size(), 2u);
  EXPECT_TRUE(r.runtime.sandboxes[0].ready);
  EXPECT_EQ(r.runtime.sandboxes[0].attempt, 1u);
}

TEST(RuntimeStartTime, IsTheOldestSandboxsCreationOrNothing) {
  pods::PodRuntimeStatus status;
  EXPECT_FALSE(runtimeStartTime(status).has_value());
  status.sandboxes.push_back({.id = "new", .createdAt = absl::FromUnixSeconds(2000)});
  status.sandboxes.push_back({.id = "old", .createdAt = absl::FromUnixSeconds(1000)});
  status.sandboxes.push_back({.id = "unknown"});  // InfinitePast: not a time
  ASSERT_TRUE(runtimeStartTime(status).has_value());
  EXPECT_EQ(runtimeStartTime(status)->time(), absl::FromUnixSeconds(1000));
}

TEST_F(PodSyncTest, PodWorkersOfARestartedAgentReportTheStartTimeTheRuntimeRemembers) {
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  auto startTime = [&](PodWorkers& workers) -> std::optional<api::Time> {
    std::optional<api::Time> out;
    eventually([&] {
      std::vector<api::Pod> pods = workers.podsWithStatus();
      if (pods.size() == 1 && pods[0].status.startTime)
        out = pods[0].status.startTime;
      return out.has_value();
    });
    return out;
  };
  std::optional<api::Time> first;
  {
    PodWorkers workers(*syncer_, events_, {.resyncInterval = absl::Milliseconds(50)});
    workers.setPods({pod});
    first = startTime(workers);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->time(), now_);  // the sandbox's creation by the fake's clock
  }                                  // the workers stop; the pod keeps running in the runtime
  now_ += absl::Minutes(5);
  PodWorkers restarted(*syncer_, events_, {.resyncInterval = absl::Milliseconds(50)});
  restarted.setPods({pod});
  std::optional<api::Time> adopted = startTime(restarted);
  ASSERT_TRUE(adopted.has_value());
  EXPECT_EQ(*adopted, *first);
  EXPECT_EQ(fake_.callCount("RunPodSandbox"), 1);
}

TEST_F(PodSyncTest, ACrashingContainerWaitsOutItsBackOffByTheClock) {
  api::Pod pod = makePod("web", "u1", "exit 1");
  SyncResult r = syncer_->syncPod(pod, {});
  ASSERT_EQ(r.runtime.containers.size(), 1u);
  now_ += absl::Seconds(1);
  ASSERT_TRUE(fake_.exitContainer(r.runtime.containers[0].id, 1).ok());
  // First restart at once, with 10 s of back-off recorded for the next one.
  r = syncer_->syncPod(pod, {});
  EXPECT_EQ(fake_.callCount("StartContainer"), 2);
  now_ += absl::Seconds(1);
  ASSERT_TRUE(fake_.exitContainer(r.runtime.containers[0].id, 1).ok());
  r = syncer_->syncPod(pod, {});
  EXPECT_EQ(fake_.callCount("StartContainer"), 2);
  ASSERT_TRUE(r.waiting.contains("app"));
  EXPECT_EQ(r.waiting["app"].reason, "CrashLoopBackOff");
  EXPECT_THAT(r.waiting["app"].message, ::testing::HasSubstr("back-off 10s"));
  EXPECT_EQ(r.requeueAfter, absl::Seconds(10));
  now_ += absl::Seconds(10);
  r = syncer_->syncPod(pod, {});
  EXPECT_EQ(fake_.callCount("StartContainer"), 3);
  ASSERT_EQ(r.runtime.containers.size(), 3u);
  EXPECT_EQ(r.runtime.containers[0].restartCount, 2);
}

TEST_F(PodSyncTest, AFailedPullIsErrImagePullThenImagePullBackOff) {
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  pod.spec.containers[0].image = "example.com/app:1";
  fake_.setPullImageError("example.com/app:1", absl::NotFoundError("not found"));
  SyncResult r = syncer_->syncPod(pod, {});
  ASSERT_TRUE(r.waiting.contains("app"));
  EXPECT_EQ(r.waiting["app"].reason, "ErrImagePull");
  EXPECT_EQ(r.requeueAfter, absl::Seconds(10));
  r = syncer_->syncPod(pod, {});
  EXPECT_EQ(r.waiting["app"].reason, "ImagePullBackOff");
  EXPECT_EQ(fake_.callCount("PullImage"), 1);
  now_ += absl::Seconds(10);
  r = syncer_->syncPod(pod, {});
  EXPECT_EQ(fake_.callCount("PullImage"), 2);
  EXPECT_EQ(r.waiting["app"].reason, "ErrImagePull");
  EXPECT_EQ(r.requeueAfter, absl::Seconds(20));
}

TEST_F(PodSyncTest, KillPodStopsContainersWithTheGracePeriodThenTheSandbox) {
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  pod.spec.terminationGracePeriodSeconds = 7;
  SyncResult r = syncer_->syncPod(pod, {});
  fake_.clearCalls();
  ASSERT_TRUE(syncer_->killPod(pod, r.runtime, std::nullopt).ok());
  EXPECT_EQ(methods(), (std::vector<std::string>{"StopContainer", "StopPodSandbox"}));
  absl::StatusOr<pods::PodRuntimeStatus> after = reader_.podStatus("u1");
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(syncer_->removePod(pod, *after).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root/pods/u1"));
  EXPECT_TRUE(reader_.podStatus("u1")->sandboxes.empty());
}

TEST_F(PodSyncTest, PodWorkersTerminateRemovedPodsAndNeverLetAnUpdateOvertakeIt) {
  PodWorkers workers(*syncer_, events_, {.resyncInterval = absl::Milliseconds(50)});
  api::Pod pod = makePod("web", "u1", "sleep 3600");
  workers.setPods({pod});
  ASSERT_TRUE(eventually([&] { return fake_.callCount("StartContainer") == 1; }));
  ASSERT_TRUE(eventually([&] {
    std::vector<api::Pod> pods = workers.podsWithStatus();
    return pods.size() == 1 && pods[0].status.containerStatuses.size() == 1 &&
           pods[0].status.containerStatuses[0].state.running.has_value();
  }));
  workers.setPods({});
  workers.setPods({pod});  // too late: the termination goes on
  ASSERT_TRUE(eventually(
      [&] { return workers.knownUids().empty() || fake_.callCount("RemovePodSandbox") == 1; }));
  ASSERT_TRUE(eventually([&] { return reader_.podStatus("u1")->sandboxes.empty(); }));
  EXPECT_EQ(fake_.callCount("RunPodSandbox"), 1);
}

TEST_F(PodSyncTest, AnEditedStaticPodStartsOnlyAfterItsPredecessorIsRemoved) {
  PodWorkers workers(*syncer_, events_, {.resyncInterval = absl::Milliseconds(50)});
  workers.setPods({makePod("web", "u1", "sleep 3600")});
  ASSERT_TRUE(eventually([&] { return fake_.callCount("StartContainer") == 1; }));
  workers.setPods({makePod("web", "u2", "sleep 3601")});
  ASSERT_TRUE(eventually([&] { return fake_.callCount("StartContainer") == 2; }));
  std::vector<std::string> order = methods();
  auto removed = std::find(order.begin(), order.end(), "RemovePodSandbox");
  auto secondSandbox = std::find(order.begin() + 1, order.end(), "RunPodSandbox");
  ASSERT_NE(removed, order.end());
  EXPECT_LT(removed, secondSandbox);
  EXPECT_EQ(workers.knownUids(), (std::set<std::string>{"u2"}));
}

}  // namespace
}  // namespace kubenode::agent
