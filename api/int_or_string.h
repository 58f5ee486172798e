// IntOrString: a field that holds either a number or a name, as a Service's
// targetPort (8080 or "http") or a probe's httpGet.port.
//
//   IntOrString port = IntOrString::fromString("http");
//   if (port.isString()) lookUpNamedPort(port.str());
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace kubenode::api {

class IntOrString {
 public:
  IntOrString() = default;
  static IntOrString fromInt(int32_t v) { return IntOrString(Value(v)); }
  static IntOrString fromString(std::string s) { return IntOrString(Value(std::move(s))); }

  bool isInt() const { return std::holds_alternative<int32_t>(value_); }
  bool isString() const { return !isInt(); }
  int32_t intValue() const { return isInt() ? std::get<int32_t>(value_) : 0; }
  const std::string& str() const {
    static const std::string kEmpty;
    return isString() ? std::get<std::string>(value_) : kEmpty;
  }
  // The zero value (int 0) is what Go's omitempty treats as empty.
  bool isZero() const { return isInt() && intValue() == 0; }
  std::string toString() const { return isInt() ? std::to_string(intValue()) : str(); }

  friend bool operator==(const IntOrString&, const IntOrString&) = default;

 private:
  using Value = std::variant<int32_t, std::string>;
  explicit IntOrString(Value v) : value_(std::move(v)) {}
  Value value_ = int32_t{0};
};

}  // namespace kubenode::api
