// kube-proxy's chain names, computed exactly as its iptables mode computes them,
// so that `KUBE-SVC-XPGD46QRK7WJZT7O` means the same service port under kubenode
// as under kube-proxy and an operator's notes carry over one to one.
//
//   chainNameHash("ns1/svc1:p80", "tcp")                  == "XPGD46QRK7WJZT7O"
//   serviceChainName("ns1/svc1:p80", "tcp")               == "KUBE-SVC-XPGD46QRK7WJZT7O"
//   endpointChainName("ns1/svc1:p80", "tcp", "10.180.0.1:80")
//                                                         == "KUBE-SEP-SXIVWICOYRO3J4NJ"
//
// The hashed string is the service port name ("<ns>/<name>:<port name>"), the
// protocol in lower case, and for endpoint chains the endpoint "<ip>:<port>",
// concatenated without separators; the name keeps the first 16 characters of
// the standard (RFC 4648, upper-case) base32 of its SHA-256.
#pragma once

#include <string>
#include <string_view>

namespace kubenode::netfilter {

inline constexpr std::string_view kServicesChain = "KUBE-SERVICES";
inline constexpr std::string_view kNodePortsChain = "KUBE-NODEPORTS";
inline constexpr std::string_view kMarkMasqChain = "KUBE-MARK-MASQ";
inline constexpr std::string_view kPostroutingChain = "KUBE-POSTROUTING";
inline constexpr std::string_view kExternalServicesChain = "KUBE-EXTERNAL-SERVICES";
inline constexpr std::string_view kProxyFirewallChain = "KUBE-PROXY-FIREWALL";
// iptables keeps the "has no endpoints" rules in a filter-table chain also
// called KUBE-SERVICES; one nftables table needs distinct names.
inline constexpr std::string_view kServicesFilterChain = "KUBE-SERVICES-FILTER";
inline constexpr std::string_view kRejectChain = "KUBE-REJECT";

// The first 16 characters of base32(sha256(servicePortName + protocol + endpoint)).
std::string chainNameHash(std::string_view servicePortName, std::string_view protocol,
                          std::string_view endpoint = {});

// "KUBE-SVC-": the service port's endpoints for cluster traffic policy.
std::string serviceChainName(std::string_view servicePortName, std::string_view protocol);
// "KUBE-SVL-": the node-local endpoints (traffic policy Local).
std::string serviceLocalChainName(std::string_view servicePortName, std::string_view protocol);
// "KUBE-EXT-": traffic to node ports, external IPs and load-balancer IPs.
std::string externalChainName(std::string_view servicePortName, std::string_view protocol);
// "KUBE-FW-": loadBalancerSourceRanges.
std::string firewallChainName(std::string_view servicePortName, std::string_view protocol);
// "KUBE-SEP-": one endpoint ("10.180.0.1:80") of a service port.
std::string endpointChainName(std::string_view servicePortName, std::string_view protocol,
                              std::string_view endpoint);

// True for the per-service and per-endpoint chains above, the ones a sync
// creates and removes (kube-proxy's isServiceChainName).
bool isServiceChainName(std::string_view chain);
// True for a ClientIP affinity set: named after its endpoint's KUBE-SEP chain.
inline bool isAffinitySetName(std::string_view set) {
  return set.substr(0, 9) == "KUBE-SEP-";
}

// RFC 4648 base32 with padding, exposed for its test.
std::string base32Encode(std::string_view bytes);

}  // namespace kubenode::netfilter
