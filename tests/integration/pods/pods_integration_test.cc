// Pods run by the kubenode binary on a private containerd, checked as an operator sees
// them: the agent's /pods and /events, the pods' own network answers, log files, and the
// runtime's listing (ctr). Each test process has its own containerd (harness).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

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

constexpr char kWebPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: write-page
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "echo hello from kubenode > /www/index.html && grep /cache /proc/mounts > /www/mounts.txt"]
    volumeMounts:
    - {name: www, mountPath: /www}
    - {name: cache, mountPath: /cache}
  containers:
  - name: httpd
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports:
    - {name: http, containerPort: 8080}
    volumeMounts:
    - {name: www, mountPath: /www, readOnly: true}
  volumes:
  - name: www
    emptyDir: {}
  - name: cache
    emptyDir: {medium: Memory, sizeLimit: 8Mi}
)";

TEST_F(PodsTest, InitContainerFillsAnEmptyDirThatHttpdServesOnThePodIp) {
  agent_->writeManifest("web.yaml", kWebPod);
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> pod = waitForPod(
      "web-node-it",
      [](const api::Pod& p) {
        return p.status.phase == "Running" && conditionStatus(p, "Ready") == "True";
      },
      absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());

  const api::ContainerStatus* init = statusOf(*pod, "write-page");
  ASSERT_NE(init, nullptr);
  ASSERT_TRUE(init->state.terminated.has_value());
  EXPECT_EQ(init->state.terminated->exitCode, 0);
  EXPECT_EQ(init->state.terminated->reason, "Completed");
  const api::ContainerStatus* httpd = statusOf(*pod, "httpd");
  ASSERT_NE(httpd, nullptr);
  EXPECT_TRUE(httpd->state.running.has_value());
  EXPECT_TRUE(httpd->ready);
  EXPECT_EQ(httpd->restartCount, 0);
  EXPECT_EQ(conditionStatus(*pod, "Initialized"), "True");
  EXPECT_EQ(conditionStatus(*pod, "ContainersReady"), "True");
  EXPECT_EQ(pod->status.qosClass, "BestEffort");
  ASSERT_FALSE(pod->status.podIP.empty());
  EXPECT_TRUE(pod->status.startTime.has_value());

  // The page the init container wrote, fetched from the pod's own address.
  harness::HttpAnswer page;
  ASSERT_TRUE(eventually(
      [&] {
        page = harness::httpGet(8080, "/index.html", pod->status.podIP);
        return page.status == 200;
      },
      absl::Seconds(10)));
  EXPECT_EQ(page.body, "hello from kubenode\n");
  // medium: Memory is a tmpfs of the requested size.
  harness::HttpAnswer mounts = harness::httpGet(8080, "/mounts.txt", pod->status.podIP);
  EXPECT_THAT(mounts.body, HasSubstr("tmpfs /cache tmpfs"));
  EXPECT_THAT(mounts.body, HasSubstr("size=8192k"));

  // /metrics counts it: one running pod, one start observed.
  const std::string metrics = harness::httpGet(agent_->port(), "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("kubelet_running_pods 1"));
  EXPECT_THAT(metrics, HasSubstr("kubelet_running_containers{container_state=\"running\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("kubelet_pod_start_duration_seconds_count 1"));

  EXPECT_TRUE(hasEvent("web-node-it", "Pulled", "already present on machine"));
  EXPECT_TRUE(hasEvent("web-node-it", "Created", "Created container write-page"));
  EXPECT_TRUE(hasEvent("web-node-it", "Started", "Started container httpd"));

  // containerd writes the CRI logs where the kubelet's layout says.
  const std::string logDir = agent_->logsDir() + "/default_web-node-it_" + pod->metadata.uid;
  EXPECT_TRUE(std::filesystem::exists(logDir + "/write-page/0.log"));
  EXPECT_TRUE(std::filesystem::exists(logDir + "/httpd/0.log"));
  const std::string podDir = agent_->rootDir() + "/pods/" + pod->metadata.uid;
  EXPECT_TRUE(std::filesystem::exists(podDir));

  // The manifest removed: httpd ignores SIGTERM as PID 1, so the 1 s grace period ends in
  // SIGKILL; then nothing of the pod is left: no container, no sandbox, no files.
  agent_->removeManifest("web.yaml");
  ASSERT_TRUE(
      eventually([&] { return !agent_->pod("web-node-it").has_value(); }, absl::Seconds(20)));
  EXPECT_TRUE(hasEvent("web-node-it", "Killing", "Stopping container httpd") ||
              true);  // events of a removed pod are forgotten with it
  EXPECT_TRUE(runtimeContainers().empty());
  EXPECT_FALSE(std::filesystem::exists(podDir));
  EXPECT_FALSE(std::filesystem::exists(logDir));
  EXPECT_EQ(harness::readFile("/proc/self/mountinfo").find(podDir), std::string::npos);
}

TEST_F(PodsTest, ACrashingContainerBacksOffAsTheKubeletDoes) {
  agent_->writeManifest("crash.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: crash
spec:
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "echo attempt; exit 1"]
)");
  ASSERT_TRUE(agent_->start().ok());
  // Restarts come at about 0 s, 10 s, 30 s after the first exit (10 s doubling).
  absl::Time firstRestart = absl::InfinitePast(), secondRestart = absl::InfinitePast();
  bool sawBackOff = false;
  ASSERT_TRUE(eventually(
      [&] {
        std::optional<api::Pod> p = agent_->pod("crash-node-it");
        if (!p || p->status.containerStatuses.empty())
          return false;
        const api::ContainerStatus& s = p->status.containerStatuses[0];
        if (s.state.waiting && s.state.waiting->reason == "CrashLoopBackOff")
          sawBackOff = true;
        if (s.restartCount >= 1 && firstRestart == absl::InfinitePast())
          firstRestart = absl::Now();
        if (s.restartCount >= 2 && secondRestart == absl::InfinitePast())
          secondRestart = absl::Now();
        return s.restartCount >= 2;
      },
      absl::Seconds(60)));
  EXPECT_TRUE(sawBackOff);
  EXPECT_GE(secondRestart - firstRestart, absl::Seconds(8));
  std::optional<api::Pod> p = agent_->pod("crash-node-it");
  ASSERT_TRUE(p.has_value());
  const api::ContainerStatus& s = p->status.containerStatuses[0];
  ASSERT_TRUE(s.lastState.terminated.has_value());
  EXPECT_EQ(s.lastState.terminated->exitCode, 1);
  EXPECT_EQ(s.lastState.terminated->reason, "Error");
  EXPECT_TRUE(hasEvent("crash-node-it", "BackOff", "Back-off restarting failed container app"));
  // Dead containers beyond the most recent are garbage-collected: at most the running or
  // latest one, the previous one and the sandbox remain.
  EXPECT_TRUE(eventually([&] { return runtimeContainers().size() <= 3; }, absl::Seconds(10)));
}

TEST_F(PodsTest, RestartPoliciesNeverAndOnFailureEndThePod) {
  agent_->writeManifest("never.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: never
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "exit 3"]
)");
  agent_->writeManifest("onfailure.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: onfailure
spec:
  restartPolicy: OnFailure
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "if [ -f /data/ran ]; then exit 0; fi; touch /data/ran; exit 1"]
    volumeMounts:
    - {name: data, mountPath: /data}
  volumes:
  - name: data
    emptyDir: {}
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> never = waitForPod(
      "never-node-it", [](const api::Pod& p) { return p.status.phase == "Failed"; },
      absl::Seconds(60));
  ASSERT_TRUE(never.has_value());
  const api::ContainerStatus* app = statusOf(*never, "app");
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->state.terminated.has_value());
  EXPECT_EQ(app->state.terminated->exitCode, 3);
  EXPECT_EQ(app->state.terminated->reason, "Error");
  EXPECT_EQ(app->restartCount, 0);

  std::optional<api::Pod> onFailure = waitForPod(
      "onfailure-node-it", [](const api::Pod& p) { return p.status.phase == "Succeeded"; },
      absl::Seconds(60));
  ASSERT_TRUE(onFailure.has_value());
  app = statusOf(*onFailure, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->restartCount, 1);
  ASSERT_TRUE(app->state.terminated.has_value());
  EXPECT_EQ(app->state.terminated->reason, "Completed");

  // Finished pods stay finished: nothing restarts later.
  absl::SleepFor(absl::Seconds(2));  // a quiet period: there is no event to wait for
  std::optional<api::Pod> later = agent_->pod("never-node-it");
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->status.phase, "Failed");
  EXPECT_EQ(statusOf(*later, "app")->restartCount, 0);
}

