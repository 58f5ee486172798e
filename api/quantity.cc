#include "api/quantity.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "api/absl_compat.h"
#include "boost/multiprecision/cpp_int.hpp"

namespace kubenode::api {
namespace {

using BigInt = boost::multiprecision::cpp_int;

constexpr __int128 kNanosPerUnit = 1'000'000'000;
// apimachinery caps parsed magnitudes at 2^63-1 units.
constexpr __int128 kMaxNanos =
    static_cast<__int128>(std::numeric_limits<int64_t>::max()) * kNanosPerUnit;

struct Suffix {
  std::string_view text;
  int exp10;
  int exp2;
  Quantity::Format format;
};

constexpr Suffix kSuffixes[] = {
    {"Ki", 0, 10, Quantity::Format::kBinarySI}, {"Mi", 0, 20, Quantity::Format::kBinarySI},
    {"Gi", 0, 30, Quantity::Format::kBinarySI}, {"Ti", 0, 40, Quantity::Format::kBinarySI},
    {"Pi", 0, 50, Quantity::Format::kBinarySI}, {"Ei", 0, 60, Quantity::Format::kBinarySI},
    {"n", -9, 0, Quantity::Format::kDecimalSI}, {"u", -6, 0, Quantity::Format::kDecimalSI},
    {"m", -3, 0, Quantity::Format::kDecimalSI}, {"", 0, 0, Quantity::Format::kDecimalSI},
    {"k", 3, 0, Quantity::Format::kDecimalSI},  {"M", 6, 0, Quantity::Format::kDecimalSI},
    {"G", 9, 0, Quantity::Format::kDecimalSI},  {"T", 12, 0, Quantity::Format::kDecimalSI},
    {"P", 15, 0, Quantity::Format::kDecimalSI}, {"E", 18, 0, Quantity::Format::kDecimalSI},
};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

std::string int128ToString(__int128 v) {
  if (v == 0)
    return "0";
  bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : v;
  std::string out;
  while (u > 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (negative)
    out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

absl::Status invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("quantity \"", sv(text), "\" is invalid: ", sv(why),
                   " (expected a number with an optional suffix, e.g. 100m, 64Mi, 1.5Gi, 1e3)"));
}

// Rounds |num| / |den| up (away from zero) for non-negative operands.
BigInt divideRoundingUp(const BigInt& num, const BigInt& den) {
  BigInt q = num / den;
  if (q * den != num)
    q += 1;
  return q;
}

}  // namespace

absl::StatusOr<Quantity> Quantity::parse(std::string_view text) {
  if (text.empty())
    return invalid(text, "it is empty");
  // Real quantities are short; the bound keeps the arithmetic below cheap.
  if (text.size() > 128)
    return invalid(text.substr(0, 32), "it is longer than 128 characters");
  size_t pos = 0;
  bool negative = false;
  if (text[pos] == '+' || text[pos] == '-') {
    negative = text[pos] == '-';
    ++pos;
  }
  size_t intStart = pos;
  while (pos < text.size() && isDigit(text[pos]))
    ++pos;
  std::string_view intDigits = text.substr(intStart, pos - intStart);
  std::string_view fracDigits;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t fracStart = pos;
    while (pos < text.size() && isDigit(text[pos]))
      ++pos;
    fracDigits = text.substr(fracStart, pos - fracStart);
  }
  if (intDigits.empty() && fracDigits.empty())
    return invalid(text, "it does not start with a number");
  std::string_view suffixText = text.substr(pos);

  int exp10 = 0;
  int exp2 = 0;
  Format format = Format::kDecimalSI;
  bool found = false;
  for (const Suffix& s : kSuffixes) {
    if (s.text == suffixText) {
      exp10 = s.exp10;
      exp2 = s.exp2;
      format = s.format;
      found = true;
      break;
    }
  }
  if (!found) {
    // A decimal exponent: e or E followed by a signed integer ("E" alone is exa).
    if (suffixText.size() >= 2 && (suffixText[0] == 'e' || suffixText[0] == 'E')) {
      std::string_view exp = suffixText.substr(1);
      bool expNegative = false;
      if (exp[0] == '+' || exp[0] == '-') {
        expNegative = exp[0] == '-';
        exp.remove_prefix(1);
      }
      if (exp.empty() || exp.size() > 9 || !std::all_of(exp.begin(), exp.end(), isDigit)) {
        return invalid(text,
                       absl::StrCat("the exponent \"", sv(suffixText), "\" is not an integer"));
      }
      int e = 0;
      for (char c : exp)
        e = e * 10 + (c - '0');
      exp10 = expNegative ? -e : e;
      format = Format::kDecimalExponent;
    } else {
      return invalid(text, absl::StrCat("unknown suffix \"", sv(suffixText), "\""));
    }
  }

