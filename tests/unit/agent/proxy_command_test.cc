// `kubenode proxy` as a user runs it, with the kernel replaced by fakes: what render
// prints, what apply hands the writer, the one-line errors for bad input, and the trace
// command's output; plus the pure part of netfilter/nftrace.h that the trace prints with.
#include "agent/proxy_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "netfilter/render.h"
#include "netfilter/rule_writer.h"

namespace kubenode::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/kubenode-proxy-test-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr char kService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: svc1
  namespace: ns1
spec:
  clusterIP: 172.30.0.41
  selector:
    app: a
  ports:
  - name: p80
    port: 80
    protocol: TCP
)";

constexpr char kSlice[] = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc1-abcde
  namespace: ns1
  labels:
    kubernetes.io/service-name: svc1
addressType: IPv4
endpoints:
- addresses:
  - 10.180.0.1
  nodeName: node-a
ports:
- name: p80
  port: 80
  protocol: TCP
)";

constexpr char kPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox
)";

// A node-port service with externalTrafficPolicy Local and its endpoint on node-a.
constexpr char kLocalNodePort[] = R"(apiVersion: v1
kind: Service
metadata:
  name: np
  namespace: ns2
spec:
  type: NodePort
  clusterIP: 172.30.0.42
  externalTrafficPolicy: Local
  ports:
  - name: p80
    port: 80
    nodePort: 30080
    protocol: TCP
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: np-1
  namespace: ns2
  labels:
    kubernetes.io/service-name: np
addressType: IPv4
endpoints:
- addresses:
  - 10.180.0.9
  nodeName: node-a
ports:
- name: p80
  port: 80
  protocol: TCP
)";

struct FakeWriter : netfilter::RuleWriter {
  struct Log {
    std::vector<netfilter::Ruleset> applied;
    std::vector<bool> withDiff;
    int cleanups = 0;
    std::vector<std::string> tables;
    absl::Status applyResult = absl::OkStatus();
  };
  explicit FakeWriter(Log* log) : log_(log) {}
  absl::Status apply(const netfilter::Ruleset& desired,
                     const netfilter::RulesetDiff* diff) override {
    if (!log_->applyResult.ok())
      return log_->applyResult;
    log_->applied.push_back(desired);
    log_->withDiff.push_back(diff != nullptr);
    return absl::OkStatus();
  }
  absl::Status cleanup() override {
    ++log_->cleanups;
    return absl::OkStatus();
  }
  absl::StatusOr<netfilter::TableState> readBack(const netfilter::ReadBackRequest&) override {
    return netfilter::TableState{};
  }
  Log* log_;
};

struct FakeTrace : netfilter::TraceSession {
  std::vector<netfilter::TraceEvent> events;
  int* stops;
  std::chrono::steady_clock::time_point* until;
  absl::Status run(std::chrono::steady_clock::time_point u, int,
                   const std::function<void(const netfilter::TraceEvent&)>& onEvent,
                   const std::function<void(const std::string&)>&) override {
    *until = u;
    for (const netfilter::TraceEvent& e : events)
      onEvent(e);
    return absl::OkStatus();
  }
  absl::Status stop() override {
    ++*stops;
    return absl::OkStatus();
  }
};

class ProxyCommandTest : public ::testing::Test {
 protected:
  ProxyCommandTest() {
    deps_.makeWriter =
        [this](const std::string& table) -> absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> {
      log_.tables.push_back(table);
      return std::unique_ptr<netfilter::RuleWriter>(std::make_unique<FakeWriter>(&log_));
    };
    deps_.localAddresses = [] {
      return std::vector<netfilter::Ipv4Addr>{netfilter::parseIpv4("127.0.0.1").value(),
                                              netfilter::parseIpv4("192.168.1.10").value(),
                                              netfilter::parseIpv4("10.0.0.5").value()};
    };
    deps_.hostname = [] { return std::string("Node-A"); };
    deps_.startTrace = [this](const netfilter::TraceFilter& f)
        -> absl::StatusOr<std::unique_ptr<netfilter::TraceSession>> {
      filters_.push_back(f);
      auto t = std::make_unique<FakeTrace>();
      t->events = traceEvents_;
      t->stops = &traceStops_;
      t->until = &traceUntil_;
      return std::unique_ptr<netfilter::TraceSession>(std::move(t));
    };
    deps_.stopFd = [] { return -1; };
  }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), "proxy");
    std::vector<const char*> argv;
    for (const std::string& a : args)
      argv.push_back(a.c_str());
    return runProxyCommand(static_cast<int>(argv.size()), argv.data(), out_, err_, deps_);
  }

  // What render must print: the ruleset built directly from the same objects.
  std::string expectedRender(const std::vector<std::string>& texts,
                             const netfilter::NodeSettings& node) {
    TempDir d;
    for (size_t i = 0; i < texts.size(); ++i)
      d.write("m" + std::to_string(i) + ".yaml", texts[i]);
    ProxyManifests m = readProxyManifests(d.path()).value();
    return netfilter::renderNft(netfilter::buildRuleset(
        netfilter::buildServicePorts(m.services, m.slices, node.nodeName).ports, node));
  }

  int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

  TempDir dir_;
  ProxyCommandDeps deps_;
  FakeWriter::Log log_;
  std::vector<netfilter::TraceFilter> filters_;
  std::vector<netfilter::TraceEvent> traceEvents_;
  int traceStops_ = 0;
  std::chrono::steady_clock::time_point traceUntil_{};
  std::ostringstream out_, err_;
};

