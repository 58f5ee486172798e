#include "agent/pods/pod_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "tests/unit/agent/pods/pod_fixture.h"

namespace kubenode::agent::pods {
namespace {

using ::testing::HasSubstr;

std::string describeState(const api::ContainerState& s) {
  if (s.running)
    return "running";
  if (s.terminated)
    return fmt::format("terminated({},{})", s.terminated->exitCode, s.terminated->reason);
  if (s.waiting)
    return fmt::format("waiting({})", s.waiting->reason);
  return "none";
}

std::string describeContainers(const std::vector<api::ContainerStatus>& list) {
  std::string out;
  for (const api::ContainerStatus& c : list) {
    out += fmt::format("{}{}:{}", out.empty() ? "" : " ", c.name, describeState(c.state));
    if (c.lastState != api::ContainerState{})
      out += " last=" + describeState(c.lastState);
    if (c.ready)
      out += " ready";
    if (c.started.value_or(false))
      out += " started";
    if (c.restartCount)
      out += fmt::format(" rc={}", c.restartCount);
    out += ";";
  }
  return out;
}

// The parts a user reads, on a few lines, so a failing case shows what differs.
std::string describe(const api::PodStatus& s) {
  std::string conds;
  for (const api::PodCondition& c : s.conditions)
    conds += fmt::format("{}{}={}{}", conds.empty() ? "" : " ", c.type, c.status,
                         c.reason.empty() ? "" : "/" + c.reason);
  return fmt::format("phase={} ip={}\ninit: {}\napp: {}\nconditions: {}", s.phase, s.podIP,
                     describeContainers(s.initContainerStatuses),
                     describeContainers(s.containerStatuses), conds);
}

struct Input {
  World w;
  WaitingReasons waiting;
  api::PodStatus previous;
};

struct Case {
  std::string name;
  std::function<void(Input&)> setup;
  std::string expected;  // describe() of the computed status
};

// gtest prints the case by name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class PodStatusTable : public ::testing::TestWithParam<Case> {};

TEST_P(PodStatusTable, MatchesTheKubelet) {
  Input in;
  GetParam().setup(in);
  api::PodStatus s = computePodStatus(in.w.pod, in.w.status, in.w.probes, in.waiting, in.previous,
                                      in.w.now, {"192.168.1.10"});
  EXPECT_EQ(describe(s), GetParam().expected);
}

constexpr char kAllTrue[] =
    "conditions: Initialized=True Ready=True ContainersReady=True PodScheduled=True";
constexpr char kNotReady[] =
    "conditions: Initialized=True Ready=False/ContainersNotReady "
    "ContainersReady=False/ContainersNotReady PodScheduled=True";

std::vector<Case> cases() {
  return {
      {"NothingCreatedYet", [](Input&) {},
       std::string("phase=Pending ip=10.88.0.5\ninit: \n"
                   "app: side:waiting(ContainerCreating); web:waiting(ContainerCreating);\n") +
           kNotReady},
      {"NoSandboxYetNoIp", [](Input& in) { in.w.status.sandboxes.clear(); },
       std::string("phase=Pending ip=\ninit: \n"
                   "app: side:waiting(ContainerCreating); web:waiting(ContainerCreating);\n") +
           kNotReady},
      {"BothRunning", [](Input& in) { in.w.bothRunning(); },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running ready started;\n") +
           kAllTrue},
      {"OneRunningOneCreating", [](Input& in) { in.w.running("web", "c-web"); },
       std::string("phase=Pending ip=10.88.0.5\ninit: \n"
                   "app: side:waiting(ContainerCreating); web:running ready started;\n") +
           kNotReady},
      {"ReadinessProbeNotYetSucceeded",
       [](Input& in) {
         in.w.pod.spec.containers[0].readinessProbe = api::Probe{};
         in.w.bothRunning();
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running started;\n") +
           kNotReady},
      {"ReadinessProbeSucceeded",
       [](Input& in) {
         in.w.pod.spec.containers[0].readinessProbe = api::Probe{};
         in.w.bothRunning();
         in.w.probes.set("web", {.containerId = "c-web", .readiness = ProbeResult::kSuccess});
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running ready started;\n") +
           kAllTrue},
      {"ReadinessSuccessOfEarlierAttemptDoesNotCount",
       [](Input& in) {
         in.w.pod.spec.containers[0].readinessProbe = api::Probe{};
         in.w.bothRunning();
         in.w.probes.set("web", {.containerId = "c-old", .readiness = ProbeResult::kSuccess});
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running started;\n") +
           kNotReady},
      {"StartupProbePendingNotStartedNotReady",
       [](Input& in) {
         in.w.pod.spec.containers[0].startupProbe = api::Probe{};
         in.w.bothRunning();
         in.w.probes.set("web", {.containerId = "c-web", .readiness = ProbeResult::kSuccess});
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running;\n") +
           kNotReady},
      {"StartupProbeSucceeded",
       [](Input& in) {
         in.w.pod.spec.containers[0].startupProbe = api::Probe{};
         in.w.bothRunning();
         in.w.probes.set("web", {.containerId = "c-web", .startup = ProbeResult::kSuccess});
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running ready started;\n") +
           kAllTrue},
      {"CrashLoopBackOff",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.w.exited("web", "c-web-0", 1, absl::Seconds(50)).reason = "Error";
         RuntimeContainer& c = in.w.exited("web", "c-web-1", 1, absl::Seconds(5));
         c.reason = "Error";
         c.restartCount = 1;
         in.waiting["web"] = {.reason = "CrashLoopBackOff", .message = "back-off 10s ..."};
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:waiting(CrashLoopBackOff) "
                   "last=terminated(1,Error) rc=1;\n") +
           kNotReady},
      {"ExitedAwaitingRestartShowsTerminatedWithoutReason",
       [](Input& in) {
         in.w.running("side", "c-side");
         RuntimeContainer& c = in.w.exited("web", "c-web-1", 0);
         c.reason = "Completed";
         c.restartCount = 3;
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:terminated(0,Completed) rc=3;\n") +
           kNotReady},
      {"RestartedShowsPreviousAttempt",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.w.exited("web", "c-web-0", 137, absl::Minutes(2)).reason = "Error";
         in.w.running("web", "c-web-1").restartCount = 1;
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:running last=terminated(137,Error) "
                   "ready started rc=1;\n") +
           kAllTrue},
      {"ErrImagePullBeforeAnyContainer",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.waiting["web"] = {.reason = "ErrImagePull", .message = "not found"};
       },
       std::string("phase=Pending ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:waiting(ErrImagePull);\n") +
           kNotReady},
      {"CreateContainerError",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.waiting["web"] = {.reason = "CreateContainerError", .message = "bad seccomp"};
       },
       std::string("phase=Pending ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:waiting(CreateContainerError);\n") +
           kNotReady},
      {"NeverOneFailedIsFailed",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.w.exited("web", "c-web", 1).reason = "Error";
         in.w.exited("side", "c-side", 0).reason = "Completed";
         in.waiting["web"] = {.reason = "CrashLoopBackOff"};  // never applies under Never
       },
       "phase=Failed ip=10.88.0.5\ninit: \n"
       "app: side:terminated(0,Completed); web:terminated(1,Error);\n"
       "conditions: Initialized=True Ready=False/PodFailed ContainersReady=False/PodFailed "
       "PodScheduled=True"},
      {"NeverAllSucceededIsSucceeded",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.w.exited("web", "c-web", 0).reason = "Completed";
         in.w.exited("side", "c-side", 0).reason = "Completed";
       },
       "phase=Succeeded ip=10.88.0.5\ninit: \n"
       "app: side:terminated(0,Completed); web:terminated(0,Completed);\n"
       "conditions: Initialized=True/PodCompleted Ready=False/PodCompleted "
       "ContainersReady=False/PodCompleted PodScheduled=True"},
      {"NeverOneStillRunningIsRunning",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.w.exited("web", "c-web", 1).reason = "Error";
         in.w.running("side", "c-side");
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:terminated(1,Error);\n") +
           kNotReady},
      {"OnFailureAllSucceededIsSucceeded",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "OnFailure";
         in.w.exited("web", "c-web", 0).reason = "Completed";
         in.w.exited("side", "c-side", 0).reason = "Completed";
       },
       "phase=Succeeded ip=10.88.0.5\ninit: \n"
       "app: side:terminated(0,Completed); web:terminated(0,Completed);\n"
       "conditions: Initialized=True/PodCompleted Ready=False/PodCompleted "
       "ContainersReady=False/PodCompleted PodScheduled=True"},
      {"OnFailureFailedIsRunningWhileRestarting",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "OnFailure";
         in.w.exited("web", "c-web", 2).reason = "Error";
         in.w.exited("side", "c-side", 0).reason = "Completed";
         in.waiting["web"] = {.reason = "CrashLoopBackOff"};
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:terminated(0,Completed); web:waiting(CrashLoopBackOff) "
                   "last=terminated(2,Error);\n") +
           kNotReady},
      {"AlwaysAllExitedIsRunning",
       [](Input& in) {
         in.w.exited("web", "c-web", 0).reason = "Completed";
         in.w.exited("side", "c-side", 0).reason = "Completed";
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:terminated(0,Completed); web:terminated(0,Completed);\n") +
           kNotReady},

      // ---- Init containers ----
      {"InitNotStarted",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.addInit("init-b");
       },
       "phase=Pending ip=10.88.0.5\n"
       "init: init-a:waiting(PodInitializing); init-b:waiting(PodInitializing);\n"
       "app: side:waiting(PodInitializing); web:waiting(PodInitializing);\n"
       "conditions: Initialized=False/ContainersNotInitialized "
       "Ready=False/ContainersNotReady ContainersReady=False/ContainersNotReady "
       "PodScheduled=True"},
      {"InitRunning",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.addInit("init-b");
         in.w.running("init-a", "c-a");
       },
       "phase=Pending ip=10.88.0.5\n"
       "init: init-a:running started; init-b:waiting(PodInitializing);\n"
       "app: side:waiting(PodInitializing); web:waiting(PodInitializing);\n"
       "conditions: Initialized=False/ContainersNotInitialized "
       "Ready=False/ContainersNotReady ContainersReady=False/ContainersNotReady "
       "PodScheduled=True"},
      {"InitDoneAppsStarting",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.exited("init-a", "c-a", 0).reason = "Completed";
         in.w.running("web", "c-web");
       },
       std::string("phase=Pending ip=10.88.0.5\n"
                   "init: init-a:terminated(0,Completed) ready;\n"
                   "app: side:waiting(PodInitializing); web:running ready started;\n") +
           kNotReady},
      {"InitFailedUnderAlwaysCrashLoops",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.exited("init-a", "c-a", 1).reason = "Error";
         in.waiting["init-a"] = {.reason = "CrashLoopBackOff"};
       },
       "phase=Pending ip=10.88.0.5\n"
       "init: init-a:waiting(CrashLoopBackOff) last=terminated(1,Error);\n"
       "app: side:waiting(PodInitializing); web:waiting(PodInitializing);\n"
       "conditions: Initialized=False/ContainersNotInitialized "
       "Ready=False/ContainersNotReady ContainersReady=False/ContainersNotReady "
       "PodScheduled=True"},
      {"InitFailedUnderOnFailureCrashLoops",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "OnFailure";
         in.w.addInit("init-a");
         in.w.exited("init-a", "c-a", 7).reason = "Error";
         in.waiting["init-a"] = {.reason = "CrashLoopBackOff"};
       },
       "phase=Pending ip=10.88.0.5\n"
       "init: init-a:waiting(CrashLoopBackOff) last=terminated(7,Error);\n"
       "app: side:waiting(PodInitializing); web:waiting(PodInitializing);\n"
       "conditions: Initialized=False/ContainersNotInitialized "
       "Ready=False/ContainersNotReady ContainersReady=False/ContainersNotReady "
       "PodScheduled=True"},
      {"InitFailedUnderNeverFailsPod",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.w.addInit("init-a");
         in.w.exited("init-a", "c-a", 1).reason = "Error";
         in.waiting["init-a"] = {.reason = "CrashLoopBackOff"};  // not under Never
       },
       "phase=Failed ip=10.88.0.5\n"
       "init: init-a:terminated(1,Error);\n"
       "app: side:waiting(PodInitializing); web:waiting(PodInitializing);\n"
       "conditions: Initialized=False/ContainersNotInitialized Ready=False/PodFailed "
       "ContainersReady=False/PodFailed PodScheduled=True"},
      {"SucceededInitIgnoresStaleWaitingReason",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.exited("init-a", "c-a", 0).reason = "Completed";
         in.w.bothRunning();
         in.waiting["init-a"] = {.reason = "CrashLoopBackOff"};
       },
       std::string("phase=Running ip=10.88.0.5\n"
                   "init: init-a:terminated(0,Completed) ready;\n"
                   "app: side:running ready started; web:running ready started;\n") +
           kAllTrue},

      // ---- What the previous status carries over ----
      {"TerminalPhaseStaysWhenRuntimeForgets",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.previous.phase = "Succeeded";
         for (const char* name : {"web", "side"})
           in.previous.containerStatuses.push_back(
               {.name = name,
                .state = {.terminated = api::ContainerStateTerminated{.reason = "Completed"}}});
         in.w.status.sandboxes.clear();
         in.previous.podIP = "10.88.0.9";
         in.previous.podIPs = {{.ip = "10.88.0.9"}};
       },
       "phase=Succeeded ip=10.88.0.9\ninit: \n"
       "app: side:terminated(0,Completed); web:terminated(0,Completed);\n"
       "conditions: Initialized=True/PodCompleted Ready=False/PodCompleted "
       "ContainersReady=False/PodCompleted PodScheduled=True"},
      {"VanishedRunningContainerEndedUnknown",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.previous.containerStatuses.push_back(
             {.name = "web",
              .state = {.running = api::ContainerStateRunning{}},
              .restartCount = 2});
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; web:waiting(ContainerCreating) "
                   "last=terminated(137,ContainerStatusUnknown) rc=3;\n") +
           kNotReady},
      {"UnknownStateAfterRunningIsTerminated",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.w.add("web", "c-web", ContainerState::kUnknown).restartCount = 1;
         in.previous.containerStatuses.push_back(
             {.name = "web",
              .state = {.running = api::ContainerStateRunning{}},
              .restartCount = 1});
       },
       std::string("phase=Running ip=10.88.0.5\ninit: \n"
                   "app: side:running ready started; "
                   "web:terminated(137,ContainerStatusUnknown) rc=2;\n") +
           kNotReady},
      {"HostNetworkUsesNodeAddress",
       [](Input& in) {
         in.w.pod.spec.hostNetwork = true;
         in.w.status.sandboxes[0].ip = "";
         in.w.bothRunning();
       },
       std::string("phase=Running ip=192.168.1.10\ninit: \n"
                   "app: side:running ready started; web:running ready started;\n") +
           kAllTrue},
      {"SandboxNotReadyNoIp",
       [](Input& in) {
         in.w.status.sandboxes[0].ready = false;
         in.w.exited("web", "c-web", 137).reason = "Error";
         in.w.exited("side", "c-side", 137).reason = "Error";
       },
       std::string("phase=Running ip=\ninit: \n"
                   "app: side:terminated(137,Error); web:terminated(137,Error);\n") +
           kNotReady},
  };
}