  // value = digits * 10^scale * 2^exp2, digits without leading zeros.
  std::string digits = absl::StrCat(sv(intDigits), sv(fracDigits));
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  Quantity q;
  q.format_ = format;
  if (digits.empty())
    return q;  // zero, whatever the suffix
  int64_t scale = static_cast<int64_t>(exp10) - static_cast<int64_t>(fracDigits.size()) + 9;
  int64_t order = static_cast<int64_t>(digits.size()) + scale;  // decimal digits of nanos
  __int128 nanos;
  if (order > 40) {
    nanos = kMaxNanos;  // certainly above the cap, even before 2^exp2
  } else if (order + 19 < 0) {
    nanos = 1;  // below one nano-unit even after 2^60: rounds up to 1n
  } else {
    BigInt num(digits);
    num <<= exp2;
    BigInt den = 1;
    if (scale >= 0) {
      num *= boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(scale));
    } else {
      den = boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(-scale));
    }
    BigInt value = divideRoundingUp(num, den);
    if (value > BigInt(kMaxNanos)) {
      nanos = kMaxNanos;
    } else {
      nanos = 0;
      // cpp_int -> __int128 through its decimal digits (values here are < 10^28).
      for (char c : value.str())
        nanos = nanos * 10 + (c - '0');
    }
  }
  q.nanos_ = negative ? -nanos : nanos;
  return q;
}

Quantity Quantity::fromInt(int64_t value, Format format) {
  Quantity q;
  q.nanos_ = static_cast<__int128>(value) * kNanosPerUnit;
  q.format_ = format;
  return q;
}

Quantity Quantity::fromMilli(int64_t milli, Format format) {
  Quantity q;
  q.nanos_ = static_cast<__int128>(milli) * 1'000'000;
  q.format_ = format;
  return q;
}

namespace {
int64_t scaledRoundingUp(__int128 nanos, __int128 per) {
  __int128 q = nanos / per;
  if (q * per != nanos)
    q += nanos > 0 ? 1 : -1;
  return static_cast<int64_t>(q);
}
}  // namespace

int64_t Quantity::value() const {
  return scaledRoundingUp(nanos_, kNanosPerUnit);
}

int64_t Quantity::milliValue() const {
  // 2^63-1 units in milli overflows int64; saturate as a caller comparing would expect.
  __int128 milli = nanos_ / 1'000'000;
  if (milli * 1'000'000 != nanos_)
    milli += nanos_ > 0 ? 1 : -1;
  if (milli > std::numeric_limits<int64_t>::max())
    return std::numeric_limits<int64_t>::max();
  if (milli < std::numeric_limits<int64_t>::min())
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(milli);
}

std::string Quantity::toString() const {
  if (nanos_ == 0)
    return "0";
  bool negative = nanos_ < 0;
  __int128 magnitude = negative ? -nanos_ : nanos_;
  std::string sign = negative ? "-" : "";

  if (format_ == Format::kBinarySI && magnitude >= 1024 * kNanosPerUnit &&
      magnitude % kNanosPerUnit == 0) {
    static constexpr std::string_view kBinary[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    __int128 units = magnitude / kNanosPerUnit;
    int power = 0;
    while (power < 6 && units % 1024 == 0) {
      units /= 1024;
      ++power;
    }
    return absl::StrCat(sign, int128ToString(units), sv(kBinary[power]));
  }

  // Decimal: mantissa * 10^exp with exp a multiple of 3 and as large as possible.
  __int128 mantissa = magnitude;
  int exp = -9;
  while (exp < 18 && mantissa % 10 == 0) {
    mantissa /= 10;
    ++exp;
  }
  while (((exp % 3) + 3) % 3 != 0) {
    mantissa *= 10;
    --exp;
  }
  std::string suffix;
  if (format_ == Format::kDecimalExponent) {
    if (exp != 0)
      suffix = absl::StrCat("e", exp);
  } else {
    static constexpr std::string_view kDecimal[] = {"n", "u", "m", "",  "k",
                                                    "M", "G", "T", "P", "E"};
    suffix = std::string(kDecimal[(exp + 9) / 3]);
  }
  return absl::StrCat(sign, int128ToString(mantissa), suffix);
}

}  // namespace kubenode::api
