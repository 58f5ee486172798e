// cri::GrpcRuntimeService against a real containerd 1.6 (a private one per test process,
// tests/harness): what the agent will see when it runs pods through CRI, checked the way a
// user would check it (the pod answers on its IP, the exit code is the one the process
// returned, a restarted containerd is reachable again through the same client).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cri/grpc_runtime_service.h"
#include "images/test_images.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/private_containerd.h"
#include "tests/harness/process.h"

namespace kubenode::cri {
namespace {

namespace fs = std::filesystem;
using harness::ContainerdEnvironment;
using harness::PrivateContainerd;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (absl::Now() >= deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// One HTTP GET of `path` on ip:port from the test process, which shares the CNI bridge's
// network namespace; the body, or why there is none.
absl::StatusOr<std::string> httpGet(const std::string& ip, int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError("socket");
  }
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", ip, ":", port, ": ", strerror(err)));
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", ip, "\r\n\r\n");
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") || body == std::string::npos) {
    return absl::UnavailableError(absl::StrCat("no HTTP response: ", response));
  }
  return response.substr(body + 4);
}

std::string randomSuffix() {
  std::random_device device;
  return absl::StrCat(absl::Hex(device(), absl::kZeroPad8));
}

class GrpcRuntimeServiceIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    containerd_ = &ContainerdEnvironment::containerd();
    absl::StatusOr<std::unique_ptr<GrpcRuntimeService>> client =
        GrpcRuntimeService::create(containerd_->endpoint());
    ASSERT_TRUE(client.ok()) << client.status();
    runtime_ = std::move(*client);
    // Every object of this test carries this label, so filters can ask for exactly them.
    run_ = randomSuffix();
  }

  void TearDown() override {
    // A test that failed half-way through a restart leaves containerd down: bring it back so
    // that its sandboxes can be removed properly.
    if (!containerd_->running()) {
      absl::Status again = containerd_->startAgain();
      EXPECT_TRUE(again.ok()) << again;
    }
    for (const std::string& id : sandboxes_) {
      absl::Status stopped = runtime_->stopPodSandbox(id);
      absl::Status removed = runtime_->removePodSandbox(id);
      EXPECT_TRUE(stopped.ok() || absl::IsNotFound(stopped)) << stopped;
      EXPECT_TRUE(removed.ok()) << removed;
    }
  }

  // A sandbox config as the kubelet would send it for pod default/<name>.
  v1::PodSandboxConfig sandboxConfig(const std::string& name,
                                     const std::map<std::string, std::string>& labels = {}) {
    const std::string uid = absl::StrCat(name, "-uid-", run_);
    v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_metadata()->set_namespace_("default");
    config.mutable_metadata()->set_uid(uid);
    config.set_hostname(name);
    // As the kubelet sends it for a pod without shareProcessNamespace: each container is
    // PID 1 of its own PID namespace.
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    const std::string log_dir = absl::StrCat(containerd_->dir(), "/pods/default_", name, "_", uid);
    fs::create_directories(log_dir);
    config.set_log_directory(log_dir);
    auto& all_labels = *config.mutable_labels();
    all_labels["io.kubernetes.pod.name"] = name;
    all_labels["io.kubernetes.pod.namespace"] = "default";
    all_labels["io.kubernetes.pod.uid"] = uid;
    all_labels["kubenode.test/run"] = run_;
    for (const auto& [key, value] : labels) {
      all_labels[key] = value;
    }
    return config;
  }

  // Runs the sandbox and remembers it for TearDown. Empty on failure (the test then fails).
  std::string runSandbox(const v1::PodSandboxConfig& config) {
    const absl::Time begin = absl::Now();
    absl::StatusOr<std::string> id = runtime_->runPodSandbox(config, "");
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) {
      return "";
    }
    std::cerr << "[ timing   ] RunPodSandbox " << config.metadata().name() << ": "
              << absl::ToInt64Milliseconds(absl::Now() - begin) << " ms\n";
    sandboxes_.push_back(*id);
    return *id;
  }

  v1::ContainerConfig containerConfig(const std::string& name, std::vector<std::string> command,
                                      const std::map<std::string, std::string>& labels = {}) {
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(images::kBusyboxImage);
    for (const std::string& arg : command) {
      config.add_command(arg);
    }
    config.set_log_path(absl::StrCat(name, "/0.log"));
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    auto& all_labels = *config.mutable_labels();
    all_labels["io.kubernetes.container.name"] = name;
    all_labels["kubenode.test/run"] = run_;
    for (const auto& [key, value] : labels) {
      all_labels[key] = value;
    }
    return config;
  }

  // Creates and starts a container; empty on failure.
  std::string startContainer(const std::string& sandbox, const v1::ContainerConfig& config,
                             const v1::PodSandboxConfig& sandbox_config) {
    const absl::Time begin = absl::Now();
    absl::StatusOr<std::string> id = runtime_->createContainer(sandbox, config, sandbox_config);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) {
      return "";
    }
    absl::Status started = runtime_->startContainer(*id);
    EXPECT_TRUE(started.ok()) << started;
    std::cerr << "[ timing   ] create+start " << config.metadata().name() << ": "
              << absl::ToInt64Milliseconds(absl::Now() - begin) << " ms\n";
    return started.ok() ? *id : "";
  }

  v1::ContainerState stateOf(const std::string& container) {
    absl::StatusOr<v1::ContainerStatusResponse> status =
        runtime_->containerStatus(container, false);
    return status.ok() ? status->status().state() : v1::CONTAINER_UNKNOWN;
  }

  PrivateContainerd* containerd_ = nullptr;
  std::unique_ptr<GrpcRuntimeService> runtime_;
  std::string run_;
  std::vector<std::string> sandboxes_;
};