INSTANTIATE_TEST_SUITE_P(Pods, PodStatusTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(PodStatus, ContainerFieldsAsTheKubeletReportsThem) {
  World w;
  RuntimeContainer& old = w.exited("web", "c-web-0", 2, absl::Minutes(3));
  old.reason = "Error";
  old.message = "bye";
  old.startedAt = kNow - absl::Minutes(4);
  RuntimeContainer& c = w.running("web", "c-web-1");
  c.restartCount = 1;
  c.image = "docker.io/library/busybox:latest";
  c.imageRef = "sha256:abc";
  c.startedAt = kNow - absl::Seconds(30);
  api::PodStatus s = computePodStatus(w.pod, w.status, w.probes, {}, {}, w.now, {"192.168.1.10"});
  ASSERT_EQ(s.containerStatuses.size(), 2u);
  const api::ContainerStatus& web = s.containerStatuses[1];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.containerID, "containerd://c-web-1");
  EXPECT_EQ(web.image, "docker.io/library/busybox:latest");
  EXPECT_EQ(web.imageID, "sha256:abc");
  EXPECT_EQ(web.restartCount, 1);
  ASSERT_TRUE(web.state.running.has_value());
  EXPECT_EQ(web.state.running->startedAt, api::Time(kNow - absl::Seconds(30)));
  ASSERT_TRUE(web.lastState.terminated.has_value());
  EXPECT_EQ(web.lastState.terminated->exitCode, 2);
  EXPECT_EQ(web.lastState.terminated->message, "bye");
  EXPECT_EQ(web.lastState.terminated->containerID, "containerd://c-web-0");
  EXPECT_EQ(web.lastState.terminated->startedAt, api::Time(kNow - absl::Minutes(4)));
  EXPECT_EQ(web.lastState.terminated->finishedAt, api::Time(kNow - absl::Minutes(3)));
  // Not created yet: the spec's image, no IDs.
  const api::ContainerStatus& side = s.containerStatuses[0];
  EXPECT_EQ(side.image, "busybox");
  EXPECT_EQ(side.containerID, "");
  EXPECT_EQ(side.started, std::optional<bool>(false));

  EXPECT_EQ(s.hostIP, "192.168.1.10");
  ASSERT_EQ(s.hostIPs.size(), 1u);
  EXPECT_EQ(s.qosClass, "BestEffort");
  EXPECT_EQ(s.startTime, api::Time(kNow));
}

