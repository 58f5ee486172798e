// GrpcRuntimeService against a small in-process CRI server on a temporary unix
// socket: what a caller sees when the runtime answers, fails, hangs, goes
// away and comes back.
#include "cri/grpc_runtime_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kubenode::cri {
namespace {

using ::testing::HasSubstr;

// A scripted RuntimeService: answers Version, fails ContainerStatus with a
// chosen code, can hang Version until released or cancelled, and records
// what ExecSync / StopContainer received.
class ScriptedRuntime final : public v1::RuntimeService::Service {
 public:
  grpc::Status Version(grpc::ServerContext* context, const v1::VersionRequest* request,
                       v1::VersionResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      last_version_request_ = request->version();
      ++version_calls_;
      // Hold the call until the test releases it or the client gives up
      // (the server context is cancelled when the client's deadline passes).
      while (hang_ && !context->IsCancelled()) {
        mu_.AwaitWithTimeout(absl::Condition(
                                 +[](bool* hang) { return !*hang; }, &hang_),
                             absl::Milliseconds(20));
      }
    }
    response->set_version("0.1.0");
    response->set_runtime_name("scripted");
    response->set_runtime_version("1.6.20");
    response->set_runtime_api_version("v1");
    return grpc::Status::OK;
  }

  grpc::Status ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* request,
                               v1::ContainerStatusResponse* response) override {
    if (request->container_id() == "present") {
      response->mutable_status()->set_id("present");
      response->mutable_status()->set_state(v1::CONTAINER_EXITED);
      response->mutable_status()->set_exit_code(3);
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "an error occurred when try to find container \"" +
                            request->container_id() + "\": not found");
  }

  grpc::Status RunPodSandbox(grpc::ServerContext*, const v1::RunPodSandboxRequest* request,
                             v1::RunPodSandboxResponse* response) override {
    if (request->config().metadata().name().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "sandbox config must include metadata");
    }
    response->set_pod_sandbox_id("sb-" + request->config().metadata().name() + "-" +
                                 request->runtime_handler());
    return grpc::Status::OK;
  }

  grpc::Status StopContainer(grpc::ServerContext*, const v1::StopContainerRequest* request,
                             v1::StopContainerResponse*) override {
    absl::MutexLock lock(&mu_);
    last_stop_timeout_ = request->timeout();
    return grpc::Status::OK;
  }

  grpc::Status ExecSync(grpc::ServerContext* context, const v1::ExecSyncRequest* request,
                        v1::ExecSyncResponse* response) override {
    {
      absl::MutexLock lock(&mu_);
      last_exec_timeout_ = request->timeout();
    }
    if (request->cmd_size() > 0 && request->cmd(0) == "hang") {
      // A runtime that never reports the command's timeout: only the client's
      // deadline ends the call.
      absl::MutexLock lock(&mu_);
      while (!context->IsCancelled()) {
        mu_.AwaitWithTimeout(absl::Condition(&never_), absl::Milliseconds(20));
      }
      return grpc::Status(grpc::StatusCode::CANCELLED, "client gave up");
    }
    std::string joined;
    for (const std::string& arg : request->cmd())
      joined += arg + " ";
    response->set_stdout(joined);
    response->set_exit_code(request->cmd_size() > 1 ? 7 : 0);
    return grpc::Status::OK;
  }

  // Answers with `count` containers carrying `label_bytes` of labels each, to
  // exercise the raised message size limit.
  grpc::Status ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* request,
                              v1::ListContainersResponse* response) override {
    const int count = 6;
    const std::string big(1 << 20, 'x');
    for (int i = 0; i < count; ++i) {
      v1::Container* c = response->add_containers();
      c->set_id("c" + std::to_string(i));
      (*c->mutable_labels())["blob"] = big;
    }
    return grpc::Status::OK;
  }

  void setHang(bool hang) {
    absl::MutexLock lock(&mu_);
    hang_ = hang;
  }
  int versionCalls() {
    absl::MutexLock lock(&mu_);
    return version_calls_;
  }
  std::string lastVersionRequest() {
    absl::MutexLock lock(&mu_);
    return last_version_request_;
  }
  int64_t lastExecTimeout() {
    absl::MutexLock lock(&mu_);
    return last_exec_timeout_;
  }
  int64_t lastStopTimeout() {
    absl::MutexLock lock(&mu_);
    return last_stop_timeout_;
  }

 private:
  absl::Mutex mu_;
  bool hang_ ABSL_GUARDED_BY(mu_) = false;
  bool never_ ABSL_GUARDED_BY(mu_) = false;
  int version_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_version_request_ ABSL_GUARDED_BY(mu_);
  int64_t last_exec_timeout_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t last_stop_timeout_ ABSL_GUARDED_BY(mu_) = -1;
};

