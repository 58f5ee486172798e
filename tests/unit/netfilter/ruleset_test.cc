#include "netfilter/ruleset.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "netfilter/chain_names.h"
#include "netfilter/render.h"
#include "netfilter/rule_writer.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::build;
using testing::makeService;
using testing::makeSlice;

// The whole ruleset for one ClusterIP service with three ready endpoints, as
// nftables would list it (tests/integration/netfilter checks the format against the real
// command in a private network namespace).
TEST(RulesetTest, ClusterIPWithThreeEndpointsGolden) {
  Ruleset rs = build({makeService("ns1", "svc1", "172.30.0.41")},
                     {makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}, {"10.180.0.3"}})});
  EXPECT_EQ(renderNft(rs), R"(table ip kubenode {
	map firewall-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
	}

	set hairpin-endpoints {
		type ipv4_addr . ipv4_addr
		elements = { 10.180.0.1 . 10.180.0.1,
			     10.180.0.2 . 10.180.0.2,
			     10.180.0.3 . 10.180.0.3 }
	}

	map no-endpoint-nodeports {
		type inet_proto . inet_service : verdict
	}

	map no-endpoint-services {
		type ipv4_addr . inet_proto . inet_service : verdict
	}

	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 172.30.0.41 . tcp . 80 comment "ns1/svc1:p80 cluster IP" : jump KUBE-SVC-XPGD46QRK7WJZT7O }
	}

	map service-nodeports {
		type inet_proto . inet_service : verdict
	}

	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		counter jump KUBE-SERVICES
	}

	chain nat-output {
		type nat hook output priority -100; policy accept;
		counter jump KUBE-SERVICES
	}

	chain nat-postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		counter jump KUBE-POSTROUTING
	}

	chain filter-input {
		type filter hook input priority filter - 10; policy accept;
		ct state new counter jump KUBE-PROXY-FIREWALL
		ct state new counter jump KUBE-SERVICES-FILTER
		ct state new counter jump KUBE-EXTERNAL-SERVICES
	}

	chain filter-forward {
		type filter hook forward priority filter - 10; policy accept;
		ct state new counter jump KUBE-PROXY-FIREWALL
		ct state new counter jump KUBE-SERVICES-FILTER
		ct state new counter jump KUBE-EXTERNAL-SERVICES
	}

	chain filter-output {
		type filter hook output priority filter - 10; policy accept;
		ct state new counter jump KUBE-PROXY-FIREWALL
		ct state new counter jump KUBE-SERVICES-FILTER
	}

	chain KUBE-EXTERNAL-SERVICES {
		fib daddr type local ip daddr != 127.0.0.0/8 counter meta l4proto . th dport vmap @no-endpoint-nodeports
	}

	chain KUBE-MARK-MASQ {
		counter meta mark set meta mark | 0x00004000
	}

	chain KUBE-NODEPORTS {
		counter meta l4proto . th dport vmap @service-nodeports
	}

	chain KUBE-POSTROUTING {
		ct status dnat ip saddr . ip daddr @hairpin-endpoints counter jump KUBE-MARK-MASQ comment "masquerade hairpin traffic: an endpoint reaching itself through its service"
		meta mark & 0x00004000 == 0x00000000 counter return
		counter meta mark set meta mark ^ 0x00004000
		counter masquerade fully-random comment "kubernetes service traffic requiring SNAT"
	}

	chain KUBE-PROXY-FIREWALL {
		counter ip daddr . meta l4proto . th dport vmap @firewall-ips
	}

	chain KUBE-REJECT {
		counter reject
	}

	chain KUBE-SEP-ICDUIKC33SFI6ZPR {
		meta l4proto tcp counter dnat to 10.180.0.3:80 comment "ns1/svc1:p80"
	}

	chain KUBE-SEP-LXVODXWDISEETFEF {
		meta l4proto tcp counter dnat to 10.180.0.2:80 comment "ns1/svc1:p80"
	}

	chain KUBE-SEP-SXIVWICOYRO3J4NJ {
		meta l4proto tcp counter dnat to 10.180.0.1:80 comment "ns1/svc1:p80"
	}

	chain KUBE-SERVICES {
		counter ip daddr . meta l4proto . th dport vmap @service-ips
		fib daddr type local ip daddr != 127.0.0.0/8 counter jump KUBE-NODEPORTS comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
	}

	chain KUBE-SERVICES-FILTER {
		counter ip daddr . meta l4proto . th dport vmap @no-endpoint-services
	}

	chain KUBE-SVC-XPGD46QRK7WJZT7O {
		ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 counter jump KUBE-MARK-MASQ comment "ns1/svc1:p80 cluster IP"
		numgen random mod 3 0 goto KUBE-SEP-SXIVWICOYRO3J4NJ comment "ns1/svc1:p80 -> 10.180.0.1:80"
		numgen random mod 2 0 goto KUBE-SEP-LXVODXWDISEETFEF comment "ns1/svc1:p80 -> 10.180.0.2:80"
		goto KUBE-SEP-ICDUIKC33SFI6ZPR comment "ns1/svc1:p80 -> 10.180.0.3:80"
	}
}
)");
}

