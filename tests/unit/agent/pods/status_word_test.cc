#include "agent/pods/status_word.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "agent/pods/pod_actions.h"
#include "agent/pods/pod_status.h"
#include "tests/unit/agent/pods/pod_fixture.h"

namespace kubenode::agent::pods {
namespace {

// The pipeline `kubenode pods` runs: decisions -> status -> display, on the shared
// fixture (pod default/web with app containers "web" and "side", Always).
struct Input {
  World w;
  WaitingReasons waiting;  // from the sync: ErrImagePull, ...
};

api::Pod observed(Input& in) {
  PodActions actions =
      computePodActions(in.w.pod, in.w.status, in.w.probes, in.w.backoff, in.w.now);
  WaitingReasons waiting = waitingReasonsFromActions(in.w.pod, actions, in.w.backoff);
  waiting.insert(in.waiting.begin(), in.waiting.end());
  api::Pod pod = in.w.pod;
  pod.status = computePodStatus(in.w.pod, in.w.status, in.w.probes, waiting, {}, in.w.now);
  return pod;
}

struct Case {
  std::string name;
  std::function<void(Input&)> setup;
  std::string ready;
  std::string status;
  std::string restarts;
};

// gtest prints the case by name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class StatusWordTable : public ::testing::TestWithParam<Case> {};

TEST_P(StatusWordTable, AsKubectlPrintsIt) {
  Input in;
  GetParam().setup(in);
  api::Pod pod = observed(in);
  pod.metadata.creationTimestamp = api::Time(kNow - absl::Minutes(5));
  PodDisplay d = displayPod(pod, in.w.now);
  EXPECT_EQ(d.status, GetParam().status);
  EXPECT_EQ(d.ready, GetParam().ready);
  EXPECT_EQ(d.restarts, GetParam().restarts);
  EXPECT_EQ(d.age, "5m");
}

RuntimeContainer& exitedWith(World& w, std::string_view name, std::string id, int code,
                             std::string reason, int restartCount = 0,
                             absl::Duration ago = absl::Seconds(30)) {
  RuntimeContainer& c = w.exited(name, std::move(id), code, ago);
  c.reason = std::move(reason);
  c.restartCount = restartCount;
  return c;
}

std::vector<Case> cases() {
  return {
      {"ContainerCreating", [](Input&) {}, "0/2", "ContainerCreating", "0"},
      {"Running", [](Input& in) { in.w.bothRunning(); }, "2/2", "Running", "0"},
      {"RunningButNotReady",
       [](Input& in) {
         in.w.pod.spec.containers[1].readinessProbe = api::Probe{};
         in.w.bothRunning();
       },
       "1/2", "Running", "0"},
      {"CrashLoopBackOff",
       [](Input& in) {
         in.w.running("side", "c-side");
         exitedWith(in.w, "web", "c0", 1, "Error", 0, absl::Seconds(40));
         exitedWith(in.w, "web", "c1", 1, "Error", 1, absl::Seconds(5));
         in.w.backOffSteps("web", 2);
       },
       "1/2", "CrashLoopBackOff", "1 (5s ago)"},
      {"ErrorBeforeRestart",
       [](Input& in) {
         in.w.running("side", "c-side");
         exitedWith(in.w, "web", "c0", 1, "Error");
       },
       "1/2", "Error", "0"},
      {"ErrImagePull",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.waiting["web"] = {.reason = "ErrImagePull", .message = "not found"};
       },
       "1/2", "ErrImagePull", "0"},
      {"ImagePullBackOff",
       [](Input& in) {
         in.w.running("side", "c-side");
         in.waiting["web"] = {.reason = "ImagePullBackOff",
                              .message = "Back-off pulling image \"busybox\""};
       },
       "1/2", "ImagePullBackOff", "0"},
      {"Completed",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "OnFailure";
         exitedWith(in.w, "web", "c-web", 0, "Completed");
         exitedWith(in.w, "side", "c-side", 0, "Completed");
       },
       "0/2", "Completed", "0"},
      {"CompletedBesideRunningIsNotReady",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "OnFailure";
         exitedWith(in.w, "web", "c-web", 0, "Completed");
         in.w.running("side", "c-side");
       },
       "1/2", "NotReady", "0"},
      {"NeverFailedIsError",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         exitedWith(in.w, "web", "c-web", 0, "Completed");
         exitedWith(in.w, "side", "c-side", 1, "Error");
       },
       "0/2", "Error", "0"},
      // Statuses are sorted by name ("side" before "web"); the first with a word wins.
      {"OOMKilled",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         exitedWith(in.w, "web", "c-web", 0, "Completed");
         exitedWith(in.w, "side", "c-side", 137, "OOMKilled");
       },
       "0/2", "OOMKilled", "0"},
      {"CompletedHidesLaterFailure",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         exitedWith(in.w, "web", "c-web", 137, "OOMKilled");
         exitedWith(in.w, "side", "c-side", 0, "Completed");
       },
       "0/2", "Completed", "0"},
      {"ExitCodeWithoutReason",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         exitedWith(in.w, "web", "c-web", 0, "Completed");
         exitedWith(in.w, "side", "c-side", 3, "");
       },
       "0/2", "ExitCode:3", "0"},
      {"Terminating",
       [](Input& in) {
         in.w.bothRunning();
         in.w.pod.metadata.deletionTimestamp = api::Time(kNow);
       },
       "2/2", "Terminating", "0"},
      {"RestartsCountAllAppContainers",
       [](Input& in) {
         exitedWith(in.w, "web", "c0", 1, "Error", 0, absl::Minutes(3));
         in.w.running("web", "c1").restartCount = 1;
         exitedWith(in.w, "side", "s1", 1, "Error", 1, absl::Seconds(70));
         in.w.running("side", "s2").restartCount = 2;
       },
       "2/2", "Running", "3 (70s ago)"},

      // ---- Initialization ----
      {"InitWaiting",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.addInit("init-b");
       },
       "0/2", "Init:0/2", "0"},
      {"InitSecondRunning",
       [](Input& in) {
         in.w.addInit("init-a");
         in.w.addInit("init-b");
         exitedWith(in.w, "init-a", "a", 0, "Completed");
         in.w.running("init-b", "b");
       },
       "0/2", "Init:1/2", "0"},
      {"InitError",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.w.addInit("init-a");
         exitedWith(in.w, "init-a", "a", 1, "Error");
       },
       "0/2", "Init:Error", "0"},
      {"InitExitCode",
       [](Input& in) {
         in.w.pod.spec.restartPolicy = "Never";
         in.w.addInit("init-a");
         exitedWith(in.w, "init-a", "a", 4, "");
       },
       "0/2", "Init:ExitCode:4", "0"},
      {"InitErrorBeforeRestart",
       [](Input& in) {
         in.w.addInit("init-a");
         exitedWith(in.w, "init-a", "a", 1, "Error");
       },
       "0/2", "Init:Error", "0"},
      {"InitCrashLoopBackOff",
       [](Input& in) {
         in.w.addInit("init-a");
         exitedWith(in.w, "init-a", "a0", 1, "Error", 0, absl::Seconds(50));
         exitedWith(in.w, "init-a", "a1", 1, "Error", 1, absl::Seconds(5));
         in.w.backOffSteps("init-a", 1);
       },
       "0/2", "Init:CrashLoopBackOff", "1 (5s ago)"},
      {"InitImagePull",
       [](Input& in) {
         in.w.addInit("init-a");
         in.waiting["init-a"] = {.reason = "ErrImagePull"};
       },
       "0/2", "Init:ErrImagePull", "0"},
      {"PodInitializing",
       [](Input& in) {
         in.w.addInit("init-a");
         exitedWith(in.w, "init-a", "a", 0, "Completed");
       },
       "0/2", "PodInitializing", "0"},
      {"InitDoneRunning",
       [](Input& in) {
         in.w.addInit("init-a");
         exitedWith(in.w, "init-a", "a", 0, "Completed");
         in.w.bothRunning();
       },
       "2/2", "Running", "0"},
  };
}