class ScriptedImages final : public v1::ImageService::Service {
 public:
  grpc::Status ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* request,
                           v1::ImageStatusResponse* response) override {
    if (request->image().image() == "busybox:latest") {
      response->mutable_image()->set_id("sha256:1234");
      response->mutable_image()->add_repo_tags("busybox:latest");
    }
    return grpc::Status::OK;
  }
};

class GrpcRuntimeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/kubenode-cri-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    socket_ = dir_ + "/cri.sock";
  }

  void TearDown() override {
    runtime_.setHang(false);
    stopServer();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void startServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&runtime_);
    builder.RegisterService(&images_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr) << "could not listen on " << socket_;
  }

  void stopServer() {
    if (server_ == nullptr)
      return;
    runtime_.setHang(false);
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }

  std::unique_ptr<GrpcRuntimeService> client(GrpcRuntimeServiceOptions options = {}) {
    auto created = GrpcRuntimeService::create("unix://" + socket_, options);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? std::move(*created) : nullptr;
  }

  std::string dir_;
  std::string socket_;
  ScriptedRuntime runtime_;
  ScriptedImages images_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcRuntimeServiceTest, VersionRoundTrip) {
  startServer();
  auto runtime = client();
  absl::StatusOr<v1::VersionResponse> version = runtime->version(kCriApiVersion);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->runtime_name(), "scripted");
  EXPECT_EQ(version->runtime_api_version(), "v1");
  EXPECT_EQ(runtime_.lastVersionRequest(), "v1");
}

TEST_F(GrpcRuntimeServiceTest, PlainPathEndpointWorks) {
  startServer();
  auto created = GrpcRuntimeService::create(socket_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE((*created)->version(kCriApiVersion).ok());
}

TEST_F(GrpcRuntimeServiceTest, RuntimeErrorKeepsCodeAndNamesTheMethod) {
  startServer();
  auto runtime = client();
  absl::StatusOr<v1::ContainerStatusResponse> status = runtime->containerStatus("gone", false);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.status().message(),
            "ContainerStatus: an error occurred when try to find container \"gone\": not found");

  absl::StatusOr<std::string> sandbox = runtime->runPodSandbox(v1::PodSandboxConfig(), "");
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sandbox.status().message(), HasSubstr("RunPodSandbox: "));
}

TEST_F(GrpcRuntimeServiceTest, ReportsEveryCallToTheObserver) {
  startServer();
  struct Seen {
    std::string method;
    absl::StatusCode code;
    absl::Duration elapsed;
  };
  absl::Mutex mu;
  std::vector<Seen> seen;
  GrpcRuntimeServiceOptions options;
  options.on_call_done = [&](absl::string_view method, absl::Duration elapsed,
                             const absl::Status& status) {
    absl::MutexLock lock(&mu);
    seen.push_back({std::string(method), status.code(), elapsed});
  };
  auto runtime = client(options);
  ASSERT_TRUE(runtime->version(kCriApiVersion).ok());
  ASSERT_FALSE(runtime->containerStatus("gone", false).ok());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "Version");
  EXPECT_EQ(seen[0].code, absl::StatusCode::kOk);
  EXPECT_GT(seen[0].elapsed, absl::ZeroDuration());
  EXPECT_EQ(seen[1].method, "ContainerStatus");
  EXPECT_EQ(seen[1].code, absl::StatusCode::kNotFound);
}

