// What a pod's resources and securityContext become on the real runtime, checked where a
// user would look: inside the container (its own cgroup files, /proc/self/status, id, a
// write to /), on the host (/proc/<pid>/cgroup of the container's process), in /pods
// (qosClass, OOMKilled, CreateContainerConfigError) and in `kubenode pods`.
//
// Containers print what they see and exit (or sleep); the test reads their CRI log files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/substitute.h"
#include "tests/integration/pods/pods_fixture.h"

namespace kubenode::pods_test {
namespace {

using ::testing::HasSubstr;

// The text of a container's CRI log (`<time> <stream> <F|P> <text>` lines), joined as the
// container wrote it.
std::string containerLog(const harness::AgentProcess& agent, const api::Pod& pod,
                         const std::string& container, int restart = 0) {
  const std::string path =
      absl::StrCat(agent.logsDir(), "/", pod.metadata.namespace_, "_", pod.metadata.name, "_",
                   pod.metadata.uid, "/", container, "/", restart, ".log");
  std::string out;
  for (absl::string_view line : absl::StrSplit(harness::readFile(path), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    if (parts.size() < 4)
      continue;
    out += std::string(parts[3]);
    if (parts[2] == "F")
      out += "\n";
  }
  return out;
}

// "key=value" words of a log, and "Key:\tvalue" lines of /proc/self/status, as a map.
std::map<std::string, std::string> keyValues(const std::string& text) {
  std::map<std::string, std::string> kv;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    size_t colon = line.find(":\t");
    if (colon != absl::string_view::npos) {
      kv[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
      continue;
    }
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      size_t eq = word.find('=');
      if (eq != absl::string_view::npos)
        kv[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
    }
  }
  return kv;
}

// Task (container or sandbox) ID -> PID of its init process, from `ctr task ls`.
std::map<std::string, pid_t> runtimeTasks() {
  absl::StatusOr<std::string> out =
      harness::runCommand({"ctr", "--address", ContainerdEnvironment::containerd().socketPath(),
                           "-n", "k8s.io", "tasks", "ls"},
                          absl::Seconds(10));
  EXPECT_TRUE(out.ok()) << out.status();
  std::map<std::string, pid_t> tasks;
  for (absl::string_view line : absl::StrSplit(out.ok() ? *out : "", '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 2 && f[0] != "TASK")
      tasks[f[0]] = std::atoi(f[1].c_str());
  }
  return tasks;
}

// The process's cgroup in the v1 hierarchy that holds `controller` ("memory", "cpu").
std::string cgroupOf(pid_t pid, const std::string& controller) {
  for (absl::string_view line :
       absl::StrSplit(harness::readFile(absl::StrCat("/proc/", pid, "/cgroup")), '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3)
      continue;
    for (absl::string_view c : absl::StrSplit(f[1], ','))
      if (c == controller)
        return f[2];
  }
  return "";
}

std::string ownStatusField(const std::string& key) {
  return keyValues(harness::readFile("/proc/self/status"))[key];
}

// Each container prints its cgroup limits as the runtime set them, then sleeps.
constexpr char kPrintCgroups[] =
    "echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares) quota=$(cat "
    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us) period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us) "
    "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); exec sleep 3600";

std::string resourcePod(const std::string& name, const std::string& resources) {
  return absl::StrCat(R"(apiVersion: v1
kind: Pod
metadata:
  name: )",
                      name, R"(
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", ")",
                      kPrintCgroups, "\"]\n", resources);
}

TEST_F(PodsTest, ResourcesReachTheContainersCgroupsUnderTheQosClassParent) {
  agent_->writeManifest("burstable.yaml", resourcePod("burstable", R"(    resources:
      requests: {cpu: 250m, memory: 32Mi}
      limits: {cpu: 500m, memory: 64Mi}
)"));
  agent_->writeManifest("guaranteed.yaml", resourcePod("guaranteed", R"(    resources:
      limits: {cpu: 100m, memory: 32Mi}
)"));
  agent_->writeManifest("besteffort.yaml", resourcePod("besteffort", ""));
  ASSERT_TRUE(agent_->start().ok());

  struct Expected {
    std::string pod, qos, parent, shares, quota, memory;
  };
  const std::vector<Expected> expected = {
      // 250m * 1024 / 1000 = 256 shares; 500m of a 100 ms period = 50 ms.
      {"burstable-node-it", "Burstable", "/kubepods/burstable/pod", "256", "50000", "67108864"},
      // A limit alone is also the request: 100m -> 102 shares.
      {"guaranteed-node-it", "Guaranteed", "/kubepods/pod", "102", "10000", "33554432"},
      // No request: the minimum of 2 shares; no quota, no memory limit (the page-rounded
      // maximum cgroup v1 shows for "unlimited").
      {"besteffort-node-it", "BestEffort", "/kubepods/besteffort/pod", "2", "-1",
       "9223372036854771712"},
  };
  for (const Expected& e : expected) {
    SCOPED_TRACE(e.pod);
    std::optional<api::Pod> pod = waitForPod(e.pod, running, absl::Seconds(60));
    ASSERT_TRUE(pod.has_value());
    EXPECT_EQ(pod->status.qosClass, e.qos);

    std::map<std::string, std::string> seen;
    EXPECT_TRUE(eventually(
        [&] {
          seen = keyValues(containerLog(*agent_, *pod, "app"));
          return seen.contains("memory");
        },
        absl::Seconds(10)))
        << containerLog(*agent_, *pod, "app");
    EXPECT_EQ(seen["shares"], e.shares);
    EXPECT_EQ(seen["quota"], e.quota);
    EXPECT_EQ(seen["period"], "100000");
    EXPECT_EQ(seen["memory"], e.memory);

    // On the host: the container's process and the sandbox's pause process both sit
    // under the pod's cgroup, named by QoS class as the kubelet's cgroupfs driver names
    // it (cgroup parent + "/" + the runtime's container ID).
    const std::string podCgroup = e.parent + pod->metadata.uid;
    const std::string containerId = stripRuntime(pod->status.containerStatuses[0].containerID);
    std::map<std::string, pid_t> tasks = runtimeTasks();
    ASSERT_TRUE(tasks.contains(containerId));
    EXPECT_EQ(cgroupOf(tasks[containerId], "memory"), podCgroup + "/" + containerId);
    EXPECT_EQ(cgroupOf(tasks[containerId], "cpu"), podCgroup + "/" + containerId);
    int inPodCgroup = 0;
    for (const auto& [id, pid] : tasks) {
      if (cgroupOf(pid, "memory") == podCgroup + "/" + id)
        ++inPodCgroup;
    }
    EXPECT_EQ(inPodCgroup, 2) << "the sandbox and its one container";
  }
}

constexpr char kOomPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: $0
spec:
  restartPolicy: $1
  terminationGracePeriodSeconds: 1
  containers:
  - name: hog
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    # tail keeps the last lines; /dev/zero is one endless line, buffered without bound.
    command: ["tail", "/dev/zero"]
    resources:
      limits: {memory: 16Mi}
)";

TEST_F(PodsTest, AContainerOverItsMemoryLimitIsOomKilled) {
  agent_->writeManifest("oom-never.yaml", absl::Substitute(kOomPod, "oom-never", "Never"));
  agent_->writeManifest("oom-always.yaml", absl::Substitute(kOomPod, "oom-always", "Always"));
  ASSERT_TRUE(agent_->start().ok());

  std::optional<api::Pod> never = waitForPod(
      "oom-never-node-it",
      [](const api::Pod& p) {
        return p.status.phase == "Failed" && !p.status.containerStatuses.empty() &&
               p.status.containerStatuses[0].state.terminated.has_value();
      },
      absl::Seconds(60));
  ASSERT_TRUE(never.has_value());
  const api::ContainerStateTerminated& t = *never->status.containerStatuses[0].state.terminated;
  EXPECT_EQ(t.reason, "OOMKilled");
  EXPECT_EQ(t.exitCode, 137);
  EXPECT_EQ(never->status.containerStatuses[0].restartCount, 0);

  // kubectl's STATUS column shows the reason.
  absl::StatusOr<std::string> table = harness::runCommand(
      {KUBENODE_BINARY, "pods", "--read-only-port", std::to_string(agent_->port())},
      absl::Seconds(10));
  ASSERT_TRUE(table.ok()) << table.status();
  std::string neverRow;
  for (absl::string_view line : absl::StrSplit(*table, '\n')) {
    if (absl::StartsWith(line, "oom-never-node-it "))
      neverRow = std::string(line);
  }
  EXPECT_THAT(neverRow, HasSubstr(" OOMKilled ")) << *table;
  EXPECT_THAT(neverRow, HasSubstr(" 0/1 ")) << *table;

  // Under Always the container comes back; the kill stays in lastState.
  std::optional<api::Pod> always = waitForPod(
      "oom-always-node-it",
      [](const api::Pod& p) {
        return !p.status.containerStatuses.empty() &&
               p.status.containerStatuses[0].restartCount >= 1 &&
               p.status.containerStatuses[0].lastState.terminated.has_value();
      },
      absl::Seconds(30));
  ASSERT_TRUE(always.has_value());
  const api::ContainerStatus& s = always->status.containerStatuses[0];
  EXPECT_EQ(s.lastState.terminated->reason, "OOMKilled");
  EXPECT_EQ(s.lastState.terminated->exitCode, 137);
  EXPECT_EQ(always->status.phase, "Running");
}

// One container per securityContext field; each prints what it sees and exits.
constexpr char kSecurityPod[] = R"yaml(apiVersion: v1
kind: Pod
metadata:
  name: secure
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  volumes:
  - name: scratch
    emptyDir: {}
  containers:
  - name: read-only-root
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "if touch /probe; then echo root=writable; else echo root=readonly; fi; if touch /scratch/probe; then echo scratch=writable; else echo scratch=readonly; fi"]
    securityContext: {readOnlyRootFilesystem: true}
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
  - name: caps
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["grep", "-E", "^(CapEff|NoNewPrivs):", "/proc/self/status"]
    securityContext:
      capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
  - name: no-escalation
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["grep", "-E", "^(CapEff|NoNewPrivs):", "/proc/self/status"]
    securityContext: {allowPrivilegeEscalation: false}
  - name: escalation
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["grep", "-E", "^(CapEff|NoNewPrivs):", "/proc/self/status"]
    securityContext: {allowPrivilegeEscalation: true}
  - name: defaults
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; echo devices=$(ls /dev | tr '\\n' ,)"]
  - name: privileged
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; echo devices=$(ls /dev | tr '\\n' ,)"]
    securityContext: {privileged: true}
  - name: run-as
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "echo uid=$(id -u) gid=$(id -g)"]
    securityContext: {runAsUser: 1234, runAsGroup: 5678, runAsNonRoot: true}
)yaml";

