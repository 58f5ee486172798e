// FieldPath and FieldError: errors about one field of an object, printed exactly
// as Kubernetes prints them (k8s.io/apimachinery/pkg/util/validation/field), so
// users see the messages they already know from kubectl.
//
//   FieldPath p = FieldPath("spec").child("containers").index(0).child("image");
//   FieldError e = FieldError::required(p);
//   e.toString();  // "spec.containers[0].image: Required value"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kubenode::api {

class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string_view root) : text_(root) {}
  FieldPath child(std::string_view name) const;
  FieldPath index(size_t i) const;
  // A map key: metadata.labels[app].
  FieldPath key(std::string_view k) const;
  const std::string& toString() const { return text_; }
  bool empty() const { return text_.empty(); }
  friend bool operator==(const FieldPath&, const FieldPath&) = default;

 private:
  std::string text_{};
};

enum class ErrorType {
  kNotFound,
  kRequired,
  kDuplicate,
  kInvalid,
  kNotSupported,
  kForbidden,
  kTooLong,
  kTooMany,
  kInternal,
};

// The offending value as Go's %v/%q would print it: strings quoted, numbers and
// booleans bare; `raw` is printed as is (e.g. a JSON fragment).
struct BadValue {
  struct Raw {
    std::string text;
    friend bool operator==(const Raw&, const Raw&) = default;
  };
  std::variant<std::monostate, std::string, int64_t, bool, Raw> value{};
  friend bool operator==(const BadValue&, const BadValue&) = default;
};

struct FieldError {
  ErrorType type = ErrorType::kInvalid;
  FieldPath path{};
  BadValue badValue{};
  std::string detail{};

  static FieldError required(FieldPath p, std::string detail = "");
  static FieldError invalid(FieldPath p, BadValue v, std::string detail);
  static FieldError duplicate(FieldPath p, BadValue v);
  static FieldError notFound(FieldPath p, BadValue v);
  static FieldError forbidden(FieldPath p, std::string detail);
  static FieldError tooLong(FieldPath p, std::string detail);
  // `supported` is printed in the given order, each quoted.
  static FieldError notSupported(FieldPath p, BadValue v,
                                 const std::vector<std::string>& supported);

  // "<path>: <Type>[: <value>][: <detail>]".
  std::string toString() const;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

using ErrorList = std::vector<FieldError>;

// Go's %q for a string: double quotes, backslash escapes for quotes, backslashes
// and control characters.
std::string quoteGo(std::string_view s);
// One error as is; several as "[e1, e2]" like apimachinery's aggregate.
std::string joinErrors(const ErrorList& errors);

inline BadValue badString(std::string_view s) {
  return BadValue{std::string(s)};
}
inline BadValue badInt(int64_t v) {
  return BadValue{v};
}

}  // namespace kubenode::api