TEST_F(GrpcRuntimeServiceTest, ResponsesCarryTheRuntimeAnswer) {
  startServer();
  auto runtime = client();
  auto status = runtime->containerStatus("present", false);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status->status().exit_code(), 3);

  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name("web");
  auto sandbox = runtime->runPodSandbox(config, "runc");
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  EXPECT_EQ(*sandbox, "sb-web-runc");
}

TEST_F(GrpcRuntimeServiceTest, ImageStatusOfAbsentImageIsNotAnError) {
  startServer();
  auto runtime = client();
  v1::ImageSpec spec;
  spec.set_image("busybox:latest");
  auto present = runtime->imageStatus(spec, false);
  ASSERT_TRUE(present.ok()) << present.status();
  EXPECT_TRUE(present->has_image());
  spec.set_image("nginx:latest");
  auto absent = runtime->imageStatus(spec, false);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_image());
}

TEST_F(GrpcRuntimeServiceTest, ExecSyncSendsWholeSecondsAndReturnsExitCode) {
  startServer();
  auto runtime = client();
  auto result = runtime->execSync("c1", {"cat", "/tmp/healthy"}, absl::Milliseconds(1500));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(runtime_.lastExecTimeout(), 2);  // rounded up, never truncated to 1 or 0
  EXPECT_EQ(result->exit_code(), 7);         // a non-zero exit is a result, not an error
  EXPECT_EQ(result->stdout(), "cat /tmp/healthy ");

  ASSERT_TRUE(runtime->execSync("c1", {"true"}, absl::ZeroDuration()).ok());
  EXPECT_EQ(runtime_.lastExecTimeout(), 0);
}

TEST_F(GrpcRuntimeServiceTest, ExecSyncDeadlineIsTheCommandTimeoutPlusAMargin) {
  startServer();
  auto runtime = client();
  const absl::Time start = absl::Now();
  auto result = runtime->execSync("c1", {"hang"}, absl::Seconds(1));
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr("ExecSync: "));
  EXPECT_GE(elapsed,
            absl::Seconds(1) + GrpcRuntimeService::kExecSyncMargin - absl::Milliseconds(10));
  EXPECT_LT(elapsed, absl::Seconds(1) + GrpcRuntimeService::kExecSyncMargin + absl::Seconds(1));
}

TEST_F(GrpcRuntimeServiceTest, StopContainerSendsTheGracePeriod) {
  startServer();
  auto runtime = client();
  ASSERT_TRUE(runtime->stopContainer("c1", 30).ok());
  EXPECT_EQ(runtime_.lastStopTimeout(), 30);
}

TEST_F(GrpcRuntimeServiceTest, AnswersLargerThanFourMebibytesArrive) {
  startServer();
  auto runtime = client();
  auto containers = runtime->listContainers(v1::ContainerFilter());
  ASSERT_TRUE(containers.ok()) << containers.status();
  EXPECT_EQ(containers->size(), 6u);
}

TEST_F(GrpcRuntimeServiceTest, DeadlineHonouredWhenTheRuntimeHangs) {
  startServer();
  auto runtime = client();
  ASSERT_TRUE(runtime->version(kCriApiVersion).ok());  // connected
  runtime_.setHang(true);
  const absl::Time start = absl::Now();
  auto version = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Milliseconds(300)});
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), absl::StatusCode::kDeadlineExceeded) << version.status();
  EXPECT_THAT(version.status().message(), HasSubstr("Version: "));
  EXPECT_GE(elapsed, absl::Milliseconds(290));
  EXPECT_LT(elapsed, absl::Milliseconds(1300));
}

