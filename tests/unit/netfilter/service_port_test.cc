// buildServicePorts and categorizeEndpoints on their own: which slices and endpoints
// belong to which service port, and which endpoints traffic may use.
#include "netfilter/service_port.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using ::testing::ElementsAre;
using testing::Ep;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::makeService;
using testing::makeSlice;

std::vector<std::string> addresses(const std::vector<EndpointInfo>& eps) {
  std::vector<std::string> out;
  for (const EndpointInfo& e : eps)
    out.push_back(e.toString());
  return out;
}

TEST(BuildServicePorts, SlicesJoinTheirServiceByLabelNamespaceAndPortName) {
  api::Service svc = makeService("ns1", "svc1", "172.30.0.41", [](api::Service& s) {
    api::ServicePort& dns = s.spec.ports.emplace_back();
    dns.name = "dns";
    dns.port = 53;
    dns.protocol = "UDP";
  });
  api::EndpointSlice web = makeSlice("ns1", "svc1", {{"10.180.0.2"}, {"10.180.0.1"}}, 8080);
  api::EndpointSlice dns = makeSlice("ns1", "svc1", {{"10.180.0.9"}}, 5353, "dns", "svc1-dns");
  dns.ports[0].protocol = "UDP";
  // Same service name in another namespace, and a slice of another service: not ours.
  api::EndpointSlice otherNs = makeSlice("ns2", "svc1", {{"10.180.1.1"}});
  api::EndpointSlice otherSvc = makeSlice("ns1", "svc2", {{"10.180.2.1"}});

  ServicePorts sp = buildServicePorts({svc}, {web, dns, otherNs, otherSvc}, "node-a");
  ASSERT_EQ(sp.ports.size(), 2u);
  EXPECT_EQ(sp.ports[0].nameString(), "ns1/svc1:dns");
  EXPECT_EQ(sp.ports[0].protocol, Protocol::kUdp);
  EXPECT_THAT(addresses(sp.ports[0].endpoints), ElementsAre("10.180.0.9:5353"));
  EXPECT_EQ(sp.ports[1].nameString(), "ns1/svc1:p80");
  EXPECT_THAT(addresses(sp.ports[1].endpoints),
              ElementsAre("10.180.0.1:8080", "10.180.0.2:8080"));  // sorted
  EXPECT_THAT(sp.warnings, IsEmpty());
}

// The proxier diffs the ports of two syncs by walking both in order, so the order
// must not depend on the order the cache lists services, ports and slices in.
TEST(BuildServicePorts, PortsComeSortedByNameThenProtocolWhateverTheInputOrder) {
  auto twoPorts = [](api::Service& s) {
    s.spec.ports[0].name = "web";
    api::ServicePort& dnsUdp = s.spec.ports.emplace_back();
    dnsUdp.name = "dns";
    dnsUdp.port = 53;
    dnsUdp.protocol = "UDP";
    api::ServicePort& dnsTcp = s.spec.ports.emplace_back();
    dnsTcp.name = "dns";
    dnsTcp.port = 53;
    dnsTcp.protocol = "TCP";
  };
  std::vector<api::Service> services = {
      makeService("ns2", "a", "172.30.0.3"),
      makeService("ns1", "b", "172.30.0.2", twoPorts),
      makeService("ns1", "a", "172.30.0.1"),
      makeService("ns10", "a", "172.30.0.4"),
  };
  // Slices listed out of order; within ns1/b two slices share an endpoint, and
  // their endpoints are not sorted.
  api::EndpointSlice b2 =
      makeSlice("ns1", "b", {{"10.180.0.9"}, {"10.180.0.3"}}, 8080, "web", "b-2");
  b2.endpoints[1].conditions.ready = false;  // the duplicate in the later slice
  api::EndpointSlice b1 =
      makeSlice("ns1", "b", {{"10.180.0.5"}, {"10.180.0.3"}}, 8080, "web", "b-1");
  std::vector<api::EndpointSlice> slices = {makeSlice("ns10", "a", {{"10.180.1.1"}}), b2,
                                            makeSlice("ns2", "a", {{"10.180.2.1"}}), b1,
                                            makeSlice("ns1", "a", {{"10.180.3.1"}})};

  ServicePorts sp = buildServicePorts(services, slices, "node-a");
  std::vector<std::string> names;
  for (const ServicePortInfo& p : sp.ports)
    names.push_back(fmt::format("{} {}", p.nameString(), p.protocolString()));
  EXPECT_THAT(names, ElementsAre("ns1/a:p80 tcp", "ns1/b:dns tcp", "ns1/b:dns udp", "ns1/b:web tcp",
                                 "ns10/a:p80 tcp", "ns2/a:p80 tcp"));
  ASSERT_EQ(sp.ports.size(), 6u);
  EXPECT_THAT(addresses(sp.ports[0].endpoints), ElementsAre("10.180.3.1:80"));
  EXPECT_THAT(addresses(sp.ports[1].endpoints), IsEmpty());  // no slice port named dns
  EXPECT_THAT(addresses(sp.ports[3].endpoints),
              ElementsAre("10.180.0.3:8080", "10.180.0.5:8080", "10.180.0.9:8080"));
  EXPECT_TRUE(sp.ports[3].endpoints[0].ready);  // from b-1, the first slice by name
  EXPECT_THAT(addresses(sp.ports[4].endpoints), ElementsAre("10.180.1.1:80"));
  EXPECT_THAT(addresses(sp.ports[5].endpoints), ElementsAre("10.180.2.1:80"));
}