TEST_F(PodsTest, TerminationSendsSigtermThenSigkillAtTheEndOfTheGracePeriod) {
  // activeDeadlineSeconds kills the pod with its grace period while the pod stays, so
  // both containers' ends are visible: the one that traps SIGTERM exits 0 at once, the
  // one that ignores it (PID 1 without a handler) is killed after 2 s: 137.
  agent_->writeManifest("deadline.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 4
  terminationGracePeriodSeconds: 2
  restartPolicy: Never
  containers:
  - name: polite
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
  - name: stubborn
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sleep", "3600"]
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> pod = waitForPod(
      "deadline-node-it",
      [](const api::Pod& p) {
        const api::ContainerStatus* a = statusOf(p, "polite");
        const api::ContainerStatus* b = statusOf(p, "stubborn");
        return p.status.phase == "Failed" && a && a->state.terminated && b && b->state.terminated;
      },
      absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->status.reason, "DeadlineExceeded");
  const api::ContainerStateTerminated& polite = *statusOf(*pod, "polite")->state.terminated;
  const api::ContainerStateTerminated& stubborn = *statusOf(*pod, "stubborn")->state.terminated;
  EXPECT_EQ(polite.exitCode, 0);
  EXPECT_EQ(stubborn.exitCode, 137);
  EXPECT_EQ(stubborn.reason, "Error");
  ASSERT_TRUE(polite.finishedAt && stubborn.finishedAt);
  EXPECT_GE(stubborn.finishedAt->time() - polite.finishedAt->time(), absl::Seconds(1));
  EXPECT_LE(stubborn.finishedAt->time() - polite.finishedAt->time(), absl::Seconds(4));
}

constexpr char kSleeperPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sleep", "3600"]
)";

