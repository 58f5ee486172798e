// ExecProber against the in-memory CRI runtime (outcomes) and a runtime whose ExecSync
// blocks until the test lets it go (concurrency: the loop keeps running while execs wait).
#include "probes/exec_prober.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cri/fake_runtime_service.h"
#include "probes/network_prober.h"

namespace kubenode::probes {
namespace {

namespace asio = boost::asio;
namespace v1 = cri::v1;

bool runUntil(asio::io_context& io, const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > deadline) {
      return false;
    }
    if (io.stopped()) {
      io.restart();
    }
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

class ExecProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.addImage("busybox:latest");
    v1::PodSandboxConfig pod;
    pod.mutable_metadata()->set_name("web");
    pod.mutable_metadata()->set_namespace_("default");
    pod.mutable_metadata()->set_uid("uid-1");
    absl::StatusOr<std::string> sandbox = runtime_.runPodSandbox(pod, "");
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    v1::ContainerConfig config;
    config.mutable_metadata()->set_name("app");
    config.mutable_image()->set_image("busybox:latest");
    absl::StatusOr<std::string> id = runtime_.createContainer(*sandbox, config, pod);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_TRUE(runtime_.startContainer(*id).ok());
    container_ = *id;
  }

  ProbeOutcome run(std::vector<std::string> command, absl::Duration timeout = absl::Seconds(1)) {
    std::optional<ProbeOutcome> outcome;
    const std::thread::id loop_thread = std::this_thread::get_id();
    prober_.probe(ExecTarget{container_, std::move(command)}, timeout, [&](ProbeOutcome o) {
      EXPECT_EQ(std::this_thread::get_id(), loop_thread) << "done ran off the loop's thread";
      outcome = std::move(o);
    });
    EXPECT_FALSE(outcome.has_value()) << "done ran inside probe()";
    EXPECT_TRUE(runUntil(io_, [&] { return outcome.has_value(); }));
    return outcome.value_or(ProbeOutcome{Outcome::kFailure, "<no outcome>"});
  }

  cri::FakeRuntimeService runtime_;
  asio::io_context io_;
  ExecProber prober_{runtime_, io_, {.threads = 2}};
  std::string container_;
};

TEST_F(ExecProberTest, ExitZeroSucceedsWithTheOutput) {
  runtime_.setExecResult(container_, {"cat", "/tmp/healthy"}, {.stdout_data = "ok\n"});
  ProbeOutcome outcome = run({"cat", "/tmp/healthy"});
  EXPECT_EQ(outcome.result, Outcome::kSuccess);
  EXPECT_EQ(outcome.output, "ok\n");
  ASSERT_EQ(runtime_.callCount("ExecSync"), 1);
  const auto calls = runtime_.calls();
  EXPECT_EQ(calls.back().target, container_);
  EXPECT_THAT(calls.back().cmd, ::testing::ElementsAre("cat", "/tmp/healthy"));
}

TEST_F(ExecProberTest, NonZeroExitFailsWithStdoutThenStderr) {
  runtime_.setExecResult(container_, {"sh", "-c", "check"},
                         {.stdout_data = "out\n", .stderr_data = "err\n", .exit_code = 3});
  ProbeOutcome outcome = run({"sh", "-c", "check"});
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, "out\nerr\n");
}

TEST_F(ExecProberTest, OutputIsCappedAtTenKibibytes) {
  runtime_.setExecResult(container_, {"yes"},
                         {.stdout_data = std::string(8000, 'o'),
                          .stderr_data = std::string(8000, 'e'),
                          .exit_code = 1});
  ProbeOutcome outcome = run({"yes"});
  EXPECT_EQ(outcome.output.size(), 10u * 1024);
  EXPECT_EQ(outcome.output, std::string(8000, 'o') + std::string(10 * 1024 - 8000, 'e'));
}

TEST_F(ExecProberTest, TimeoutIsAFailureNamingTheCommand) {
  runtime_.setExecResult(container_, {"sleep", "5"}, {.timed_out = true});
  ProbeOutcome outcome = run({"sleep", "5"}, absl::Seconds(1));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, "command \"sleep 5\" timed out");
  EXPECT_EQ(runtime_.calls().back().cmd.size(), 2u);
}

TEST_F(ExecProberTest, QuotesInTheCommandAreEscapedAsGoQuotesThem) {
  runtime_.setExecResult(container_, {"sh", "-c", "echo \"hi\""}, {.timed_out = true});
  EXPECT_EQ(run({"sh", "-c", "echo \"hi\""}).output, "command \"sh -c echo \\\"hi\\\"\" timed out");
}

TEST_F(ExecProberTest, RuntimeErrorsFailWithTheirText) {
  ASSERT_TRUE(runtime_.exitContainer(container_, 0).ok());
  ProbeOutcome outcome = run({"true"});
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_THAT(outcome.output, ::testing::StartsWith("ExecSync: container"));
  EXPECT_THAT(outcome.output, ::testing::HasSubstr("not running"));
}

TEST_F(ExecProberTest, NetworkTargetIsAFailureNotACrash) {
  std::optional<ProbeOutcome> outcome;
  prober_.probe(TcpTarget{"127.0.0.1", 80}, absl::Seconds(1),
                [&](ProbeOutcome o) { outcome = std::move(o); });
  EXPECT_FALSE(outcome.has_value());
  ASSERT_TRUE(runUntil(io_, [&] { return outcome.has_value(); }));
  EXPECT_EQ(outcome->result, Outcome::kFailure);
  EXPECT_EQ(outcome->output, "tcp and http probes need a NetworkProber, not the ExecProber");
}

