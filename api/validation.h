// Validation as the API server validates (k8s pkg/apis/core/validation and
// apimachinery's util/validation), returning every error with the field path
// and the wording Kubernetes uses:
//   spec.containers[0].image: Required value
//   spec.containers[1].name: Duplicate value: "web"
//   spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never",
//   "OnFailure"
//
// Validate after applyDefaults, as the API server does: the defaulted fields
// (restartPolicy, imagePullPolicy, protocol, ...) are then required.
//
//   applyDefaults(pod);
//   ErrorList errs = validatePod(pod);
//   if (!errs.empty()) return absl::InvalidArgumentError(joinErrors(errs));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/field_error.h"
#include "api/object.h"

namespace kubenode::api {

ErrorList validatePod(const Pod& pod);
ErrorList validateService(const Service& service);
ErrorList validateEndpointSlice(const EndpointSlice& slice);
ErrorList validateNode(const Node& node);
ErrorList validateLease(const Lease& lease);
ErrorList validateEvent(const Event& event);
ErrorList validateNamespace(const Namespace& ns);
// Dispatches on the object's type; lists validate each item under items[i].
ErrorList validate(const Object& object);

// The checks apimachinery exposes, each returning its messages (empty: valid).
std::vector<std::string> isDns1123Label(std::string_view value);
std::vector<std::string> isDns1123Subdomain(std::string_view value);
std::vector<std::string> isDns1035Label(std::string_view value);
std::vector<std::string> isQualifiedName(std::string_view value);
std::vector<std::string> isValidLabelValue(std::string_view value);
std::vector<std::string> isValidPortName(std::string_view value);
std::vector<std::string> isValidPortNum(int64_t port);
std::vector<std::string> isEnvVarName(std::string_view value);
bool isValidIP(std::string_view value);
bool isValidIPv4(std::string_view value);
bool isValidIPv6(std::string_view value);
bool isValidCIDR(std::string_view value);

}  // namespace kubenode::api
