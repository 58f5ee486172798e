// JSON codec for the object model, on nlohmann-json.
//
// Encoding follows Go's encoding/json with the API types' tags: a field with
// `omitempty` is left out when empty ("", 0, false, empty list/map, unset
// optional, a struct that encodes to {}); fields Kubernetes always writes
// (containerPort, a container's name, ready, restartCount, ...) are kept. Keys come
// out in the API's field order.
//
// Decoding never throws and never crashes: every problem becomes a FieldError
// with the field's path (`spec.containers[0].ports[0].containerPort: Invalid
// value: "abc": expected an integer`); unknown fields are not errors but
// warnings (`unknown field "spec.tolerations"`), as kubectl's warn mode.
//
//   absl::StatusOr<Decoded<Pod>> pod = decodeJson<Pod>(text);
//   if (!pod.ok()) return pod.status();       // kInvalidArgument, every error
//   for (auto& w : pod->warnings) log(w);
//   std::string out = encodeJson(pod->object);  // apiVersion/kind filled in
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/field_error.h"
#include "api/object.h"
#include "nlohmann/json.hpp"

namespace kubenode::api {

// Ordered, so encoded objects keep the API's field order (apiVersion, kind,
// metadata, spec, status) and warnings come in document order.
using Json = nlohmann::ordered_json;

template <class T>
struct Decoded {
  T object{};
  std::vector<std::string> warnings{};
};

// Decodes `value` into `out`, appending every error to `errors` and every unknown
// field to `warnings`. Checks apiVersion/kind when present. T is any type of
// `Object`.
template <class T>
void decodeValue(const Json& value, T& out, ErrorList& errors, std::vector<std::string>& warnings);

// The same with a Status: kInvalidArgument carrying every error, joined.
template <class T>
absl::StatusOr<Decoded<T>> fromJson(const Json& value);
template <class T>
absl::StatusOr<Decoded<T>> decodeJson(std::string_view text);

// Encodes; apiVersion/kind are set from the type when empty.
template <class T>
Json toJson(const T& object);
Json toJson(const Object& object);
// indent < 0: compact; otherwise pretty-printed with that many spaces.
template <class T>
std::string encodeJson(const T& object, int indent = -1) {
  // Invalid UTF-8 (possible only in objects built in code) becomes U+FFFD
  // instead of an exception.
  return toJson(object).dump(indent, ' ', false, Json::error_handler_t::replace);
}

// Parses JSON text with a clear message on failure; refuses nesting deeper than
// kMaxJsonDepth so that hostile input cannot exhaust the stack.
inline constexpr int kMaxJsonDepth = 128;
absl::StatusOr<Json> parseJson(std::string_view text);

}  // namespace kubenode::api
