#include "agent/duration.h"

#include <gtest/gtest.h>

namespace kubenode::agent {
namespace {

using std::chrono::nanoseconds;

TEST(ParseDuration, AcceptsGoForms) {
  struct Case {
    const char* text;
    int64_t nanos;
  };
  const Case cases[] = {
      {"0", 0},
      {"0s", 0},
      {"300ms", 300'000'000},
      {"1.5s", 1'500'000'000},
      {"1m30s", 90'000'000'000},
      {"2h", 7'200'000'000'000},
      {"1h0m0s", 3'600'000'000'000},
      {"10us", 10'000},
      {"10µs", 10'000},
      {"7ns", 7},
      {".5s", 500'000'000},
      {"-1s", -1'000'000'000},
      {"1.0000000001s", 1'000'000'000},  // beyond nanoseconds is dropped, as Go
  };
  for (const Case& c : cases) {
    absl::StatusOr<nanoseconds> d = parseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(d->count(), c.nanos) << c.text;
  }
}

TEST(ParseDuration, RejectsGarbageWithAClearMessage) {
  for (const char* text : {"", "5", "s", "1x", "1.s.", "1s2", "--1s", "1 s", "99999999999h"}) {
    absl::StatusOr<nanoseconds> d = parseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(d.status().message()).find("expected a number and a unit"),
              std::string::npos);
  }
}

TEST(FormatDuration, PrintsAsGoDoes) {
  EXPECT_EQ(formatDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(formatDuration(std::chrono::milliseconds(500)), "500ms");
  EXPECT_EQ(formatDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatDuration(std::chrono::minutes(2)), "2m0s");
  EXPECT_EQ(formatDuration(std::chrono::hours(1)), "1h0m0s");
  EXPECT_EQ(formatDuration(std::chrono::seconds(5430)), "1h30m30s");
  EXPECT_EQ(formatDuration(nanoseconds(1500)), "1.5µs");
  EXPECT_EQ(formatDuration(-std::chrono::seconds(1)), "-1s");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (int64_t n : {1LL, 999LL, 1'000'001LL, 61'000'000'000LL, 90'061'500'000'000LL}) {
    absl::StatusOr<nanoseconds> back = parseDuration(formatDuration(nanoseconds(n)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->count(), n);
  }
}

}  // namespace
}  // namespace kubenode::agent
