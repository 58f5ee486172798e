#include "agent/pods/backoff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace kubenode::agent::pods {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// A container that crashes right after each start: the worker restarts it as soon as the
// back-off allows. Returns the delays in force after each restart, in seconds.
std::vector<int64_t> crashLoop(BackOff& b, const std::string& key, int restarts,
                               absl::Duration runFor) {
  std::vector<int64_t> delays;
  absl::Time now = kT0;
  absl::Time finished = kT0;
  for (int i = 0; i < restarts; ++i) {
    // Not startable before the back-off since the exit has passed.
    now = finished + b.remainingSince(key, finished, finished);
    EXPECT_FALSE(b.isInBackOffSince(key, finished, now)) << "restart " << i;
    b.next(key, finished, now);  // restart
    delays.push_back(absl::ToInt64Seconds(b.get(key)));
    finished = now + runFor;  // it exits again
    EXPECT_TRUE(b.isInBackOffSince(key, finished, finished)) << "restart " << i;
  }
  return delays;
}

TEST(BackOff, CrashLoopDoublesFromTenSecondsToFiveMinutes) {
  BackOff b;
  EXPECT_THAT(crashLoop(b, "k", 8, absl::Seconds(1)),
              ElementsAre(10, 20, 40, 80, 160, 300, 300, 300));
}

TEST(BackOff, RemainingCountsFromTheExit) {
  BackOff b;
  b.next("k", kT0, kT0);
  b.next("k", kT0 + absl::Seconds(11), kT0 + absl::Seconds(11));  // 20 s now
  absl::Time finished = kT0 + absl::Seconds(15);
  EXPECT_EQ(b.remainingSince("k", finished, finished + absl::Seconds(5)), absl::Seconds(15));
  EXPECT_TRUE(b.isInBackOffSince("k", finished, finished + absl::Seconds(19)));
  EXPECT_FALSE(b.isInBackOffSince("k", finished, finished + absl::Seconds(20)));
  EXPECT_EQ(b.remainingSince("k", finished, finished + absl::Seconds(25)), absl::ZeroDuration());
}

TEST(BackOff, TenMinutesOfRunningResetsTheLoop) {
  BackOff b;
  crashLoop(b, "k", 6, absl::Seconds(1));
  ASSERT_EQ(b.get("k"), absl::Seconds(300));
  absl::Time lastStart = kT0 + absl::Minutes(10);  // soon after the loop above
  b.next("k", lastStart, lastStart);               // stays at the cap
  ASSERT_EQ(b.get("k"), absl::Seconds(300));

  // Ran 9m59s: still a crash loop, the full 5 minutes apply.
  absl::Time early = lastStart + absl::Seconds(599);
  EXPECT_TRUE(b.isInBackOffSince("k", early, early + absl::Seconds(299)));

  // Ran just over 10 minutes (twice the cap): no back-off, and the next restart is
  // back at 10 s.
  absl::Time finished = lastStart + absl::Seconds(601);
  EXPECT_FALSE(b.isInBackOffSince("k", finished, finished));
  EXPECT_EQ(b.remainingSince("k", finished, finished), absl::ZeroDuration());
  b.next("k", finished, finished);
  EXPECT_EQ(b.get("k"), absl::Seconds(10));
}

TEST(BackOff, ImagePullBackOffSinceLastFailure) {
  BackOff b;
  EXPECT_FALSE(b.isInBackOff("img", kT0));
  EXPECT_EQ(b.remaining("img", kT0), absl::ZeroDuration());
  b.next("img", kT0);                                         // pull failed: ErrImagePull
  EXPECT_TRUE(b.isInBackOff("img", kT0 + absl::Seconds(9)));  // ImagePullBackOff
  EXPECT_EQ(b.remaining("img", kT0 + absl::Seconds(4)), absl::Seconds(6));
  EXPECT_FALSE(b.isInBackOff("img", kT0 + absl::Seconds(10)));
  b.next("img", kT0 + absl::Seconds(10));  // failed again
  EXPECT_TRUE(b.isInBackOff("img", kT0 + absl::Seconds(29)));
  EXPECT_FALSE(b.isInBackOff("img", kT0 + absl::Seconds(30)));
}

TEST(BackOff, KeysAreIndependentAndResettable) {
  BackOff b;
  b.next("a", kT0);
  b.next("a", kT0);
  b.next("b", kT0);
  EXPECT_EQ(b.get("a"), absl::Seconds(20));
  EXPECT_EQ(b.get("b"), absl::Seconds(10));
  EXPECT_EQ(b.get("c"), absl::ZeroDuration());
  b.reset("a");
  EXPECT_EQ(b.get("a"), absl::ZeroDuration());
  EXPECT_FALSE(b.isInBackOff("a", kT0));
  EXPECT_TRUE(b.isInBackOff("b", kT0));
}

TEST(BackOff, GcDropsEntriesIdleForTwiceTheCap) {
  BackOff b;
  b.next("old", kT0);
  b.next("new", kT0 + absl::Minutes(5));
  EXPECT_EQ(b.gc(kT0 + absl::Minutes(10)), 0u);  // exactly 2x: kept
  EXPECT_EQ(b.gc(kT0 + absl::Minutes(10) + absl::Seconds(1)), 1u);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.get("old"), absl::ZeroDuration());
  EXPECT_EQ(b.get("new"), absl::Seconds(10));
}

TEST(BackOff, CustomDurations) {
  BackOff b(absl::Seconds(1), absl::Seconds(5));
  std::vector<int64_t> delays;
  for (int i = 0; i < 5; ++i) {
    b.next("k", kT0);
    delays.push_back(absl::ToInt64Seconds(b.get("k")));
  }
  EXPECT_THAT(delays, ElementsAre(1, 2, 4, 5, 5));
}

TEST(BackOffKeys, AsTheKubeletKeysThem) {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "1234-abcd";
  api::Container c{.name = "httpd", .image = "busybox:1.36"};
  EXPECT_EQ(containerBackOffKey(pod, c, 0xbeef), "web_default_1234-abcd_httpd_beef");
  EXPECT_NE(containerBackOffKey(pod, c, 0xbeef), containerBackOffKey(pod, c, 0xbeee));
  EXPECT_EQ(imagePullBackOffKey(pod, c), "1234-abcd_busybox:1.36");
}

}  // namespace
}  // namespace kubenode::agent::pods