TEST(PodStatus, DualStackPodIps) {
  World w;
  w.status.sandboxes[0].additionalIps = {"fd00::5"};
  api::PodStatus s = computePodStatus(w.pod, w.status, w.probes, {}, {}, w.now);
  EXPECT_EQ(s.podIP, "10.88.0.5");
  ASSERT_EQ(s.podIPs.size(), 2u);
  EXPECT_EQ(s.podIPs[1].ip, "fd00::5");
}

TEST(PodStatus, ConditionMessagesNameTheContainers) {
  World w;
  w.addInit("init-a");
  w.addInit("init-b");
  w.exited("init-a", "c-a", 0);
  api::PodStatus s = computePodStatus(w.pod, w.status, w.probes, {}, {}, w.now);
  ASSERT_EQ(s.conditions.size(), 4u);
  EXPECT_EQ(s.conditions[0].type, "Initialized");
  EXPECT_EQ(s.conditions[0].message, "containers with incomplete status: [init-b]");
  EXPECT_EQ(s.conditions[1].type, "Ready");
  EXPECT_EQ(s.conditions[1].message, "containers with unready status: [web side]");
  EXPECT_EQ(s.conditions[2].type, "ContainersReady");
  EXPECT_EQ(s.conditions[2].message, "containers with unready status: [web side]");
}