TEST_F(ExecProberTest, CompositeProberSendsExecToExecAndTheRestToTheNetwork) {
  NetworkProber network(io_);
  CompositeProber prober(network, prober_);
  runtime_.setExecResult(container_, {"check"}, {.stdout_data = "via exec"});
  std::optional<ProbeOutcome> exec;
  std::optional<ProbeOutcome> tcp;
  prober.probe(ExecTarget{container_, {"check"}}, absl::Seconds(1),
               [&](ProbeOutcome o) { exec = std::move(o); });
  prober.probe(TcpTarget{"not-an-ip", 80}, absl::Seconds(1),
               [&](ProbeOutcome o) { tcp = std::move(o); });
  ASSERT_TRUE(runUntil(io_, [&] { return exec.has_value() && tcp.has_value(); }));
  EXPECT_EQ(exec->output, "via exec");
  EXPECT_THAT(tcp->output, ::testing::HasSubstr("is not an IP address"));
}

// ExecSync that blocks until released, counting how many run at once.
class BlockingExecRuntime final : public cri::RuntimeClient {
 public:
  void release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }
  int running() {
    absl::MutexLock lock(&mu_);
    return running_;
  }
  int mostAtOnce() {
    absl::MutexLock lock(&mu_);
    return most_;
  }

  absl::StatusOr<v1::ExecSyncResponse> execSync(absl::string_view, const std::vector<std::string>&,
                                                absl::Duration, const cri::CallOptions&) override {
    absl::MutexLock lock(&mu_);
    ++running_;
    most_ = std::max(most_, running_);
    // Bounded so that a broken test cannot hang forever.
    mu_.AwaitWithTimeout(absl::Condition(&released_), absl::Seconds(20));
    --running_;
    v1::ExecSyncResponse response;
    response.set_stdout("done");
    return response;
  }

  // Nothing else is used by the ExecProber.
  absl::StatusOr<v1::VersionResponse> version(absl::string_view, const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<std::string> runPodSandbox(const v1::PodSandboxConfig&, absl::string_view,
                                            const cri::CallOptions&) override {
    return unused();
  }
  absl::Status stopPodSandbox(absl::string_view, const cri::CallOptions&) override {
    return unused();
  }
  absl::Status removePodSandbox(absl::string_view, const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<v1::PodSandboxStatusResponse> podSandboxStatus(absl::string_view, bool,
                                                                const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<std::vector<v1::PodSandbox>> listPodSandbox(const v1::PodSandboxFilter&,
                                                             const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<std::string> createContainer(absl::string_view, const v1::ContainerConfig&,
                                              const v1::PodSandboxConfig&,
                                              const cri::CallOptions&) override {
    return unused();
  }
  absl::Status startContainer(absl::string_view, const cri::CallOptions&) override {
    return unused();
  }
  absl::Status stopContainer(absl::string_view, int64_t, const cri::CallOptions&) override {
    return unused();
  }
  absl::Status removeContainer(absl::string_view, const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<std::vector<v1::Container>> listContainers(const v1::ContainerFilter&,
                                                            const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<v1::ContainerStatusResponse> containerStatus(absl::string_view, bool,
                                                              const cri::CallOptions&) override {
    return unused();
  }
  absl::Status updateContainerResources(absl::string_view, const v1::LinuxContainerResources&,
                                        const cri::CallOptions&) override {
    return unused();
  }
  absl::Status reopenContainerLog(absl::string_view, const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<v1::ContainerStats> containerStats(absl::string_view,
                                                    const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<std::vector<v1::ContainerStats>> listContainerStats(
      const v1::ContainerStatsFilter&, const cri::CallOptions&) override {
    return unused();
  }
  absl::StatusOr<v1::StatusResponse> status(bool, const cri::CallOptions&) override {
    return unused();
  }

 private:
  static absl::Status unused() { return absl::UnimplementedError("not used by exec probes"); }

  absl::Mutex mu_;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  int most_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(ExecProberConcurrencyTest, EightSlowProbesOnFourThreadsNeverStallTheLoop) {
  BlockingExecRuntime runtime;
  asio::io_context io;
  ExecProber prober(runtime, io, {.threads = 4});
  int done = 0;
  for (int i = 0; i < 8; ++i) {
    prober.probe(ExecTarget{"c", {"slow"}}, absl::Seconds(5), [&](ProbeOutcome o) {
      EXPECT_EQ(o.result, Outcome::kSuccess);
      EXPECT_EQ(o.output, "done");
      ++done;
    });
  }
  // A 10 ms timer on the loop: it must keep firing while four ExecSyncs are blocked.
  int ticks = 0;
  asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::milliseconds(10));
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) {
        ++ticks;
        arm();
      }
    });
  };
  arm();
  ASSERT_TRUE(runUntil(io, [&] { return runtime.running() == 4; }));
  const int ticks_before = ticks;
  ASSERT_TRUE(runUntil(io, [&] { return ticks >= ticks_before + 5; }))
      << "the loop stalled while exec probes ran";
  EXPECT_EQ(done, 0);
  EXPECT_EQ(runtime.running(), 4) << "more ExecSyncs than threads ran at once";
  runtime.release();
  ASSERT_TRUE(runUntil(io, [&] { return done == 8; }));
  EXPECT_EQ(runtime.mostAtOnce(), 4);
  tick.cancel();
}

}  // namespace
}  // namespace kubenode::probes