INSTANTIATE_TEST_SUITE_P(Pods, StatusWordTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(StatusWord, PendingBeforeTheKubeletReports) {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.spec.containers.push_back({.name = "web"});
  pod.status.phase = "Pending";
  PodDisplay d = displayPod(pod, kNow);
  EXPECT_EQ(d.status, "Pending");
  EXPECT_EQ(d.ready, "0/1");
  EXPECT_EQ(d.restarts, "0");
  EXPECT_EQ(d.age, "<unknown>");
  EXPECT_EQ(d.ip, "<none>");
  EXPECT_EQ(d.node, "<none>");
}

TEST(StatusWord, PodReasonWinsOverPhaseAndSignals) {
  api::Pod pod;
  pod.spec.containers.push_back({.name = "web"});
  pod.status.phase = "Failed";
  pod.status.reason = "Evicted";
  EXPECT_EQ(displayPod(pod, kNow).status, "Evicted");

  pod.status.reason = "DeadlineExceeded";
  EXPECT_EQ(displayPod(pod, kNow).status, "DeadlineExceeded");

  pod.status.reason = "";
  pod.status.containerStatuses.push_back(
      {.name = "web", .state = {.terminated = api::ContainerStateTerminated{.signal = 9}}});
  EXPECT_EQ(displayPod(pod, kNow).status, "Signal:9");

  // A finished pod being deleted keeps its word.
  pod.metadata.deletionTimestamp = api::Time(kNow);
  EXPECT_EQ(displayPod(pod, kNow).status, "Signal:9");
  pod.status.reason = "NodeLost";
  EXPECT_EQ(displayPod(pod, kNow).status, "Unknown");
}

TEST(StatusWord, FirstContainerInStatusOrderWins) {
  api::Pod pod;
  pod.spec.containers = {{.name = "a"}, {.name = "b"}};
  pod.status.phase = "Running";
  pod.status.containerStatuses = {
      {.name = "a", .state = {.waiting = api::ContainerStateWaiting{.reason = "ErrImagePull"}}},
      {.name = "b",
       .state = {.waiting = api::ContainerStateWaiting{.reason = "CrashLoopBackOff"}}}};
  EXPECT_EQ(displayPod(pod, kNow).status, "ErrImagePull");
}

TEST(StatusWord, WideColumns) {
  World w;
  w.bothRunning();
  w.pod.spec.nodeName = "node-1";
  w.pod.status = computePodStatus(w.pod, w.status, w.probes, {}, {}, w.now);
  PodDisplay d = displayPod(w.pod, w.now);
  EXPECT_EQ(d.name, "web");
  EXPECT_EQ(d.ip, "10.88.0.5");
  EXPECT_EQ(d.node, "node-1");
}

TEST(HumanDuration, AsKubectl) {
  struct Row {
    absl::Duration d;
    const char* want;
  };
  for (const Row& r : std::vector<Row>{
           {absl::Seconds(-5), "<invalid>"},
           {absl::Seconds(-1), "0s"},
           {absl::Milliseconds(-1500), "0s"},
           {absl::Seconds(0), "0s"},
           {absl::Seconds(5), "5s"},
           {absl::Seconds(119), "119s"},
           {absl::Seconds(120), "2m"},
           {absl::Seconds(192), "3m12s"},
           {absl::Minutes(9) + absl::Seconds(59), "9m59s"},
           {absl::Minutes(10), "10m"},
           {absl::Minutes(179), "179m"},
           {absl::Hours(3), "3h"},
           {absl::Hours(5) + absl::Minutes(3), "5h3m"},
           {absl::Hours(8), "8h"},
           {absl::Hours(47), "47h"},
           {absl::Hours(48), "2d"},
           {absl::Hours(76), "3d4h"},
           {absl::Hours(24 * 8), "8d"},
           {absl::Hours(24 * 729), "729d"},
           {absl::Hours(24 * 730), "2y"},
           {absl::Hours(24 * (730 + 30)), "2y30d"},
           {absl::Hours(24 * 365 * 9), "9y"},
       }) {
    EXPECT_EQ(humanDuration(r.d), r.want) << absl::FormatDuration(r.d);
  }
}

}  // namespace
}  // namespace kubenode::agent::pods
