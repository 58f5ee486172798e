#include "netfilter/chain_names.h"

#include <gtest/gtest.h>

namespace kubenode::netfilter {
namespace {

// Pairs from kube-proxy's own expectations (pkg/proxy/iptables/proxier_test.go,
// TestOverallIPTablesRules): service port name + protocol (+ endpoint) -> chain.
TEST(ChainNamesTest, ServiceChainsMatchKubeProxy) {
  EXPECT_EQ(serviceChainName("ns1/svc1:p80", "tcp"), "KUBE-SVC-XPGD46QRK7WJZT7O");
  EXPECT_EQ(serviceChainName("ns2/svc2:p80", "tcp"), "KUBE-SVC-GNZBNJ2PO5MGZ6GT");
  EXPECT_EQ(serviceChainName("ns3/svc3:p80", "tcp"), "KUBE-SVC-X27LE4BHSL4DOUIK");
  EXPECT_EQ(serviceChainName("ns4/svc4:p80", "tcp"), "KUBE-SVC-4SW47YFZTEDKD3PK");
  EXPECT_EQ(externalChainName("ns2/svc2:p80", "tcp"), "KUBE-EXT-GNZBNJ2PO5MGZ6GT");
  EXPECT_EQ(firewallChainName("ns5/svc5:p80", "tcp"), "KUBE-FW-NUKIZ6OKUXPJNT4C");
  EXPECT_EQ(serviceLocalChainName("ns1/svc1:p80", "tcp"), "KUBE-SVL-XPGD46QRK7WJZT7O");
}

TEST(ChainNamesTest, EndpointChainsMatchKubeProxy) {
  EXPECT_EQ(endpointChainName("ns1/svc1:p80", "tcp", "10.180.0.1:80"), "KUBE-SEP-SXIVWICOYRO3J4NJ");
  EXPECT_EQ(endpointChainName("ns2/svc2:p80", "tcp", "10.180.0.2:80"), "KUBE-SEP-RS4RBKLTHTF2IUXJ");
  EXPECT_EQ(endpointChainName("ns3/svc3:p80", "tcp", "10.180.0.3:80"), "KUBE-SEP-OYPFS5VJICHGATKP");
  EXPECT_EQ(endpointChainName("ns4/svc4:p80", "tcp", "10.180.0.5:80"), "KUBE-SEP-C6EBXVWJJZMIWKLZ");
  // Same endpoint, other service: another chain.
  EXPECT_EQ(endpointChainName("ns5/svc5:p80", "tcp", "10.180.0.3:80"), "KUBE-SEP-I77PXRDZVX7PMWMN");
}

TEST(ChainNamesTest, ProtocolIsPartOfTheHash) {
  EXPECT_NE(serviceChainName("ns1/svc1:p80", "udp"), serviceChainName("ns1/svc1:p80", "tcp"));
}

TEST(ChainNamesTest, Base32MatchesRfc4648Vectors) {
  EXPECT_EQ(base32Encode(""), "");
  EXPECT_EQ(base32Encode("f"), "MY======");
  EXPECT_EQ(base32Encode("fo"), "MZXQ====");
  EXPECT_EQ(base32Encode("foo"), "MZXW6===");
  EXPECT_EQ(base32Encode("foob"), "MZXW6YQ=");
  EXPECT_EQ(base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(base32Encode("foobar"), "MZXW6YTBOI======");
}

TEST(ChainNamesTest, ServiceChainPrefixes) {
  EXPECT_TRUE(isServiceChainName("KUBE-SEP-SXIVWICOYRO3J4NJ"));
  EXPECT_TRUE(isServiceChainName("KUBE-FW-NUKIZ6OKUXPJNT4C"));
  EXPECT_FALSE(isServiceChainName("KUBE-SERVICES"));
  EXPECT_FALSE(isServiceChainName("KUBE-MARK-MASQ"));
}

}  // namespace
}  // namespace kubenode::netfilter
