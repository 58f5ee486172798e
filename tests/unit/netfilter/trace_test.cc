#include "netfilter/trace.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::build;
using testing::makeService;
using testing::makeSlice;

Ipv4Addr ip(const char* s) {
  return parseIpv4(s).value();
}

const char* kPod = "10.0.0.2";          // inside the cluster CIDR 10.0.0.0/8
const char* kExternal = "203.0.113.9";  // a client outside the cluster

TraceEnvironment nodeEnv() {
  return TraceEnvironment{.localAddresses = {ip(testing::kNodeIP)}};
}

// A numgen that makes rule `pick` of the probability ladder match: the rules
// before it draw a non-zero value, rule `pick` draws zero.
std::function<uint32_t(uint32_t)> choose(int pick) {
  auto calls = std::make_shared<int>(0);
  return
      [calls, pick](uint32_t modulus) -> uint32_t { return (*calls)++ < pick ? 1 % modulus : 0; };
}

Packet tcp(const char* src, const char* dst, uint16_t port, bool local = false) {
  return Packet{.src = ip(src),
                .dst = ip(dst),
                .protocol = Protocol::kTcp,
                .dport = port,
                .locallyGenerated = local};
}

Ruleset threeEndpoints() {
  return build({makeService("ns1", "svc1", "172.30.0.41")},
               {makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}, {"10.180.0.3"}})});
}

TEST(TraceTest, ClusterIPReachesEveryEndpoint) {
  Ruleset rs = threeEndpoints();
  std::vector<std::string> reached;
  for (int k = 0; k < 3; ++k) {
    TraceEnvironment env = nodeEnv();
    env.numgen = choose(k);
    TraceResult r = tracePacket(rs, tcp(kPod, "172.30.0.41", 80), env);
    ASSERT_EQ(r.outcome, TraceOutcome::kDnat) << r.error;
    EXPECT_FALSE(r.masqueraded) << "pod traffic keeps its source";
    reached.push_back(r.dnatTo());
  }
  EXPECT_EQ(reached, (std::vector<std::string>{"10.180.0.1:80", "10.180.0.2:80", "10.180.0.3:80"}));
}

TEST(TraceTest, ClusterIPPathNamesKubeProxyChains) {
  Ruleset rs = threeEndpoints();
  TraceEnvironment env = nodeEnv();
  TraceResult r = tracePacket(rs, tcp(kPod, "172.30.0.41", 80), env);
  EXPECT_EQ(r.chains(), (std::vector<std::string>{
                            "nat-prerouting", "KUBE-SERVICES", "KUBE-SVC-XPGD46QRK7WJZT7O",
                            "KUBE-SEP-SXIVWICOYRO3J4NJ", "filter-forward", "KUBE-PROXY-FIREWALL",
                            "filter-forward", "KUBE-SERVICES-FILTER", "filter-forward",
                            "nat-postrouting", "KUBE-POSTROUTING"}));
}

TEST(TraceTest, RandomChoiceIsUniform) {
  // With a uniform numgen the ladder 1/3, 1/2, 1 gives each endpoint 1/3:
  // enumerate every draw combination and count.
  Ruleset rs = threeEndpoints();
  std::map<std::string, int> count;
  for (uint32_t a = 0; a < 3; ++a) {
    for (uint32_t b = 0; b < 2; ++b) {
      TraceEnvironment env = nodeEnv();
      auto draws = std::make_shared<std::vector<uint32_t>>(std::vector<uint32_t>{a, b});
      env.numgen = [draws](uint32_t) {
        uint32_t v = draws->front();
        draws->erase(draws->begin());
        return v;
      };
      count[tracePacket(rs, tcp(kPod, "172.30.0.41", 80), env).dnatTo()] += 1;
    }
  }
  // 6 equally likely draw pairs: 2 each.
  EXPECT_EQ(count, (std::map<std::string, int>{
                       {"10.180.0.1:80", 2}, {"10.180.0.2:80", 2}, {"10.180.0.3:80", 2}}));
}

TEST(TraceTest, ClusterIPFromOutsideTheClusterIsMasqueraded) {
  Ruleset rs = threeEndpoints();
  TraceEnvironment env = nodeEnv();
  TraceResult r = tracePacket(rs, tcp(kExternal, "172.30.0.41", 80), env);
  EXPECT_EQ(r.outcome, TraceOutcome::kDnat);
  EXPECT_TRUE(r.masqueraded);
  EXPECT_EQ(r.mark & 0x4000u, 0u) << "KUBE-POSTROUTING clears the bit";
}

TEST(TraceTest, HairpinIsMasqueraded) {
  Ruleset rs = threeEndpoints();
  TraceEnvironment env = nodeEnv();
  env.numgen = choose(1);
  TraceResult r = tracePacket(rs, tcp("10.180.0.2", "172.30.0.41", 80), env);
  EXPECT_EQ(r.dnatTo(), "10.180.0.2:80");
  EXPECT_TRUE(r.masqueraded);
  env.numgen = choose(0);
  EXPECT_FALSE(tracePacket(rs, tcp("10.180.0.2", "172.30.0.41", 80), env).masqueraded);
}

TEST(TraceTest, NoEndpointsRejects) {
  Ruleset rs = build({makeService("ns6", "svc6", "172.30.0.46")}, {});
  TraceEnvironment env = nodeEnv();
  TraceResult fromPod = tracePacket(rs, tcp(kPod, "172.30.0.46", 80), env);
  EXPECT_EQ(fromPod.outcome, TraceOutcome::kReject);
  EXPECT_EQ(fromPod.steps.back().chain, "KUBE-REJECT");
  TraceResult fromNode = tracePacket(rs, tcp(testing::kNodeIP, "172.30.0.46", 80, true), env);
  EXPECT_EQ(fromNode.outcome, TraceOutcome::kReject);
  // Other ports of the address are not the service's business.
  EXPECT_EQ(tracePacket(rs, tcp(kPod, "172.30.0.46", 81), env).outcome, TraceOutcome::kAccept);
}