std::vector<std::string> elements(const Ruleset& rs, std::string_view map) {
  std::vector<std::string> out;
  const Set* s = rs.findSet(map);
  if (s == nullptr)
    return {"<no map>"};
  for (const SetElement& e : s->elements)
    out.push_back(renderElement(e));
  return out;
}

std::string chainText(const Ruleset& rs, std::string_view name) {
  const Chain* c = rs.findChain(name);
  return c == nullptr ? "<no chain " + std::string(name) + ">" : renderChain(*c);
}

std::vector<std::string> serviceChains(const Ruleset& rs) {
  std::vector<std::string> out;
  for (const Chain& c : rs.chains) {
    if (isServiceChainName(c.name))
      out.push_back(c.name);
  }
  return out;
}

TEST(RulesetTest, NoEndpointsRejectsWithKubeProxyComment) {
  Ruleset rs = build({makeService("ns6", "svc6", "172.30.0.46")}, {});
  EXPECT_EQ(elements(rs, kServiceIPsMap), std::vector<std::string>{});
  EXPECT_EQ(
      elements(rs, kNoEndpointServicesMap),
      std::vector<std::string>{
          "172.30.0.46 . tcp . 80 comment \"ns6/svc6:p80 has no endpoints\" : goto KUBE-REJECT"});
  EXPECT_TRUE(serviceChains(rs).empty());
  EXPECT_EQ(chainText(rs, "KUBE-REJECT"), "chain KUBE-REJECT {\n\tcounter reject\n}\n");
}

TEST(RulesetTest, NotReadyEndpointsCountAsNone) {
  Ruleset rs =
      build({makeService("ns6", "svc6", "172.30.0.46")},
            {makeSlice("ns6", "svc6", {{.ip = "10.180.0.1", .ready = false, .serving = false}})});
  EXPECT_EQ(elements(rs, kNoEndpointServicesMap).size(), 1u);
  EXPECT_TRUE(serviceChains(rs).empty());
}

TEST(RulesetTest, NodePortGoesThroughExtChainWithMasquerade) {
  Ruleset rs = build({makeService("ns3", "svc3", "172.30.0.43",
                                  [](api::Service& s) {
                                    s.spec.type = "NodePort";
                                    s.spec.ports[0].nodePort = 3003;
                                  })},
                     {makeSlice("ns3", "svc3", {{"10.180.0.3"}})});
  EXPECT_EQ(elements(rs, kServiceNodePortsMap),
            std::vector<std::string>{
                "tcp . 3003 comment \"ns3/svc3:p80\" : jump KUBE-EXT-X27LE4BHSL4DOUIK"});
  EXPECT_EQ(chainText(rs, "KUBE-EXT-X27LE4BHSL4DOUIK"),
            "chain KUBE-EXT-X27LE4BHSL4DOUIK {\n"
            "\tcounter jump KUBE-MARK-MASQ comment \"masquerade traffic for ns3/svc3:p80 external "
            "destinations\"\n"
            "\tcounter jump KUBE-SVC-X27LE4BHSL4DOUIK\n"
            "}\n");
  EXPECT_EQ(chainText(rs, "KUBE-SEP-OYPFS5VJICHGATKP"),
            "chain KUBE-SEP-OYPFS5VJICHGATKP {\n"
            "\tmeta l4proto tcp counter dnat to 10.180.0.3:80 comment \"ns3/svc3:p80\"\n"
            "}\n");
}