TEST_F(ProxyCommandTest, RenderPrintsTheRulesetOfServicesAndSlices) {
  std::string file = dir_.write("svc.yaml", std::string(kService) + "---\n" + kSlice);
  ASSERT_EQ(run({"render", "-f", file, "--cluster-cidr", "10.244.0.0/16"}), 0) << err_.str();
  netfilter::NodeSettings node;
  node.nodeName = "node-a";
  node.clusterCIDR = netfilter::parseCidr("10.244.0.0/16").value();
  node.nodeIPs = deps_.localAddresses();
  EXPECT_EQ(out_.str(), expectedRender({std::string(kService) + "---\n" + kSlice}, node));
  // What an operator looks for: kube-proxy's chain names and comments, the cluster CIDR.
  EXPECT_THAT(out_.str(), HasSubstr("table ip kubenode {"));
  EXPECT_THAT(out_.str(), HasSubstr("chain KUBE-SVC-XPGD46QRK7WJZT7O {"));
  EXPECT_THAT(out_.str(), HasSubstr("chain KUBE-SEP-SXIVWICOYRO3J4NJ {"));
  EXPECT_THAT(out_.str(), HasSubstr("ip saddr != 10.244.0.0/16"));
  EXPECT_THAT(out_.str(), HasSubstr("\"ns1/svc1:p80 cluster IP\""));
  EXPECT_THAT(out_.str(), HasSubstr("dnat to 10.180.0.1:80"));
  EXPECT_EQ(err_.str(), "");
  EXPECT_TRUE(log_.applied.empty());  // render programs nothing
}

TEST_F(ProxyCommandTest, ADirectoryIsReadInNameOrderAndOtherKindsAreSkippedWithANote) {
  dir_.write("b-slice.json", R"({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
    "metadata":{"name":"svc1-abcde","namespace":"ns1","labels":{"kubernetes.io/service-name":"svc1"}},
    "addressType":"IPv4","endpoints":[{"addresses":["10.180.0.1"]}],
    "ports":[{"name":"p80","port":80,"protocol":"TCP"}]})");
  dir_.write("a-svc.yml", kService);
  dir_.write("c-pod.yaml", kPod);
  dir_.write("README.txt", "not a manifest");
  ASSERT_EQ(run({"render", "-f", dir_.path()}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("dnat to 10.180.0.1:80"));
  EXPECT_EQ(err_.str(), "kubenode proxy render: note: " + dir_.path() +
                            "/c-pod.yaml: skipping Pod web: pods belong to the daemon "
                            "(--pod-manifest-path)\n");
}

TEST_F(ProxyCommandTest, AServiceWithASelectorAndNoSliceHasNoEndpoints) {
  std::string file = dir_.write("svc.yaml", kService);
  ASSERT_EQ(run({"render", "-f", file}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\"ns1/svc1:p80 has no endpoints\""));
  EXPECT_THAT(out_.str(), Not(HasSubstr("KUBE-SEP-")));
}

