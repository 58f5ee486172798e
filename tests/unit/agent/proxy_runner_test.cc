#include "agent/proxy_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "agent/metrics.h"
#include "netfilter/fake_rule_writer.h"
#include "netfilter/fake_time_source.h"
#include "netfilter/render.h"

namespace kubenode::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kWebService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  clusterIP: 10.96.0.10
  ports:
  - name: http
    port: 80
    targetPort: http
)";

constexpr char kWebSlice[] = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-manual
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["10.244.9.9"]
  conditions:
    ready: true
ports:
- name: http
  port: 9999
)";

api::Pod webPod(const std::string& name, const std::string& ip, bool ready = true) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-" + name;
  p.metadata.labels = {{"app", "web"}};
  p.spec.nodeName = "node-a";
  api::Container& c = p.spec.containers.emplace_back();
  c.name = "httpd";
  c.ports.push_back({.name = "http", .containerPort = 8080, .protocol = "TCP"});
  p.status.phase = "Running";
  p.status.podIP = ip;
  p.status.podIPs = {{ip}};
  p.status.conditions.push_back({.type = "Ready", .status = ready ? "True" : "False"});
  return p;
}

// The runner owns its writer; this one forwards to the test's fake so the test can look.
class ForwardingWriter : public netfilter::RuleWriter {
 public:
  explicit ForwardingWriter(netfilter::FakeRuleWriter& fake) : fake_(fake) {}
  absl::Status apply(const netfilter::Ruleset& desired,
                     const netfilter::RulesetDiff* diff) override {
    return fake_.apply(desired, diff);
  }
  absl::Status cleanup() override { return fake_.cleanup(); }
  absl::StatusOr<netfilter::TableState> readBack(
      const netfilter::ReadBackRequest& request) override {
    return fake_.readBack(request);
  }

 private:
  netfilter::FakeRuleWriter& fake_;
};

class ProxyRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kubenode-proxy-runner-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_.podManifestPath = dir_;
    config_.hostnameOverride = "Node-A";
    config_.clusterCIDR = "10.244.0.0/16";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::string tmp = dir_ + "/." + name + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, dir_ + "/" + name);
  }
  ProxyRunnerDeps deps() {
    ProxyRunnerDeps d;
    d.makeWriter =
        [this](const std::string& table) -> absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> {
      writerTables_.push_back(table);
      return std::unique_ptr<netfilter::RuleWriter>(new ForwardingWriter(writer_));
    };
    d.makeConntrack = []() -> absl::StatusOr<std::unique_ptr<netfilter::Conntrack>> {
      return absl::PermissionDeniedError("not in this test");
    };
    d.localAddresses = [] { return std::vector<netfilter::Ipv4Addr>{}; };
    d.hostname = [] { return std::string("host"); };
    d.time = &time_;
    return d;
  }
  std::unique_ptr<ProxyRunner> makeRunner() {
    return std::make_unique<ProxyRunner>(
        loop_, config_, metrics_.registry(), deps(),
        ProxyRunnerOptions{
            .podsWait = std::chrono::seconds(10),
            .onManifestError = [this](const std::string& e) { manifestErrors_.push_back(e); }});
  }
  // Runs the Asio loop (inotify, posted setPods) until `done` holds or 10 s pass.
  bool runUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      if (loop_.stopped())
        loop_.restart();
      loop_.run_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  // Runs what setPods() posted to the loop.
  void drain() {
    if (loop_.stopped())
      loop_.restart();
    loop_.poll();
  }
  size_t computedEndpoints(const ProxyRunner& runner) const {
    size_t n = 0;
    for (const api::EndpointSlice& s : runner.computedSlices())
      n += s.endpoints.size();
    return n;
  }
  std::string table() const {
    return writer_.table() ? netfilter::renderNft(*writer_.table()) : std::string();
  }
  // Lets the proxier's rate limit (--min-sync-period, 1 s) pass: runs what is due.
  void letSync() { time_.advance(std::chrono::seconds(1)); }

  std::string dir_;
  AgentConfig config_;
  boost::asio::io_context loop_;
  netfilter::FakeTimeSource time_;
  netfilter::FakeRuleWriter writer_;
  AgentMetrics metrics_;
  std::vector<std::string> writerTables_;
  std::vector<std::string> manifestErrors_;
};

