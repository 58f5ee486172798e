// The probe workers' state machine against the kubelet's semantics, driven by explicit
// times (no clock, no sockets): what is probed when, and which results and events come
// out of which outcomes.
#include "probes/probe_manager.h"

#include <gtest/gtest.h>

#include <functional>

namespace kubenode::probes {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

api::Probe tcpProbe(int port) {
  api::Probe p;
  p.tcpSocket = api::TCPSocketAction{.port = api::IntOrString::fromInt(port)};
  p.periodSeconds = 10;
  p.timeoutSeconds = 1;
  p.successThreshold = 1;
  p.failureThreshold = 3;
  return p;
}

// A running pod "web" with one container "app" (ID c1, started at kT0).
api::Pod basePod() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "uid-1";
  pod.spec.restartPolicy = "Always";
  api::Container c;
  c.name = "app";
  c.ports.push_back(api::ContainerPort{.name = "http", .containerPort = 8080});
  pod.spec.containers.push_back(c);
  pod.status.phase = "Running";
  pod.status.podIP = "10.1.0.5";
  api::ContainerStatus s;
  s.name = "app";
  s.containerID = "containerd://c1";
  s.state.running = api::ContainerStateRunning{.startedAt = api::Time(kT0)};
  pod.status.containerStatuses.push_back(s);
  return pod;
}

api::Pod withContainer(api::Pod pod, const std::string& id, bool running) {
  api::ContainerStatus& s = pod.status.containerStatuses[0];
  s.containerID = "containerd://" + id;
  s.state = {};
  if (running) {
    s.state.running = api::ContainerStateRunning{.startedAt = api::Time(kT0)};
  } else {
    s.state.terminated = api::ContainerStateTerminated{.exitCode = 1, .reason = "Error"};
  }
  return pod;
}

class ProbeManagerTest : public ::testing::Test {
 protected:
  // Long after the agent started: first probes are jittered by at most 1 s (here 0).
  ProbeManager manager_{{.start = kT0 - absl::Hours(1), .random = [] { return 0.0; }}};

  std::vector<ProbeRequest> due(absl::Time now) { return manager_.takeDue(now); }
  std::vector<ResultChange> changes() { return manager_.takeResultChanges(); }
  ResultChange change(ProbeType type, Result r, const std::string& id = "c1") {
    return ResultChange{
        .podUid = "uid-1", .containerName = "app", .containerId = id, .type = type, .result = r};
  }
  // Runs every probe due at `now` with the same outcome.
  size_t runAll(absl::Time now, Outcome o, const std::string& output = "") {
    std::vector<ProbeRequest> reqs = due(now);
    for (const ProbeRequest& r : reqs)
      manager_.complete(r.id, ProbeOutcome{.result = o, .output = output}, now);
    return reqs.size();
  }
};

TEST_F(ProbeManagerTest, ReadinessStartsFailedWaitsForTheInitialDelayAndFollowsThresholds) {
  api::Pod pod = basePod();
  api::Probe p = tcpProbe(8080);
  p.initialDelaySeconds = 5;
  p.successThreshold = 2;
  p.periodSeconds = 1;
  pod.spec.containers[0].readinessProbe = p;
  manager_.updatePods({pod}, kT0);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kFailure)});

  EXPECT_TRUE(due(kT0 + absl::Seconds(4)).empty()) << "probed before initialDelaySeconds";
  EXPECT_EQ(manager_.nextDue(), kT0 + absl::Seconds(5));
  std::vector<ProbeRequest> first = due(kT0 + absl::Seconds(5));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].scheduled, kT0 + absl::Seconds(5));
  const TcpTarget& t = std::get<TcpTarget>(first[0].target);
  EXPECT_EQ(t.host, "10.1.0.5");
  EXPECT_EQ(t.port, 8080);
  EXPECT_TRUE(due(kT0 + absl::Seconds(7)).empty()) << "a second probe while one is in flight";
  manager_.complete(first[0].id, {.result = Outcome::kSuccess}, kT0 + absl::Seconds(7));
  EXPECT_TRUE(changes().empty()) << "one success is below successThreshold 2";
  // The tick at 6 s passed while the probe was in flight: it runs at once.
  EXPECT_EQ(manager_.nextDue(), kT0 + absl::Seconds(7));
  EXPECT_EQ(runAll(kT0 + absl::Seconds(7), Outcome::kSuccess), 1u);
  EXPECT_EQ(manager_.nextDue(), kT0 + absl::Seconds(8)) << "then the phase is kept";
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kSuccess)});
  EXPECT_EQ(runAll(kT0 + absl::Seconds(8), Outcome::kFailure, "refused"), 1u);
  EXPECT_EQ(runAll(kT0 + absl::Seconds(9), Outcome::kFailure, "refused"), 1u);
  EXPECT_TRUE(changes().empty()) << "two failures are below failureThreshold 3";
  EXPECT_EQ(runAll(kT0 + absl::Seconds(10), Outcome::kFailure, "refused"), 1u);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kFailure)});
  // Readiness is never put on hold: it keeps probing and can come back.
  EXPECT_EQ(runAll(kT0 + absl::Seconds(11), Outcome::kSuccess), 1u);
  EXPECT_EQ(runAll(kT0 + absl::Seconds(12), Outcome::kSuccess), 1u);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kSuccess)});
}

