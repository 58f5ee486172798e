// v1 Service: the spec kube-proxy turns into NAT rules (type, cluster IPs,
// ports with targetPort, selector, affinity, traffic policies) and the
// load-balancer status.
//
//   Service svc;
//   svc.metadata.name = "web";
//   ServicePort& p = svc.spec.ports.emplace_back();
//   p.name = "http";
//   p.port = 80;
//   p.targetPort = IntOrString::fromString("http");
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/int_or_string.h"
#include "api/meta.h"

namespace kubenode::api {

struct ServicePort {
  std::string name{};
  std::string protocol{};
  std::optional<std::string> appProtocol{};
  int32_t port = 0;
  IntOrString targetPort{};
  int32_t nodePort = 0;
  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

struct ClientIPConfig {
  std::optional<int32_t> timeoutSeconds{};
  friend bool operator==(const ClientIPConfig&, const ClientIPConfig&) = default;
};

struct SessionAffinityConfig {
  std::optional<ClientIPConfig> clientIP{};
  friend bool operator==(const SessionAffinityConfig&, const SessionAffinityConfig&) = default;
};

struct ServiceSpec {
  std::vector<ServicePort> ports{};
  std::map<std::string, std::string> selector{};
  std::string clusterIP{};
  std::vector<std::string> clusterIPs{};
  std::string type{};
  std::vector<std::string> externalIPs{};
  std::string sessionAffinity{};
  std::vector<std::string> loadBalancerSourceRanges{};
  std::string externalName{};
  std::string externalTrafficPolicy{};
  std::optional<SessionAffinityConfig> sessionAffinityConfig{};
  std::vector<std::string> ipFamilies{};
  std::optional<std::string> ipFamilyPolicy{};
  std::optional<std::string> internalTrafficPolicy{};
  friend bool operator==(const ServiceSpec&, const ServiceSpec&) = default;
};

struct LoadBalancerIngress {
  std::string ip{};
  std::string hostname{};
  friend bool operator==(const LoadBalancerIngress&, const LoadBalancerIngress&) = default;
};

struct LoadBalancerStatus {
  std::vector<LoadBalancerIngress> ingress{};
  friend bool operator==(const LoadBalancerStatus&, const LoadBalancerStatus&) = default;
};

struct ServiceStatus {
  LoadBalancerStatus loadBalancer{};
  friend bool operator==(const ServiceStatus&, const ServiceStatus&) = default;
};

struct Service {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  ServiceSpec spec{};
  ServiceStatus status{};
  friend bool operator==(const Service&, const Service&) = default;
};

using ServiceList = List<Service>;

}  // namespace kubenode::api