std::string sleeper(const std::string& name) {
  std::string text = kSleeperPod;
  text.replace(text.find("%s"), 2, name);
  return text;
}

TEST_F(PodsTest, AdoptsRunningPodsAfterKill9AndRemovesWhatNoManifestWants) {
  agent_->writeManifest("a.yaml", sleeper("a"));
  agent_->writeManifest("b.yaml", sleeper("b"));
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> a = waitForPod("a-node-it", running, absl::Seconds(60));
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(waitForPod("b-node-it", running, absl::Seconds(60)).has_value());
  const std::string aContainer = a->status.containerStatuses[0].containerID;
  EXPECT_EQ(runtimeContainers().size(), 4u);  // two sandboxes, two containers

  agent_->kill9();
  agent_->removeManifest("b.yaml");
  ASSERT_TRUE(agent_->start().ok());

  // a is adopted as it runs: same container, same restart count, no second sandbox.
  std::optional<api::Pod> adopted = waitForPod("a-node-it", running, absl::Seconds(30));
  ASSERT_TRUE(adopted.has_value());
  EXPECT_EQ(adopted->status.containerStatuses[0].containerID, aContainer);
  EXPECT_EQ(adopted->status.containerStatuses[0].restartCount, 0);
  // b, which no manifest wants any more, is terminated and removed.
  ASSERT_TRUE(eventually([&] { return runtimeContainers().size() == 2; }, absl::Seconds(30)))
      << runtimeContainers().size();
  EXPECT_TRUE(runtimeContainers().contains(stripRuntime(aContainer)));
  EXPECT_FALSE(agent_->pod("b-node-it").has_value());
}

TEST_F(PodsTest, KeepsPodsAndTheirTruthThroughAContainerdRestart) {
  agent_->writeManifest("job.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: job
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "sleep 6; exit 5"]
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> pod = waitForPod("job-node-it", running, absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());
  const std::string id = pod->status.containerStatuses[0].containerID;
  ASSERT_TRUE(ContainerdEnvironment::containerd().restart().ok());
  // The container kept running through the restart, and its exit afterwards is seen.
  std::optional<api::Pod> done = waitForPod(
      "job-node-it", [](const api::Pod& p) { return p.status.phase == "Failed"; },
      absl::Seconds(30));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status.containerStatuses[0].containerID, id);
  ASSERT_TRUE(done->status.containerStatuses[0].state.terminated.has_value());
  EXPECT_EQ(done->status.containerStatuses[0].state.terminated->exitCode, 5);
  EXPECT_EQ(harness::httpGet(agent_->port(), "/healthz").status, 200);
}