TEST(PodStatus, TransitionTimesKeptWhileStatusHolds) {
  World w;
  w.bothRunning();
  api::PodStatus first = computePodStatus(w.pod, w.status, w.probes, {}, {}, w.now);
  for (const api::PodCondition& c : first.conditions)
    EXPECT_EQ(c.lastTransitionTime, api::Time(kNow)) << c.type;

  // A minute later one container is not ready: Ready and ContainersReady move, the
  // others keep their time; startTime stays.
  w.now = kNow + absl::Minutes(1);
  w.pod.spec.containers[1].readinessProbe = api::Probe{};
  api::PodStatus second = computePodStatus(w.pod, w.status, w.probes, {}, first, w.now);
  EXPECT_EQ(second.startTime, api::Time(kNow));
  for (const api::PodCondition& c : second.conditions) {
    bool moved = c.type == "Ready" || c.type == "ContainersReady";
    EXPECT_EQ(c.lastTransitionTime, api::Time(moved ? w.now : kNow)) << c.type;
  }
}

TEST(PodStatus, ReasonAndMessageStayWithThePhase) {
  World w;
  w.bothRunning();
  api::PodStatus previous;
  previous.phase = "Running";
  previous.reason = "Evicted?";
  previous.message = "kept";
  api::PodStatus s = computePodStatus(w.pod, w.status, w.probes, {}, previous, w.now);
  EXPECT_EQ(s.message, "kept");
  previous.phase = "Pending";
  s = computePodStatus(w.pod, w.status, w.probes, {}, previous, w.now);
  EXPECT_EQ(s.message, "");
}