TEST_F(GrpcRuntimeServiceIntegrationTest, VersionIsContainerdSpeakingCriV1) {
  absl::StatusOr<v1::VersionResponse> version = runtime_->version(kCriApiVersion);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->runtime_name(), "containerd");
  EXPECT_EQ(version->runtime_api_version(), "v1");
  EXPECT_THAT(version->runtime_version(), HasSubstr("1.6"));
}

TEST_F(GrpcRuntimeServiceIntegrationTest, StatusReportsRuntimeAndNetworkReady) {
  absl::StatusOr<v1::StatusResponse> status = runtime_->status(false);
  ASSERT_TRUE(status.ok()) << status.status();
  std::map<std::string, bool> conditions;
  for (const v1::RuntimeCondition& condition : status->status().conditions()) {
    conditions[condition.type()] = condition.status();
  }
  EXPECT_TRUE(conditions["RuntimeReady"]);
  EXPECT_TRUE(conditions["NetworkReady"]);
}

TEST_F(GrpcRuntimeServiceIntegrationTest, ImageStatusKnowsImportedImagesAndNotOthers) {
  for (const char* name : {images::kBusyboxImage, images::kPauseImage}) {
    v1::ImageSpec spec;
    spec.set_image(name);
    absl::StatusOr<v1::ImageStatusResponse> status = runtime_->imageStatus(spec, false);
    ASSERT_TRUE(status.ok()) << status.status();
    ASSERT_TRUE(status->has_image()) << name;
    EXPECT_TRUE(absl::StartsWith(status->image().id(), "sha256:")) << status->image().id();
    EXPECT_THAT(status->image().repo_tags(), ::testing::Contains(name));
    EXPECT_GT(status->image().size(), 0u);
  }
  v1::ImageSpec missing;
  missing.set_image("docker.io/library/not-imported:1.0");
  absl::StatusOr<v1::ImageStatusResponse> status = runtime_->imageStatus(missing, false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->has_image());
}