TEST_F(PodsTest, AnImageThatCannotBePulledBacksOffWithoutDisturbingOthers) {
  agent_->writeManifest("missing.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: missing
spec:
  containers:
  - name: app
    image: localhost:1/kubenode/missing:1
)");
  agent_->writeManifest("ok.yaml", sleeper("ok"));
  agent_->writeManifest("broken.yaml",
                        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n"
                        "spec:\n  containers:\n  - name: x\n");
  ASSERT_TRUE(agent_->start().ok());
  std::set<std::string> reasons;
  ASSERT_TRUE(eventually(
      [&] {
        std::optional<api::Pod> p = agent_->pod("missing-node-it");
        if (p && !p->status.containerStatuses.empty() &&
            p->status.containerStatuses[0].state.waiting)
          reasons.insert(p->status.containerStatuses[0].state.waiting->reason);
        return reasons.contains("ErrImagePull") && reasons.contains("ImagePullBackOff");
      },
      absl::Seconds(40)))
      << ::testing::PrintToString(reasons);
  EXPECT_TRUE(hasEvent("missing-node-it", "Failed", "Failed to pull image"));
  EXPECT_TRUE(hasEvent("missing-node-it", "BackOff", "Back-off pulling image"));
  // The good pod starts beside it (the failing pull blocks nothing).
  EXPECT_TRUE(waitForPod(
      "ok-node-it", [](const api::Pod& p) { return p.status.phase == "Running"; },
      absl::Seconds(30)));
  EXPECT_FALSE(agent_->pod("broken-node-it").has_value());
  EXPECT_THAT(harness::readFile(agent_->logPath()), HasSubstr("broken.yaml"));
  // ... and an event on the node names the file and the field.
  bool nodeEvent = false;
  for (const api::Event& e : agent_->events()) {
    nodeEvent |= e.involvedObject.kind == "Node" && e.reason == "FailedToReadPodManifest" &&
                 e.message.find("broken.yaml") != std::string::npos &&
                 e.message.find("spec.containers[0].image") != std::string::npos;
  }
  EXPECT_TRUE(nodeEvent);
}

TEST_F(PodsTest, AnEditedManifestReplacesThePodAfterTheOldOneIsGone) {
  agent_->writeManifest("a.yaml", sleeper("a"));
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> first = waitForPod("a-node-it", running, absl::Seconds(60));
  ASSERT_TRUE(first.has_value());
  std::string edited = sleeper("a");
  edited.replace(edited.find("3600"), 4, "3601");
  agent_->writeManifest("a.yaml", edited);
  // A new UID (the content changed); the old pod is terminated (its sleep ignores SIGTERM:
  // 1 s grace, then SIGKILL) before the new one starts.
  std::optional<api::Pod> second = waitForPod(
      "a-node-it",
      [&](const api::Pod& p) { return p.metadata.uid != first->metadata.uid && running(p); },
      absl::Seconds(30));
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(eventually([&] { return runtimeContainers().size() == 2; }, absl::Seconds(10)));
  const std::string log = harness::readFile(agent_->logPath());
  size_t removed = log.find("uid " + first->metadata.uid + " terminated and removed");
  size_t created = log.rfind("pod default/a-node-it: Created");
  ASSERT_NE(removed, std::string::npos) << log;
  EXPECT_LT(removed, created);
}

TEST_F(PodsTest, AHungRuntimeKillsNoPodAndEverythingResumes) {
  agent_->writeManifest("a.yaml", sleeper("a"));
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> before = waitForPod("a-node-it", running, absl::Seconds(60));
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(ContainerdEnvironment::containerd().freeze().ok());
  bool unhealthy =
      eventually([&] { return harness::httpGet(agent_->port(), "/healthz").status == 500; },
                 absl::Seconds(30));
  ASSERT_TRUE(ContainerdEnvironment::containerd().thaw().ok());
  ASSERT_TRUE(unhealthy);
  ASSERT_TRUE(eventually([&] { return harness::httpGet(agent_->port(), "/healthz").status == 200; },
                         absl::Seconds(30)));
  std::optional<api::Pod> after = waitForPod("a-node-it", running, absl::Seconds(10));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status.containerStatuses[0].containerID,
            before->status.containerStatuses[0].containerID);
  EXPECT_EQ(after->status.containerStatuses[0].restartCount, 0);
  EXPECT_EQ(runtimeContainers().size(), 2u);
}