TEST_F(GrpcRuntimeServiceTest, DefaultDeadlineComesFromTheClientConfiguration) {
  startServer();
  GrpcRuntimeServiceOptions options;
  options.timeouts.health_check = absl::Milliseconds(250);
  auto runtime = client(options);
  ASSERT_TRUE(runtime->version(kCriApiVersion).ok());
  runtime_.setHang(true);
  const absl::Time start = absl::Now();
  auto version = runtime->version(kCriApiVersion);  // no CallOptions: the configured default
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(version.status().code(), absl::StatusCode::kDeadlineExceeded) << version.status();
  EXPECT_GE(elapsed, absl::Milliseconds(240));
  EXPECT_LT(elapsed, absl::Milliseconds(1250));
}

TEST_F(GrpcRuntimeServiceTest, UnavailableFastWhenTheSocketIsMissing) {
  auto runtime = client();  // nothing listens on socket_
  const absl::Time start = absl::Now();
  auto version = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(10)});
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), absl::StatusCode::kUnavailable) << version.status();
  EXPECT_THAT(version.status().message(), HasSubstr("Version: "));
  // gRPC's own text names the socket, which is what an operator needs to see.
  EXPECT_THAT(version.status().message(), HasSubstr(socket_));
  // Fail fast: no waiting for the socket to appear until the 10 s deadline.
  EXPECT_LT(elapsed, absl::Seconds(2));
}

TEST_F(GrpcRuntimeServiceTest, ReconnectsWhenTheRuntimeComesBackOnTheSamePath) {
  startServer();
  auto runtime = client();
  ASSERT_TRUE(runtime->version(kCriApiVersion).ok());

  stopServer();
  // While the runtime is down, calls fail fast with Unavailable.
  const absl::Time down = absl::Now();
  auto while_down = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(10)});
  EXPECT_EQ(while_down.status().code(), absl::StatusCode::kUnavailable) << while_down.status();
  EXPECT_LT(absl::Now() - down, absl::Seconds(2));

  startServer();
  // The same client object recovers by itself; poll with a deadline.
  const absl::Time back = absl::Now();
  const absl::Time deadline = back + absl::Seconds(10);
  absl::Status last;
  while (absl::Now() < deadline) {
    auto version = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(1)});
    last = version.status();
    if (last.ok())
      break;
    EXPECT_EQ(last.code(), absl::StatusCode::kUnavailable) << last;
    absl::SleepFor(absl::Milliseconds(20));  // poll interval, not synchronisation
  }
  ASSERT_TRUE(last.ok()) << "no reconnection within 10 s: " << last;
  // max_reconnect_backoff is 1 s, so recovery must not take much longer.
  EXPECT_LT(absl::Now() - back, absl::Seconds(3));
}

TEST_F(GrpcRuntimeServiceTest, RecoversWithinTheBackoffCapAfterALongOutage) {
  startServer();
  auto runtime = client();
  ASSERT_TRUE(runtime->version(kCriApiVersion).ok());
  stopServer();

  // A 3 s outage with callers retrying meanwhile: every call fails fast, and
  // the back-off has grown to its cap by the time the runtime returns.
  const absl::Time outage_end = absl::Now() + absl::Seconds(3);
  while (absl::Now() < outage_end) {
    auto version = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(5)});
    ASSERT_EQ(version.status().code(), absl::StatusCode::kUnavailable) << version.status();
    absl::SleepFor(absl::Milliseconds(100));  // a caller's retry interval
  }

  startServer();
  const absl::Time back = absl::Now();
  absl::Status last;
  while (absl::Now() < back + absl::Seconds(10)) {
    last = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(1)}).status();
    if (last.ok())
      break;
    absl::SleepFor(absl::Milliseconds(20));  // poll interval
  }
  ASSERT_TRUE(last.ok()) << last;
  // 1 s cap plus gRPC's 20 % jitter, plus scheduling slack.
  EXPECT_LT(absl::Now() - back, absl::Milliseconds(1600));
}

