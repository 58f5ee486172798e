#include "api/time.h"

#include "absl/strings/str_cat.h"

namespace kubenode::api {
namespace {

absl::StatusOr<absl::Time> parseRfc3339(std::string_view text) {
  absl::Time t;
  std::string error;
  // RFC3339_full accepts optional fractional seconds and any offset, which is
  // what Go's time.RFC3339 parser accepts too.
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an RFC 3339 time such as \"2024-05-01T10:00:00Z\": ", error));
  }
  return t;
}

}  // namespace

absl::StatusOr<Time> Time::parse(std::string_view text) {
  absl::StatusOr<absl::Time> t = parseRfc3339(text);
  if (!t.ok())
    return t.status();
  return Time(*t);
}

std::string Time::toString() const {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time_, absl::UTCTimeZone());
}

absl::StatusOr<MicroTime> MicroTime::parse(std::string_view text) {
  absl::StatusOr<absl::Time> t = parseRfc3339(text);
  if (!t.ok())
    return t.status();
  return MicroTime(*t);
}

std::string MicroTime::toString() const {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", time_, absl::UTCTimeZone());
}

}  // namespace kubenode::api
