// Time and MicroTime: the two timestamp types of the Kubernetes API.
//
// Time (metav1.Time) travels as RFC 3339 with second precision
// ("2024-05-01T10:00:00Z"); MicroTime (metav1.MicroTime, used by Event.eventTime
// and Lease times) keeps microseconds ("2024-05-01T10:00:00.123456Z"). Both parse
// any RFC 3339 offset and print UTC. Decoding truncates to the type's precision so
// that decode -> encode -> decode gives an equal value.
//
//   absl::StatusOr<Time> t = Time::parse("2024-05-01T12:00:00+02:00");
//   t->toString();  // "2024-05-01T10:00:00Z"
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubenode::api {

// absl::Time has < and == but no <=>.
inline std::strong_ordering compareTimes(absl::Time a, absl::Time b) {
  if (a < b)
    return std::strong_ordering::less;
  if (b < a)
    return std::strong_ordering::greater;
  return std::strong_ordering::equal;
}

class Time {
 public:
  Time() = default;
  explicit Time(absl::Time t) : time_(absl::FromUnixSeconds(absl::ToUnixSeconds(t))) {}
  static absl::StatusOr<Time> parse(std::string_view text);
  std::string toString() const;
  absl::Time time() const { return time_; }
  friend bool operator==(const Time& a, const Time& b) { return a.time_ == b.time_; }
  friend std::strong_ordering operator<=>(const Time& a, const Time& b) {
    return compareTimes(a.time_, b.time_);
  }

 private:
  absl::Time time_ = absl::UnixEpoch();
};

class MicroTime {
 public:
  MicroTime() = default;
  explicit MicroTime(absl::Time t) : time_(absl::FromUnixMicros(absl::ToUnixMicros(t))) {}
  static absl::StatusOr<MicroTime> parse(std::string_view text);
  std::string toString() const;
  absl::Time time() const { return time_; }
  friend bool operator==(const MicroTime& a, const MicroTime& b) { return a.time_ == b.time_; }
  friend std::strong_ordering operator<=>(const MicroTime& a, const MicroTime& b) {
    return compareTimes(a.time_, b.time_);
  }

 private:
  absl::Time time_ = absl::UnixEpoch();
};

}  // namespace kubenode::api
