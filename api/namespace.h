// v1 Namespace and v1 Status (the API's error/result object).
//
//   Status s;
//   s.status = "Failure";
//   s.reason = "NotFound";
//   s.code = 404;
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/meta.h"

namespace kubenode::api {

struct NamespaceSpec {
  std::vector<std::string> finalizers{};
  friend bool operator==(const NamespaceSpec&, const NamespaceSpec&) = default;
};

struct NamespaceStatus {
  std::string phase{};
  friend bool operator==(const NamespaceStatus&, const NamespaceStatus&) = default;
};

struct Namespace {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  NamespaceSpec spec{};
  NamespaceStatus status{};
  friend bool operator==(const Namespace&, const Namespace&) = default;
};

using NamespaceList = List<Namespace>;

struct StatusCause {
  std::string reason{};
  std::string message{};
  std::string field{};
  friend bool operator==(const StatusCause&, const StatusCause&) = default;
};

struct StatusDetails {
  std::string name{};
  std::string group{};
  std::string kind{};
  std::string uid{};
  std::vector<StatusCause> causes{};
  int32_t retryAfterSeconds = 0;
  friend bool operator==(const StatusDetails&, const StatusDetails&) = default;
};

struct Status {
  TypeMeta typeMeta{};
  ListMeta metadata{};
  std::string status{};  // "Success" or "Failure"
  std::string message{};
  std::string reason{};
  std::optional<StatusDetails> details{};
  int32_t code = 0;
  friend bool operator==(const Status&, const Status&) = default;
};

}  // namespace kubenode::api