TEST_F(ProbeManagerTest, LivenessFailureHoldsUntilANewContainerThenStartsAgain) {
  api::Pod pod = basePod();
  pod.spec.containers[0].livenessProbe = tcpProbe(8080);
  manager_.updatePods({pod}, kT0);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kLiveness, Result::kSuccess)});
  absl::Time t = kT0;
  for (int i = 0; i < 3; ++i, t += absl::Seconds(10))
    EXPECT_EQ(runAll(t, Outcome::kFailure, "connection refused"), 1u) << i;
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kLiveness, Result::kFailure)});
  std::vector<ProbeEvent> events = manager_.takeEvents();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].reason, "Unhealthy");
  EXPECT_EQ(events[0].message, "Liveness probe failed: connection refused");
  EXPECT_EQ(events[0].podName, "web");
  EXPECT_EQ(events[0].containerName, "app");
  // On hold: the pod worker is restarting it; no probe of the old container.
  EXPECT_EQ(runAll(t, Outcome::kSuccess), 0u);
  EXPECT_EQ(runAll(t + absl::Seconds(10), Outcome::kSuccess), 0u);
  // The restarted container (new ID) starts from Success again and is probed.
  manager_.updatePods({withContainer(pod, "c2", true)}, t + absl::Seconds(15));
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kLiveness, Result::kSuccess, "c2")});
  EXPECT_EQ(runAll(t + absl::Seconds(15), Outcome::kFailure), 1u);
  EXPECT_TRUE(changes().empty()) << "the old container's failures must not count";
}

TEST_F(ProbeManagerTest, StartupProbeHoldsLivenessAndReadinessBackUntilItSucceeds) {
  api::Pod pod = basePod();
  api::Probe startup = tcpProbe(8080);
  startup.periodSeconds = 1;
  startup.failureThreshold = 30;
  pod.spec.containers[0].startupProbe = startup;
  pod.spec.containers[0].livenessProbe = tcpProbe(8080);
  pod.spec.containers[0].readinessProbe = tcpProbe(8080);
  manager_.updatePods({pod}, kT0);
  changes();
  for (int i = 0; i < 5; ++i) {
    std::vector<ProbeRequest> reqs = due(kT0 + absl::Seconds(i));
    ASSERT_EQ(reqs.size(), 1u) << "only the startup probe runs, second " << i;
    EXPECT_EQ(reqs[0].type, ProbeType::kStartup);
    manager_.complete(reqs[0].id, {.result = Outcome::kFailure}, kT0 + absl::Seconds(i));
  }
  EXPECT_TRUE(changes().empty());
  EXPECT_EQ(runAll(kT0 + absl::Seconds(5), Outcome::kSuccess), 1u);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kStartup, Result::kSuccess)});
  // Started: readiness runs at once, liveness at its own next tick; startup no more.
  std::vector<ProbeRequest> reqs = due(kT0 + absl::Seconds(5));
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].type, ProbeType::kReadiness);
  manager_.complete(reqs[0].id, {.result = Outcome::kSuccess}, kT0 + absl::Seconds(5));
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kSuccess)});
  reqs = due(kT0 + absl::Seconds(10));
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].type, ProbeType::kLiveness);
  manager_.complete(reqs[0].id, {.result = Outcome::kSuccess}, kT0 + absl::Seconds(10));
  reqs = due(kT0 + absl::Seconds(15));
  ASSERT_EQ(reqs.size(), 1u) << "readiness keeps the phase of its triggered probe";
  EXPECT_EQ(reqs[0].type, ProbeType::kReadiness);
}

