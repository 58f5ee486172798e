// FakeRuntimeService: the state machines, filters, programmable results and
// injected errors that unit tests of pod logic rely on.
#include "cri/fake_runtime_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace kubenode::cri {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::PodSandboxConfig sandboxConfig(const std::string& name, uint32_t attempt = 0) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("default");
  config.mutable_metadata()->set_uid("uid-" + name);
  config.mutable_metadata()->set_attempt(attempt);
  config.set_log_directory("/var/log/pods/default_" + name + "_uid-" + name);
  (*config.mutable_labels())["io.kubernetes.pod.name"] = name;
  (*config.mutable_labels())["io.kubernetes.pod.namespace"] = "default";
  return config;
}

v1::ContainerConfig containerConfig(const std::string& name, uint32_t attempt = 0) {
  v1::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_attempt(attempt);
  config.mutable_image()->set_image("busybox:latest");
  config.add_command("sleep");
  config.add_args("3600");
  config.set_log_path(name + "/" + std::to_string(attempt) + ".log");
  (*config.mutable_labels())["io.kubernetes.container.name"] = name;
  return config;
}

class FakeRuntimeServiceTest : public ::testing::Test {
 protected:
  FakeRuntimeServiceTest() : fake_([this] { return now_; }) {
    fake_.addImage("busybox:latest", {"docker.io/library/busybox:latest"});
  }

  std::string runSandbox(const std::string& name) {
    auto id = runtime().runPodSandbox(sandboxConfig(name), "");
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or("");
  }

  std::string runContainer(const std::string& sandbox, const std::string& name) {
    auto id = runtime().createContainer(sandbox, containerConfig(name), sandboxConfig(name));
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok())
      return "";
    EXPECT_TRUE(runtime().startContainer(*id).ok());
    return *id;
  }

  v1::ContainerStatus statusOf(const std::string& id) {
    auto status = runtime().containerStatus(id, false);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? status->status() : v1::ContainerStatus();
  }

  // Code under test only sees the interfaces.
  RuntimeClient& runtime() { return fake_; }
  ImageClient& images() { return fake_; }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  FakeRuntimeService fake_;
};

TEST_F(FakeRuntimeServiceTest, SandboxLifecycle) {
  const std::string id = runSandbox("web");
  EXPECT_EQ(id, "sandbox-1");
  auto status = runtime().podSandboxStatus(id, false);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->status().state(), v1::SANDBOX_READY);
  EXPECT_EQ(status->status().created_at(), absl::ToUnixNanos(now_));
  EXPECT_EQ(status->status().network().ip(), "10.88.0.2");
  EXPECT_EQ(status->status().metadata().name(), "web");
  EXPECT_EQ(status->status().labels().at("io.kubernetes.pod.name"), "web");

  ASSERT_TRUE(runtime().stopPodSandbox(id).ok());
  ASSERT_TRUE(runtime().stopPodSandbox(id).ok());  // idempotent
  EXPECT_EQ(runtime().podSandboxStatus(id, false)->status().state(), v1::SANDBOX_NOTREADY);

  ASSERT_TRUE(runtime().removePodSandbox(id).ok());
  ASSERT_TRUE(runtime().removePodSandbox(id).ok());  // idempotent
  EXPECT_EQ(runtime().podSandboxStatus(id, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime().stopPodSandbox(id).code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, SandboxNameIsReservedUntilRemoved) {
  runSandbox("web");
  auto again = runtime().runPodSandbox(sandboxConfig("web"), "");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  // The kubelet's replacement sandbox has the next attempt number.
  EXPECT_TRUE(runtime().runPodSandbox(sandboxConfig("web", 1), "").ok());
}

TEST_F(FakeRuntimeServiceTest, SandboxNeedsMetadata) {
  auto id = runtime().runPodSandbox(v1::PodSandboxConfig(), "");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FakeRuntimeServiceTest, HostNetworkSandboxHasNoPodIp) {
  v1::PodSandboxConfig config = sandboxConfig("host");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      v1::NODE);
  auto id = runtime().runPodSandbox(config, "");
  ASSERT_TRUE(id.ok());
  auto status = runtime().podSandboxStatus(*id, false);
  EXPECT_EQ(status->status().network().ip(), "");
  EXPECT_EQ(status->status().linux().namespaces().options().network(), v1::NODE);
  // The next pod-network sandbox still gets the first address.
  auto status2 = runtime().podSandboxStatus(runSandbox("web"), false);
  EXPECT_EQ(status2->status().network().ip(), "10.88.0.2");
}