TEST(RulesetTest, NodePortAddressesLimitTheDestinations) {
  NodeSettings node = testing::testNode();
  node.nodeIPs = {parseIpv4("192.168.0.2").value(), parseIpv4("10.1.0.2").value(),
                  parseIpv4("127.0.0.1").value()};
  node.nodePortAddresses = {parseCidr("192.168.0.0/16").value(), parseCidr("127.0.0.0/8").value()};
  Ruleset rs = build({}, {}, node);
  EXPECT_EQ(chainText(rs, "KUBE-SERVICES"),
            "chain KUBE-SERVICES {\n"
            "\tcounter ip daddr . meta l4proto . th dport vmap @service-ips\n"
            "\tip daddr 192.168.0.2 counter jump KUBE-NODEPORTS comment \"kubernetes service "
            "nodeports; NOTE: this must be the last rule in this chain\"\n"
            "}\n");
}

TEST(RulesetTest, ExternalTrafficPolicyLocalUsesOnlyLocalEndpoints) {
  Ruleset rs =
      build({makeService("ns2", "svc2", "172.30.0.42",
                         [](api::Service& s) {
                           s.spec.type = "LoadBalancer";
                           s.spec.externalTrafficPolicy = "Local";
                           s.spec.externalIPs = {"192.168.99.22"};
                           s.spec.ports[0].nodePort = 3001;
                           s.status.loadBalancer.ingress = {{.ip = "1.2.3.4"}};
                         })},
            {makeSlice("ns2", "svc2", {{"10.180.0.2", "node-a"}, {"10.180.0.4", "node-b"}})});
  EXPECT_EQ(elements(rs, kServiceIPsMap),
            (std::vector<std::string>{"1.2.3.4 . tcp . 80 comment \"ns2/svc2:p80 loadbalancer IP\" "
                                      ": jump KUBE-EXT-GNZBNJ2PO5MGZ6GT",
                                      "172.30.0.42 . tcp . 80 comment \"ns2/svc2:p80 cluster IP\" "
                                      ": jump KUBE-SVC-GNZBNJ2PO5MGZ6GT",
                                      "192.168.99.22 . tcp . 80 comment \"ns2/svc2:p80 external "
                                      "IP\" : jump KUBE-EXT-GNZBNJ2PO5MGZ6GT"}));
  EXPECT_EQ(chainText(rs, "KUBE-EXT-GNZBNJ2PO5MGZ6GT"),
            "chain KUBE-EXT-GNZBNJ2PO5MGZ6GT {\n"
            "\tip saddr 10.0.0.0/8 counter jump KUBE-SVC-GNZBNJ2PO5MGZ6GT comment \"pod traffic "
            "for ns2/svc2:p80 external destinations\"\n"
            "\tfib saddr type local counter jump KUBE-MARK-MASQ comment \"masquerade LOCAL traffic "
            "for ns2/svc2:p80 external destinations\"\n"
            "\tfib saddr type local counter jump KUBE-SVC-GNZBNJ2PO5MGZ6GT comment \"route LOCAL "
            "traffic for ns2/svc2:p80 external destinations\"\n"
            "\tcounter jump KUBE-SVL-GNZBNJ2PO5MGZ6GT\n"
            "}\n");
  const std::string sepLocal = endpointChainName("ns2/svc2:p80", "tcp", "10.180.0.2:80");
  EXPECT_EQ(chainText(rs, "KUBE-SVL-GNZBNJ2PO5MGZ6GT"),
            "chain KUBE-SVL-GNZBNJ2PO5MGZ6GT {\n"
            "\tgoto " +
                sepLocal +
                " comment \"ns2/svc2:p80 -> 10.180.0.2:80\"\n"
                "}\n");
  EXPECT_EQ(elements(rs, kNoEndpointServicesMap), std::vector<std::string>{});
}

