// The proxier's view of services: one ServicePortInfo per (service, port) with
// the endpoints that back it, computed from api::Service and api::EndpointSlice
// values the way kube-proxy's service and endpoint change trackers compute them.
// Pure: values in, values out.
//
//   ServicePorts sp = buildServicePorts(services, slices, "node-a");
//   for (const std::string& w : sp.warnings) log(w);  // bad IPs, unsupported families
//   for (const ServicePortInfo& p : sp.ports) {
//     EndpointCategories c = categorizeEndpoints(p);  // which endpoints traffic may use
//   }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/endpoint_slice.h"
#include "api/service.h"
#include "netfilter/ip.h"

namespace kubenode::netfilter {

// IP protocol numbers, as nftables' `meta l4proto` and the kernel use them.
enum class Protocol : uint8_t { kTcp = 6, kUdp = 17, kSctp = 132 };

// "tcp", "udp", "sctp": the spelling of nft and of kube-proxy's chain hash.
std::string_view protocolName(Protocol p);
// The API's "TCP" / "UDP" / "SCTP"; empty means TCP (the API default).
absl::StatusOr<Protocol> parseProtocol(std::string_view apiProtocol);

// kube-proxy's ServicePortName: "<namespace>/<name>:<port name>", or
// "<namespace>/<name>" for an unnamed port. Also the string hashed into chain names.
struct ServicePortName {
  std::string namespace_{};
  std::string name{};
  std::string port{};
  std::string toString() const;
  friend auto operator<=>(const ServicePortName&, const ServicePortName&) = default;
};

// One backend address of a service port.
struct EndpointInfo {
  Ipv4Addr ip{};
  uint16_t port = 0;
  bool ready = false;        // conditions.ready, unset means true
  bool serving = false;      // conditions.serving, unset means ready
  bool terminating = false;  // conditions.terminating, unset means false
  bool isLocal = false;      // nodeName is this node
  std::string zone{};
  // "10.180.0.1:80": kube-proxy's endpoint string (comments, SEP hash, DNAT target).
  std::string toString() const;
  friend bool operator==(const EndpointInfo&, const EndpointInfo&) = default;
};

struct ServicePortInfo {
  ServicePortName name{};
  Protocol protocol = Protocol::kTcp;
  Ipv4Addr clusterIP{};
  uint16_t port = 0;
  uint16_t nodePort = 0;  // 0: none
  std::vector<Ipv4Addr> externalIPs{};
  std::vector<Ipv4Addr> loadBalancerIPs{};  // status.loadBalancer.ingress[].ip
  std::vector<Cidr> loadBalancerSourceRanges{};
  bool sessionAffinityClientIP = false;
  int stickyMaxAgeSeconds = 10800;  // sessionAffinityConfig.clientIP.timeoutSeconds
  // externalTrafficPolicy Local, only meaningful when externally accessible.
  bool externalPolicyLocal = false;
  bool internalPolicyLocal = false;
  // Every endpoint of the port from the service's slices, sorted by address.
  std::vector<EndpointInfo> endpoints{};

  std::string nameString() const { return name.toString(); }
  std::string_view protocolString() const { return protocolName(protocol); }
  // Node port, external IP or load-balancer IP: traffic from outside the cluster.
  bool externallyAccessible() const {
    return nodePort != 0 || !externalIPs.empty() || !loadBalancerIPs.empty();
  }
  // kube-proxy: cluster endpoints are needed for internal policy Cluster, and for any
  // external traffic (pods and the node itself short-circuit to them even under Local).
  bool usesClusterEndpoints() const { return !internalPolicyLocal || externallyAccessible(); }
  bool usesLocalEndpoints() const {
    return internalPolicyLocal || (externalPolicyLocal && externallyAccessible());
  }
  friend bool operator==(const ServicePortInfo&, const ServicePortInfo&) = default;
};

// Which endpoints traffic may use (kube-proxy's CategorizeEndpoints, without
// topology hints): ready endpoints, or when none is ready anywhere, the ones
// still serving while terminating; the same choice again among local endpoints.
struct EndpointCategories {
  std::vector<EndpointInfo> clusterEndpoints{};
  std::vector<EndpointInfo> localEndpoints{};
  // Union of the two (by address): the endpoints that get KUBE-SEP chains.
  std::vector<EndpointInfo> allReachableEndpoints{};
  // Some usable endpoint exists anywhere in the cluster.
  bool hasAnyEndpoints = false;
};
EndpointCategories categorizeEndpoints(const ServicePortInfo& port);

struct ServicePorts {
  std::vector<ServicePortInfo> ports{};  // sorted by name, then protocol
  // One line per ignored field or object, naming it ("ns1/svc1: spec.externalIPs[0]: ...").
  std::vector<std::string> warnings{};
};

// Services without a cluster IP (headless, ExternalName) and non-IPv4 families
// are skipped. Slices belong to the service named by their
// kubernetes.io/service-name label in the same namespace; their ports match a
// service port by name and protocol. An endpoint is local when its nodeName is
// `nodeName`.
ServicePorts buildServicePorts(const std::vector<api::Service>& services,
                               const std::vector<api::EndpointSlice>& slices,
                               std::string_view nodeName);

}  // namespace kubenode::netfilter