TEST_F(GrpcRuntimeServiceIntegrationTest, SandboxGetsAnIpInTheTestSubnetThatServesTraffic) {
  const v1::PodSandboxConfig pod = sandboxConfig("web");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());

  absl::StatusOr<v1::PodSandboxStatusResponse> status = runtime_->podSandboxStatus(sandbox, false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::SANDBOX_READY);
  EXPECT_EQ(status->status().metadata().name(), "web");
  EXPECT_EQ(status->status().labels().at("io.kubernetes.pod.uid"), pod.metadata().uid());
  const std::string ip = status->status().network().ip();
  // "10.a.b.0/24" -> every pod address starts with "10.a.b.".
  const std::string subnet = containerd_->podSubnet();
  const std::string prefix = subnet.substr(0, subnet.rfind(".0/24") + 1);
  EXPECT_TRUE(absl::StartsWith(ip, prefix)) << ip << " is not in " << subnet;
  EXPECT_NE(ip, containerd_->gatewayAddress());

  // The pod's network namespace is mounted under the instance's state directory, never in
  // the host's /var/run/netns.
  absl::StatusOr<v1::PodSandboxStatusResponse> verbose = runtime_->podSandboxStatus(sandbox, true);
  ASSERT_TRUE(verbose.ok()) << verbose.status();
  const auto info = verbose->info().find("info");
  ASSERT_NE(info, verbose->info().end());
  EXPECT_THAT(info->second,
              HasSubstr(containerd_->stateDir() + "/io.containerd.grpc.v1.cri/netns/cni-"));
  std::error_code no_dir;
  for (const fs::directory_entry& entry : fs::directory_iterator("/var/run/netns", no_dir)) {
    EXPECT_FALSE(absl::StrContains(info->second, entry.path().filename().string()))
        << entry.path() << " is this pod's network namespace, on the host";
  }

  const std::string web =
      startContainer(sandbox,
                     containerConfig("httpd", {"sh", "-c",
                                               "echo hello from $(hostname) > /tmp/index.html && "
                                               "exec httpd -f -p 8080 -h /tmp"}),
                     pod);
  ASSERT_FALSE(web.empty());
  absl::StatusOr<std::string> body;
  EXPECT_TRUE(eventually(
      [&] {
        body = httpGet(ip, 8080, "/index.html");
        return body.ok();
      },
      absl::Seconds(10)))
      << body.status();
  EXPECT_EQ(body.value_or(""), "hello from web\n");
}

TEST_F(GrpcRuntimeServiceIntegrationTest, StartedBusyboxContainerIsRunning) {
  const v1::PodSandboxConfig pod = sandboxConfig("sleeper");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  const absl::Time before = absl::Now();
  const std::string container =
      startContainer(sandbox, containerConfig("sleep", {"sleep", "1000"}), pod);
  ASSERT_FALSE(container.empty());

  absl::StatusOr<v1::ContainerStatusResponse> status = runtime_->containerStatus(container, false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::CONTAINER_RUNNING);
  EXPECT_EQ(status->status().metadata().name(), "sleep");
  EXPECT_EQ(status->status().image().image(), images::kBusyboxImage);
  EXPECT_TRUE(absl::StartsWith(status->status().image_ref(), "sha256:") ||
              absl::StrContains(status->status().image_ref(), "@sha256:"))
      << status->status().image_ref();
  EXPECT_GE(status->status().started_at(), absl::ToUnixNanos(before) - 1'000'000'000);
  EXPECT_EQ(status->status().finished_at(), 0);
  EXPECT_EQ(status->status().labels().at("io.kubernetes.container.name"), "sleep");
  EXPECT_EQ(status->status().log_path(), absl::StrCat(pod.log_directory(), "/sleep/0.log"));
}

TEST_F(GrpcRuntimeServiceIntegrationTest, ExecSyncCapturesOutputAndExitCode) {
  const v1::PodSandboxConfig pod = sandboxConfig("exec");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  const std::string container =
      startContainer(sandbox, containerConfig("sleep", {"sleep", "1000"}), pod);
  ASSERT_FALSE(container.empty());

  absl::StatusOr<v1::ExecSyncResponse> hello = runtime_->execSync(
      container, {"sh", "-c", "echo hello; cat /etc/hostname"}, absl::Seconds(10));
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(hello->exit_code(), 0);
  EXPECT_EQ(hello->stdout(), "hello\nexec\n");
  EXPECT_EQ(hello->stderr(), "");

  // A failing command is a result (an exec probe's failure), not an error.
  absl::StatusOr<v1::ExecSyncResponse> failed =
      runtime_->execSync(container, {"sh", "-c", "echo oops >&2; exit 7"}, absl::Seconds(10));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->exit_code(), 7);
  EXPECT_EQ(failed->stderr(), "oops\n");

  absl::StatusOr<v1::ExecSyncResponse> missing =
      runtime_->execSync(container, {"no-such-binary"}, absl::Seconds(10));
  EXPECT_FALSE(missing.ok() && missing->exit_code() == 0) << "running a missing binary succeeded";
}

