#include "agent/pods/pod_actions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "agent/pods/container_config.h"
#include "fmt/format.h"
#include "tests/unit/agent/pods/pod_fixture.h"

namespace kubenode::agent::pods {
namespace {

// One line per action, so a failing case shows the whole decision.
std::string describe(const PodActions& a) {
  std::string s =
      fmt::format("killPod={} createSandbox={} sandbox={} attempt={} init={}", a.killPod,
                  a.createSandbox, a.sandboxId, a.attempt,
                  a.nextInitContainerToStart ? std::to_string(*a.nextInitContainerToStart) : "-");
  if (a.initFailed)
    s += " initFailed";
  for (const ContainerToStart& c : a.containersToStart)
    s += fmt::format("\n start {}#{} ({})", c.name, c.index, toString(c.reason));
  for (const auto& [id, k] : a.containersToKill)
    s += fmt::format("\n kill {} {}{} {} \"{}\"", id, k.name, k.init ? " (init)" : "",
                     toString(k.reason), k.message);
  for (const auto& [name, left] : a.backOff)
    s += fmt::format("\n backoff {} {}", name, absl::FormatDuration(left));
  return s;
}

struct Case {
  std::string name;
  std::function<void(World&)> setup;
  PodActions expected;
};

// gtest prints the case by name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class PodActionsTable : public ::testing::TestWithParam<Case> {};

TEST_P(PodActionsTable, MatchesTheKubelet) {
  World w;
  GetParam().setup(w);
  PodActions got = computePodActions(w.pod, w.status, w.probes, w.backoff, w.now);
  EXPECT_EQ(describe(got), describe(GetParam().expected));
  EXPECT_EQ(got, GetParam().expected);
}

ContainerToStart start(size_t i, std::string name, StartReason r) {
  return {.index = i, .name = std::move(name), .reason = r};
}

std::vector<Case> cases() {
  using SR = StartReason;
  return {
      // ---- Sandbox ----
      {"NoSandboxCreatesOne",
       [](World& w) { w.status.sandboxes.clear(); },
       {.killPod = true,
        .createSandbox = true,
        .attempt = 0,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"FreshSandboxStartsAllContainers",
       [](World&) {},
       {.sandboxId = "s1",
        .containersToStart = {start(0, "web", SR::kNotStartedYet),
                              start(1, "side", SR::kNotStartedYet)}}},
      {"AllRunningNothingToDo", [](World& w) { w.bothRunning(); }, {.sandboxId = "s1"}},
      {"SandboxNotReadyRecreatedWithNextAttempt",
       [](World& w) {
         w.status.sandboxes[0] = World::sandbox("s1", false, 2);
         w.exited("web", "c-web", 137);
         w.exited("side", "c-side", 137);
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s1",
        .attempt = 3,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"TwoReadySandboxesStartClean",
       [](World& w) {
         w.status.sandboxes.insert(w.status.sandboxes.begin(), World::sandbox("s2", true, 1));
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s2",
        .attempt = 2,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"OlderReadySandboxDoesNotCount",
       [](World& w) {
         w.status.sandboxes.insert(w.status.sandboxes.begin(), World::sandbox("s2", false, 1));
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s2",
        .attempt = 2,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"SandboxWithoutIpRecreated",
       [](World& w) {
         w.status.sandboxes[0].ip = "";
         w.bothRunning();
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s1",
        .attempt = 1,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"UnreadSandboxStatusIsNotALostNetwork",
       [](World& w) {
         w.status.sandboxes[0].ip = "";
         w.status.sandboxes[0].statusKnown = false;
         w.pod.spec.hostNetwork = true;
         w.bothRunning();
       },
       {.sandboxId = "s1"}},
      {"HostNetworkSandboxNeedsNoIp",
       [](World& w) {
         w.pod.spec.hostNetwork = true;
         w.status.sandboxes[0].ip = "";
         w.status.sandboxes[0].hostNetwork = true;
         w.bothRunning();
       },
       {.sandboxId = "s1"}},
      {"NetworkModeChangedNewSandboxWithoutOldId",
       [](World& w) {
         w.pod.spec.hostNetwork = true;
         w.bothRunning();
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "",
        .attempt = 1,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"NeverPodThatRanGetsNoSecondSandbox",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.status.sandboxes[0].ready = false;
         w.exited("web", "c-web", 0);
         w.exited("side", "c-side", 1);
       },
       {.killPod = true, .createSandbox = false, .sandboxId = "s1", .attempt = 1}},
      {"NeverPodWhoseSandboxNeverWorkedRetries",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.status.sandboxes[0].ready = false;
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s1",
        .attempt = 1,
        .containersToStart = {start(0, "web", SR::kSandboxRecreated),
                              start(1, "side", SR::kSandboxRecreated)}}},
      {"OnFailureNewSandboxSkipsSucceeded",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.status.sandboxes[0].ready = false;
         w.exited("web", "c-web", 0);
         w.exited("side", "c-side", 2, absl::Minutes(20));
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s1",
        .attempt = 1,
        .containersToStart = {start(1, "side", SR::kSandboxRecreated)}}},
      {"OnFailureAllSucceededNoNewSandbox",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.status.sandboxes[0].ready = false;
         w.exited("web", "c-web", 0);
         w.exited("side", "c-side", 0);
       },
       {.killPod = true, .createSandbox = false, .sandboxId = "s1", .attempt = 1}},
      {"NewSandboxStartsFirstInitContainerAgain",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
         w.exited("init-a", "c-a", 0);
         w.exited("init-b", "c-b", 0);
         w.bothRunning();
         w.status.sandboxes[0].ready = false;
       },
       {.killPod = true,
        .createSandbox = true,
        .sandboxId = "s1",
        .attempt = 1,
        .nextInitContainerToStart = 0}},

      // ---- Restart policy for exited app containers ----
      {"AlwaysRestartsSuccess",
       [](World& w) {
         w.running("side", "c-side");
         w.exited("web", "c-web", 0, absl::Minutes(20));
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kRestartPolicy)}}},
      {"AlwaysRestartsFailure",
       [](World& w) {
         w.running("side", "c-side");
         w.exited("web", "c-web", 1, absl::Minutes(20));
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kRestartPolicy)}}},
      {"OnFailureRestartsFailure",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.running("side", "c-side");
         w.exited("web", "c-web", 3, absl::Minutes(20));
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kRestartPolicy)}}},
      {"OnFailureKeepsSuccessExited",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.running("side", "c-side");
         w.exited("web", "c-web", 0);
       },
       {.sandboxId = "s1"}},
      {"OnFailureAllSucceededKillsPod",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.exited("web", "c-web", 0);
         w.exited("side", "c-side", 0);
       },
       {.killPod = true, .sandboxId = "s1"}},
      {"NeverDoesNotRestartFailure",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.running("side", "c-side");
         w.exited("web", "c-web", 1);
       },
       {.sandboxId = "s1"}},
      {"NeverAllExitedKillsPod",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.exited("web", "c-web", 1);
         w.exited("side", "c-side", 0);
       },
       {.killPod = true, .sandboxId = "s1"}},
      {"EmptyPolicyIsAlways",
       [](World& w) {
         w.pod.spec.restartPolicy = "";
         w.running("side", "c-side");
         w.exited("web", "c-web", 0, absl::Minutes(20));
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kRestartPolicy)}}},
      {"CreatedButNotStartedIsStarted",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.running("side", "c-side");
         w.add("web", "c-web", ContainerState::kCreated);
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kCreatedNotStarted)}}},
      {"UnknownStateKilledThenStarted",
       [](World& w) {
         w.running("side", "c-side");
         w.add("web", "c-web", ContainerState::kUnknown);
       },
       {.sandboxId = "s1",
        .containersToStart = {start(0, "web", SR::kUnknownState)},
        .containersToKill = {{"c-web",
                              {.name = "web",
                               .reason = KillReason::kUnknownState,
                               .message = "Container web is in \"unknown\" state, try killing "
                                          "it before restart"}}}}},
      {"OnlyTheNewestAttemptCounts",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.exited("web", "c-web-0", 1, absl::Minutes(30));
         w.exited("web", "c-web-1", 0);
         w.running("side", "c-side");
       },
       {.sandboxId = "s1"}},

      // ---- Back-off ----
      {"CrashLoopWaitsOutBackOff",
       [](World& w) {
         w.running("side", "c-side");
         w.exited("web", "c-web", 1, absl::Seconds(5));
         w.backOffSteps("web", 3);  // 40 s
       },
       {.sandboxId = "s1", .backOff = {{"web", absl::Seconds(35)}}}},
      {"CrashLoopBackOffOverStarts",
       [](World& w) {
         w.running("side", "c-side");
         w.exited("web", "c-web", 1, absl::Seconds(41));
         w.backOffSteps("web", 3);  // 40 s
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kRestartPolicy)}}},
      {"BackOffKeepsThePodAlive",
       [](World& w) {
         w.exited("web", "c-web", 1, absl::Seconds(1));
         w.exited("side", "c-side", 1, absl::Seconds(1));
         w.backOffSteps("web", 1);
         w.backOffSteps("side", 2);
       },
       {.sandboxId = "s1", .backOff = {{"side", absl::Seconds(19)}, {"web", absl::Seconds(9)}}}},
      {"EditedContainerDoesNotWaitForOldSpecsBackOff",
       [](World& w) {
         w.running("side", "c-side");
         w.exited("web", "c-web", 1, absl::Seconds(1));
         w.backOffSteps("web", 4);
         w.pod.spec.containers[0].args = {"--fixed"};
       },
       {.sandboxId = "s1", .containersToStart = {start(0, "web", SR::kRestartPolicy)}}},
      {"NeverHasNoBackOff",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.running("side", "c-side");
         w.exited("web", "c-web", 1, absl::Seconds(1));
         w.backOffSteps("web", 4);
       },
       {.sandboxId = "s1"}},

      // ---- Probes and spec changes on running containers ----
      {"LivenessFailureKillsAndRestarts",
       [](World& w) {
         w.bothRunning();
         w.probes.set("web", {.containerId = "c-web", .liveness = ProbeResult::kFailure});
       },
       {.sandboxId = "s1",
        .containersToStart = {start(0, "web", SR::kLivenessFailed)},
        .containersToKill = {{"c-web",
                              {.name = "web",
                               .reason = KillReason::kLivenessProbe,
                               .message = "Container web failed liveness probe, will be "
                                          "restarted"}}}}},
      {"LivenessFailureOfEarlierAttemptIgnored",
       [](World& w) {
         w.bothRunning();
         w.probes.set("web", {.containerId = "c-web-old", .liveness = ProbeResult::kFailure});
       },
       {.sandboxId = "s1"}},
      {"LivenessFailureUnderNeverKillsWithoutRestart",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.bothRunning();
         w.probes.set("web", {.containerId = "c-web", .liveness = ProbeResult::kFailure});
       },
       {.sandboxId = "s1",
        .containersToKill = {{"c-web",
                              {.name = "web",
                               .reason = KillReason::kLivenessProbe,
                               .message = "Container web failed liveness probe"}}}}},
      {"LivenessKillOfOnlyContainerUnderNeverKillsPod",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.pod.spec.containers.pop_back();
         w.running("web", "c-web");
         w.probes.set("web", {.containerId = "c-web", .liveness = ProbeResult::kFailure});
       },
       {.killPod = true,
        .sandboxId = "s1",
        .containersToKill = {{"c-web",
                              {.name = "web",
                               .reason = KillReason::kLivenessProbe,
                               .message = "Container web failed liveness probe"}}}}},
      {"StartupFailureKillsAndRestarts",
       [](World& w) {
         w.bothRunning();
         w.probes.set("side", {.containerId = "c-side", .startup = ProbeResult::kFailure});
       },
       {.sandboxId = "s1",
        .containersToStart = {start(1, "side", SR::kStartupFailed)},
        .containersToKill = {{"c-side",
                              {.name = "side",
                               .reason = KillReason::kStartupProbe,
                               .message = "Container side failed startup probe, will be "
                                          "restarted"}}}}},
      {"ReadinessFailureDoesNotKill",
       [](World& w) {
         w.bothRunning();
         w.probes.set("web", {.containerId = "c-web", .readiness = ProbeResult::kFailure});
       },
       {.sandboxId = "s1"}},
      {"SpecHashChangeRestartsEvenUnderNever",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.bothRunning();
         w.pod.spec.containers[0].image = "busybox:1.36";
       },
       {.sandboxId = "s1",
        .containersToStart = {start(0, "web", SR::kSpecChanged)},
        .containersToKill = {{"c-web",
                              {.name = "web",
                               .reason = KillReason::kSpecChanged,
                               .message = "Container web definition changed, will be "
                                          "restarted"}}}}},
      {"MissingHashIsNotAChange",
       [](World& w) {
         w.bothRunning();
         w.status.containers[0].specHash = 0;
       },
       {.sandboxId = "s1"}},

      // ---- Init containers ----
      {"InitContainersFirstInOrder",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
       },
       {.sandboxId = "s1", .nextInitContainerToStart = 0}},
      {"InitRunningWaits",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
         w.running("init-a", "c-a");
       },
       {.sandboxId = "s1"}},
      {"InitSucceededNextOne",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
         w.exited("init-a", "c-a", 0);
       },
       {.sandboxId = "s1", .nextInitContainerToStart = 1}},
      {"AllInitSucceededAppContainersStart",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
         w.exited("init-a", "c-a", 0);
         w.exited("init-b", "c-b", 0);
       },
       {.sandboxId = "s1",
        .containersToStart = {start(0, "web", SR::kNotStartedYet),
                              start(1, "side", SR::kNotStartedYet)}}},
      {"InitFailedUnderAlwaysRetried",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
         w.exited("init-a", "c-a", 0);
         w.exited("init-b", "c-b", 1, absl::Minutes(20));
       },
       {.sandboxId = "s1", .nextInitContainerToStart = 1}},
      {"InitFailedUnderOnFailureRetried",
       [](World& w) {
         w.pod.spec.restartPolicy = "OnFailure";
         w.addInit("init-a");
         w.exited("init-a", "c-a", 1, absl::Minutes(20));
       },
       {.sandboxId = "s1", .nextInitContainerToStart = 0}},
      {"InitFailedInBackOff",
       [](World& w) {
         w.addInit("init-a");
         w.exited("init-a", "c-a", 1, absl::Seconds(4));
         w.backOffSteps("init-a", 2);  // 20 s
       },
       {.sandboxId = "s1", .backOff = {{"init-a", absl::Seconds(16)}}}},
      {"InitFailedUnderNeverFailsThePod",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.addInit("init-a");
         w.addInit("init-b");
         w.exited("init-a", "c-a", 2);
       },
       {.killPod = true, .sandboxId = "s1", .initFailed = true}},
      {"InitUnknownUnderNeverFailsThePod",
       [](World& w) {
         w.pod.spec.restartPolicy = "Never";
         w.addInit("init-a");
         w.add("init-a", "c-a", ContainerState::kUnknown);
       },
       {.killPod = true, .sandboxId = "s1", .initFailed = true}},
      {"EarlierFailedInitWinsOverLaterSuccess",
       [](World& w) {
         w.addInit("init-a");
         w.addInit("init-b");
         w.exited("init-a", "c-a", 1, absl::Minutes(20));
         w.exited("init-b", "c-b", 0);
       },
       {.sandboxId = "s1", .nextInitContainerToStart = 0}},
      {"InitUnknownKilledThenRestarted",
       [](World& w) {
         w.addInit("init-a");
         w.add("init-a", "c-a", ContainerState::kUnknown);
       },
       {.sandboxId = "s1",
        .nextInitContainerToStart = 0,
        .containersToKill = {{"c-a",
                              {.name = "init-a",
                               .init = true,
                               .reason = KillReason::kUnknownState,
                               .message = "Init container init-a is in \"unknown\" state, try "
                                          "killing it before restart"}}}}},
      {"RunningAppContainerMeansInitDoneEvenIfGarbageCollected",
       [](World& w) {
         w.addInit("init-a");
         w.bothRunning();
       },
       {.sandboxId = "s1"}},

      // ---- Deletion ----
      {"DeletionTimestampKillsPod",
       [](World& w) {
         w.bothRunning();
         w.pod.metadata.deletionTimestamp = api::Time(kNow);
       },
       {.killPod = true, .sandboxId = "s1"}},
      {"ActiveDeadlinePassedKillsPod",
       [](World& w) {
         w.bothRunning();
         w.pod.spec.activeDeadlineSeconds = 60;
         w.pod.status.startTime = api::Time(kNow - absl::Seconds(60));
       },
       {.killPod = true, .sandboxId = "s1"}},
      {"ActiveDeadlineNotYetPassed",
       [](World& w) {
         w.bothRunning();
         w.pod.spec.activeDeadlineSeconds = 60;
         w.pod.status.startTime = api::Time(kNow - absl::Seconds(59));
       },
       {.sandboxId = "s1"}},
      {"DeletedPodWithoutSandboxCreatesNothing",
       [](World& w) {
         w.status.sandboxes.clear();
         w.pod.metadata.deletionTimestamp = api::Time(kNow);
       },
       {.killPod = true}},
  };
}

