// conntrackCleanupFor: which UDP conntrack entries a sync must delete.
#include <gtest/gtest.h>

#include <functional>

#include "netfilter/conntrack.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::Ep;
using testing::makeService;
using testing::makeSlice;

api::Service udpService(const std::string& name, const std::string& ip,
                        std::function<void(api::Service&)> more = {}) {
  return makeService("ns1", name, ip, [more](api::Service& s) {
    s.spec.ports[0].protocol = "UDP";
    if (more)
      more(s);
  });
}
api::EndpointSlice udpSlice(const std::string& service, const std::vector<Ep>& eps) {
  api::EndpointSlice s = makeSlice("ns1", service, eps);
  s.ports[0].protocol = "UDP";
  return s;
}
std::vector<ServicePortInfo> ports(const std::vector<api::Service>& services,
                                   const std::vector<api::EndpointSlice>& slices) {
  return buildServicePorts(services, slices, "node-a").ports;
}
UdpTarget target(const std::string& ip, uint16_t port) {
  return {parseIpv4(ip).value(), port};
}

TEST(ConntrackCleanupFor, RemovedEndpointOfAUdpService) {
  auto svc = udpService("svc1", "172.30.0.41");
  ConntrackCleanup c =
      conntrackCleanupFor(ports({svc}, {udpSlice("svc1", {{"10.180.0.1"}, {"10.180.0.2"}})}),
                          ports({svc}, {udpSlice("svc1", {{"10.180.0.2"}, {"10.180.0.3"}})}));
  EXPECT_EQ(c.removedEndpoints, std::vector<UdpTarget>{target("10.180.0.1", 80)});
  EXPECT_TRUE(c.servicesGainingEndpoints.empty());
}

TEST(ConntrackCleanupFor, EndpointThatStopsBeingReadyCountsAsRemoved) {
  auto svc = udpService("svc1", "172.30.0.41");
  ConntrackCleanup c = conntrackCleanupFor(
      ports({svc}, {udpSlice("svc1", {{"10.180.0.1"}, {"10.180.0.2"}})}),
      ports({svc}, {udpSlice("svc1", {{"10.180.0.1", "", false, false}, {"10.180.0.2"}})}));
  EXPECT_EQ(c.removedEndpoints, std::vector<UdpTarget>{target("10.180.0.1", 80)});
}

TEST(ConntrackCleanupFor, DeletedServiceRemovesAllItsEndpoints) {
  auto svc = udpService("svc1", "172.30.0.41");
  ConntrackCleanup c =
      conntrackCleanupFor(ports({svc}, {udpSlice("svc1", {{"10.180.0.1"}, {"10.180.0.2"}})}), {});
  EXPECT_EQ(c.removedEndpoints,
            (std::vector<UdpTarget>{target("10.180.0.1", 80), target("10.180.0.2", 80)}));
}

TEST(ConntrackCleanupFor, FirstEndpointClearsEveryAddressOfTheService) {
  auto svc = udpService("svc1", "172.30.0.41", [](api::Service& s) {
    s.spec.type = "NodePort";
    s.spec.ports[0].nodePort = 30053;
    s.spec.externalIPs = {"192.168.99.1"};
  });
  ConntrackCleanup c =
      conntrackCleanupFor(ports({svc}, {}), ports({svc}, {udpSlice("svc1", {{"10.180.0.1"}})}));
  EXPECT_TRUE(c.removedEndpoints.empty());
  EXPECT_EQ(c.servicesGainingEndpoints,
            (std::vector<UdpTarget>{target("0.0.0.0", 30053), target("172.30.0.41", 80),
                                    target("192.168.99.1", 80)}));
  // A new service that arrives with endpoints counts too; one that keeps some does not.
  EXPECT_FALSE(conntrackCleanupFor({}, ports({svc}, {udpSlice("svc1", {{"10.180.0.1"}})}))
                   .servicesGainingEndpoints.empty());
  EXPECT_TRUE(conntrackCleanupFor(ports({svc}, {udpSlice("svc1", {{"10.180.0.1"}})}),
                                  ports({svc}, {udpSlice("svc1", {{"10.180.0.2"}})}))
                  .servicesGainingEndpoints.empty());
}

TEST(ConntrackCleanupFor, TcpServicesNeedNothing) {
  auto svc = makeService("ns1", "svc1", "172.30.0.41");
  ConntrackCleanup c = conntrackCleanupFor(
      ports({svc}, {makeSlice("ns1", "svc1", {{"10.180.0.1"}})}), ports({svc}, {}));
  EXPECT_TRUE(c.empty());
}

}  // namespace
}  // namespace kubenode::netfilter