TEST_F(ProbeManagerTest, AStartupFailureAtTheThresholdIsReportedAndHeld) {
  api::Pod pod = basePod();
  api::Probe startup = tcpProbe(8080);
  startup.failureThreshold = 2;
  pod.spec.containers[0].startupProbe = startup;
  manager_.updatePods({pod}, kT0);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kStartup, Result::kUnknown)});
  EXPECT_EQ(runAll(kT0, Outcome::kFailure), 1u);
  EXPECT_EQ(runAll(kT0 + absl::Seconds(10), Outcome::kFailure), 1u);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kStartup, Result::kFailure)});
  EXPECT_EQ(runAll(kT0 + absl::Seconds(20), Outcome::kFailure), 0u);
}

TEST_F(ProbeManagerTest, ATerminatingPodStopsLivenessQuietlyButKeepsProbingReadiness) {
  api::Pod pod = basePod();
  pod.spec.containers[0].livenessProbe = tcpProbe(8080);
  pod.spec.containers[0].readinessProbe = tcpProbe(8080);
  manager_.updatePods({pod}, kT0);
  EXPECT_EQ(runAll(kT0, Outcome::kSuccess), 2u);
  changes();
  pod.metadata.deletionTimestamp = api::Time(kT0 + absl::Seconds(3));
  manager_.updatePods({pod}, kT0 + absl::Seconds(3));
  std::vector<ProbeRequest> reqs = due(kT0 + absl::Seconds(10));
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].type, ProbeType::kReadiness);
  EXPECT_TRUE(changes().empty()) << "liveness was already Success";
  manager_.complete(reqs[0].id, {.result = Outcome::kSuccess}, kT0 + absl::Seconds(10));
  EXPECT_EQ(due(kT0 + absl::Seconds(20)).size(), 1u);
}

TEST_F(ProbeManagerTest, AStoppedContainerIsNotReadyAndUnderNeverItsWorkersEnd) {
  api::Pod pod = basePod();
  pod.spec.restartPolicy = "Never";
  pod.spec.containers[0].readinessProbe = tcpProbe(8080);
  manager_.updatePods({pod}, kT0);
  EXPECT_EQ(runAll(kT0, Outcome::kSuccess), 1u);
  EXPECT_EQ(changes(), (std::vector{change(ProbeType::kReadiness, Result::kFailure),
                                    change(ProbeType::kReadiness, Result::kSuccess)}));
  manager_.updatePods({withContainer(pod, "c1", false)}, kT0 + absl::Seconds(5));
  EXPECT_EQ(runAll(kT0 + absl::Seconds(10), Outcome::kSuccess), 0u);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kFailure)});
  EXPECT_EQ(manager_.nextDue(), absl::InfiniteFuture()) << "nothing left to probe under Never";
}

TEST_F(ProbeManagerTest, NamedPortsResolveAndAMissingOneIsAnErrorEventWithoutAResult) {
  api::Pod pod = basePod();
  api::Probe p;
  p.httpGet = api::HTTPGetAction{.path = "/healthz", .port = api::IntOrString::fromString("http")};
  p.httpGet->httpHeaders.push_back({"X-Probe", "1"});
  p.periodSeconds = 10;
  p.failureThreshold = 3;
  p.successThreshold = 1;
  p.timeoutSeconds = 2;
  pod.spec.containers[0].readinessProbe = p;
  api::Probe broken = tcpProbe(0);
  broken.tcpSocket->port = api::IntOrString::fromString("metrics");
  pod.spec.containers[0].livenessProbe = broken;
  manager_.updatePods({pod}, kT0);
  changes();
  std::vector<ProbeRequest> reqs = due(kT0);
  ASSERT_EQ(reqs.size(), 1u);
  const HttpTarget& h = std::get<HttpTarget>(reqs[0].target);
  EXPECT_EQ(h.scheme, "HTTP");
  EXPECT_EQ(h.host, "10.1.0.5");
  EXPECT_EQ(h.port, 8080);
  EXPECT_EQ(h.path, "/healthz");
  EXPECT_EQ(reqs[0].timeout, absl::Seconds(2));
  ASSERT_EQ(h.headers.size(), 1u);
  std::vector<ProbeEvent> events = manager_.takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message,
            "Liveness probe errored: couldn't find port \"metrics\" in container app");
  EXPECT_TRUE(changes().empty());
}

