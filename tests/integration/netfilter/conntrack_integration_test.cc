// NetlinkConntrack against the real kernel in a private network namespace: real
// UDP traffic through the proxier's DNAT creates conntrack entries; deleting
// those of a removed endpoint removes exactly them, and deleting those of a
// service that gains its first endpoint removes the entries to its cluster IP. And an
// established TCP connection survives a full rebuild of the table (conntrack keeps its
// NAT binding).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <list>
#include <regex>

#include "netfilter/conntrack.h"
#include "netfilter/netlink_rule_writer.h"
#include "tests/integration/netfilter/nft_text.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::makeService;
using testing::makeSlice;
using testing::run;

// An fd closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0)
      close(fd);
  }
};

sockaddr_in address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// A UDP socket bound to ip:port (a backend).
void listenUdp(Fd& s, const std::string& ip, uint16_t port) {
  s.fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s.fd, 0);
  sockaddr_in a = address(ip, port);
  ASSERT_EQ(bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
}

// Sends one datagram from `clients` fresh sockets to ip:port. The sockets stay
// open until the test ends, so that each keeps its own source port: a closed
// one's port may be picked again, and two clients would then share one
// conntrack entry.
void sendFromClients(int clients, const std::string& ip, uint16_t port) {
  static std::list<Fd> open;
  for (int i = 0; i < clients; ++i) {
    Fd& s = open.emplace_back();
    s.fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s.fd, 0);
    sockaddr_in a = address(ip, port);
    ASSERT_EQ(sendto(s.fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 1)
        << strerror(errno);
  }
}

// Number of UDP conntrack entries whose listing contains `needle`.
int countEntries(const std::string& needle) {
  std::string out = run("conntrack -L -p udp");
  int n = 0;
  for (size_t pos = 0; (pos = out.find(needle, pos)) != std::string::npos; pos += needle.size())
    ++n;
  return n;
}

class ConntrackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A node address on a link (a veth pair: this kernel has no dummy driver) with a
    // route to the cluster IPs; backends on lo.
    run("ip link set lo up");
    run("ip link add kn0 type veth peer name kn1 && ip link set kn1 up && ip link set kn0 up");
    run("ip addr add 192.168.0.2/24 dev kn0");
    run("ip route add 172.30.0.0/16 dev kn0");
    run("ip addr add 10.180.0.1/32 dev lo && ip addr add 10.180.0.2/32 dev lo");
  }
  void SetUp() override {
    auto w = NetlinkRuleWriter::open();
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = std::move(*w);
    auto c = NetlinkConntrack::open();
    ASSERT_TRUE(c.ok()) << c.status();
    conntrack_ = std::move(*c);
    run("conntrack -F");
  }
  void TearDown() override {
    if (writer_)
      EXPECT_TRUE(writer_->cleanup().ok());
    run("conntrack -F");
  }
  std::unique_ptr<NetlinkRuleWriter> writer_;
  std::unique_ptr<NetlinkConntrack> conntrack_;
};

void udp(api::Service& s) {
  s.spec.ports[0].protocol = "UDP";
}
api::EndpointSlice udpSlice(api::EndpointSlice s) {
  s.ports[0].protocol = "UDP";
  return s;
}

TEST_F(ConntrackTest, DeletesOnlyTheEntriesOfARemovedEndpoint) {
  std::vector<api::Service> services = {makeService("ns1", "svc1", "172.30.0.41", udp)};
  std::vector<api::EndpointSlice> slices = {
      udpSlice(makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}}))};
  ASSERT_TRUE(writer_->apply(testing::build(services, slices), nullptr).ok());
  Fd b1, b2;
  listenUdp(b1, "10.180.0.1", 80);
  listenUdp(b2, "10.180.0.2", 80);
  sendFromClients(24, "172.30.0.41", 80);
  const int toFirst = countEntries("src=10.180.0.1 dst=");
  const int toSecond = countEntries("src=10.180.0.2 dst=");
  ASSERT_GT(toFirst, 0) << run("conntrack -L -p udp");
  ASSERT_GT(toSecond, 0);
  EXPECT_EQ(toFirst + toSecond, 24);

  // 10.180.0.1 goes away.
  std::vector<api::EndpointSlice> after = {udpSlice(makeSlice("ns1", "svc1", {{"10.180.0.2"}}))};
  ConntrackCleanup c = conntrackCleanupFor(buildServicePorts(services, slices, "node-a").ports,
                                           buildServicePorts(services, after, "node-a").ports);
  ASSERT_EQ(c.removedEndpoints.size(), 1u);
  absl::StatusOr<size_t> deleted = conntrack_->deleteUdpEntries(c);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, static_cast<size_t>(toFirst));
  EXPECT_EQ(countEntries("src=10.180.0.1 dst="), 0);
  EXPECT_EQ(countEntries("src=10.180.0.2 dst="), toSecond);
  // Nothing left to delete: no error, nothing deleted.
  deleted = conntrack_->deleteUdpEntries(c);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0u);
}