TEST_F(ProxyRunnerTest, SelectorServiceGetsEndpointsFromTheNodesPods) {
  write("web-svc.yaml", kWebService);
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  EXPECT_EQ(writerTables_, std::vector<std::string>{"kubenode"});

  // No sync before the pods are known: it would program "no endpoints" for web.
  letSync();
  EXPECT_THAT(writer_.applies(), IsEmpty());

  // From another thread, as the runtime watcher calls it.
  std::thread([&] {
    runner->setPods({webPod("web-node-a", "10.244.0.5"), webPod("other", "10.244.0.6", true)});
  }).join();
  drain();
  EXPECT_EQ(computedEndpoints(*runner), 2u);
  letSync();
  ASSERT_THAT(writer_.applies(), SizeIs(1));
  EXPECT_TRUE(writer_.applies()[0].full);
  ASSERT_TRUE(writer_.applies()[0].result.ok());
  const std::string text = table();
  EXPECT_THAT(text, HasSubstr("default/web:http cluster IP"));
  EXPECT_THAT(text, HasSubstr("dnat to 10.244.0.5:8080"));  // named targetPort resolved
  EXPECT_THAT(text, HasSubstr("dnat to 10.244.0.6:8080"));

  // A pod turning unready leaves the endpoints; an unchanged list syncs nothing.
  runner->setPods({webPod("web-node-a", "10.244.0.5"), webPod("other", "10.244.0.6", false)});
  drain();
  EXPECT_TRUE(runner->proxier()->syncPending());
  letSync();
  EXPECT_THAT(table(), Not(HasSubstr("10.244.0.6:8080")));
  const size_t applies = writer_.applies().size();
  std::vector<api::Pod> same = {webPod("web-node-a", "10.244.0.5"),
                                webPod("other", "10.244.0.6", false)};
  same[0].status.containerStatuses.push_back({.name = "httpd", .restartCount = 3});
  runner->setPods(same);
  drain();
  EXPECT_FALSE(runner->proxier()->syncPending());
  letSync();
  EXPECT_EQ(writer_.applies().size(), applies);
}

TEST_F(ProxyRunnerTest, WithoutPodsTheFirstSyncWaitsAtMostPodsWait) {
  write("web-svc.yaml", kWebService);
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  time_.advance(std::chrono::seconds(9));
  EXPECT_THAT(writer_.applies(), IsEmpty());
  time_.advance(std::chrono::seconds(1));
  ASSERT_THAT(writer_.applies(), SizeIs(1));
  EXPECT_THAT(table(), HasSubstr("default/web:http has no endpoints"));
}

TEST_F(ProxyRunnerTest, ServiceWithItsOwnSliceKeepsIt) {
  write("web-svc.yaml", kWebService);
  write("web-slice.yaml", kWebSlice);
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  runner->setPods({webPod("web-node-a", "10.244.0.5")});
  drain();
  letSync();
  EXPECT_THAT(runner->computedSlices(), IsEmpty());
  EXPECT_THAT(table(), HasSubstr("dnat to 10.244.9.9:9999"));
  EXPECT_THAT(table(), Not(HasSubstr("10.244.0.5")));
}

TEST_F(ProxyRunnerTest, ManifestChangesReachTheTable) {
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  runner->setPods({webPod("web-node-a", "10.244.0.5")});
  drain();
  letSync();
  ASSERT_THAT(writer_.applies(), SizeIs(1));
  EXPECT_THAT(table(), Not(HasSubstr("default/web")));

  write("web-svc.yaml", kWebService);
  ASSERT_TRUE(runUntil([&] { return computedEndpoints(*runner) == 1; }));
  letSync();
  EXPECT_THAT(table(), HasSubstr("dnat to 10.244.0.5:8080"));

  write("bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n"
        "  - name: a\n");
  ASSERT_TRUE(runUntil([&] { return !manifestErrors_.empty(); }));
  EXPECT_THAT(manifestErrors_[0], HasSubstr("bad.yaml"));
}

TEST_F(ProxyRunnerTest, MetricsFollowSyncs) {
  write("web-svc.yaml", kWebService);
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  runner->setPods({webPod("web-node-a", "10.244.0.5")});
  drain();
  letSync();
  std::string text = metrics_.exposition();
  EXPECT_THAT(text, HasSubstr("kubeproxy_sync_proxy_rules_duration_seconds_count 1"));
  EXPECT_THAT(text, HasSubstr("kubeproxy_sync_full_proxy_rules_duration_seconds_count 1"));
  EXPECT_THAT(text, HasSubstr("kubenode_proxy_sync_errors_total 0"));
  EXPECT_THAT(text, Not(HasSubstr("kubenode_proxy_rules 0")));
  EXPECT_THAT(text, HasSubstr("kubenode_proxy_chains "));
  EXPECT_THAT(text, Not(HasSubstr("kubeproxy_sync_proxy_rules_last_timestamp_seconds 0\n")));

  writer_.failNext(absl::UnavailableError("ENOBUFS"));
  runner->setPods({webPod("web-node-a", "10.244.0.7")});
  drain();
  letSync();
  text = metrics_.exposition();
  EXPECT_THAT(text, HasSubstr("kubenode_proxy_sync_errors_total 1"));
  EXPECT_THAT(text, HasSubstr("kubeproxy_sync_partial_proxy_rules_duration_seconds_count 1"));
  letSync();  // the retry (a full rebuild), if it was not due within the same second
  EXPECT_THAT(table(), HasSubstr("10.244.0.7"));
  EXPECT_THAT(metrics_.exposition(),
              HasSubstr("kubeproxy_sync_full_proxy_rules_duration_seconds_count 2"));
}