TEST_F(ProxyCommandTest, HostnameOverrideDecidesWhichEndpointsAreLocal) {
  std::string file = dir_.write("np.yaml", kLocalNodePort);
  ASSERT_EQ(run({"render", "-f", file, "--hostname-override", "node-a"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), Not(HasSubstr("has no local endpoints")));
  ASSERT_EQ(run({"render", "-f", file, "--hostname-override", "node-b"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\"ns2/np:p80 has no local endpoints\""));
  // Without the flag: the host name, lower-cased as the kubelet does ("Node-A" -> node-a).
  ASSERT_EQ(run({"render", "-f", file}), 0) << err_.str();
  EXPECT_THAT(out_.str(), Not(HasSubstr("has no local endpoints")));
}

TEST_F(ProxyCommandTest, NodePortAddressesSelectTheNodesOwnAddresses) {
  std::string file = dir_.write("np.yaml", kLocalNodePort);
  ASSERT_EQ(run({"render", "-f", file, "--node-port-addresses", "192.168.0.0/16"}), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("ip daddr 192.168.1.10 counter jump KUBE-NODEPORTS"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("ip daddr 10.0.0.5 counter jump KUBE-NODEPORTS")));
  EXPECT_THAT(out_.str(), Not(HasSubstr("fib daddr type local")));
}

TEST_F(ProxyCommandTest, MasqueradeBitAndConfigFileLayerAsInTheDaemon) {
  std::string file = dir_.write("svc.yaml", std::string(kService) + "---\n" + kSlice);
  std::string config = dir_.write("config.yaml", R"(apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clusterCIDR: 10.100.0.0/16
iptables:
  masqueradeBit: 5
)");
  ASSERT_EQ(run({"render", "-f", file, "--config", config}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("ip saddr != 10.100.0.0/16"));
  EXPECT_THAT(out_.str(), HasSubstr("meta mark set meta mark | 0x00000020"));
  // A flag overrides the file.
  ASSERT_EQ(run({"render", "-f", file, "--config", config, "--masquerade-bit", "14"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("meta mark set meta mark | 0x00004000"));
  EXPECT_THAT(out_.str(), HasSubstr("ip saddr != 10.100.0.0/16"));
}

TEST_F(ProxyCommandTest, BadInputIsOneLineNamingTheFileOrFlagAndNothingIsProgrammed) {
  std::string good = dir_.write("svc.yaml", kService);
  std::string bad = dir_.write("bad.yaml", std::string(kService) + "---\n" +
                                               R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: s
  namespace: ns1
addressType: IPv4
endpoints:
- addresses:
  - not-an-ip
)");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases = {
      {{"apply", "-f", bad}, "kubenode proxy apply: " + bad + ": document 2: endpoints[0]"},
      {{"apply", "-f", dir_.path() + "/missing.yaml"}, "no such file or directory"},
      {{"apply", "-f", good, "--cluster-cidr", "10.244.0.1/16"},
       "kubenode proxy apply: --cluster-cidr: \"10.244.0.1/16\": expected one IPv4 CIDR"},
      {{"apply", "-f", good, "--node-port-addresses", "10.0.0.0/8,bogus"},
       "kubenode proxy apply: --node-port-addresses: \"bogus\": expected IPv4 CIDRs"},
      {{"apply", "-f", good, "--masquerade-bit", "40"}, "kubenode proxy apply: --masquerade-bit:"},
      {{"apply", "-f", good, "--config", dir_.path() + "/none.yaml"},
       "kubenode proxy apply: --config: cannot read"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(run(c.args), 1) << c.args.back();
    EXPECT_THAT(err_.str(), HasSubstr(c.message));
    EXPECT_EQ(lines(err_.str()), 1) << err_.str();
    EXPECT_EQ(out_.str(), "");
  }
  EXPECT_TRUE(log_.applied.empty());
  EXPECT_TRUE(log_.tables.empty());  // not even a netlink socket was opened
}

TEST_F(ProxyCommandTest, AnEmptyDirectoryIsAnError) {
  TempDir empty;
  EXPECT_EQ(run({"render", "-f", empty.path()}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no *.yaml, *.yml or *.json file"));
}

TEST_F(ProxyCommandTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(run({"render"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--filename"));
  EXPECT_EQ(run({"render", "-f", "x", "--no-such-flag"}), 2);
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("trace"));
  EXPECT_EQ(run({"render", "--help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("--cluster-cidr"));
  EXPECT_THAT(out_.str(), HasSubstr("without a slice it has no endpoints"));
}

TEST_F(ProxyCommandTest, ApplyProgramsWhatRenderPrintsAsOneFullRebuild) {
  std::string file = dir_.write("svc.yaml", std::string(kService) + "---\n" + kSlice);
  ASSERT_EQ(run({"render", "-f", file, "--cluster-cidr", "10.244.0.0/16"}), 0);
  std::string rendered = out_.str();
  ASSERT_EQ(run({"apply", "-f", file, "--cluster-cidr", "10.244.0.0/16"}), 0) << err_.str();
  ASSERT_EQ(log_.applied.size(), 1u);
  EXPECT_EQ(netfilter::renderNft(log_.applied[0]), rendered);
  EXPECT_THAT(log_.withDiff, ElementsAre(false));
  EXPECT_THAT(log_.tables, ElementsAre("kubenode"));
  EXPECT_THAT(out_.str(), HasSubstr("table ip kubenode programmed: 1 service ports"));
}

TEST_F(ProxyCommandTest, AKernelErrorIsOneLineAndExitOne) {
  std::string file = dir_.write("svc.yaml", kService);
  log_.applyResult = absl::PermissionDeniedError("opening netlink: Operation not permitted");
  EXPECT_EQ(run({"apply", "-f", file}), 1);
  EXPECT_EQ(err_.str(), "kubenode proxy apply: opening netlink: Operation not permitted\n");
}

TEST_F(ProxyCommandTest, CleanupRemovesKubenodesTable) {
  ASSERT_EQ(run({"cleanup"}), 0) << err_.str();
  EXPECT_EQ(log_.cleanups, 1);
  EXPECT_THAT(log_.tables, ElementsAre("kubenode"));
  EXPECT_EQ(out_.str(), "table ip kubenode removed\n");
}

TEST_F(ProxyCommandTest, TracePrintsEachReportAndRemovesItsRules) {
  netfilter::TraceEvent first;
  first.id = 0xabc;
  first.table = "kubenode";
  first.chain = "nat-prerouting";
  first.type = netfilter::TraceEvent::Type::kRule;
  first.ruleHandle = 4;
  first.verdict = "jump";
  first.jumpTarget = "KUBE-SERVICES";
  first.iif = "veth0";
  first.packet = netfilter::TracePacket{.src = netfilter::parseIpv4("10.244.1.20").value(),
                                        .dst = netfilter::parseIpv4("10.96.0.10").value(),
                                        .protocol = 6,
                                        .sport = 40000,
                                        .dport = 80,
                                        .tcpFlags = 0x02};
  netfilter::TraceEvent second = first;
  second.packet.reset();
  second.chain = "KUBE-SERVICES";
  second.ruleHandle = 9;
  second.ruleText = "ip daddr . meta l4proto . th dport vmap @service-ips";
  second.jumpTarget = "KUBE-SVC-XPGD46QRK7WJZT7O";
  traceEvents_ = {first, second};

  auto before = std::chrono::steady_clock::now();
  ASSERT_EQ(run({"trace", "10.96.0.10:80", "--duration", "2s", "--protocol", "tcp"}), 0)
      << err_.str();
  ASSERT_EQ(filters_.size(), 1u);
  EXPECT_EQ(filters_[0].destination.toString(), "10.96.0.10");
  EXPECT_EQ(filters_[0].port, 80);
  EXPECT_EQ(filters_[0].protocol, netfilter::Protocol::kTcp);
  EXPECT_GE(traceUntil_ - before, std::chrono::seconds(2));
  EXPECT_LT(traceUntil_ - before, std::chrono::seconds(3));
  EXPECT_EQ(out_.str(),
            "trace id 00000abc ip kubenode nat-prerouting packet: iif \"veth0\" ip saddr "
            "10.244.1.20 ip daddr 10.96.0.10 ip protocol tcp tcp sport 40000 tcp dport 80 tcp "
            "flags == syn\n"
            "trace id 00000abc ip kubenode nat-prerouting rule handle 4 (verdict jump "
            "KUBE-SERVICES)\n"
            "trace id 00000abc ip kubenode KUBE-SERVICES rule handle 9: ip daddr . meta l4proto "
            ". th dport vmap @service-ips (verdict jump KUBE-SVC-XPGD46QRK7WJZT7O)\n");
  EXPECT_EQ(traceStops_, 1);
  EXPECT_THAT(err_.str(), HasSubstr("ip daddr 10.96.0.10 tcp dport 80 meta nftrace set 1"));
  EXPECT_THAT(err_.str(), HasSubstr("1 packet(s) traced; table ip kubenode-trace removed"));
}

TEST_F(ProxyCommandTest, TraceRejectsBadArgumentsBeforeTouchingTheKernel) {
  EXPECT_EQ(run({"trace", "10.96.0"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("\"10.96.0\": not an IPv4 address"));
  EXPECT_EQ(run({"trace", "10.96.0.10:0"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("port is not a number from 1 to 65535"));
  EXPECT_EQ(run({"trace", "10.96.0.10", "--protocol", "icmp"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--protocol: \"icmp\": expected tcp or udp"));
  EXPECT_EQ(run({"trace", "10.96.0.10", "--duration", "soon"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--duration: \"soon\": expected a positive duration"));
  EXPECT_TRUE(filters_.empty());
}

TEST(ProxyNodeSettings, NamesAndAddressesAsTheDaemonDerivesThem) {
  AgentConfig config;
  std::vector<netfilter::Ipv4Addr> addresses = {netfilter::parseIpv4("192.168.1.10").value()};
  absl::StatusOr<netfilter::NodeSettings> node = proxyNodeSettings(config, " Web-01\n", addresses);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->nodeName, "web-01");  // the host name, trimmed and lower-cased
  EXPECT_FALSE(node->clusterCIDR.has_value());
  EXPECT_EQ(node->masqueradeBit, 14);
  EXPECT_EQ(node->nodeIPs, addresses);

  config.hostnameOverride = "Node-B";
  config.clusterCIDR = "10.244.0.0/16";
  config.nodePortAddresses = {"192.168.0.0/16"};
  config.masqueradeBit = 3;
  node = proxyNodeSettings(config, "web-01", addresses);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->nodeName, "node-b");
  EXPECT_EQ(node->clusterCIDR->toString(), "10.244.0.0/16");
  ASSERT_EQ(node->nodePortAddresses.size(), 1u);
  EXPECT_EQ(node->nodePortAddresses[0].toString(), "192.168.0.0/16");
  EXPECT_EQ(netfilter::masqueradeMark(*node), 0x8u);

  config.hostnameOverride = "";
  EXPECT_THAT(std::string(proxyNodeSettings(config, "", addresses).status().message()),
              HasSubstr("--hostname-override"));
  config.clusterCIDR = "fd00::/64";
  EXPECT_THAT(std::string(proxyNodeSettings(config, "n", addresses).status().message()),
              HasSubstr("--cluster-cidr: \"fd00::/64\": expected one IPv4 CIDR"));
}

TEST(TraceRules, APortWithoutProtocolTracesTcpAndUdp) {
  netfilter::TraceFilter f = netfilter::parseTraceTarget("10.96.0.10:53").value();
  EXPECT_THAT(netfilter::traceRuleTexts(f),
              ElementsAre("ip daddr 10.96.0.10 tcp dport 53 meta nftrace set 1",
                          "ip daddr 10.96.0.10 udp dport 53 meta nftrace set 1"));
  f = netfilter::parseTraceTarget("10.96.0.10").value();
  EXPECT_THAT(netfilter::traceRuleTexts(f), ElementsAre("ip daddr 10.96.0.10 meta nftrace set 1"));
}

TEST(TracePacket, DecodesIpv4AndTransportHeaders) {
  // 10.0.0.1:1234 -> 10.96.0.10:53, UDP
  std::vector<uint8_t> ip = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 96, 0, 10};
  std::vector<uint8_t> udp = {0x04, 0xd2, 0x00, 0x35, 0, 8, 0, 0};
  std::optional<netfilter::TracePacket> p = netfilter::decodeTracePacket(ip, udp);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->src.toString(), "10.0.0.1");
  EXPECT_EQ(p->dst.toString(), "10.96.0.10");
  EXPECT_EQ(p->protocol, 17);
  EXPECT_EQ(p->sport, 1234);
  EXPECT_EQ(p->dport, 53);
  ip[0] = 0x60;  // IPv6
  EXPECT_FALSE(netfilter::decodeTracePacket(ip, udp));
  EXPECT_FALSE(netfilter::decodeTracePacket({}, {}));
}

TEST(TracePrinter, PolicyAndReturnLines) {
  netfilter::TracePrinter printer;
  netfilter::TraceEvent e;
  e.id = 1;
  e.table = "kubenode";
  e.chain = "KUBE-SVC-X";
  e.type = netfilter::TraceEvent::Type::kReturn;
  e.verdict = "continue";
  EXPECT_EQ(printer.format(e),
            "trace id 00000001 ip kubenode KUBE-SVC-X packet:\n"
            "trace id 00000001 ip kubenode KUBE-SVC-X end of chain (verdict continue)\n");
  e.type = netfilter::TraceEvent::Type::kRule;  // kernel 6.18: a rule report without handle
  EXPECT_EQ(printer.format(e),
            "trace id 00000001 ip kubenode KUBE-SVC-X end of chain (verdict continue)\n");
  e.chain = "nat-output";
  e.type = netfilter::TraceEvent::Type::kPolicy;
  e.verdict = "accept";
  EXPECT_EQ(printer.format(e), "trace id 00000001 ip kubenode nat-output policy accept\n");
}

}  // namespace
}  // namespace kubenode::agent