TEST_F(PodsTest, SecurityContextFieldsAreWhatTheContainerSees) {
  agent_->writeManifest("secure.yaml", kSecurityPod);
  // runAsNonRoot against busybox, whose image names no user (so it runs as root).
  agent_->writeManifest("root-image.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: root-image
spec:
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sleep", "3600"]
    securityContext: {runAsNonRoot: true}
)");
  // runAsNonRoot of the pod against a container's runAsUser 0.
  agent_->writeManifest("root-user.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: root-user
spec:
  securityContext: {runAsNonRoot: true}
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sleep", "3600"]
    securityContext: {runAsUser: 0}
)");
  ASSERT_TRUE(agent_->start().ok());

  std::optional<api::Pod> pod = waitForPod(
      "secure-node-it", [](const api::Pod& p) { return p.status.phase == "Succeeded"; },
      absl::Seconds(60));
  ASSERT_TRUE(pod.has_value());
  auto seen = [&](const std::string& container) {
    return keyValues(containerLog(*agent_, *pod, container));
  };

  // readOnlyRootFilesystem: / refuses writes; a volume mounted in it does not.
  auto ro = seen("read-only-root");
  EXPECT_EQ(ro["root"], "readonly");
  EXPECT_EQ(ro["scratch"], "writable");

  // drop ALL + add NET_BIND_SERVICE (bit 10) leaves exactly that one.
  EXPECT_EQ(seen("caps")["CapEff"], "0000000000000400");
  // allowPrivilegeEscalation: only an explicit false sets no_new_privs.
  EXPECT_EQ(seen("no-escalation")["NoNewPrivs"], "1");
  EXPECT_EQ(seen("escalation")["NoNewPrivs"], "0");
  auto defaults = seen("defaults");
  EXPECT_EQ(defaults["NoNewPrivs"], "0");
  // The runtime's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
  // NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
  EXPECT_EQ(defaults["CapEff"], "00000000a80425fb");

  // privileged: every capability the runtime holds (the test's own, as it started
  // containerd) and the host's devices.
  auto privileged = seen("privileged");
  EXPECT_EQ(privileged["CapEff"], ownStatusField("CapEff"));
  std::vector<std::string> hostOnly;
  for (const char* d : {"kmsg", "loop0", "fuse", "kvm"}) {
    if (std::filesystem::exists(std::string("/dev/") + d))
      hostOnly.push_back(std::string(d) + ",");
  }
  ASSERT_FALSE(hostOnly.empty()) << "no host device to look for";
  for (const std::string& d : hostOnly) {
    EXPECT_THAT("," + privileged["devices"], HasSubstr("," + d));
    EXPECT_THAT("," + defaults["devices"], ::testing::Not(HasSubstr("," + d)));
  }

  auto runAs = seen("run-as");
  EXPECT_EQ(runAs["uid"], "1234");
  EXPECT_EQ(runAs["gid"], "5678");
  for (const api::ContainerStatus& s : pod->status.containerStatuses) {
    ASSERT_TRUE(s.state.terminated.has_value()) << s.name;
    EXPECT_EQ(s.state.terminated->exitCode, 0) << s.name;
  }

  // runAsNonRoot with an image that runs as root: refused before the runtime is asked,
  // with the kubelet's reason and message.
  std::optional<api::Pod> root = waitForPod(
      "root-image-node-it",
      [](const api::Pod& p) {
        return !p.status.containerStatuses.empty() &&
               p.status.containerStatuses[0].state.waiting.has_value() &&
               p.status.containerStatuses[0].state.waiting->reason == "CreateContainerConfigError";
      },
      absl::Seconds(30));
  ASSERT_TRUE(root.has_value());
  const std::string expected = absl::Substitute(
      "container has runAsNonRoot and image will run as root (pod: \"root-image-node-it_default($0)"
      "\", container: app)",
      root->metadata.uid);
  EXPECT_EQ(root->status.containerStatuses[0].state.waiting->message, expected);
  EXPECT_EQ(root->status.phase, "Pending");
  EXPECT_TRUE(hasEvent("root-image-node-it", "Failed", "Error: " + expected));
  // Nothing of it reached the runtime.
  EXPECT_EQ(root->status.containerStatuses[0].containerID, "");

  std::optional<api::Pod> rootUser = waitForPod(
      "root-user-node-it",
      [](const api::Pod& p) {
        return !p.status.containerStatuses.empty() &&
               p.status.containerStatuses[0].state.waiting.has_value() &&
               p.status.containerStatuses[0].state.waiting->reason == "CreateContainerConfigError";
      },
      absl::Seconds(30));
  ASSERT_TRUE(rootUser.has_value());
  EXPECT_EQ(rootUser->status.containerStatuses[0].state.waiting->message,
            absl::Substitute("container's runAsUser breaks non-root policy (pod: "
                             "\"root-user-node-it_default($0)\", container: app)",
                             rootUser->metadata.uid));

  // kubectl's STATUS column shows the waiting reason.
  absl::StatusOr<std::string> table = harness::runCommand(
      {KUBENODE_BINARY, "pods", "--read-only-port", std::to_string(agent_->port())},
      absl::Seconds(10));
  ASSERT_TRUE(table.ok()) << table.status();
  for (const char* name : {"root-image-node-it ", "root-user-node-it "}) {
    std::string row;
    for (absl::string_view line : absl::StrSplit(*table, '\n')) {
      if (absl::StartsWith(line, name))
        row = std::string(line);
    }
    EXPECT_THAT(row, HasSubstr(" CreateContainerConfigError ")) << *table;
  }
  EXPECT_THAT(*table, ::testing::ContainsRegex("secure-node-it +0/7 +Completed "));
}

}  // namespace
}  // namespace kubenode::pods_test
