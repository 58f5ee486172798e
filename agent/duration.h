// Go-style durations ("300ms", "1m30s", "2h") as kubelet and kube-proxy flags and
// configuration files spell them (metav1.Duration), parsed exactly and printed in
// Go's canonical form so that `--help` shows defaults the way an operator knows them.
//
//   absl::StatusOr<std::chrono::nanoseconds> d = parseDuration("1m30s");  // 90 s
//   formatDuration(std::chrono::seconds(120));                            // "2m0s"
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kubenode::agent {

// Accepts an optional sign, then one or more <decimal number><unit> groups with units
// ns, us, µs, ms, s, m, h; "0" alone is zero. Fractions are exact to the nanosecond.
// Returns kInvalidArgument naming what was expected.
absl::StatusOr<std::chrono::nanoseconds> parseDuration(std::string_view text);

// Go's time.Duration.String(): "0s", "500ms", "1.5s", "2m0s", "1h0m0s".
std::string formatDuration(std::chrono::nanoseconds d);

}  // namespace kubenode::agent
