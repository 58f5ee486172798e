// discovery.k8s.io/v1 EndpointSlice: the backends of a Service, as kube-proxy
// reads them (addresses with ready/serving/terminating, ports by name).
//
//   EndpointSlice s;
//   s.addressType = "IPv4";
//   s.endpoints.push_back(Endpoint{.addresses = {"10.244.1.5"}});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/meta.h"

namespace kubenode::api {

struct EndpointConditions {
  std::optional<bool> ready{};
  std::optional<bool> serving{};
  std::optional<bool> terminating{};
  friend bool operator==(const EndpointConditions&, const EndpointConditions&) = default;
};

struct Endpoint {
  std::vector<std::string> addresses{};
  EndpointConditions conditions{};
  std::optional<std::string> hostname{};
  std::optional<ObjectReference> targetRef{};
  std::optional<std::string> nodeName{};
  std::optional<std::string> zone{};
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

struct EndpointPort {
  std::optional<std::string> name{};
  std::optional<std::string> protocol{};
  std::optional<int32_t> port{};
  std::optional<std::string> appProtocol{};
  friend bool operator==(const EndpointPort&, const EndpointPort&) = default;
};

struct EndpointSlice {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  std::string addressType{};
  std::vector<Endpoint> endpoints{};
  std::vector<EndpointPort> ports{};
  friend bool operator==(const EndpointSlice&, const EndpointSlice&) = default;
};

using EndpointSliceList = List<EndpointSlice>;

}  // namespace kubenode::api