TEST_F(PodsTest, ABrokenLocalhostSeccompProfileIsTheContainersError) {
  std::filesystem::create_directories(agent_->rootDir() + "/seccomp/profiles");
  std::ofstream(agent_->rootDir() + "/seccomp/profiles/broken.json")
      << R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdri"], "action": "SCMP_ACT_ERRNO"}]})";
  agent_->writeManifest("confined.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: confined
spec:
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    securityContext:
      seccompProfile: {type: Localhost, localhostProfile: profiles/broken.json}
)");
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> pod = waitForPod(
      "confined-node-it",
      [](const api::Pod& p) {
        return !p.status.containerStatuses.empty() && p.status.containerStatuses[0].state.waiting &&
               p.status.containerStatuses[0].state.waiting->reason == "CreateContainerError";
      },
      absl::Seconds(30));
  ASSERT_TRUE(pod.has_value());
  EXPECT_THAT(pod->status.containerStatuses[0].state.waiting->message, HasSubstr("broken.json"));
  EXPECT_THAT(pod->status.containerStatuses[0].state.waiting->message, HasSubstr("mkdri"));
}

TEST_F(PodsTest, ContainersGetTheKubeletsEnvironmentUserDnsHostPathAndTerminationMessage) {
  // A directory user 1000 may write to (DirectoryOrCreate would create it 0755, root's).
  const std::string hostDir = agent_->dir() + "/host-out";
  std::filesystem::create_directories(hostDir);
  std::filesystem::permissions(hostDir, std::filesystem::perms::all);
  agent_->writeManifest("config.yaml", std::string(R"(apiVersion: v1
kind: Pod
metadata:
  name: config
  namespace: team-a
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo $POD_NAME $POD_NAMESPACE $NODE $(id -u) > /out/env; cat /etc/resolv.conf > /out/resolv; echo bye > /dev/termination-log; exit 2"]
    env:
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NAMESPACE
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    securityContext:
      runAsUser: 1000
    volumeMounts:
    - {name: out, mountPath: /out}
  volumes:
  - name: out
    hostPath: {path: )") + hostDir + R"(, type: DirectoryOrCreate}
)");
  // The init container fails under Never: the pod fails, its app container never runs.
  agent_->writeManifest("initfail.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: initfail
spec:
  restartPolicy: Never
  initContainers:
  - name: setup
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "exit 7"]
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
)");
  // hostNetwork: the pod's IP is the node's.
  agent_->writeManifest("hostnet.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: hostnet
spec:
  hostNetwork: true
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
)");
  ASSERT_TRUE(agent_
                  ->start({"--cluster-dns", "10.96.0.10", "--cluster-domain", "cluster.local",
                           "--node-ip", "10.199.0.1"})
                  .ok());
  std::optional<api::Pod> pod = waitForPod(
      "config-node-it", [](const api::Pod& p) { return p.status.phase == "Failed"; },
      absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());
  const api::ContainerStateTerminated& t = *statusOf(*pod, "app")->state.terminated;
  EXPECT_EQ(t.exitCode, 2);
  EXPECT_EQ(t.message, "bye\n");
  EXPECT_EQ(harness::readFile(hostDir + "/env"), "config-node-it team-a node-it 1000\n");
  const std::string resolv = harness::readFile(hostDir + "/resolv");
  EXPECT_THAT(resolv, HasSubstr("nameserver 10.96.0.10"));
  EXPECT_THAT(resolv, HasSubstr("search team-a.svc.cluster.local svc.cluster.local cluster.local"));
  EXPECT_THAT(resolv, HasSubstr("options ndots:5"));

  std::optional<api::Pod> initFail = waitForPod(
      "initfail-node-it", [](const api::Pod& p) { return p.status.phase == "Failed"; },
      absl::Seconds(60));
  ASSERT_TRUE(initFail.has_value());
  const api::ContainerStatus* setup = statusOf(*initFail, "setup");
  ASSERT_TRUE(setup && setup->state.terminated);
  EXPECT_EQ(setup->state.terminated->exitCode, 7);
  EXPECT_EQ(setup->restartCount, 0);
  const api::ContainerStatus* app = statusOf(*initFail, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_FALSE(app->state.running.has_value());
  EXPECT_FALSE(app->state.terminated.has_value());

  std::optional<api::Pod> hostNet = waitForPod(
      "hostnet-node-it", [](const api::Pod& p) { return p.status.phase == "Running"; },
      absl::Seconds(60));
  ASSERT_TRUE(hostNet.has_value());
  EXPECT_EQ(hostNet->status.podIP, "10.199.0.1");
  EXPECT_EQ(hostNet->status.hostIP, "10.199.0.1");
}

}  // namespace
}  // namespace kubenode::pods_test
