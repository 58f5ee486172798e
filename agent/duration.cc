#include "agent/duration.h"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

namespace kubenode::agent {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};

// Longest names first so that "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1},       {"us", 1000},      {"µs", 1000},         {"μs", 1000},
    {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000LL}, {"h", 3600000000000LL},
};

absl::Status invalid(std::string_view text) {
  return absl::InvalidArgumentError(
      fmt::format("invalid duration \"{}\": expected a number and a unit (ns, us, ms, s, m, h), "
                  "e.g. 300ms, 2m0s or 1h30m",
                  text));
}

}  // namespace

absl::StatusOr<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0")
    return std::chrono::nanoseconds(0);
  if (rest.empty())
    return invalid(text);

  // Accumulate in unsigned 128-bit-free arithmetic: every step is checked against the
  // int64 range of nanoseconds (about 292 years), as Go does.
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total = 0;
  while (!rest.empty()) {
    uint64_t whole = 0;
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      if (whole > (kMax - 9) / 10)
        return invalid(text);
      whole = whole * 10 + static_cast<uint64_t>(rest[digits] - '0');
      ++digits;
    }
    std::string_view fraction;
    size_t used = digits;
    if (used < rest.size() && rest[used] == '.') {
      size_t end = used + 1;
      while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9')
        ++end;
      fraction = rest.substr(used + 1, end - used - 1);
      used = end;
    }
    if (digits == 0 && fraction.empty())
      return invalid(text);
    rest.remove_prefix(used);

    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (rest.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr)
      return invalid(text);
    rest.remove_prefix(unit->name.size());

    const uint64_t scale = static_cast<uint64_t>(unit->nanos);
    if (whole > kMax / scale)
      return invalid(text);
    uint64_t value = whole * scale;
    // The fraction's digits beyond nanosecond precision are dropped, as Go does.
    uint64_t fractionScale = scale;
    for (char c : fraction) {
      fractionScale /= 10;
      if (fractionScale == 0)
        break;
      value += static_cast<uint64_t>(c - '0') * fractionScale;
    }
    if (value > kMax - total)
      return invalid(text);
    total += value;
  }
  const int64_t signedTotal = static_cast<int64_t>(total);
  return std::chrono::nanoseconds(negative ? -signedTotal : signedTotal);
}

std::string formatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0)
    return "0s";
  std::string sign;
  uint64_t u;
  if (ns < 0) {
    sign = "-";
    u = static_cast<uint64_t>(-(ns + 1)) + 1;
  } else {
    u = static_cast<uint64_t>(ns);
  }
  // Below one second Go picks the largest unit that keeps an integer part.
  auto fractional = [](uint64_t value, uint64_t unit, int digits) {
    std::string out = std::to_string(value / unit);
    uint64_t rem = value % unit;
    if (rem != 0) {
      std::string frac = std::to_string(rem);
      frac.insert(0, static_cast<size_t>(digits) - frac.size(), '0');
      while (!frac.empty() && frac.back() == '0')
        frac.pop_back();
      out += "." + frac;
    }
    return out;
  };
  if (u < 1000)
    return sign + std::to_string(u) + "ns";
  if (u < 1000000)
    return sign + fractional(u, 1000, 3) + "µs";
  if (u < 1000000000)
    return sign + fractional(u, 1000000, 6) + "ms";
  const uint64_t secondsNanos = u % 60000000000ULL;
  const uint64_t minutes = u / 60000000000ULL;
  std::string out = fractional(secondsNanos, 1000000000ULL, 9) + "s";
  if (minutes == 0)
    return sign + out;
  if (minutes < 60)
    return sign + std::to_string(minutes) + "m" + out;
  return sign + std::to_string(minutes / 60) + "h" + std::to_string(minutes % 60) + "m" + out;
}

}  // namespace kubenode::agent