TEST_F(GrpcRuntimeServiceIntegrationTest, ExecSyncTimeoutEndsTheCallAfterTheTimeout) {
  const v1::PodSandboxConfig pod = sandboxConfig("slow-exec");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  const std::string container =
      startContainer(sandbox, containerConfig("sleep", {"sleep", "1000"}), pod);
  ASSERT_FALSE(container.empty());

  const absl::Time begin = absl::Now();
  absl::StatusOr<v1::ExecSyncResponse> slow =
      runtime_->execSync(container, {"sleep", "10"}, absl::Seconds(1));
  const absl::Duration took = absl::Now() - begin;
  std::cerr << "[ timing   ] ExecSync sleep 10 with timeout 1s: " << took << " -> " << slow.status()
            << "\n";
  EXPECT_TRUE(absl::IsDeadlineExceeded(slow.status())) << slow.status();
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(5)) << "the timeout was not applied";
  // The container itself is unharmed.
  EXPECT_EQ(stateOf(container), v1::CONTAINER_RUNNING);
}

TEST_F(GrpcRuntimeServiceIntegrationTest, ExitedContainerReportsItsExitCodeAndLog) {
  const v1::PodSandboxConfig pod = sandboxConfig("exit3");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  const std::string container = startContainer(
      sandbox, containerConfig("fail", {"sh", "-c", "echo bye; echo err >&2; exit 3"}), pod);
  ASSERT_FALSE(container.empty());

  absl::StatusOr<v1::ContainerStatusResponse> status;
  EXPECT_TRUE(eventually(
      [&] {
        status = runtime_->containerStatus(container, false);
        return status.ok() && status->status().state() == v1::CONTAINER_EXITED;
      },
      absl::Seconds(10)));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status->status().exit_code(), 3);
  EXPECT_EQ(status->status().reason(), "Error");
  // Not compared with started_at: containerd may record the start after a process this
  // short has already exited.
  EXPECT_GT(status->status().finished_at(), 0);

  // The CRI log format: "<RFC3339Nano time> <stream> <P|F> <line>".
  std::ifstream log(status->status().log_path());
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(' ', 3));
    ASSERT_EQ(fields.size(), 4u) << line;
    lines.push_back(absl::StrCat(fields[1], " ", fields[2], " ", fields[3]));
  }
  EXPECT_THAT(lines, UnorderedElementsAre("stdout F bye", "stderr F err"));
}

TEST_F(GrpcRuntimeServiceIntegrationTest, PauseReapsOrphansInASharedPidNamespace) {
  // shareProcessNamespace: the pod's containers and pause share one PID namespace, and
  // pause is its PID 1, so orphans are re-parented to it and only it can reap them.
  v1::PodSandboxConfig pod = sandboxConfig("shared-pid");
  pod.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  v1::ContainerConfig orphaner =
      containerConfig("orphaner", {"sh", "-c", "(sleep 1 &); (sleep 1 &); exec sleep 1000"});
  orphaner.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::POD);
  const std::string container = startContainer(sandbox, orphaner, pod);
  ASSERT_FALSE(container.empty());

  // "pid (comm) state ..." of every process the container sees.
  auto processes = [&]() -> std::string {
    absl::StatusOr<v1::ExecSyncResponse> ps =
        runtime_->execSync(container, {"sh", "-c", "cat /proc/[0-9]*/stat"}, absl::Seconds(10));
    return ps.ok() ? ps->stdout() : "";
  };
  const std::string first = processes();
  EXPECT_THAT(first, HasSubstr("1 (pause) S")) << "pause is not PID 1 of the pod";
  // Orphans: sleeps whose parent (the 4th field) is pause.
  EXPECT_THAT(first, HasSubstr("(sleep) S 1 ")) << first;
  std::string now;
  EXPECT_TRUE(eventually(
      [&] {
        now = processes();
        // Once the orphans have exited: gone if reaped, state Z if not.
        return !now.empty() && !absl::StrContains(now, "(sleep) S 1 ") &&
               !absl::StrContains(now, ") Z ");
      },
      absl::Seconds(5)))
      << "orphans still running, or zombies:\n"
      << now;
}