TEST(PodStatus, ActiveDeadlineFailsThePod) {
  World w;
  w.bothRunning();
  w.pod.spec.activeDeadlineSeconds = 30;
  api::PodStatus previous;
  previous.phase = "Running";
  previous.startTime = api::Time(kNow - absl::Seconds(29));
  api::PodStatus s = computePodStatus(w.pod, w.status, w.probes, {}, previous, w.now);
  EXPECT_EQ(s.phase, "Running");
  EXPECT_EQ(s.reason, "");

  previous.startTime = api::Time(kNow - absl::Seconds(30));
  s = computePodStatus(w.pod, w.status, w.probes, {}, previous, w.now);
  EXPECT_EQ(s.phase, "Failed");
  EXPECT_EQ(s.reason, "DeadlineExceeded");
  EXPECT_EQ(s.message, "Pod was active on the node longer than the specified deadline");
  // Conditions follow the failed phase.
  EXPECT_EQ(s.conditions[1].type, "Ready");
  EXPECT_EQ(s.conditions[1].reason, "PodFailed");

  // A pod that already succeeded keeps its phase.
  previous.phase = "Succeeded";
  w.pod.spec.restartPolicy = "Never";
  w.status.containers.clear();
  w.exited("web", "c-web", 0);
  w.exited("side", "c-side", 0);
  s = computePodStatus(w.pod, w.status, w.probes, {}, previous, w.now);
  EXPECT_EQ(s.phase, "Succeeded");
}