TEST_F(ProbeManagerTest, AWarningIsASuccessWithAnEvent) {
  api::Pod pod = basePod();
  pod.spec.containers[0].readinessProbe = tcpProbe(8080);
  manager_.updatePods({pod}, kT0);
  changes();
  EXPECT_EQ(runAll(kT0, Outcome::kWarning, "Probe terminated redirects"), 1u);
  EXPECT_EQ(changes(), std::vector{change(ProbeType::kReadiness, Result::kSuccess)});
  std::vector<ProbeEvent> events = manager_.takeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, "ProbeWarning");
  EXPECT_EQ(events[0].message, "Readiness probe warning: Probe terminated redirects");
}

TEST_F(ProbeManagerTest, ExecProbesGetTheRuntimeIdAndStaticEnvExpanded) {
  api::Pod pod = basePod();
  pod.spec.containers[0].env.push_back({.name = "FILE", .value = "/tmp/healthy"});
  api::Probe p = tcpProbe(0);
  p.tcpSocket.reset();
  p.exec = api::ExecAction{.command = {"cat", "$(FILE)", "$(UNSET)", "$$(FILE)"}};
  pod.spec.containers[0].livenessProbe = p;
  manager_.updatePods({pod}, kT0);
  std::vector<ProbeRequest> reqs = due(kT0);
  ASSERT_EQ(reqs.size(), 1u);
  const ExecTarget& e = std::get<ExecTarget>(reqs[0].target);
  EXPECT_EQ(e.containerId, "c1");
  EXPECT_EQ(e.command, (std::vector<std::string>{"cat", "/tmp/healthy", "$(UNSET)", "$(FILE)"}));
}

TEST_F(ProbeManagerTest, ARemovedPodLosesItsWorkersAndLateOutcomesAreIgnored) {
  api::Pod pod = basePod();
  pod.spec.containers[0].livenessProbe = tcpProbe(8080);
  manager_.updatePods({pod}, kT0);
  changes();
  std::vector<ProbeRequest> reqs = due(kT0);
  ASSERT_EQ(reqs.size(), 1u);
  manager_.updatePods({}, kT0 + absl::Seconds(1));
  EXPECT_EQ(manager_.workerCount(), 0u);
  manager_.complete(reqs[0].id, {.result = Outcome::kFailure}, kT0 + absl::Seconds(1));
  EXPECT_TRUE(changes().empty());
  EXPECT_TRUE(manager_.takeEvents().empty());
  EXPECT_EQ(manager_.nextDue(), absl::InfiniteFuture());
}

TEST(ProbeManagerJitterTest, FirstProbesSpreadOverAPeriodRightAfterAStartAndASecondLater) {
  api::Pod pod = basePod();
  pod.spec.containers[0].livenessProbe = tcpProbe(8080);  // period 10 s
  ProbeManager fresh({.start = kT0, .random = [] { return 0.5; }});
  fresh.updatePods({pod}, kT0);
  EXPECT_EQ(fresh.nextDue(), kT0 + absl::Seconds(5)) << "half of the whole period";
  ProbeManager later({.start = kT0 - absl::Hours(1), .random = [] { return 0.5; }});
  later.updatePods({pod}, kT0);
  EXPECT_EQ(later.nextDue(), kT0 + absl::Milliseconds(500)) << "half of at most one second";
}

TEST(ProbeManagerScaleTest, TwoThousandProbesEachRunOncePerPeriodInPhase) {
  std::vector<api::Pod> pods;
  int n = 0;
  for (int i = 0; i < 1000; ++i) {
    api::Pod pod = basePod();
    pod.metadata.uid = "uid-" + std::to_string(i);
    pod.spec.containers[0].livenessProbe = tcpProbe(8080);
    pod.spec.containers[0].livenessProbe->periodSeconds = 1;
    pod.spec.containers[0].readinessProbe = pod.spec.containers[0].livenessProbe;
    pods.push_back(pod);
  }
  ProbeManager m({.start = kT0, .random = [&n] { return (n++ % 100) / 100.0; }});
  m.updatePods(pods, kT0);
  size_t probes = 0;
  for (absl::Time t = kT0; t < kT0 + absl::Seconds(10); t += absl::Milliseconds(10)) {
    for (const ProbeRequest& r : m.takeDue(t)) {
      EXPECT_LT(t - r.scheduled, absl::Milliseconds(10));
      m.complete(r.id, {.result = Outcome::kSuccess}, t);
      ++probes;
    }
  }
  EXPECT_EQ(probes, 20000u);
}

}  // namespace
}  // namespace kubenode::probes