TEST_F(ConntrackTest, DeletesStaleEntriesOfAServiceThatGetsItsFirstEndpoint) {
  // Traffic to a cluster IP before its service has endpoints leaves entries without
  // DNAT (the table's NAT chains switch conntrack on in this namespace; a service
  // without endpoints would reject, which confirms no entry, so here the service is
  // not programmed yet at all).
  ASSERT_TRUE(
      writer_->apply(testing::build({makeService("ns1", "svc1", "172.30.0.41")}, {}), nullptr)
          .ok());
  sendFromClients(5, "172.30.0.42", 81);
  sendFromClients(3, "172.30.0.43", 81);  // another service: kept
  ASSERT_EQ(countEntries("dst=172.30.0.42 sport="), 5) << run("conntrack -L -p udp");

  std::vector<api::Service> services = {
      makeService("ns2", "svc2", "172.30.0.42",
                  [](api::Service& s) {
                    udp(s);
                    s.spec.ports[0].port = 81;
                  }),
  };
  std::vector<api::EndpointSlice> none;
  std::vector<api::EndpointSlice> one = {udpSlice(makeSlice("ns2", "svc2", {{"10.180.0.1"}}, 81))};
  ConntrackCleanup c = conntrackCleanupFor(buildServicePorts(services, none, "node-a").ports,
                                           buildServicePorts(services, one, "node-a").ports);
  ASSERT_EQ(c.servicesGainingEndpoints.size(), 1u);
  absl::StatusOr<size_t> deleted = conntrack_->deleteUdpEntries(c);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 5u);
  EXPECT_EQ(countEntries("dst=172.30.0.42 sport="), 0);
  EXPECT_EQ(countEntries("dst=172.30.0.43 sport="), 3);
}

// A connected TCP socket pair through the cluster IP: client -> ip:port, the server
// side accepted from `listener`. Both with 5 s receive timeouts (no hangs).
void connectThrough(Fd& client, Fd& server, const Fd& listener, const std::string& ip,
                    uint16_t port) {
  client.fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client.fd, 0);
  timeval timeout{5, 0};
  setsockopt(client.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in a = address(ip, port);
  ASSERT_EQ(connect(client.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
  server.fd = accept(listener.fd, nullptr, nullptr);
  ASSERT_GE(server.fd, 0) << strerror(errno);
  setsockopt(server.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

// Sends one byte each way and checks both arrive.
void exchange(const Fd& client, const Fd& server, char c) {
  char got = 0;
  ASSERT_EQ(send(client.fd, &c, 1, 0), 1) << strerror(errno);
  ASSERT_EQ(recv(server.fd, &got, 1, 0), 1) << strerror(errno);
  EXPECT_EQ(got, c);
  ASSERT_EQ(send(server.fd, &c, 1, 0), 1) << strerror(errno);
  ASSERT_EQ(recv(client.fd, &got, 1, 0), 1) << strerror(errno);
  EXPECT_EQ(got, c);
}

void listenTcp(Fd& s, const std::string& ip, uint16_t port) {
  s.fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s.fd, 0);
  int one = 1;
  setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = address(ip, port);
  ASSERT_EQ(bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
  ASSERT_EQ(listen(s.fd, 8), 0);
}

TEST_F(ConntrackTest, EstablishedConnectionSurvivesAFullRebuild) {
  std::vector<api::Service> services = {makeService("ns1", "svc1", "172.30.0.41")};
  ASSERT_TRUE(
      writer_
          ->apply(testing::build(services, {makeSlice("ns1", "svc1", {{"10.180.0.1"}})}), nullptr)
          .ok());
  Fd l1, l2;
  listenTcp(l1, "10.180.0.1", 80);
  listenTcp(l2, "10.180.0.2", 80);
  Fd client, server;
  connectThrough(client, server, l1, "172.30.0.41", 80);
  exchange(client, server, 'a');

  // The whole table is replaced in one transaction by one whose only endpoint is
  // 10.180.0.2: the established connection keeps its DNAT binding to 10.180.0.1.
  absl::Status s = writer_->apply(
      testing::build(services, {makeSlice("ns1", "svc1", {{"10.180.0.2"}})}), nullptr);
  ASSERT_TRUE(s.ok()) << s;
  exchange(client, server, 'b');
  // New connections use the new rules.
  Fd client2, server2;
  connectThrough(client2, server2, l2, "172.30.0.41", 80);
  exchange(client2, server2, 'c');
}

}  // namespace
}  // namespace kubenode::netfilter

int main(int argc, char** argv) {
  // A private network namespace for the whole process: nothing of the host's is touched.
  if (unshare(CLONE_NEWNET) != 0) {
    perror("unshare(CLONE_NEWNET) (needs root)");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