TEST_F(GrpcRuntimeServiceIntegrationTest, StopAndRemoveContainer) {
  const v1::PodSandboxConfig pod = sandboxConfig("stopper");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  // A process that ignores SIGTERM: only the SIGKILL at the end of the grace period ends it.
  const std::string container = startContainer(
      sandbox,
      containerConfig("stubborn", {"sh", "-c", "trap '' TERM; while true; do sleep 1; done"}), pod);
  ASSERT_FALSE(container.empty());

  const absl::Time begin = absl::Now();
  absl::Status stopped = runtime_->stopContainer(container, 1);
  ASSERT_TRUE(stopped.ok()) << stopped;
  const absl::Duration took = absl::Now() - begin;
  EXPECT_GE(took, absl::Milliseconds(900)) << "the grace period was not given";
  EXPECT_LT(took, absl::Seconds(10));
  absl::StatusOr<v1::ContainerStatusResponse> status = runtime_->containerStatus(container, false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status->status().exit_code(), 137);
  EXPECT_TRUE(runtime_->stopContainer(container, 1).ok()) << "stopping twice must succeed";

  ASSERT_TRUE(runtime_->removeContainer(container).ok());
  EXPECT_TRUE(absl::IsNotFound(runtime_->containerStatus(container, false).status()));
  v1::ContainerFilter by_id;
  by_id.set_id(container);
  absl::StatusOr<std::vector<v1::Container>> listed = runtime_->listContainers(by_id);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(runtime_->removeContainer(container).ok()) << "removing twice must succeed";
}

TEST_F(GrpcRuntimeServiceIntegrationTest, StopAndRemovePodSandbox) {
  const v1::PodSandboxConfig pod = sandboxConfig("short-lived");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  const std::string container =
      startContainer(sandbox, containerConfig("sleep", {"sleep", "1000"}), pod);
  ASSERT_FALSE(container.empty());

  ASSERT_TRUE(runtime_->stopPodSandbox(sandbox).ok());
  absl::StatusOr<v1::PodSandboxStatusResponse> status = runtime_->podSandboxStatus(sandbox, false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::SANDBOX_NOTREADY);
  // Stopping the sandbox stops its containers.
  EXPECT_EQ(stateOf(container), v1::CONTAINER_EXITED);

  ASSERT_TRUE(runtime_->removePodSandbox(sandbox).ok());
  EXPECT_TRUE(absl::IsNotFound(runtime_->podSandboxStatus(sandbox, false).status()));
  EXPECT_TRUE(absl::IsNotFound(runtime_->containerStatus(container, false).status()));
  v1::PodSandboxFilter by_id;
  by_id.set_id(sandbox);
  absl::StatusOr<std::vector<v1::PodSandbox>> listed = runtime_->listPodSandbox(by_id);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty());
  EXPECT_TRUE(runtime_->stopPodSandbox(sandbox).ok() ||
              absl::IsNotFound(runtime_->stopPodSandbox(sandbox)));
  EXPECT_TRUE(runtime_->removePodSandbox(sandbox).ok()) << "removing twice must succeed";
}