TEST(BuildServicePorts, SkipsHeadlessAndWarnsAboutBadFields) {
  api::Service headless = makeService("ns1", "headless", "None");
  api::Service bad = makeService("ns1", "bad", "172.30.0.50",
                                 [](api::Service& s) { s.spec.externalIPs = {"not-an-ip"}; });
  ServicePorts sp = buildServicePorts({headless, bad}, {}, "node-a");
  ASSERT_EQ(sp.ports.size(), 1u);
  EXPECT_EQ(sp.ports[0].nameString(), "ns1/bad:p80");
  EXPECT_THAT(sp.ports[0].externalIPs, IsEmpty());
  ASSERT_EQ(sp.warnings.size(), 1u);
  EXPECT_THAT(sp.warnings[0], HasSubstr("spec.externalIPs[0]"));
}

TEST(CategorizeEndpoints, ReadyFirstThenServingTerminatingThenNothing) {
  struct Case {
    std::string name;
    std::vector<Ep> eps;
    std::vector<std::string> cluster;
    bool any;
  };
  const Case cases[] = {
      {"ready only", {{"10.180.0.1"}, {"10.180.0.2", "", false, false}}, {"10.180.0.1:80"}, true},
      {"no ready: serving terminating ones",
       {{"10.180.0.1", "", false, true, true}, {"10.180.0.2", "", false, false, true}},
       {"10.180.0.1:80"},
       true},
      {"ready wins over terminating",
       {{"10.180.0.1", "", false, true, true}, {"10.180.0.2"}},
       {"10.180.0.2:80"},
       true},
      {"nothing usable", {{"10.180.0.1", "", false, false, true}}, {}, false},
  };
  for (const Case& c : cases) {
    ServicePorts sp = buildServicePorts({makeService("ns1", "svc1", "172.30.0.41")},
                                        {makeSlice("ns1", "svc1", c.eps)}, "node-a");
    ASSERT_EQ(sp.ports.size(), 1u) << c.name;
    EndpointCategories cat = categorizeEndpoints(sp.ports[0]);
    EXPECT_THAT(addresses(cat.clusterEndpoints), ::testing::ElementsAreArray(c.cluster)) << c.name;
    EXPECT_EQ(cat.hasAnyEndpoints, c.any) << c.name;
  }
}

TEST(CategorizeEndpoints, LocalEndpointsUnderTrafficPolicyLocal) {
  api::Service svc = makeService("ns1", "svc1", "172.30.0.41", [](api::Service& s) {
    s.spec.type = "NodePort";
    s.spec.ports[0].nodePort = 30080;
    s.spec.externalTrafficPolicy = "Local";
  });
  ServicePorts sp = buildServicePorts(
      {svc}, {makeSlice("ns1", "svc1", {{"10.180.0.1", "node-a"}, {"10.180.0.2", "node-b"}})},
      "node-a");
  ASSERT_EQ(sp.ports.size(), 1u);
  EXPECT_TRUE(sp.ports[0].externalPolicyLocal);
  EndpointCategories cat = categorizeEndpoints(sp.ports[0]);
  EXPECT_THAT(addresses(cat.localEndpoints), ElementsAre("10.180.0.1:80"));
  // External traffic from pods and the node itself still uses every endpoint.
  EXPECT_THAT(addresses(cat.clusterEndpoints), ElementsAre("10.180.0.1:80", "10.180.0.2:80"));
  EXPECT_THAT(addresses(cat.allReachableEndpoints), ElementsAre("10.180.0.1:80", "10.180.0.2:80"));
}

}  // namespace
}  // namespace kubenode::netfilter
