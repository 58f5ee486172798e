#include "agent/runtime_health.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cri/fake_runtime_service.h"

namespace kubenode::agent {
namespace {

using ::testing::HasSubstr;

constexpr char kEndpoint[] = "unix:///run/containerd/containerd.sock";

TEST(JudgeRuntimeHealth, FollowsTheLastAnswer) {
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const absl::Duration threshold = absl::Seconds(10);
  struct Case {
    std::string name;
    RuntimeHealthRecord record;
    absl::Time now;
    bool healthy;
    std::string message;
  };
  const Case cases[] = {
      {"never checked", {}, t0, false, "not checked yet"},
      {"starting", {.started = t0}, t0 + absl::Seconds(1), false, "waiting for its first answer"},
      {"never answered",
       {.started = t0, .lastError = "Status: connection refused"},
       t0 + absl::Seconds(42),
       false,
       "has not answered for 42s: Status: connection refused"},
      {"answered recently",
       {.started = t0, .lastSuccess = t0 + absl::Seconds(5)},
       t0 + absl::Seconds(14),
       true,
       "ok"},
      {"silent too long",
       {.started = t0, .lastSuccess = t0 + absl::Seconds(5), .lastError = "Status: deadline"},
       t0 + absl::Seconds(65),
       false,
       "container runtime at unix:///run/containerd/containerd.sock has not answered for 60s: "
       "Status: deadline"},
  };
  for (const Case& c : cases) {
    RuntimeHealthVerdict v = judgeRuntimeHealth(c.record, kEndpoint, c.now, threshold);
    EXPECT_EQ(v.healthy, c.healthy) << c.name;
    EXPECT_THAT(v.message, HasSubstr(c.message)) << c.name;
  }
}

// Polls `done` for up to 5 s.
bool eventually(const std::function<bool()>& done) {
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done()) {
    if (absl::Now() > deadline)
      return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(RuntimeHealthMonitor, TurnsUnhealthyWhileStatusFailsAndRecovers) {
  cri::FakeRuntimeService runtime;
  RuntimeHealthMonitor monitor(runtime, kEndpoint,
                               {.period = absl::Milliseconds(10),
                                .callTimeout = absl::Milliseconds(100),
                                .threshold = absl::Milliseconds(50)});
  monitor.start();
  ASSERT_TRUE(eventually([&] { return monitor.verdict(absl::Now()).healthy; }));

  runtime.failNext("Status", absl::UnavailableError("Status: connection refused"), 1000000);
  // Unhealthy because of the failures (a loaded machine can also delay a poll past the
  // threshold, which is unhealthy too, but says nothing about the failure).
  ASSERT_TRUE(eventually([&] {
    return !monitor.verdict(absl::Now()).healthy && !monitor.record().lastError.empty();
  }));
  EXPECT_THAT(monitor.verdict(absl::Now()).message, HasSubstr("has not answered for"));
  EXPECT_THAT(monitor.verdict(absl::Now()).message, HasSubstr("connection refused"));

  runtime.clearInjectedErrors();
  ASSERT_TRUE(eventually([&] { return monitor.verdict(absl::Now()).healthy; }));
}

}  // namespace
}  // namespace kubenode::agent