TEST_F(ProxyRunnerTest, StopLeavesTheRulesInPlace) {
  write("web-svc.yaml", kWebService);
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  runner->setPods({webPod("web-node-a", "10.244.0.5")});
  drain();
  letSync();
  ASSERT_THAT(table(), HasSubstr("10.244.0.5"));
  runner->stop();
  runner->setPods({});  // after stop: ignored, nothing crashes
  loop_.poll();
  time_.advance(std::chrono::minutes(1));
  EXPECT_EQ(writer_.cleanups(), 0);
  EXPECT_THAT(table(), HasSubstr("10.244.0.5"));
  runner.reset();
  loop_.poll();  // a drain posted before destruction finds the runner gone
}

TEST_F(ProxyRunnerTest, WithoutManifestPathTheTableIsProgrammedEmptyOncePodsAreKnown) {
  config_.podManifestPath.clear();
  write("web-svc.yaml", kWebService);  // not read: no --pod-manifest-path
  auto runner = makeRunner();
  ASSERT_TRUE(runner->start().ok());
  runner->setPods({webPod("web-node-a", "10.244.0.5")});
  drain();
  letSync();
  ASSERT_THAT(writer_.applies(), SizeIs(1));
  EXPECT_THAT(table(), HasSubstr("chain KUBE-SERVICES"));
  EXPECT_THAT(table(), Not(HasSubstr("default/web")));
  // The API watch (or a test) feeds it directly.
  ServiceSet set;
  set.services.push_back(api::Service{});
  set.services[0].metadata = {.name = "web", .namespace_ = "default"};
  set.services[0].spec.selector = {{"app", "web"}};
  set.services[0].spec.clusterIP = "10.96.0.10";
  set.services[0].spec.ports.push_back({.name = "http",
                                        .protocol = "TCP",
                                        .port = 80,
                                        .targetPort = api::IntOrString::fromInt(8080)});
  runner->setManifests(set);
  letSync();
  EXPECT_THAT(table(), HasSubstr("dnat to 10.244.0.5:8080"));
}

TEST_F(ProxyRunnerTest, ProxyFalseDoesNothing) {
  config_.proxy = false;
  write("web-svc.yaml", kWebService);
  auto runner = makeRunner();
  EXPECT_FALSE(runner->enabled());
  ASSERT_TRUE(runner->start().ok());
  runner->setPods({webPod("web-node-a", "10.244.0.5")});
  loop_.poll();
  time_.advance(std::chrono::minutes(1));
  EXPECT_EQ(runner->proxier(), nullptr);
  EXPECT_THAT(writerTables_, IsEmpty());
  EXPECT_THAT(metrics_.exposition(), Not(HasSubstr("kubeproxy_")));
}

TEST_F(ProxyRunnerTest, BadNodeFlagIsOneLineNamingIt) {
  config_.clusterCIDR = "10.244.0.0/33";
  auto runner = makeRunner();
  absl::Status s = runner->start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("--cluster-cidr"));
  EXPECT_THAT(writerTables_, IsEmpty());
}

TEST_F(ProxyRunnerTest, WriterRefusedIsReportedWithTheTable) {
  ProxyRunnerDeps d = deps();
  d.makeWriter = [](const std::string&) -> absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> {
    return absl::PermissionDeniedError("netlink: Operation not permitted (CAP_NET_ADMIN)");
  };
  ProxyRunner runner(loop_, config_, metrics_.registry(), d);
  absl::Status s = runner.start();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("table ip kubenode"));
}

TEST(ProxySetting, FlagAndConfigurationKey) {
  const Setting* proxy = nullptr;
  for (const Setting& s : settings()) {
    if (s.flag == "proxy")
      proxy = &s;
  }
  ASSERT_NE(proxy, nullptr);
  AgentConfig config;
  EXPECT_TRUE(config.proxy);  // kube-proxy's job is on by default
  ASSERT_TRUE(proxy->parse(config, "false").ok());
  EXPECT_FALSE(config.proxy);
  absl::Status bad = proxy->parse(config, "maybe");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("expected true or false"));

  std::vector<std::string> warnings;
  AgentConfig fromFile;
  ASSERT_TRUE(applyConfigText("apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\n"
                              "proxy: false\n",
                              "node.yaml", fromFile, warnings)
                  .ok());
  EXPECT_FALSE(fromFile.proxy);
  EXPECT_TRUE(warnings.empty());
  absl::Status wrong = applyConfigText(
      "apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\nproxy: sometimes\n",
      "node.yaml", fromFile, warnings);
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("node.yaml: proxy: invalid value"));
}

}  // namespace
}  // namespace kubenode::agent