TEST_F(GrpcRuntimeServiceIntegrationTest, ListsFilterByLabelSelectorStateAndSandbox) {
  const v1::PodSandboxConfig pod_a = sandboxConfig("list-a", {{"app", "a"}});
  const v1::PodSandboxConfig pod_b = sandboxConfig("list-b", {{"app", "b"}});
  const std::string sandbox_a = runSandbox(pod_a);
  const std::string sandbox_b = runSandbox(pod_b);
  ASSERT_FALSE(sandbox_a.empty());
  ASSERT_FALSE(sandbox_b.empty());
  const std::string web = startContainer(
      sandbox_a, containerConfig("web", {"sleep", "1000"}, {{"tier", "web"}}), pod_a);
  const std::string db =
      startContainer(sandbox_a, containerConfig("db", {"sleep", "1000"}, {{"tier", "db"}}), pod_a);
  const std::string other = startContainer(
      sandbox_b, containerConfig("web", {"sleep", "1000"}, {{"tier", "web"}}), pod_b);
  ASSERT_FALSE(web.empty() || db.empty() || other.empty());

  auto sandboxIds = [&](const v1::PodSandboxFilter& filter) {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<v1::PodSandbox>> listed = runtime_->listPodSandbox(filter);
    EXPECT_TRUE(listed.ok()) << listed.status();
    for (const v1::PodSandbox& sandbox : listed.value_or(std::vector<v1::PodSandbox>{})) {
      ids.push_back(sandbox.id());
    }
    return ids;
  };
  auto containerIds = [&](const v1::ContainerFilter& filter) {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<v1::Container>> listed = runtime_->listContainers(filter);
    EXPECT_TRUE(listed.ok()) << listed.status();
    for (const v1::Container& container : listed.value_or(std::vector<v1::Container>{})) {
      ids.push_back(container.id());
    }
    return ids;
  };

  v1::PodSandboxFilter this_run;
  (*this_run.mutable_label_selector())["kubenode.test/run"] = run_;
  EXPECT_THAT(sandboxIds(this_run), UnorderedElementsAre(sandbox_a, sandbox_b));
  v1::PodSandboxFilter app_a = this_run;
  (*app_a.mutable_label_selector())["app"] = "a";
  EXPECT_THAT(sandboxIds(app_a), ElementsAre(sandbox_a));
  v1::PodSandboxFilter by_uid;
  (*by_uid.mutable_label_selector())["io.kubernetes.pod.uid"] = pod_b.metadata().uid();
  EXPECT_THAT(sandboxIds(by_uid), ElementsAre(sandbox_b));
  v1::PodSandboxFilter nothing = this_run;
  (*nothing.mutable_label_selector())["app"] = "c";
  EXPECT_THAT(sandboxIds(nothing), ElementsAre());

  v1::ContainerFilter web_tier;
  (*web_tier.mutable_label_selector())["kubenode.test/run"] = run_;
  (*web_tier.mutable_label_selector())["tier"] = "web";
  EXPECT_THAT(containerIds(web_tier), UnorderedElementsAre(web, other));
  v1::ContainerFilter web_in_a = web_tier;
  web_in_a.set_pod_sandbox_id(sandbox_a);
  EXPECT_THAT(containerIds(web_in_a), ElementsAre(web));
  v1::ContainerFilter in_a;
  in_a.set_pod_sandbox_id(sandbox_a);
  EXPECT_THAT(containerIds(in_a), UnorderedElementsAre(web, db));

  // After db exits, a RUNNING filter leaves it out and an EXITED filter finds only it.
  ASSERT_TRUE(runtime_->stopContainer(db, 0).ok());
  v1::ContainerFilter running = in_a;
  running.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  EXPECT_THAT(containerIds(running), ElementsAre(web));
  v1::ContainerFilter exited = in_a;
  exited.mutable_state()->set_state(v1::CONTAINER_EXITED);
  EXPECT_THAT(containerIds(exited), ElementsAre(db));

  ASSERT_TRUE(runtime_->stopPodSandbox(sandbox_b).ok());
  v1::PodSandboxFilter ready = this_run;
  ready.mutable_state()->set_state(v1::SANDBOX_READY);
  EXPECT_THAT(sandboxIds(ready), ElementsAre(sandbox_a));
}