TEST_F(FakeRuntimeServiceTest, ContainerLifecycleWithTimestampsFromTheClock) {
  const std::string sandbox = runSandbox("web");
  auto id = runtime().createContainer(sandbox, containerConfig("app"), sandboxConfig("web"));
  ASSERT_TRUE(id.ok()) << id.status();
  v1::ContainerStatus created = statusOf(*id);
  EXPECT_EQ(created.state(), v1::CONTAINER_CREATED);
  EXPECT_EQ(created.created_at(), absl::ToUnixNanos(now_));
  EXPECT_EQ(created.started_at(), 0);
  EXPECT_EQ(created.log_path(), "/var/log/pods/default_web_uid-web/app/0.log");
  EXPECT_EQ(created.image().image(), "busybox:latest");
  EXPECT_THAT(created.image_ref(), HasSubstr("sha256:"));

  now_ += absl::Seconds(2);
  ASSERT_TRUE(runtime().startContainer(*id).ok());
  v1::ContainerStatus running = statusOf(*id);
  EXPECT_EQ(running.state(), v1::CONTAINER_RUNNING);
  EXPECT_EQ(running.started_at(), absl::ToUnixNanos(now_));

  // Starting twice is a state error, as with containerd.
  absl::Status again = runtime().startContainer(*id);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("StartContainer: "));
  EXPECT_THAT(again.message(), HasSubstr("CONTAINER_RUNNING"));

  now_ += absl::Seconds(3);
  ASSERT_TRUE(fake_.exitContainer(*id, 3).ok());
  v1::ContainerStatus exited = statusOf(*id);
  EXPECT_EQ(exited.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(exited.exit_code(), 3);
  EXPECT_EQ(exited.reason(), "Error");
  EXPECT_EQ(exited.finished_at(), absl::ToUnixNanos(now_));

  EXPECT_EQ(runtime().startContainer(*id).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(runtime().removeContainer(*id).ok());
  ASSERT_TRUE(runtime().removeContainer(*id).ok());  // idempotent
  EXPECT_EQ(runtime().containerStatus(*id, false).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, ExitReasonsAndOomKill) {
  const std::string sandbox = runSandbox("web");
  const std::string ok = runContainer(sandbox, "ok");
  const std::string oom = runContainer(sandbox, "oom");
  ASSERT_TRUE(fake_.exitContainer(ok, 0).ok());
  ASSERT_TRUE(fake_.exitContainer(oom, 137, "OOMKilled").ok());
  EXPECT_EQ(statusOf(ok).reason(), "Completed");
  EXPECT_EQ(statusOf(oom).reason(), "OOMKilled");
  EXPECT_EQ(statusOf(oom).exit_code(), 137);
  // An exited container cannot exit again.
  EXPECT_EQ(fake_.exitContainer(ok, 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fake_.exitContainer("nope", 1).code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, StopContainerExitCodes) {
  const std::string sandbox = runSandbox("web");
  const std::string graceful = runContainer(sandbox, "graceful");
  const std::string killed = runContainer(sandbox, "killed");
  ASSERT_TRUE(runtime().stopContainer(graceful, 30).ok());
  ASSERT_TRUE(runtime().stopContainer(killed, 0).ok());
  EXPECT_EQ(statusOf(graceful).exit_code(), 143);
  EXPECT_EQ(statusOf(killed).exit_code(), 137);
  // Idempotent on an exited container; NotFound for an unknown one.
  EXPECT_TRUE(runtime().stopContainer(graceful, 30).ok());
  EXPECT_EQ(runtime().stopContainer("nope", 30).code(), absl::StatusCode::kNotFound);
  // A CREATED container has no process: stopping it leaves it CREATED.
  auto created = runtime().createContainer(sandbox, containerConfig("later"), sandboxConfig("web"));
  ASSERT_TRUE(runtime().stopContainer(*created, 0).ok());
  EXPECT_EQ(statusOf(*created).state(), v1::CONTAINER_CREATED);
}

TEST_F(FakeRuntimeServiceTest, RemovingARunningContainerKillsIt) {
  const std::string id = runContainer(runSandbox("web"), "app");
  ASSERT_TRUE(runtime().removeContainer(id).ok());
  EXPECT_EQ(runtime().containerStatus(id, false).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, StoppingTheSandboxKillsItsContainers) {
  const std::string sandbox = runSandbox("web");
  const std::string app = runContainer(sandbox, "app");
  ASSERT_TRUE(runtime().stopPodSandbox(sandbox).ok());
  EXPECT_EQ(statusOf(app).state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(statusOf(app).exit_code(), 137);
  // No new containers in a stopped sandbox.
  auto created = runtime().createContainer(sandbox, containerConfig("x"), sandboxConfig("web"));
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  // Removing the sandbox removes its containers.
  ASSERT_TRUE(runtime().removePodSandbox(sandbox).ok());
  EXPECT_EQ(runtime().containerStatus(app, false).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, RemovingAReadySandboxStopsItFirst) {
  const std::string sandbox = runSandbox("web");
  const std::string app = runContainer(sandbox, "app");
  ASSERT_TRUE(runtime().removePodSandbox(sandbox).ok());
  EXPECT_EQ(runtime().podSandboxStatus(sandbox, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(runtime().containerStatus(app, false).status().code(), absl::StatusCode::kNotFound);
  // Its name is free again.
  EXPECT_TRUE(runtime().runPodSandbox(sandboxConfig("web"), "").ok());
}

TEST_F(FakeRuntimeServiceTest, KilledSandboxIsNotReady) {
  const std::string sandbox = runSandbox("web");
  const std::string app = runContainer(sandbox, "app");
  ASSERT_TRUE(fake_.killSandbox(sandbox).ok());
  EXPECT_EQ(runtime().podSandboxStatus(sandbox, false)->status().state(), v1::SANDBOX_NOTREADY);
  EXPECT_EQ(statusOf(app).state(), v1::CONTAINER_EXITED);
}

TEST_F(FakeRuntimeServiceTest, CreateContainerChecks) {
  const std::string sandbox = runSandbox("web");
  EXPECT_EQ(runtime()
                .createContainer("nope", containerConfig("app"), sandboxConfig("web"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  v1::ContainerConfig missing_image = containerConfig("app");
  missing_image.mutable_image()->set_image("nginx:latest");
  auto no_image = runtime().createContainer(sandbox, missing_image, sandboxConfig("web"));
  EXPECT_EQ(no_image.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_image.status().message(), HasSubstr("nginx:latest"));
  // An image is also found by its other tag.
  v1::ContainerConfig other_tag = containerConfig("app");
  other_tag.mutable_image()->set_image("docker.io/library/busybox:latest");
  EXPECT_TRUE(runtime().createContainer(sandbox, other_tag, sandboxConfig("web")).ok());
  // (name, attempt) is reserved within the sandbox.
  auto same = runtime().createContainer(sandbox, containerConfig("app"), sandboxConfig("web"));
  EXPECT_EQ(same.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(
      runtime().createContainer(sandbox, containerConfig("app", 1), sandboxConfig("web")).ok());
}

TEST_F(FakeRuntimeServiceTest, ContainerConfigIsKeptForAssertions) {
  const std::string id = runContainer(runSandbox("web"), "app");
  auto config = fake_.containerConfig(id);
  ASSERT_TRUE(config.ok());
  EXPECT_THAT(config->command(), ElementsAre("sleep"));
  EXPECT_THAT(config->args(), ElementsAre("3600"));
  EXPECT_EQ(fake_.sandboxConfig("sandbox-1")->metadata().name(), "web");
  EXPECT_EQ(fake_.containerConfig("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, ListFiltersByIdStateSandboxAndLabels) {
  const std::string web = runSandbox("web");
  const std::string db = runSandbox("db");
  const std::string web_app = runContainer(web, "app");
  const std::string db_app = runContainer(db, "app");
  ASSERT_TRUE(fake_.exitContainer(db_app, 0).ok());
  ASSERT_TRUE(runtime().stopPodSandbox(db).ok());

  auto ids = [](const auto& items) {
    std::vector<std::string> out;
    for (const auto& item : items)
      out.push_back(item.id());
    return out;
  };

  EXPECT_THAT(ids(*runtime().listPodSandbox(v1::PodSandboxFilter())), ElementsAre(web, db));
  v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(v1::SANDBOX_READY);
  EXPECT_THAT(ids(*runtime().listPodSandbox(ready)), ElementsAre(web));
  v1::PodSandboxFilter by_label;
  (*by_label.mutable_label_selector())["io.kubernetes.pod.name"] = "db";
  EXPECT_THAT(ids(*runtime().listPodSandbox(by_label)), ElementsAre(db));
  (*by_label.mutable_label_selector())["io.kubernetes.pod.namespace"] = "other";
  EXPECT_THAT(ids(*runtime().listPodSandbox(by_label)), IsEmpty());
  v1::PodSandboxFilter by_id;
  by_id.set_id(web);
  EXPECT_THAT(ids(*runtime().listPodSandbox(by_id)), ElementsAre(web));

  EXPECT_THAT(ids(*runtime().listContainers(v1::ContainerFilter())), ElementsAre(web_app, db_app));
  v1::ContainerFilter running;
  running.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  EXPECT_THAT(ids(*runtime().listContainers(running)), ElementsAre(web_app));
  v1::ContainerFilter in_db;
  in_db.set_pod_sandbox_id(db);
  EXPECT_THAT(ids(*runtime().listContainers(in_db)), ElementsAre(db_app));
  v1::ContainerFilter by_name;
  (*by_name.mutable_label_selector())["io.kubernetes.container.name"] = "app";
  EXPECT_THAT(ids(*runtime().listContainers(by_name)), ElementsAre(web_app, db_app));
  (*by_name.mutable_label_selector())["io.kubernetes.container.name"] = "sidecar";
  EXPECT_THAT(ids(*runtime().listContainers(by_name)), IsEmpty());

  // Stats only cover running containers.
  auto stats = runtime().listContainerStats(v1::ContainerStatsFilter());
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].attributes().id(), web_app);
}

TEST_F(FakeRuntimeServiceTest, ExecSyncResultsAreProgrammable) {
  const std::string sandbox = runSandbox("web");
  const std::string a = runContainer(sandbox, "a");
  const std::string b = runContainer(sandbox, "b");
  fake_.setExecResult("", {"cat", "/tmp/healthy"}, {.stderr_data = "no such file", .exit_code = 1});
  fake_.setExecResult(b, {"cat", "/tmp/healthy"}, {.stdout_data = "ok\n"});
  fake_.setExecResult(a, {"sleep", "10"}, {.timed_out = true});

  auto failing = runtime().execSync(a, {"cat", "/tmp/healthy"}, absl::Seconds(1));
  ASSERT_TRUE(failing.ok());
  EXPECT_EQ(failing->exit_code(), 1);
  EXPECT_EQ(failing->stderr(), "no such file");

  auto passing = runtime().execSync(b, {"cat", "/tmp/healthy"}, absl::Seconds(1));
  ASSERT_TRUE(passing.ok());
  EXPECT_EQ(passing->exit_code(), 0);
  EXPECT_EQ(passing->stdout(), "ok\n");

  auto unprogrammed = runtime().execSync(a, {"true"}, absl::Seconds(1));
  ASSERT_TRUE(unprogrammed.ok());
  EXPECT_EQ(unprogrammed->exit_code(), 0);

  auto timed_out = runtime().execSync(a, {"sleep", "10"}, absl::Seconds(1));
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(timed_out.status().message(), HasSubstr("ExecSync: "));

  ASSERT_TRUE(fake_.exitContainer(a, 0).ok());
  EXPECT_EQ(runtime().execSync(a, {"true"}, absl::Seconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(runtime().execSync("nope", {"true"}, absl::Seconds(1)).status().code(),
            absl::StatusCode::kNotFound);

  std::vector<FakeRuntimeService::Call> calls = fake_.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().method, "ExecSync");
  EXPECT_THAT(calls.back().cmd, ElementsAre("true"));
}

TEST_F(FakeRuntimeServiceTest, InjectedErrorsFailTheNextCallsOnly) {
  fake_.failNext("RunPodSandbox", absl::UnavailableError("containerd is restarting"), 2);
  auto first = runtime().runPodSandbox(sandboxConfig("web"), "");
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(first.status().message(), "RunPodSandbox: containerd is restarting");
  EXPECT_EQ(runtime().runPodSandbox(sandboxConfig("web"), "").status().code(),
            absl::StatusCode::kUnavailable);
  // The failed calls changed nothing; the third succeeds.
  auto third = runtime().runPodSandbox(sandboxConfig("web"), "");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(runtime().listPodSandbox(v1::PodSandboxFilter())->size(), 1u);
  EXPECT_EQ(fake_.callCount("RunPodSandbox"), 3);

  fake_.failNext("Version", absl::DeadlineExceededError("slow"));
  fake_.clearInjectedErrors();
  EXPECT_TRUE(runtime().version(kCriApiVersion).ok());
}

TEST_F(FakeRuntimeServiceTest, CallsAreRecordedWithTargetsAndTimeouts) {
  const std::string sandbox = runSandbox("web");
  fake_.clearCalls();
  const std::string app = runContainer(sandbox, "app");
  ASSERT_TRUE(runtime().stopContainer(app, 5, CallOptions{.timeout = absl::Seconds(40)}).ok());
  std::vector<FakeRuntimeService::Call> calls = fake_.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].method, "CreateContainer");
  EXPECT_EQ(calls[0].target, app);
  EXPECT_EQ(calls[1].method, "StartContainer");
  EXPECT_EQ(calls[2].method, "StopContainer");
  EXPECT_EQ(calls[2].timeout, absl::Seconds(40));
  EXPECT_EQ(fake_.callCount("StartContainer"), 1);
}

TEST_F(FakeRuntimeServiceTest, ImagesPullStatusRemove) {
  v1::ImageSpec nginx;
  nginx.set_image("nginx:1.25");
  auto absent = images().imageStatus(nginx, false);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_image());

  auto ref = images().pullImage(nginx, nullptr, nullptr);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_THAT(*ref, HasSubstr("sha256:"));
  auto present = images().imageStatus(nginx, false);
  ASSERT_TRUE(present->has_image());
  EXPECT_EQ(present->image().id(), *ref);
  EXPECT_EQ(images().listImages(v1::ImageFilter())->size(), 2u);
  v1::ImageFilter only_nginx;
  only_nginx.mutable_image()->set_image("nginx:1.25");
  EXPECT_EQ(images().listImages(only_nginx)->size(), 1u);

  ASSERT_TRUE(images().removeImage(nginx).ok());
  ASSERT_TRUE(images().removeImage(nginx).ok());  // idempotent
  EXPECT_FALSE(images().imageStatus(nginx, false)->has_image());

  auto fs = images().imageFsInfo();
  ASSERT_TRUE(fs.ok());
  ASSERT_EQ(fs->size(), 1u);
  EXPECT_EQ((*fs)[0].inodes_used().value(), 1u);
}

TEST_F(FakeRuntimeServiceTest, PullFailuresAreInjectable) {
  v1::ImageSpec spec;
  spec.set_image("registry.example/missing:1");
  fake_.setPullImageError(spec.image(), absl::NotFoundError("manifest unknown"));
  auto pulled = images().pullImage(spec, nullptr, nullptr);
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pulled.status().message(), "PullImage: manifest unknown");
  EXPECT_EQ(images().pullImage(spec, nullptr, nullptr).status().code(),
            absl::StatusCode::kNotFound);  // persistent until cleared
  fake_.setPullImageError(spec.image(), absl::OkStatus());
  EXPECT_TRUE(images().pullImage(spec, nullptr, nullptr).ok());
}

TEST_F(FakeRuntimeServiceTest, StatusConditionsAreSettable) {
  auto status = runtime().status(false);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->status().conditions_size(), 2);
  EXPECT_TRUE(status->status().conditions(1).status());
  fake_.setRuntimeCondition("NetworkReady", false, "NetworkPluginNotReady",
                            "cni config uninitialized");
  status = runtime().status(false);
  EXPECT_EQ(status->status().conditions(1).type(), "NetworkReady");
  EXPECT_FALSE(status->status().conditions(1).status());
  EXPECT_EQ(status->status().conditions(1).reason(), "NetworkPluginNotReady");
}

TEST_F(FakeRuntimeServiceTest, UpdateResourcesShowsInStatus) {
  const std::string app = runContainer(runSandbox("web"), "app");
  v1::LinuxContainerResources resources;
  resources.set_cpu_quota(50000);
  resources.set_memory_limit_in_bytes(64 << 20);
  ASSERT_TRUE(runtime().updateContainerResources(app, resources).ok());
  EXPECT_EQ(statusOf(app).resources().linux().memory_limit_in_bytes(), 64 << 20);
  EXPECT_EQ(runtime().updateContainerResources("nope", resources).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FakeRuntimeServiceTest, ConcurrentUseIsSafe) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        auto sandbox = runtime().runPodSandbox(
            sandboxConfig("pod-" + std::to_string(t) + "-" + std::to_string(i)), "");
        ASSERT_TRUE(sandbox.ok()) << sandbox.status();
        ASSERT_TRUE(runtime().listContainers(v1::ContainerFilter()).ok());
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(runtime().listPodSandbox(v1::PodSandboxFilter())->size(), 100u);
  EXPECT_EQ(fake_.callCount("RunPodSandbox"), 100);
}

}  // namespace
}  // namespace kubenode::cri