TEST(WaitingReasons, CrashLoopBackOffMessageAsTheKubelet) {
  World w;
  w.running("side", "c-side");
  w.exited("web", "c-web", 1, absl::Seconds(2));
  w.backOffSteps("web", 3);  // 40 s in force
  PodActions a = computePodActions(w.pod, w.status, w.probes, w.backoff, w.now);
  ASSERT_EQ(a.backOff.count("web"), 1u);
  WaitingReasons r = waitingReasonsFromActions(w.pod, a, w.backoff);
  ASSERT_EQ(r.count("web"), 1u);
  EXPECT_EQ(r["web"].reason, "CrashLoopBackOff");
  EXPECT_EQ(r["web"].message,
            "back-off 40s restarting failed container=web pod=web_default(uid-1)");
  api::PodStatus s = computePodStatus(w.pod, w.status, w.probes, r, {}, w.now);
  EXPECT_EQ(s.containerStatuses[1].state.waiting->message, r["web"].message);
}

TEST(WaitingReasons, ImagePullWordsAsTheKubelet) {
  api::Container c{.name = "web", .image = "localhost/missing:1"};
  EXPECT_EQ(errImagePull("rpc error: not found").reason, "ErrImagePull");
  EXPECT_EQ(errImagePull("rpc error: not found").message, "rpc error: not found");
  EXPECT_EQ(imagePullBackOff(c).reason, "ImagePullBackOff");
  EXPECT_EQ(imagePullBackOff(c).message, "Back-off pulling image \"localhost/missing:1\"");
  EXPECT_EQ(errImageNeverPull(c).reason, "ErrImageNeverPull");
  EXPECT_EQ(errImageNeverPull(c).message,
            "Container image \"localhost/missing:1\" is not present with pull policy of Never");
}

TEST(GoDuration, FormatsAsGo) {
  EXPECT_EQ(goDurationString(absl::Seconds(0)), "0s");
  EXPECT_EQ(goDurationString(absl::Seconds(10)), "10s");
  EXPECT_EQ(goDurationString(absl::Seconds(80)), "1m20s");
  EXPECT_EQ(goDurationString(absl::Seconds(300)), "5m0s");
  EXPECT_EQ(goDurationString(absl::Seconds(3600)), "1h0m0s");
}

TEST(PodPhase, EmptyStatusesArePending) {
  World w;
  EXPECT_EQ(podPhase(w.pod, {}, {}), "Pending");
}

}  // namespace
}  // namespace kubenode::agent::pods
