// The proxier inside the daemon, standalone mode, end to end: the kubenode binary on the
// test process's private containerd and network namespace (harness) runs a static web pod,
// reads a ClusterIP Service with a selector and no EndpointSlice from the same manifest
// directory, computes the slice from its own pod and programs `table ip kubenode`; an HTTP
// GET from the test process to the cluster IP (the OUTPUT hook) reaches the pod. `nft`
// and `ip` run in that private network namespace (unshare CLONE_NEWNET by
// kubenode_integration_main), never the host's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/time/clock.h"
#include "api/json_codec.h"
#include "tests/harness/agent_process.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/process.h"

namespace kubenode {
namespace {

using harness::AgentProcess;
using harness::ContainerdEnvironment;
using harness::eventually;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kClusterIp[] = "10.96.0.10";
constexpr char kServiceRange[] = "10.96.0.0/12";
// A link that routes the service range, so that the test process's connect() to a cluster
// IP gets a route and a source address before the OUTPUT hook rewrites it (a node has a
// default route for that; this namespace has none). A veth pair: this kernel has no dummy
// link type.
constexpr char kDummyLink[] = "kpxd0";
constexpr char kDummyPeer[] = "kpxd1";
constexpr char kDummyAddress[] = "10.99.0.1/32";

constexpr char kWebPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sh", "-c", "mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports:
    - {name: http, containerPort: 8080}
)";

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

std::string conditionStatus(const api::Pod& pod, const std::string& type) {
  for (const api::PodCondition& c : pod.status.conditions) {
    if (c.type == type)
      return c.status;
  }
  return "";
}

absl::StatusOr<std::string> run(const std::vector<std::string>& argv) {
  return harness::runCommand(argv, absl::Seconds(10));
}

// `nft list table ip kubenode`, or "" when there is no such table.
std::string listTable() {
  absl::StatusOr<std::string> out = run({"nft", "list", "table", "ip", "kubenode"});
  return out.ok() ? *out : std::string();
}

class ProxyDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    agent_ = std::make_unique<AgentProcess>(
        KUBENODE_BINARY, ContainerdEnvironment::containerd().dir() + "/proxyd-" + name,
        ContainerdEnvironment::containerd().endpoint());
    // The whole process is in a private network namespace (kubenode_integration_main).
    (void)run({"ip", "link", "del", kDummyLink});
    ASSERT_TRUE(
        run({"ip", "link", "add", kDummyLink, "type", "veth", "peer", "name", kDummyPeer}).ok());
    ASSERT_TRUE(run({"ip", "link", "set", kDummyPeer, "up"}).ok());
    ASSERT_TRUE(run({"ip", "addr", "add", kDummyAddress, "dev", kDummyLink}).ok());
    ASSERT_TRUE(run({"ip", "link", "set", kDummyLink, "up"}).ok());
    ASSERT_TRUE(run({"ip", "route", "add", kServiceRange, "dev", kDummyLink}).ok());
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "kubenode's log:\n" << harness::readFile(agent_->logPath()) << "\n";
      std::cerr << "table ip kubenode:\n" << listTable() << "\n";
    }
    agent_.reset();
    // Tests share the namespace: the next one starts without our table or link.
    (void)run({"nft", "delete", "table", "ip", "kubenode"});
    (void)run({"ip", "link", "del", kDummyLink});
  }

  std::optional<api::Pod> waitForReadyPod(const std::string& name) {
    std::optional<api::Pod> last;
    bool ok = eventually(
        [&] {
          last = agent_->pod(name);
          return last && last->status.phase == "Running" &&
                 conditionStatus(*last, "Ready") == "True" && !last->status.podIP.empty();
        },
        absl::Seconds(60));
    if (!ok) {
      ADD_FAILURE() << "pod " << name << " not ready; last seen: "
                    << (last ? api::encodeJson(*last, 2) : std::string("absent"));
      return std::nullopt;
    }
    return last;
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(ProxyDaemonTest, SelectorServiceWithoutSliceReachesTheStaticPod) {
  agent_->writeManifest("web.yaml", kWebPod);
  agent_->writeManifest("web-svc.yaml", kWebService);
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> pod = waitForReadyPod("web-node-it");
  ASSERT_TRUE(pod.has_value());
  const std::string endpoint = pod->status.podIP + ":8080";

  // The table appears with the service's chain and the pod as its endpoint (the slice was
  // computed from the pod: named targetPort http -> 8080).
  std::string table;
  ASSERT_TRUE(eventually(
      [&] {
        table = listTable();
        return table.find(endpoint) != std::string::npos;
      },
      absl::Seconds(20)))
      << table;
  EXPECT_THAT(table, HasSubstr("default/web:http cluster IP"));
  EXPECT_THAT(table, HasSubstr("chain KUBE-SVC-"));
  EXPECT_THAT(table, HasSubstr("chain KUBE-SEP-"));
  EXPECT_THAT(table, HasSubstr(std::string("default/web:http -> ") + endpoint));

  // Through the cluster IP from this process: OUTPUT hook, DNAT to the pod.
  harness::HttpAnswer page;
  ASSERT_TRUE(eventually(
      [&] {
        page = harness::httpGet(80, "/index.html", kClusterIp, absl::Seconds(2));
        return page.status == 200;
      },
      absl::Seconds(10)))
      << "last answer: " << page.status << " " << page.body;
  EXPECT_EQ(page.body, "hello from web\n");

  // /metrics: the syncs, what is programmed, no error.
  const std::string metrics = harness::httpGet(agent_->port(), "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("kubeproxy_sync_proxy_rules_duration_seconds_count"));
  EXPECT_THAT(metrics, HasSubstr("kubeproxy_sync_proxy_rules_last_timestamp_seconds"));
  EXPECT_THAT(metrics, HasSubstr("kubenode_proxy_chains"));
  EXPECT_THAT(metrics, HasSubstr("kubenode_proxy_sync_errors_total 0"));

  // The Service's manifest removed: its rules go; the table stays.
  agent_->removeManifest("web-svc.yaml");
  ASSERT_TRUE(eventually(
      [&] {
        table = listTable();
        return !table.empty() && table.find("default/web") == std::string::npos;
      },
      absl::Seconds(20)))
      << table;

  // Back again, then the agent stops: the rules stay, as kube-proxy leaves them.
  agent_->writeManifest("web-svc.yaml", kWebService);
  ASSERT_TRUE(eventually([&] { return listTable().find(endpoint) != std::string::npos; },
                         absl::Seconds(20)));
  agent_->stop();
  EXPECT_THAT(listTable(), HasSubstr(endpoint));
  EXPECT_EQ(harness::httpGet(80, "/index.html", kClusterIp, absl::Seconds(2)).status, 200);
}

TEST_F(ProxyDaemonTest, PodGoneLeavesTheServiceRejecting) {
  agent_->writeManifest("web.yaml", kWebPod);
  agent_->writeManifest("web-svc.yaml", kWebService);
  ASSERT_TRUE(agent_->start().ok());
  std::optional<api::Pod> pod = waitForReadyPod("web-node-it");
  ASSERT_TRUE(pod.has_value());
  const std::string endpoint = pod->status.podIP + ":8080";
  ASSERT_TRUE(eventually([&] { return listTable().find(endpoint) != std::string::npos; },
                         absl::Seconds(20)));

  // The pod's manifest removed: once the pod is gone (or no longer ready) the computed
  // slice is empty and the service rejects instead of sending traffic nowhere.
  agent_->removeManifest("web.yaml");
  std::string table;
  ASSERT_TRUE(eventually(
      [&] {
        table = listTable();
        return table.find(endpoint) == std::string::npos &&
               table.find("default/web:http has no endpoints") != std::string::npos;
      },
      absl::Seconds(30)))
      << table;
  const absl::Time before = absl::Now();
  harness::HttpAnswer answer = harness::httpGet(80, "/", kClusterIp, absl::Seconds(5));
  EXPECT_EQ(answer.status, 0);
  EXPECT_LT(absl::Now() - before, absl::Seconds(2)) << "rejected at once, not timed out";
}

TEST_F(ProxyDaemonTest, ProxyFalseLeavesTheNodeToAnotherKubeProxy) {
  agent_->writeManifest("web.yaml", kWebPod);
  agent_->writeManifest("web-svc.yaml", kWebService);
  ASSERT_TRUE(agent_->start({"--proxy=false"}).ok());
  ASSERT_TRUE(waitForReadyPod("web-node-it").has_value());
  // By now a proxier would have synced: the pods were handed over at the first relist,
  // seconds before this one became ready, and --min-sync-period is 1 s.
  EXPECT_EQ(listTable(), "");
  EXPECT_THAT(harness::readFile(agent_->logPath()), HasSubstr("proxier: off (--proxy=false)"));
  EXPECT_THAT(harness::httpGet(agent_->port(), "/metrics").body,
              Not(HasSubstr("kubeproxy_sync_proxy_rules")));
}

}  // namespace
}  // namespace kubenode