TEST_F(GrpcRuntimeServiceIntegrationTest, SameClientWorksAgainAfterContainerdRestarts) {
  const v1::PodSandboxConfig pod = sandboxConfig("survivor");
  const std::string sandbox = runSandbox(pod);
  ASSERT_FALSE(sandbox.empty());
  const std::string container =
      startContainer(sandbox, containerConfig("sleep", {"sleep", "1000"}), pod);
  ASSERT_FALSE(container.empty());

  ASSERT_TRUE(containerd_->kill().ok());
  // While it is down: Unavailable, promptly (callers retry with back-off).
  const absl::Time down_begin = absl::Now();
  absl::StatusOr<v1::VersionResponse> down = runtime_->version(kCriApiVersion);
  EXPECT_TRUE(absl::IsUnavailable(down.status())) << down.status();
  EXPECT_LT(absl::Now() - down_begin, absl::Seconds(3));
  EXPECT_TRUE(absl::IsUnavailable(runtime_->containerStatus(container, false).status()));

  ASSERT_TRUE(containerd_->startAgain().ok());
  // Back within a few seconds, not after gRPC's 5 s backup poll or a long reconnect
  // back-off: a node whose runtime restarted must notice promptly.
  const absl::Time back = absl::Now();
  absl::StatusOr<v1::VersionResponse> up;
  EXPECT_TRUE(eventually(
      [&] {
        up = runtime_->version(kCriApiVersion);
        return up.ok();
      },
      absl::Seconds(3)))
      << up.status();
  std::cerr << "[ timing   ] same client answered " << absl::Now() - back
            << " after containerd was ready again\n";

  // The shim kept the container running across the restart.
  absl::StatusOr<v1::ContainerStatusResponse> status = runtime_->containerStatus(container, false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::CONTAINER_RUNNING);
  absl::StatusOr<v1::ExecSyncResponse> exec =
      runtime_->execSync(container, {"echo", "still here"}, absl::Seconds(10));
  ASSERT_TRUE(exec.ok()) << exec.status();
  EXPECT_EQ(exec->stdout(), "still here\n");
  absl::StatusOr<v1::PodSandboxStatusResponse> pod_status =
      runtime_->podSandboxStatus(sandbox, false);
  ASSERT_TRUE(pod_status.ok()) << pod_status.status();
  EXPECT_EQ(pod_status->status().state(), v1::SANDBOX_READY);
}

// Not a CRI client test but the harness's promise that CRI tests rely on: whatever pods a
// test leaves behind, stopping the instance removes them with every trace on the machine.
TEST(PrivateContainerdTeardownTest, StopRemovesPodsATestLeftBehind) {
  std::string dir;
  std::string container_id;
  std::string sandbox_ip;
  {
    PrivateContainerd containerd;
    absl::Status started = containerd.start();
    ASSERT_TRUE(started.ok()) << started;
    dir = containerd.dir();
    absl::StatusOr<std::unique_ptr<GrpcRuntimeService>> runtime =
        GrpcRuntimeService::create(containerd.endpoint());
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    v1::PodSandboxConfig pod;
    pod.mutable_metadata()->set_name("left-behind");
    pod.mutable_metadata()->set_namespace_("default");
    pod.mutable_metadata()->set_uid("left-behind-uid");
    absl::StatusOr<std::string> sandbox = (*runtime)->runPodSandbox(pod, "");
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    v1::ContainerConfig sleeper;
    sleeper.mutable_metadata()->set_name("sleep");
    sleeper.mutable_image()->set_image(images::kBusyboxImage);
    sleeper.add_command("sleep");
    sleeper.add_command("1000");
    absl::StatusOr<std::string> container = (*runtime)->createContainer(*sandbox, sleeper, pod);
    ASSERT_TRUE(container.ok()) << container.status();
    ASSERT_TRUE((*runtime)->startContainer(*container).ok());
    container_id = *container;
    ASSERT_FALSE(harness::findProcessesByCmdline(dir).empty());
    ASSERT_TRUE(fs::exists("/sys/fs/cgroup/pids/k8s.io/" + container_id))
        << "the container's cgroup is elsewhere: fix the checks below";
    // The test "forgets" to remove its pod: the destructor must cope.
  }
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(harness::findProcessesByCmdline(dir).empty()) << "a shim survived";
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::stringstream mounts;
  mounts << mountinfo.rdbuf();
  EXPECT_FALSE(absl::StrContains(mounts.str(), dir)) << "a mount survived";
  // runc removed the container's cgroup (containerd's default parent is /k8s.io).
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/k8s.io/" + container_id));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids/k8s.io/" + container_id));
}

}  // namespace
}  // namespace kubenode::cri