TEST(RulesetTest, ExternalTrafficPolicyLocalWithoutLocalEndpointsDrops) {
  Ruleset rs = build({makeService("ns2", "svc2", "172.30.0.42",
                                  [](api::Service& s) {
                                    s.spec.type = "NodePort";
                                    s.spec.externalTrafficPolicy = "Local";
                                    s.spec.ports[0].nodePort = 3001;
                                  })},
                     {makeSlice("ns2", "svc2", {{"10.180.0.4", "node-b"}})});
  EXPECT_EQ(elements(rs, kNoEndpointNodePortsMap),
            std::vector<std::string>{
                "tcp . 3001 comment \"ns2/svc2:p80 has no local endpoints\" : drop"});
  // Still reachable from pods and the node itself through the EXT chain's short-circuits.
  EXPECT_EQ(elements(rs, kServiceNodePortsMap).size(), 1u);
  EXPECT_EQ(rs.findChain("KUBE-SVL-GNZBNJ2PO5MGZ6GT"), nullptr);
  const Chain* ext = rs.findChain("KUBE-EXT-GNZBNJ2PO5MGZ6GT");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->rules.size(), 3u);  // no fall-through jump to a local chain
}

TEST(RulesetTest, InternalTrafficPolicyLocal) {
  Ruleset rs =
      build({makeService("ns1", "svc1", "172.30.0.41",
                         [](api::Service& s) { s.spec.internalTrafficPolicy = "Local"; })},
            {makeSlice("ns1", "svc1", {{"10.180.0.1", "node-a"}, {"10.180.0.2", "node-b"}})});
  EXPECT_EQ(elements(rs, kServiceIPsMap),
            std::vector<std::string>{"172.30.0.41 . tcp . 80 comment \"ns1/svc1:p80 cluster IP\" : "
                                     "jump KUBE-SVL-XPGD46QRK7WJZT7O"});
  EXPECT_EQ(serviceChains(rs),
            (std::vector<std::string>{"KUBE-SEP-SXIVWICOYRO3J4NJ", "KUBE-SVL-XPGD46QRK7WJZT7O"}));

  Ruleset none =
      build({makeService("ns1", "svc1", "172.30.0.41",
                         [](api::Service& s) { s.spec.internalTrafficPolicy = "Local"; })},
            {makeSlice("ns1", "svc1", {{"10.180.0.2", "node-b"}})});
  EXPECT_EQ(elements(none, kNoEndpointServicesMap),
            std::vector<std::string>{
                "172.30.0.41 . tcp . 80 comment \"ns1/svc1:p80 has no local endpoints\" : drop"});
}

TEST(RulesetTest, ClientIPAffinityUsesOneDynamicSetPerEndpoint) {
  Ruleset rs = build({makeService("ns1", "svc1", "172.30.0.41",
                                  [](api::Service& s) {
                                    s.spec.sessionAffinity = "ClientIP";
                                    s.spec.sessionAffinityConfig =
                                        api::SessionAffinityConfig{api::ClientIPConfig{300}};
                                  })},
                     {makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}})});
  const std::string a = "KUBE-SEP-SXIVWICOYRO3J4NJ";
  const std::string b = "KUBE-SEP-LXVODXWDISEETFEF";
  EXPECT_EQ(chainText(rs, "KUBE-SVC-XPGD46QRK7WJZT7O"),
            "chain KUBE-SVC-XPGD46QRK7WJZT7O {\n"
            "\tip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 counter jump "
            "KUBE-MARK-MASQ comment \"ns1/svc1:p80 cluster IP\"\n"
            "\tip saddr @" +
                a + " goto " + a +
                " comment \"ns1/svc1:p80 -> 10.180.0.1:80\"\n"
                "\tip saddr @" +
                b + " goto " + b +
                " comment \"ns1/svc1:p80 -> 10.180.0.2:80\"\n"
                "\tnumgen random mod 2 0 goto " +
                a +
                " comment \"ns1/svc1:p80 -> 10.180.0.1:80\"\n"
                "\tgoto " +
                b +
                " comment \"ns1/svc1:p80 -> 10.180.0.2:80\"\n"
                "}\n");
  EXPECT_EQ(chainText(rs, a), "chain " + a +
                                  " {\n"
                                  "\tmeta l4proto tcp counter update @" +
                                  a +
                                  " { ip saddr } dnat to 10.180.0.1:80 comment \"ns1/svc1:p80\"\n"
                                  "}\n");
  const Set* set = rs.findSet(a);
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(renderSet(*set),
            "set " + a +
                " {\n\ttype ipv4_addr\n\tsize 65535\n\tflags dynamic,timeout\n\ttimeout 5m\n}\n");
}

