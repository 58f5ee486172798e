// ExecProber against a real containerd (a private one, tests/harness): exec probes in a
// running busybox container, reported on the event loop as the kubelet reports them.
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cri/grpc_runtime_service.h"
#include "images/test_images.h"
#include "probes/exec_prober.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/private_containerd.h"

namespace kubenode::probes {
namespace {

namespace asio = boost::asio;
namespace v1 = cri::v1;
using harness::ContainerdEnvironment;
using ::testing::HasSubstr;

class ExecProberIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    harness::PrivateContainerd& containerd = ContainerdEnvironment::containerd();
    absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> client =
        cri::GrpcRuntimeService::create(containerd.endpoint());
    ASSERT_TRUE(client.ok()) << client.status();
    runtime_ = std::move(*client);
    prober_ = std::make_unique<ExecProber>(*runtime_, io_, ExecProberOptions{.threads = 4});

    std::random_device random;
    const std::string uid = fmt::format("probe-uid-{:08x}", random());
    v1::PodSandboxConfig pod;
    pod.mutable_metadata()->set_name("exec-probe");
    pod.mutable_metadata()->set_namespace_("default");
    pod.mutable_metadata()->set_uid(uid);
    pod.set_hostname("exec-probe");
    const std::string log_dir = fmt::format("{}/pods/default_exec-probe_{}", containerd.dir(), uid);
    std::filesystem::create_directories(log_dir);
    pod.set_log_directory(log_dir);
    (*pod.mutable_labels())["io.kubernetes.pod.uid"] = uid;
    absl::StatusOr<std::string> sandbox = runtime_->runPodSandbox(pod, "");
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *sandbox;

    v1::ContainerConfig app;
    app.mutable_metadata()->set_name("app");
    app.mutable_image()->set_image(images::kBusyboxImage);
    app.add_command("sleep");
    app.add_command("1000");
    app.set_log_path("app/0.log");
    absl::StatusOr<std::string> container = runtime_->createContainer(sandbox_, app, pod);
    ASSERT_TRUE(container.ok()) << container.status();
    ASSERT_TRUE(runtime_->startContainer(*container).ok());
    container_ = *container;
  }

  void TearDown() override {
    prober_.reset();  // before the runtime it calls
    if (!sandbox_.empty()) {
      EXPECT_TRUE(runtime_->stopPodSandbox(sandbox_).ok());
      EXPECT_TRUE(runtime_->removePodSandbox(sandbox_).ok());
    }
  }

  // Runs one exec probe on the loop (which keeps a 10 ms timer ticking, to show it is not
  // stalled) until it reports.
  ProbeOutcome run(std::vector<std::string> command, absl::Duration timeout) {
    std::optional<ProbeOutcome> outcome;
    prober_->probe(ExecTarget{container_, std::move(command)}, timeout,
                   [&](ProbeOutcome o) { outcome = std::move(o); });
    ticks_ = 0;
    asio::steady_timer tick(io_);
    std::function<void()> arm = [&] {
      tick.expires_after(std::chrono::milliseconds(10));
      tick.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) {
          ++ticks_;
          arm();
        }
      });
    };
    arm();
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!outcome && absl::Now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    tick.cancel();
    io_.poll();
    EXPECT_TRUE(outcome.has_value()) << "the exec probe never reported";
    return outcome.value_or(ProbeOutcome{Outcome::kFailure, "<no outcome>"});
  }

  asio::io_context io_;
  std::unique_ptr<cri::GrpcRuntimeService> runtime_;
  std::unique_ptr<ExecProber> prober_;
  std::string sandbox_;
  std::string container_;
  int ticks_ = 0;
};

TEST_F(ExecProberIntegrationTest, ExitZeroSucceeds) {
  ProbeOutcome outcome = run({"sh", "-c", "exit 0"}, absl::Seconds(5));
  EXPECT_EQ(outcome.result, Outcome::kSuccess) << outcome.output;
}

TEST_F(ExecProberIntegrationTest, NonZeroExitFailsWithTheOutput) {
  ProbeOutcome outcome = run({"sh", "-c", "echo bad; echo worse >&2; exit 3"}, absl::Seconds(5));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, "bad\nworse\n");
}

TEST_F(ExecProberIntegrationTest, MissingFileIsAFailureLikeTheDocsLivenessExample) {
  ProbeOutcome outcome = run({"cat", "/tmp/healthy"}, absl::Seconds(5));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_THAT(outcome.output, HasSubstr("/tmp/healthy"));
}

TEST_F(ExecProberIntegrationTest, SlowCommandFailsAtItsTimeoutWithoutStallingTheLoop) {
  const absl::Time begin = absl::Now();
  ProbeOutcome outcome = run({"sleep", "5"}, absl::Seconds(1));
  const absl::Duration took = absl::Now() - begin;
  std::cerr << "[ timing   ] exec probe sleep 5, timeout 1s: " << took << "\n";
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, "command \"sleep 5\" timed out");
  EXPECT_GE(took, absl::Milliseconds(900));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_GE(ticks_, 20) << "the loop's timer stalled while the exec ran";
}

}  // namespace
}  // namespace kubenode::probes