INSTANTIATE_TEST_SUITE_P(Pods, PodActionsTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(PodActions, TerminatingPodGetsOnlyKillPod) {
  World w;
  w.running("web", "c-web");
  PodActions a = computePodActions(w.pod, w.status, w.probes, w.backoff, w.now,
                                   /*podTerminating=*/true);
  EXPECT_TRUE(a.killPod);
  EXPECT_FALSE(a.createSandbox);
  EXPECT_TRUE(a.containersToStart.empty());
}

TEST(PodActions, ReasonWords) {
  EXPECT_EQ(toString(StartReason::kNotStartedYet), "not started yet");
  EXPECT_EQ(toString(StartReason::kRestartPolicy), "exited and restartPolicy says restart");
  EXPECT_EQ(toString(StartReason::kLivenessFailed), "failed liveness probe");
  EXPECT_EQ(toString(StartReason::kStartupFailed), "failed startup probe");
  EXPECT_EQ(toString(StartReason::kSpecChanged), "spec changed (hash)");
  EXPECT_EQ(toString(KillReason::kLivenessProbe), "LivenessProbe");
}

// The crash loop as the pod worker lives it: each start records a back-off step, and the
// decision holds the container back for 10, 20, 40, ... 300 s after each exit. The first
// restart is immediate: the kubelet records the first back-off step when it restarts.
TEST(PodActions, CrashLoopSpacingThroughDecisions) {
  World w;
  w.pod.spec.containers.pop_back();
  std::vector<int64_t> waits;
  absl::Time t = kNow;
  int attempt = 0;
  for (int i = 0; i < 10; ++i) {
    w.now = t;
    PodActions a = computePodActions(w.pod, w.status, w.probes, w.backoff, w.now);
    if (!a.backOff.empty()) {
      waits.push_back(absl::ToInt64Seconds(a.backOff.at("web")));
      t += a.backOff.at("web");  // the worker's timer fires then
      --i;
      continue;
    }
    ASSERT_EQ(a.containersToStart.size(), 1u) << describe(a);
    recordContainerStart(w.backoff, w.pod, w.pod.spec.containers[0], w.status, w.now);
    // It starts and exits one second later.
    RuntimeContainer& c = w.exited("web", fmt::format("c{}", attempt++), 1, absl::ZeroDuration());
    c.startedAt = t;
    c.finishedAt = t + absl::Seconds(1);
    t += absl::Seconds(1);
  }
  EXPECT_THAT(waits, ::testing::ElementsAre(10, 20, 40, 80, 160, 300, 300, 300));
}

TEST(PodIsFinished, ByPolicy) {
  struct Row {
    std::string policy;
    int32_t webExit;
    int32_t sideExit;
    bool finished;
  };
  for (const Row& r : std::vector<Row>{{"Never", 0, 1, true},
                                       {"Never", 0, 0, true},
                                       {"OnFailure", 0, 0, true},
                                       {"OnFailure", 0, 1, false},
                                       {"Always", 0, 0, false}}) {
    World w;
    w.pod.spec.restartPolicy = r.policy;
    w.exited("web", "c-web", r.webExit);
    w.exited("side", "c-side", r.sideExit);
    EXPECT_EQ(podIsFinished(w.pod, w.status), r.finished)
        << r.policy << " " << r.webExit << " " << r.sideExit;
  }
}

TEST(PodIsFinished, RunningOrNeverStartedIsNot) {
  World w;
  w.pod.spec.restartPolicy = "Never";
  EXPECT_FALSE(podIsFinished(w.pod, w.status));
  w.exited("web", "c-web", 0);
  w.running("side", "c-side");
  EXPECT_FALSE(podIsFinished(w.pod, w.status));
}

TEST(PodIsFinished, FailedInitContainer) {
  World w;
  w.addInit("init-a");
  w.exited("init-a", "c-a", 1);
  w.pod.spec.restartPolicy = "OnFailure";
  EXPECT_FALSE(podIsFinished(w.pod, w.status));
  w.pod.spec.restartPolicy = "Always";
  EXPECT_FALSE(podIsFinished(w.pod, w.status));
  w.pod.spec.restartPolicy = "Never";
  EXPECT_TRUE(podIsFinished(w.pod, w.status));
}

TEST(ShouldContainerBeRestarted, DeletedPodNever) {
  World w;
  w.pod.metadata.deletionTimestamp = api::Time(kNow);
  EXPECT_FALSE(shouldContainerBeRestarted(w.pod, w.pod.spec.containers[0], w.status));
  w.pod.metadata.deletionTimestamp.reset();
  EXPECT_TRUE(shouldContainerBeRestarted(w.pod, w.pod.spec.containers[0], w.status));
}

}  // namespace
}  // namespace kubenode::agent::pods