TEST_F(GrpcRuntimeServiceTest, ConcurrentCallsFromManyThreads) {
  startServer();
  auto runtime = client();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (!runtime->version(kCriApiVersion).ok())
          ++failures;
        if (runtime->containerStatus("gone", false).status().code() !=
            absl::StatusCode::kNotFound) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(runtime_.versionCalls(), 200);
}

// A CRI server in a child process (cri_test_runtime_server), killed when the
// object goes out of scope even if the test fails.
class ChildRuntime {
 public:
  explicit ChildRuntime(const std::string& socket) : socket_(socket) {}
  ~ChildRuntime() { kill(SIGKILL); }

  // Starts the server and waits until it serves.
  void start() {
    std::string binary = KUBENODE_CRI_TEST_SERVER;
    char* argv[] = {binary.data(), socket_.data(), nullptr};
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const int spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    ASSERT_EQ(spawned, 0) << "cannot start " << binary;
    // Wait for "serving" (or the child's exit) with a deadline.
    pollfd ready{.fd = out[0], .events = POLLIN, .revents = 0};
    const int polled = poll(&ready, 1, 10'000);
    char line[16] = {};
    const ssize_t n = polled == 1 ? read(out[0], line, sizeof(line) - 1) : -1;
    close(out[0]);
    ASSERT_GT(n, 0) << binary << " did not report serving within 10 s";
    ASSERT_EQ(std::string(line, n), "serving\n");
  }

  // Ends the process as a crash or `systemctl restart containerd` would.
  void kill(int signal) {
    if (pid_ <= 0)
      return;
    ::kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string socket_;
  pid_t pid_ = -1;
};

// Polls version() until it succeeds; returns how long that took.
absl::StatusOr<absl::Duration> timeUntilAnswer(RuntimeClient& runtime, absl::Duration limit) {
  const absl::Time start = absl::Now();
  absl::Status last;
  while (absl::Now() - start < limit) {
    last = runtime.version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(1)}).status();
    if (last.ok())
      return absl::Now() - start;
    absl::SleepFor(absl::Milliseconds(10));  // poll interval
  }
  return last;
}

// The server is another process, as containerd is. gRPC 1.51 reads a socket
// only while a thread polls it, and calls fail fast while the runtime is
// down, so without GrpcRuntimeService's connectivity watcher the new
// connection's handshake waits for gRPC's 5 s backup poller.
TEST_F(GrpcRuntimeServiceTest, ReconnectsToARestartedRuntimeProcess) {
  ChildRuntime child(socket_);
  child.start();
  GrpcRuntimeServiceOptions options;
  options.max_reconnect_backoff = absl::Milliseconds(200);  // keeps the bound below tight
  auto runtime = client(options);
  ASSERT_TRUE(timeUntilAnswer(*runtime, absl::Seconds(10)).ok());

  child.kill(SIGKILL);
  const absl::Time outage_end = absl::Now() + absl::Seconds(2);
  while (absl::Now() < outage_end) {
    auto version = runtime->version(kCriApiVersion, CallOptions{.timeout = absl::Seconds(5)});
    ASSERT_EQ(version.status().code(), absl::StatusCode::kUnavailable) << version.status();
    absl::SleepFor(absl::Milliseconds(100));  // a caller's retry interval
  }

  child.start();  // returns once the new process serves
  auto recovery = timeUntilAnswer(*runtime, absl::Seconds(10));
  ASSERT_TRUE(recovery.ok()) << "no reconnection within 10 s: " << recovery.status();
  // At most one capped back-off (200 ms + 20 % jitter) plus the handshake.
  EXPECT_LT(*recovery, absl::Milliseconds(800));
}

}  // namespace
}  // namespace kubenode::cri
