// Rulesets for the netfilter integration tests: one with every feature the
// model has, and a scalable one (N services x M endpoints).
//
//   Ruleset all = everyFeature();
//   Ruleset big = manyServices(100, 10);
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "netfilter/ruleset.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter::testing {

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

inline Ruleset everyFeature() {
  const RulesetInput in = everyFeatureInput();
  return buildRuleset(in.ports, in.node);
}

// `services` ClusterIP services ns<i>/svc<i> (172.30.x.y) with `endpoints` endpoints each
// (10.x.y.z), kube-proxy's test vocabulary; `mutate` may edit the slices first.
inline RulesetInput manyServicesInput(
    int services, int endpoints,
    const std::function<void(std::vector<api::EndpointSlice>&)>& mutate = {}) {
  std::vector<api::Service> svcs;
  std::vector<api::EndpointSlice> slices;
  for (int i = 0; i < services; ++i) {
    const std::string ns = fmt::format("ns{}", i);
    svcs.push_back(makeService(ns, "svc", fmt::format("172.30.{}.{}", i / 250, i % 250 + 1)));
    std::vector<Ep> eps;
    for (int j = 0; j < endpoints; ++j)
      eps.push_back({fmt::format("10.{}.{}.{}", 100 + i / 250, i % 250, j + 1)});
    slices.push_back(makeSlice(ns, "svc", eps));
  }
  if (mutate)
    mutate(slices);
  const NodeSettings node = testNode();
  return {buildServicePorts(svcs, slices, node.nodeName).ports, node};
}

inline Ruleset manyServices(
    int services, int endpoints,
    const std::function<void(std::vector<api::EndpointSlice>&)>& mutate = {}) {
  const RulesetInput in = manyServicesInput(services, endpoints, mutate);
  return buildRuleset(in.ports, in.node);
}

}  // namespace kubenode::netfilter::testing