Ruleset nodePortService(const std::string& etp, std::vector<testing::Ep> eps) {
  return build({makeService("ns2", "svc2", "172.30.0.42",
                            [&](api::Service& s) {
                              s.spec.type = "NodePort";
                              s.spec.externalTrafficPolicy = etp;
                              s.spec.ports[0].nodePort = 3001;
                            })},
               {makeSlice("ns2", "svc2", eps)});
}

TEST(TraceTest, NodePortFromOutsideIsMasqueraded) {
  Ruleset rs = nodePortService("Cluster", {{"10.180.0.2", "node-b"}});
  TraceEnvironment env = nodeEnv();
  TraceResult r = tracePacket(rs, tcp(kExternal, testing::kNodeIP, 3001), env);
  EXPECT_EQ(r.dnatTo(), "10.180.0.2:80");
  EXPECT_TRUE(r.masqueraded);
  EXPECT_EQ(r.chains()[2], "KUBE-NODEPORTS");
  // Not a node address: no node port.
  EXPECT_EQ(tracePacket(rs, tcp(kExternal, "192.168.0.99", 3001), env).outcome,
            TraceOutcome::kAccept);
  // 127.0.0.1 is refused as a node-port address (no route_localnet).
  EXPECT_EQ(tracePacket(rs, tcp("127.0.0.1", "127.0.0.1", 3001, true), env).dnatIp, std::nullopt);
}

TEST(TraceTest, ExternalTrafficPolicyLocalKeepsTheClientAddress) {
  Ruleset rs = nodePortService("Local", {{"10.180.0.2", "node-a"}, {"10.180.0.4", "node-b"}});
  TraceEnvironment env = nodeEnv();
  env.numgen = choose(1);  // would pick the remote one if both were candidates
  TraceResult r = tracePacket(rs, tcp(kExternal, testing::kNodeIP, 3001), env);
  EXPECT_EQ(r.dnatTo(), "10.180.0.2:80");
  EXPECT_FALSE(r.masqueraded);
}

TEST(TraceTest, ExternalTrafficPolicyLocalWithoutLocalEndpointDropsOutsideTraffic) {
  Ruleset rs = nodePortService("Local", {{"10.180.0.4", "node-b"}});
  TraceEnvironment env = nodeEnv();
  EXPECT_EQ(tracePacket(rs, tcp(kExternal, testing::kNodeIP, 3001), env).outcome,
            TraceOutcome::kDrop);
  // Pods still get through (short-circuit to the cluster-wide endpoints).
  TraceResult pod = tracePacket(rs, tcp(kPod, testing::kNodeIP, 3001), env);
  EXPECT_EQ(pod.dnatTo(), "10.180.0.4:80");
}

TEST(TraceTest, ClientIPAffinityKeepsTheEndpoint) {
  Ruleset rs = build({makeService("ns1", "svc1", "172.30.0.41",
                                  [](api::Service& s) { s.spec.sessionAffinity = "ClientIP"; })},
                     {makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}, {"10.180.0.3"}})});
  TraceEnvironment env = nodeEnv();
  env.numgen = choose(2);
  EXPECT_EQ(tracePacket(rs, tcp(kPod, "172.30.0.41", 80), env).dnatTo(), "10.180.0.3:80");
  for (int k = 0; k < 3; ++k) {
    env.numgen = choose(k);
    EXPECT_EQ(tracePacket(rs, tcp(kPod, "172.30.0.41", 80), env).dnatTo(), "10.180.0.3:80");
  }
  // Another client is free to land elsewhere.
  env.numgen = choose(0);
  EXPECT_EQ(tracePacket(rs, tcp("10.0.0.3", "172.30.0.41", 80), env).dnatTo(), "10.180.0.1:80");
}

TEST(TraceTest, LoadBalancerSourceRanges) {
  Ruleset rs = build({makeService("ns5", "svc5", "172.30.0.45",
                                  [](api::Service& s) {
                                    s.spec.type = "LoadBalancer";
                                    s.spec.ports[0].nodePort = 3002;
                                    s.status.loadBalancer.ingress = {{.ip = "5.6.7.8"}};
                                    s.spec.loadBalancerSourceRanges = {"203.0.113.0/25"};
                                  })},
                     {makeSlice("ns5", "svc5", {{"10.180.0.3"}})});
  TraceEnvironment env = nodeEnv();
  TraceResult allowed = tracePacket(rs, tcp("203.0.113.9", "5.6.7.8", 80), env);
  EXPECT_EQ(allowed.dnatTo(), "10.180.0.3:80");
  TraceResult denied = tracePacket(rs, tcp("198.51.100.1", "5.6.7.8", 80), env);
  EXPECT_EQ(denied.outcome, TraceOutcome::kDrop);
  EXPECT_EQ(denied.steps.back().chain, "KUBE-PROXY-FIREWALL");
}

TEST(TraceTest, BrokenRulesetIsReportedNotCrashed) {
  Ruleset rs = threeEndpoints();
  rs.chains.erase(rs.chains.begin() + rs.chains.size() - 1);  // the KUBE-SVC chain
  TraceEnvironment env = nodeEnv();
  TraceResult r = tracePacket(rs, tcp(kPod, "172.30.0.41", 80), env);
  EXPECT_EQ(r.error, "unknown chain KUBE-SVC-XPGD46QRK7WJZT7O");
}

}  // namespace
}  // namespace kubenode::netfilter
