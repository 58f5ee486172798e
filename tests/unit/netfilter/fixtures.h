// Builders for the netfilter unit tests: Services and EndpointSlices as the API
// would hand them over, in kube-proxy's test vocabulary (ns1/svc1, p80,
// 10.180.0.x endpoints, 172.30.0.x cluster IPs).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/endpoint_slice.h"
#include "api/service.h"
#include "netfilter/ruleset.h"
#include "netfilter/service_port.h"

namespace kubenode::netfilter::testing {

inline api::Service makeService(const std::string& ns, const std::string& name,
                                const std::string& clusterIP,
                                const std::function<void(api::Service&)>& mutate = {}) {
  api::Service s;
  s.metadata.namespace_ = ns;
  s.metadata.name = name;
  s.spec.type = "ClusterIP";
  s.spec.clusterIP = clusterIP;
  api::ServicePort& p = s.spec.ports.emplace_back();
  p.name = "p80";
  p.port = 80;
  p.protocol = "TCP";
  if (mutate)
    mutate(s);
  return s;
}

struct Ep {
  std::string ip;
  std::string node = "";
  bool ready = true;
  bool serving = true;
  bool terminating = false;
};

inline api::EndpointSlice makeSlice(const std::string& ns, const std::string& service,
                                    const std::vector<Ep>& eps, int port = 80,
                                    const std::string& portName = "p80",
                                    const std::string& sliceName = "") {
  api::EndpointSlice s;
  s.metadata.namespace_ = ns;
  s.metadata.name = sliceName.empty() ? service + "-abcde" : sliceName;
  s.metadata.labels["kubernetes.io/service-name"] = service;
  s.addressType = "IPv4";
  for (const Ep& e : eps) {
    api::Endpoint& out = s.endpoints.emplace_back();
    out.addresses = {e.ip};
    out.conditions.ready = e.ready;
    out.conditions.serving = e.serving;
    out.conditions.terminating = e.terminating;
    if (!e.node.empty())
      out.nodeName = e.node;
  }
  api::EndpointPort& p = s.ports.emplace_back();
  p.name = portName;
  p.port = port;
  p.protocol = "TCP";
  return s;
}

inline const char* kNodeName = "node-a";
inline const char* kNodeIP = "192.168.0.2";

inline NodeSettings testNode() {
  NodeSettings n;
  n.nodeName = kNodeName;
  n.clusterCIDR = parseCidr("10.0.0.0/8").value();
  n.nodeIPs = {parseIpv4(kNodeIP).value()};
  return n;
}

inline Ruleset build(const std::vector<api::Service>& services,
                     const std::vector<api::EndpointSlice>& slices,
                     const NodeSettings& node = testNode()) {
  return buildRuleset(buildServicePorts(services, slices, node.nodeName).ports, node);
}

// Every feature the model has: a plain ClusterIP, a LoadBalancer with an
// external IP, Local policy and a node port, ClientIP affinity, a service without
// endpoints, load-balancer source ranges, a NodePort whose endpoint is elsewhere.
// The service ports and node settings a ruleset is built from.
struct RulesetInput {
  std::vector<ServicePortInfo> ports{};
  NodeSettings node{};
};

inline RulesetInput everyFeatureInput() {
  NodeSettings node = testing::testNode();
  std::vector<api::Service> services = {
      makeService("ns1", "svc1", "172.30.0.41"),
      makeService("ns2", "svc2", "172.30.0.42",
                  [](api::Service& s) {
                    s.spec.type = "LoadBalancer";
                    s.spec.externalTrafficPolicy = "Local";
                    s.spec.externalIPs = {"192.168.99.22"};
                    s.spec.ports[0].nodePort = 3001;
                    s.status.loadBalancer.ingress = {{.ip = "1.2.3.4"}};
                  }),
      makeService("ns3", "svc3", "172.30.0.43",
                  [](api::Service& s) {
                    s.spec.sessionAffinity = "ClientIP";
                    s.spec.sessionAffinityConfig =
                        api::SessionAffinityConfig{api::ClientIPConfig{300}};
                  }),
      makeService("ns4", "svc4", "172.30.0.44"),  // no endpoints: rejected
      makeService("ns5", "svc5", "172.30.0.45",
                  [](api::Service& s) {
                    s.spec.type = "LoadBalancer";
                    s.spec.ports[0].nodePort = 3002;
                    s.status.loadBalancer.ingress = {{.ip = "5.6.7.8"}};
                    s.spec.loadBalancerSourceRanges = {"203.0.113.0/25"};
                  }),
      makeService("ns6", "svc6", "172.30.0.46",
                  [](api::Service& s) {
                    s.spec.type = "NodePort";
                    s.spec.ports[0].nodePort = 3003;
                  }),
  };
  std::vector<api::EndpointSlice> slices = {
      makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}, {"10.180.0.3"}}),
      makeSlice("ns2", "svc2", {{"10.180.0.2", "node-a"}, {"10.180.0.4", "node-b"}}),
      makeSlice("ns3", "svc3", {{"10.180.0.5"}, {"10.180.0.6"}}),
      makeSlice("ns5", "svc5", {{"10.180.0.7"}}),
      makeSlice("ns6", "svc6", {{"10.180.0.8", "node-b"}}),
  };
  return {buildServicePorts(services, slices, node.nodeName).ports, node};
}

}  // namespace kubenode::netfilter::testing
