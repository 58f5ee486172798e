#include "api/field_error.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "api/absl_compat.h"

namespace kubenode::api {

FieldPath FieldPath::child(std::string_view name) const {
  FieldPath p;
  p.text_ = text_.empty() ? std::string(name) : absl::StrCat(text_, ".", sv(name));
  return p;
}

FieldPath FieldPath::index(size_t i) const {
  FieldPath p;
  p.text_ = absl::StrCat(text_, "[", i, "]");
  return p;
}

FieldPath FieldPath::key(std::string_view k) const {
  FieldPath p;
  p.text_ = absl::StrCat(text_, "[", sv(k), "]");
  return p;
}

FieldError FieldError::required(FieldPath p, std::string detail) {
  return FieldError{ErrorType::kRequired, std::move(p), {}, std::move(detail)};
}
FieldError FieldError::invalid(FieldPath p, BadValue v, std::string detail) {
  return FieldError{ErrorType::kInvalid, std::move(p), std::move(v), std::move(detail)};
}
FieldError FieldError::duplicate(FieldPath p, BadValue v) {
  return FieldError{ErrorType::kDuplicate, std::move(p), std::move(v), ""};
}
FieldError FieldError::notFound(FieldPath p, BadValue v) {
  return FieldError{ErrorType::kNotFound, std::move(p), std::move(v), ""};
}
FieldError FieldError::forbidden(FieldPath p, std::string detail) {
  return FieldError{ErrorType::kForbidden, std::move(p), {}, std::move(detail)};
}
FieldError FieldError::tooLong(FieldPath p, std::string detail) {
  return FieldError{ErrorType::kTooLong, std::move(p), {}, std::move(detail)};
}
FieldError FieldError::notSupported(FieldPath p, BadValue v,
                                    const std::vector<std::string>& supported) {
  std::vector<std::string> quoted;
  quoted.reserve(supported.size());
  for (const std::string& s : supported)
    quoted.push_back(quoteGo(s));
  std::string detail;
  if (!quoted.empty())
    detail = absl::StrCat("supported values: ", absl::StrJoin(quoted, ", "));
  return FieldError{ErrorType::kNotSupported, std::move(p), std::move(v), std::move(detail)};
}

namespace {

std::string_view typeText(ErrorType t) {
  switch (t) {
    case ErrorType::kNotFound:
      return "Not found";
    case ErrorType::kRequired:
      return "Required value";
    case ErrorType::kDuplicate:
      return "Duplicate value";
    case ErrorType::kInvalid:
      return "Invalid value";
    case ErrorType::kNotSupported:
      return "Unsupported value";
    case ErrorType::kForbidden:
      return "Forbidden";
    case ErrorType::kTooLong:
      return "Too long";
    case ErrorType::kTooMany:
      return "Too many";
    case ErrorType::kInternal:
      return "Internal error";
  }
  return "Invalid value";
}

struct ValuePrinter {
  std::string operator()(std::monostate) const { return ""; }
  std::string operator()(const std::string& s) const { return quoteGo(s); }
  std::string operator()(int64_t v) const { return absl::StrCat(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const BadValue::Raw& r) const { return r.text; }
};

}  // namespace

std::string FieldError::toString() const {
  std::string body(typeText(type));
  // Like apimachinery, these types never print the value.
  bool printsValue = type != ErrorType::kRequired && type != ErrorType::kForbidden &&
                     type != ErrorType::kTooLong && type != ErrorType::kInternal;
  if (printsValue && !std::holds_alternative<std::monostate>(badValue.value)) {
    absl::StrAppend(&body, ": ", std::visit(ValuePrinter{}, badValue.value));
  }
  if (!detail.empty())
    absl::StrAppend(&body, ": ", detail);
  if (path.empty())
    return body;
  return absl::StrCat(path.toString(), ": ", body);
}

std::string quoteGo(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += absl::StrFormat("\\x%02x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

std::string joinErrors(const ErrorList& errors) {
  if (errors.size() == 1)
    return errors[0].toString();
  std::vector<std::string> parts;
  for (const FieldError& e : errors)
    parts.push_back(e.toString());
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

}  // namespace kubenode::api
