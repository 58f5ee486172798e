// Quantity: the exact fixed-point number Kubernetes uses for resources
// (resource.Quantity): "100m" CPU, "64Mi" memory, "1.5Gi", "1e3".
//
// Values are held as a count of nano-units (10^-9) in a 128-bit integer, so
// every value the API server can represent is exact: "1.5Gi" is 1610612736,
// never 1610612735.99. As in apimachinery, precision finer than 1n is rounded
// up (away from zero) and magnitudes above 2^63-1 are capped there.
//
//   absl::StatusOr<Quantity> q = Quantity::parse("1.5Gi");
//   q->value();      // 1610612736
//   q->toString();   // "1536Mi" (canonical form keeps the input's format)
//   Quantity::parse("500m")->milliValue();  // 500
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kubenode::api {

class Quantity {
 public:
  // How the quantity is written back; chosen by the suffix it was parsed with.
  enum class Format { kDecimalSI, kBinarySI, kDecimalExponent };

  Quantity() = default;

  // Parses the apimachinery grammar: <sign><digits>[.<digits>]<suffix> where the
  // suffix is a decimal SI prefix (n u m "" k M G T P E), a binary one (Ki..Ei) or
  // an exponent (e3, E-2). Returns kInvalidArgument naming what is wrong.
  static absl::StatusOr<Quantity> parse(std::string_view text);

  // Whole units, as Quantity.Value(): rounded up away from zero.
  static Quantity fromInt(int64_t value, Format format = Format::kDecimalSI);
  // Thousandths, as resource.NewMilliQuantity.
  static Quantity fromMilli(int64_t milli, Format format = Format::kDecimalSI);

  // Whole units, rounded up away from zero (Quantity.Value()).
  int64_t value() const;
  // Thousandths, rounded up away from zero (Quantity.MilliValue()).
  int64_t milliValue() const;
  bool isZero() const { return nanos_ == 0; }
  int sign() const { return nanos_ < 0 ? -1 : (nanos_ > 0 ? 1 : 0); }
  Format format() const { return format_; }

  // Canonical form as apimachinery serialises it: no fractional digits, the
  // largest suffix that loses nothing, binary suffixes only for whole multiples
  // of 1024 (otherwise decimal SI).
  std::string toString() const;

  // Compares values; the format does not take part ("1Ki" == "1024").
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.nanos_ == b.nanos_; }
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.nanos_ <=> b.nanos_;
  }

 private:
  __int128 nanos_ = 0;
  Format format_ = Format::kDecimalSI;
};

}  // namespace kubenode::api