TEST(RulesetTest, DefaultAffinityTimeoutIsThreeHours) {
  Ruleset rs = build({makeService("ns1", "svc1", "172.30.0.41",
                                  [](api::Service& s) { s.spec.sessionAffinity = "ClientIP"; })},
                     {makeSlice("ns1", "svc1", {{"10.180.0.1"}})});
  const Set* set = rs.findSet("KUBE-SEP-SXIVWICOYRO3J4NJ");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->timeoutSeconds, 10800u);
  EXPECT_EQ(renderDuration(10800), "3h");
}

TEST(RulesetTest, LoadBalancerSourceRangesUseFirewallChain) {
  NodeSettings node = testing::testNode();
  Ruleset rs = build({makeService("ns5", "svc5", "172.30.0.45",
                                  [](api::Service& s) {
                                    s.spec.type = "LoadBalancer";
                                    s.spec.ports[0].nodePort = 3002;
                                    s.status.loadBalancer.ingress = {{.ip = "5.6.7.8"}};
                                    s.spec.loadBalancerSourceRanges = {" 203.0.113.0/25"};
                                  })},
                     {makeSlice("ns5", "svc5", {{"10.180.0.3"}})}, node);
  EXPECT_EQ(
      chainText(rs, "KUBE-FW-NUKIZ6OKUXPJNT4C"),
      "chain KUBE-FW-NUKIZ6OKUXPJNT4C {\n"
      "\tip saddr 203.0.113.0/25 counter jump KUBE-EXT-NUKIZ6OKUXPJNT4C comment \"ns5/svc5:p80 "
      "loadbalancer IP\"\n"
      "\tcounter comment \"other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL\"\n"
      "}\n");
  EXPECT_EQ(elements(rs, kFirewallIPsMap),
            std::vector<std::string>{"5.6.7.8 . tcp . 80 comment \"ns5/svc5:p80 traffic not "
                                     "accepted by KUBE-FW-NUKIZ6OKUXPJNT4C\" : drop"});
  EXPECT_EQ(elements(rs, kServiceIPsMap)[0],
            "5.6.7.8 . tcp . 80 comment \"ns5/svc5:p80 loadbalancer IP\" : jump "
            "KUBE-FW-NUKIZ6OKUXPJNT4C");
}

TEST(RulesetTest, TerminatingEndpointsOnlyWhenNoneIsReady) {
  auto svc = makeService("ns1", "svc1", "172.30.0.41");
  Ruleset withReady = build(
      {svc},
      {makeSlice("ns1", "svc1",
                 {{"10.180.0.1"}, {.ip = "10.180.0.2", .ready = false, .terminating = true}})});
  EXPECT_EQ(serviceChains(withReady),
            (std::vector<std::string>{"KUBE-SEP-SXIVWICOYRO3J4NJ", "KUBE-SVC-XPGD46QRK7WJZT7O"}));
  Ruleset onlyTerminating =
      build({svc},
            {makeSlice("ns1", "svc1",
                       {{.ip = "10.180.0.1", .ready = false, .serving = false, .terminating = true},
                        {.ip = "10.180.0.2", .ready = false, .terminating = true}})});
  EXPECT_EQ(serviceChains(onlyTerminating),
            (std::vector<std::string>{"KUBE-SEP-LXVODXWDISEETFEF", "KUBE-SVC-XPGD46QRK7WJZT7O"}));
}

TEST(RulesetTest, MasqueradeBitAndNoClusterCIDR) {
  NodeSettings node = testing::testNode();
  node.masqueradeBit = 3;
  node.clusterCIDR.reset();
  Ruleset rs = build({makeService("ns1", "svc1", "172.30.0.41")},
                     {makeSlice("ns1", "svc1", {{"10.180.0.1"}})}, node);
  EXPECT_EQ(chainText(rs, "KUBE-MARK-MASQ"),
            "chain KUBE-MARK-MASQ {\n\tcounter meta mark set meta mark | 0x00000008\n}\n");
  // Without a cluster CIDR kube-proxy cannot tell pods from others: no masquerade rule.
  EXPECT_EQ(rs.findChain("KUBE-SVC-XPGD46QRK7WJZT7O")->rules.size(), 1u);
  node.masqueradeBit = 32;
  absl::Status bad = validateNodeSettings(node);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(bad.message()), "--masquerade-bit: 32 is out of range (expected 0-31)");
}

