// Probes run by the kubenode binary against pods on the private containerd, checked as an
// operator sees them: /pods (ready, started, restarts, lastState, conditions), /events and
// /metrics. The scenarios are the issue's: the Kubernetes docs' exec liveness pod, an
// httpGet liveness probe on an httpd that stops serving its path, readiness following a
// file, a startup probe holding liveness back, an exec probe timing out, tcp probes on
// open, closed and named ports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/pods/pods_fixture.h"

namespace kubenode::pods_test {
namespace {

using ProbesTest = PodsTest;

// The ready flag of the pod's container `name` and the pod's Ready condition agree.
bool readyIs(const api::Pod& p, const std::string& container, bool ready) {
  const api::ContainerStatus* s = statusOf(p, container);
  return s != nullptr && s->ready == ready &&
         conditionStatus(p, "Ready") == (ready ? "True" : "False") &&
         conditionStatus(p, "ContainersReady") == (ready ? "True" : "False");
}

TEST_F(ProbesTest, TheDocsExecLivenessPodIsKilledAndRestartedWhenTheFileGoes) {
  // kubernetes.io "Define a liveness command", with shorter times.
  agent_->writeManifest("liveness-exec.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: liveness-exec
spec:
  containers:
  - name: liveness
    image: busybox
    imagePullPolicy: IfNotPresent
    args: ["/bin/sh", "-c", "touch /tmp/healthy; sleep 3; rm -f /tmp/healthy; sleep 600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
      terminationGracePeriodSeconds: 1
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> p = waitForPod(
      "liveness-exec-node-it",
      [](const api::Pod& p) {
        const api::ContainerStatus* s = statusOf(p, "liveness");
        return s != nullptr && s->restartCount >= 2 && s->lastState.terminated.has_value();
      },
      absl::Seconds(90));
  ASSERT_TRUE(p.has_value());
  const api::ContainerStatus* s = statusOf(*p, "liveness");
  // The shell ignores SIGTERM as PID 1: SIGKILL at the end of the probe's grace period.
  EXPECT_EQ(s->lastState.terminated->exitCode, 137);
  EXPECT_EQ(s->lastState.terminated->reason, "Error");
  EXPECT_TRUE(hasEvent("liveness-exec-node-it", "Unhealthy", "Liveness probe failed: cat: "));
  EXPECT_TRUE(hasEvent("liveness-exec-node-it", "Killing",
                       "Container liveness failed liveness probe, will be restarted"));
}

TEST_F(ProbesTest, AnHttpLivenessProbeRestartsAnHttpdThatStopsServingItsPath) {
  agent_->writeManifest("liveness-http.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: liveness-http
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www; echo ok > /www/healthz; (sleep 3; rm /www/healthz) & exec httpd -f -p 8080 -h /www"]
    ports:
    - {name: web, containerPort: 8080}
    livenessProbe:
      httpGet: {path: /healthz, port: web, httpHeaders: [{name: X-Custom, value: probe}]}
      periodSeconds: 1
      failureThreshold: 2
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> p = waitForPod(
      "liveness-http-node-it",
      [](const api::Pod& p) {
        const api::ContainerStatus* s = statusOf(p, "httpd");
        return s != nullptr && s->restartCount >= 1;
      },
      absl::Seconds(60));
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(hasEvent("liveness-http-node-it", "Unhealthy",
                       "Liveness probe failed: HTTP probe failed with statuscode: 404"));
  EXPECT_TRUE(hasEvent("liveness-http-node-it", "Killing",
                       "Container httpd failed liveness probe, will be restarted"));
}

TEST_F(ProbesTest, ReadinessFollowsAFileFalseThenTrueThenFalse) {
  agent_->writeManifest("readiness.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: readiness
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; sleep 4; rm /tmp/ready; sleep 600"]
    readinessProbe:
      exec:
        command: ["cat", "/tmp/ready"]
      periodSeconds: 1
)");
  ASSERT_TRUE(agent_->start().ok());
  ASSERT_TRUE(waitForPod(
      "readiness-node-it", [](const api::Pod& p) { return running(p) && readyIs(p, "app", false); },
      absl::Seconds(30)));
  ASSERT_TRUE(waitForPod(
      "readiness-node-it", [](const api::Pod& p) { return readyIs(p, "app", true); },
      absl::Seconds(30)));
  std::optional<api::Pod> p = waitForPod(
      "readiness-node-it", [](const api::Pod& p) { return readyIs(p, "app", false); },
      absl::Seconds(30));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(statusOf(*p, "app")->restartCount, 0) << "readiness never restarts a container";
  EXPECT_TRUE(running(*p));
}

TEST_F(ProbesTest, AStartupProbeHoldsLivenessBackUntilItPasses) {
  // Without the startup probe, this liveness probe would kill the container at once.
  agent_->writeManifest("startup.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: startup
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: slow
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 4; touch /tmp/started; sleep 600"]
    startupProbe:
      exec: {command: ["cat", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      exec: {command: ["cat", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 1
)");
  ASSERT_TRUE(agent_->start().ok());
  ASSERT_TRUE(waitForPod(
      "startup-node-it",
      [](const api::Pod& p) {
        const api::ContainerStatus* s = statusOf(p, "slow");
        return s != nullptr && s->state.running && s->started == std::optional<bool>(false);
      },
      absl::Seconds(30)));
  std::optional<api::Pod> p = waitForPod(
      "startup-node-it",
      [](const api::Pod& p) {
        const api::ContainerStatus* s = statusOf(p, "slow");
        return s != nullptr && s->started == std::optional<bool>(true) && s->ready;
      },
      absl::Seconds(40));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(statusOf(*p, "slow")->restartCount, 0);
  EXPECT_TRUE(hasEvent("startup-node-it", "Unhealthy", "Startup probe failed: "));
  EXPECT_FALSE(hasEvent("startup-node-it", "Unhealthy", "Liveness probe failed"));
}

TEST_F(ProbesTest, TcpProbesSucceedOnOpenAndNamedPortsFailOnClosedOnesAndExecTimesOut) {
  agent_->writeManifest("tcp.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: tcp
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: open
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["httpd", "-f", "-p", "8080"]
    ports:
    - {name: http, containerPort: 8080}
    readinessProbe:
      tcpSocket: {port: http}
      periodSeconds: 1
  - name: closed
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "600"]
    readinessProbe:
      tcpSocket: {port: 8081}
      periodSeconds: 1
  - name: slow-exec
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "600"]
    readinessProbe:
      exec: {command: ["sleep", "5"]}
      timeoutSeconds: 1
      periodSeconds: 2
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> p = waitForPod(
      "tcp-node-it",
      [&](const api::Pod& p) {
        const api::ContainerStatus* open = statusOf(p, "open");
        return open != nullptr && open->ready &&
               hasEvent("tcp-node-it", "Unhealthy", "Readiness probe failed: dial tcp ") &&
               hasEvent("tcp-node-it", "Unhealthy", "timed out");
      },
      absl::Seconds(40));
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(statusOf(*p, "closed")->ready);
  EXPECT_FALSE(statusOf(*p, "slow-exec")->ready);
  EXPECT_TRUE(hasEvent("tcp-node-it", "Unhealthy", ":8081: connect: connection refused"));
  EXPECT_EQ(conditionStatus(*p, "Ready"), "False");

  // Each `sleep 5` probe ended at its 1 s timeout, not after 5 s: the mean duration of the
  // slow-exec container's failed probes, from the agent's /metrics.
  harness::HttpAnswer metrics = harness::httpGet(agent_->port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  auto value = [&](const std::string& series) {
    size_t at = metrics.body.find(series);
    if (at == std::string::npos)
      return -1.0;
    return std::stod(metrics.body.substr(at + series.size() + 1));
  };
  const std::string labels =
      "{container=\"slow-exec\",namespace=\"default\",pod=\"tcp-node-it\",probe_type="
      "\"Readiness\"}";
  const double sum = value("prober_probe_duration_seconds_sum" + labels);
  const double count = value("prober_probe_duration_seconds_count" + labels);
  ASSERT_GT(count, 0) << metrics.body;
  EXPECT_LT(sum / count, 2.5) << "an exec probe outlived its timeout";
  EXPECT_GT(sum / count, 0.8) << "an exec probe ended before its timeout";
  EXPECT_NE(metrics.body.find("prober_probe_total{container=\"open\",namespace=\"default\","
                              "pod=\"tcp-node-it\""),
            std::string::npos);
}

}  // namespace
}  // namespace kubenode::pods_test
