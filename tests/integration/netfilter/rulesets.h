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