TEST(RulesetTest, DeterministicWhateverTheInputOrder) {
  auto s1 = makeService("ns1", "svc1", "172.30.0.41");
  auto s2 = makeService("ns2", "svc2", "172.30.0.42");
  auto e1 = makeSlice("ns1", "svc1", {{"10.180.0.2"}, {"10.180.0.1"}});
  auto e2 = makeSlice("ns2", "svc2", {{"10.180.0.3"}});
  EXPECT_EQ(build({s1, s2}, {e1, e2}), build({s2, s1}, {e2, e1}));
}

TEST(RulesetTest, DuplicateExternalIPKeepsTheFirstService) {
  auto withExt = [](api::Service& s) { s.spec.externalIPs = {"192.168.99.1"}; };
  Ruleset rs =
      build({makeService("ns1", "a", "172.30.0.41", withExt),
             makeService("ns1", "b", "172.30.0.42", withExt)},
            {makeSlice("ns1", "a", {{"10.180.0.1"}}), makeSlice("ns1", "b", {{"10.180.0.2"}})});
  std::vector<std::string> e = elements(rs, kServiceIPsMap);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[2], "192.168.99.1 . tcp . 80 comment \"ns1/a:p80 external IP\" : jump KUBE-EXT-" +
                      chainNameHash("ns1/a:p80", "tcp"));
}

// The streamed full rebuild relies on three facts: pieces plus the rest are the
// whole ruleset, a piece depends only on its own port, and the rest's chains and
// sets (not their elements) do not depend on the ports at all.
TEST(RulesetTest, ByPortPiecesAndTheRestAreTheWholeRuleset) {
  const testing::RulesetInput in = testing::everyFeatureInput();
  const std::vector<ServicePortInfo>& ports = in.ports;
  const NodeSettings& node = in.node;
  const Ruleset whole = buildRuleset(ports, node);

  std::vector<Ruleset> pieces(ports.size());
  std::vector<size_t> seen;
  Ruleset rest = buildRulesetByPort(ports, node, [&](size_t i, Ruleset&& piece) {
    seen.push_back(i);
    pieces[i] = std::move(piece);
  });
  ASSERT_EQ(seen.size(), ports.size());
  for (size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], i);

  // Together: the same chains and sets as the whole ruleset.
  Ruleset together = rest;
  for (const Ruleset& p : pieces) {
    together.chains.insert(together.chains.end(), p.chains.begin(), p.chains.end());
    together.sets.insert(together.sets.end(), p.sets.begin(), p.sets.end());
    for (const Chain& c : p.chains)
      EXPECT_TRUE(isServiceChainName(c.name)) << c.name;
    for (const Set& s : p.sets)
      EXPECT_TRUE(isAffinitySetName(s.name)) << s.name;
  }
  auto byName = [](auto& v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  };
  Ruleset expected = whole;
  byName(together.chains);
  byName(together.sets);
  byName(expected.chains);
  byName(expected.sets);
  EXPECT_EQ(together, expected);
  EXPECT_EQ(rest, summarizeFullRebuild(whole).rest);

  // A piece again from its port alone.
  buildRulesetByPort({ports[2]}, node, [&](size_t i, Ruleset&& piece) {
    EXPECT_EQ(i, 0u);
    EXPECT_EQ(piece, pieces[2]);
  });
  // The rest's objects without any port.
  const Ruleset none = buildRuleset({}, node);
  ASSERT_EQ(none.chains.size(), rest.chains.size());
  for (size_t i = 0; i < none.chains.size(); ++i)
    EXPECT_EQ(none.chains[i], rest.chains[i]);
  ASSERT_EQ(none.sets.size(), rest.sets.size());
  for (size_t i = 0; i < none.sets.size(); ++i)
    EXPECT_EQ(none.sets[i].name, rest.sets[i].name);
}

}  // namespace
}  // namespace kubenode::netfilter
