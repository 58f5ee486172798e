// The proxier's sync loop with a FakeRuleWriter and a fake clock: changes are
// batched by --min-sync-period, only diffs are sent after the first full sync,
// any failure makes the next sync full, the periodic sync repairs drift, UDP
// conntrack entries of removed endpoints are deleted after a successful apply.
#include "netfilter/proxier.h"
#include "netfilter/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <functional>

#include "netfilter/fake_rule_writer.h"
#include "netfilter/fake_time_source.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::makeService;
using testing::makeSlice;

class RecordingObserver : public SyncObserver {
 public:
  void onSync(const SyncRecord& r) override { records.push_back(r); }
  std::vector<SyncRecord> records;
};

class ProxierTest : public ::testing::Test {
 protected:
  ProxierTest() : proxier_(options(), writer_, &conntrack_, time_, &observer_) {}
  static ProxierOptions options() {
    ProxierOptions o;
    o.node = testing::testNode();
    return o;
  }
  std::vector<api::Service> services() {
    return {makeService("ns1", "svc1", "172.30.0.41"), makeService("ns2", "svc2", "172.30.0.42")};
  }
  std::vector<api::EndpointSlice> slices(const std::string& secondIP = "10.180.0.2") {
    return {makeSlice("ns1", "svc1", {{"10.180.0.1"}, {secondIP}}),
            makeSlice("ns2", "svc2", {{"10.180.0.3"}})};
  }
  Ruleset expected(const std::vector<api::Service>& s, const std::vector<api::EndpointSlice>& e) {
    return testing::build(s, e);
  }
  // Starts with services() and slices() and runs the first sync.
  void startSynced() {
    proxier_.setServices(services());
    proxier_.setEndpointSlices(slices());
    proxier_.start();
    time_.advance(milliseconds(0));
    ASSERT_EQ(writer_.applies().size(), 1u);
  }

  FakeTimeSource time_;
  FakeRuleWriter writer_;
  FakeConntrack conntrack_;
  RecordingObserver observer_;
  Proxier proxier_;
};

TEST_F(ProxierTest, NothingHappensBeforeStart) {
  proxier_.setServices(services());
  time_.advance(seconds(60));
  EXPECT_TRUE(writer_.applies().empty());
}

TEST_F(ProxierTest, FirstSyncIsAFullRebuildOfEverything) {
  startSynced();
  EXPECT_TRUE(writer_.applies()[0].full);
  ASSERT_TRUE(writer_.table());
  EXPECT_EQ(*writer_.table(), expected(services(), slices()));
  ASSERT_EQ(observer_.records.size(), 1u);
  EXPECT_TRUE(observer_.records[0].success);
  EXPECT_TRUE(observer_.records[0].full);
  EXPECT_EQ(observer_.records[0].chainsProgrammed, writer_.table()->chains.size());
  EXPECT_GT(observer_.records[0].rulesProgrammed, 10u);
}

TEST_F(ProxierTest, ChangesWithinMinSyncPeriodAreBatchedIntoOneDiff) {
  startSynced();
  time_.advance(milliseconds(100));
  proxier_.setEndpointSlices(slices("10.180.0.9"));
  time_.advance(milliseconds(100));
  proxier_.setServices(services());  // same again: still one sync
  time_.advance(milliseconds(700));  // 900 ms after the first sync
  EXPECT_EQ(writer_.applies().size(), 1u);
  EXPECT_TRUE(proxier_.syncPending());
  time_.advance(milliseconds(100));  // 1 s after it
  ASSERT_EQ(writer_.applies().size(), 2u);
  const FakeRuleWriter::Apply& a = writer_.applies()[1];
  EXPECT_FALSE(a.full);
  EXPECT_TRUE(a.result.ok()) << a.result;
  // Only ns1/svc1's service chain and the two endpoint chains that changed.
  EXPECT_EQ(a.touchedChains.size(), 3u);
  EXPECT_EQ(*writer_.table(), expected(services(), slices("10.180.0.9")));
}

TEST_F(ProxierTest, AChangeAfterAQuietPeriodSyncsAtOnce) {
  startSynced();
  time_.advance(seconds(5));
  proxier_.setEndpointSlices(slices("10.180.0.9"));
  time_.advance(milliseconds(0));
  EXPECT_EQ(writer_.applies().size(), 2u);
}

TEST_F(ProxierTest, NoChangeSendsNothing) {
  startSynced();
  proxier_.setServices(services());
  time_.advance(seconds(2));
  EXPECT_EQ(writer_.applies().size(), 1u);
  EXPECT_EQ(observer_.records.size(), 2u);  // it synced, and found nothing to send
}

TEST_F(ProxierTest, AFailedSyncIsRetriedAsAFullRebuild) {
  startSynced();
  time_.advance(seconds(5));
  writer_.failNext(absl::UnavailableError("ENOBUFS"));
  proxier_.setEndpointSlices(slices("10.180.0.9"));
  time_.advance(milliseconds(0));
  ASSERT_EQ(writer_.applies().size(), 2u);
  EXPECT_FALSE(writer_.applies()[1].full);
  EXPECT_FALSE(observer_.records.back().success);
  EXPECT_THAT(observer_.records.back().error, HasSubstr("ENOBUFS"));
  // The retry comes after --min-sync-period without any new change, and is full.
  time_.advance(milliseconds(999));
  EXPECT_EQ(writer_.applies().size(), 2u);
  time_.advance(milliseconds(1));
  ASSERT_EQ(writer_.applies().size(), 3u);
  EXPECT_TRUE(writer_.applies()[2].full);
  EXPECT_EQ(*writer_.table(), expected(services(), slices("10.180.0.9")));
  // And then diffs again.
  time_.advance(seconds(5));
  proxier_.setEndpointSlices(slices());
  time_.advance(milliseconds(0));
  ASSERT_EQ(writer_.applies().size(), 4u);
  EXPECT_FALSE(writer_.applies()[3].full);
}

TEST_F(ProxierTest, PeriodicSyncReadsBackAndSendsNothingWithoutDrift) {
  startSynced();
  time_.advance(seconds(29));
  EXPECT_EQ(writer_.readBacks(), 0);
  time_.advance(seconds(1));
  EXPECT_EQ(writer_.readBacks(), 1);
  EXPECT_EQ(writer_.applies().size(), 1u);
  EXPECT_TRUE(observer_.records.back().periodic);
  EXPECT_EQ(observer_.records.back().drift, "");
  time_.advance(seconds(30));
  EXPECT_EQ(writer_.readBacks(), 2);
}

TEST_F(ProxierTest, PeriodicSyncRepairsAFlushedTable) {
  startSynced();
  writer_.flushTable();
  time_.advance(seconds(30));
  ASSERT_EQ(writer_.applies().size(), 2u);
  EXPECT_TRUE(writer_.applies()[1].full);
  EXPECT_THAT(observer_.records.back().drift, HasSubstr("chain KUBE-SERVICES has 0 rules"));
  EXPECT_EQ(*writer_.table(), expected(services(), slices()));
}

TEST_F(ProxierTest, PeriodicSyncRepairsADeletedTable) {
  startSynced();
  writer_.deleteTable();
  time_.advance(seconds(30));
  ASSERT_EQ(writer_.applies().size(), 2u);
  EXPECT_TRUE(writer_.applies()[1].full);
  EXPECT_EQ(observer_.records.back().drift, "table missing");
  EXPECT_TRUE(writer_.table());
}

TEST_F(ProxierTest, ADiffAgainstAMissingTableFailsThenRebuilds) {
  startSynced();
  writer_.deleteTable();  // and a change comes before the periodic check
  time_.advance(seconds(2));
  proxier_.setEndpointSlices(slices("10.180.0.9"));
  time_.advance(milliseconds(0));
  EXPECT_FALSE(writer_.applies().back().result.ok());
  time_.advance(seconds(1));
  EXPECT_TRUE(writer_.applies().back().full);
  EXPECT_EQ(*writer_.table(), expected(services(), slices("10.180.0.9")));
}

TEST_F(ProxierTest, UdpConntrackCleanupFollowsASuccessfulApplyOnly) {
  auto udp = [](std::vector<api::Service> s) {
    for (api::Service& x : s)
      x.spec.ports[0].protocol = "UDP";
    return s;
  };
  auto udpSlices = [](std::vector<api::EndpointSlice> e) {
    for (api::EndpointSlice& x : e)
      x.ports[0].protocol = "UDP";
    return e;
  };
  proxier_.setServices(udp(services()));
  proxier_.setEndpointSlices(udpSlices(slices()));
  proxier_.start();
  time_.advance(milliseconds(0));
  // The first sync flushes entries to every UDP service that has endpoints.
  ASSERT_EQ(conntrack_.cleanups().size(), 1u);
  EXPECT_EQ(conntrack_.cleanups()[0].servicesGainingEndpoints.size(), 2u);

  time_.advance(seconds(5));
  writer_.failNext(absl::UnavailableError("ENOBUFS"));
  proxier_.setEndpointSlices(udpSlices(slices("10.180.0.9")));
  time_.advance(milliseconds(0));
  EXPECT_EQ(conntrack_.cleanups().size(), 1u);  // the rules still DNAT to 10.180.0.2
  time_.advance(seconds(1));
  ASSERT_EQ(conntrack_.cleanups().size(), 2u);
  const std::vector<UdpTarget> removed = {{parseIpv4("10.180.0.2").value(), 80}};
  EXPECT_EQ(conntrack_.cleanups()[1].removedEndpoints, removed);
  EXPECT_EQ(observer_.records.back().conntrackEntriesDeleted, 1u);
}

TEST_F(ProxierTest, SyncProxyRulesRunsAtOnceWithoutStart) {
  proxier_.setServices(services());
  proxier_.setEndpointSlices(slices());
  SyncRecord r = proxier_.syncProxyRules();
  EXPECT_TRUE(r.success);
  EXPECT_TRUE(r.full);
  EXPECT_EQ(*writer_.table(), expected(services(), slices()));
}

// Each sync after the first diffs only the changed service ports; whatever the
// change, the fake kernel's table must end up exactly as a full build of
// everything, and the drift check must find nothing.
TEST_F(ProxierTest, IncrementalSyncsMatchAFullBuildThroughManyChanges) {
  using Mutation =
      std::function<void(std::vector<api::Service>&, std::vector<api::EndpointSlice>&)>;
  std::vector<api::Service> svcs = services();
  std::vector<api::EndpointSlice> eps = slices();
  proxier_.setServices(svcs);
  proxier_.setEndpointSlices(eps);
  proxier_.start();
  time_.advance(milliseconds(0));
  const std::vector<std::pair<std::string, Mutation>> steps = {
      {"endpoint added",
       [](auto&, auto& e) {
         e[0].endpoints.push_back(e[0].endpoints[0]);
         e[0].endpoints.back().addresses = {"10.180.0.7"};
       }},
      {"service added",
       [](auto& s, auto& e) {
         s.push_back(makeService("ns3", "svc3", "172.30.0.43"));
         e.push_back(makeSlice("ns3", "svc3", {{"10.180.0.8"}}));
       }},
      {"last endpoint gone (reject)", [](auto&, auto& e) { e[1].endpoints.clear(); }},
      {"endpoints back",
       [](auto&, auto& e) {
         e[1].endpoints = {{}};
         e[1].endpoints[0].addresses = {"10.180.0.9"};
         e[1].endpoints[0].conditions.ready = true;
       }},
      {"client IP affinity",
       [](auto& s, auto&) {
         s[0].spec.sessionAffinity = "ClientIP";
         s[0].spec.sessionAffinityConfig = api::SessionAffinityConfig{api::ClientIPConfig{60}};
       }},
      {"affinity timeout",
       [](auto& s, auto&) {
         s[0].spec.sessionAffinityConfig = api::SessionAffinityConfig{api::ClientIPConfig{90}};
       }},
      {"node port, local policy, external IP",
       [](auto& s, auto& e) {
         s[2].spec.type = "NodePort";
         s[2].spec.ports[0].nodePort = 30080;
         s[2].spec.externalTrafficPolicy = "Local";
         s[2].spec.externalIPs = {"192.168.99.5"};
         e[2].endpoints[0].nodeName = "node-a";
       }},
      {"load balancer with source ranges",
       [](auto& s, auto&) {
         s[1].spec.type = "LoadBalancer";
         s[1].spec.ports[0].nodePort = 30081;
         s[1].status.loadBalancer.ingress = {{.ip = "5.6.7.8"}};
         s[1].spec.loadBalancerSourceRanges = {"203.0.113.0/25"};
       }},
      // Two services share an endpoint address: its hairpin element stays until
      // neither uses it (reference counts, not the changed port's own diff).
      {"an endpoint shared by two services",
       [](auto&, auto& e) {
         e[1].endpoints.push_back(e[1].endpoints[0]);
         e[1].endpoints.back().addresses = {"10.180.0.7"};
       }},
      {"one of them drops it", [](auto&, auto& e) { e[1].endpoints.pop_back(); }},
      {"both use it again",
       [](auto&, auto& e) {
         e[1].endpoints.push_back(e[1].endpoints[0]);
         e[1].endpoints.back().addresses = {"10.180.0.7"};
       }},
      {"the other drops it",
       [](auto&, auto& e) {
         e[0].endpoints.erase(std::remove_if(e[0].endpoints.begin(), e[0].endpoints.end(),
                                             [](const auto& ep) {
                                               return ep.addresses ==
                                                      std::vector<std::string>{"10.180.0.7"};
                                             }),
                              e[0].endpoints.end());
       }},
      {"service removed",
       [](auto& s, auto& e) {
         s.erase(s.begin());
         e.erase(e.begin());
       }},
      {"everything removed",
       [](auto& s, auto& e) {
         s.clear();
         e.clear();
       }},
  };
  for (const auto& [what, mutate] : steps) {
    mutate(svcs, eps);
    proxier_.setServices(svcs);
    proxier_.setEndpointSlices(eps);
    time_.advance(seconds(1));
    ASSERT_TRUE(writer_.applies().back().result.ok())
        << what << ": " << writer_.applies().back().result;
    EXPECT_FALSE(writer_.applies().back().full) << what;
    ASSERT_TRUE(writer_.table());
    EXPECT_EQ(*writer_.table(), expected(svcs, eps)) << what << "\n" << renderNft(*writer_.table());
    EXPECT_EQ(observer_.records.back().rulesProgrammed, [&] {
      size_t n = 0;
      for (const Chain& c : writer_.table()->chains)
        n += c.rules.size();
      return n;
    }()) << what;
    EXPECT_EQ(observer_.records.back().chainsProgrammed, writer_.table()->chains.size()) << what;
  }
  // The drift check's expectations followed every diff: the periodic sync finds nothing.
  const size_t applies = writer_.applies().size();
  time_.advance(seconds(30));
  EXPECT_EQ(observer_.records.back().drift, "");
  EXPECT_TRUE(observer_.records.back().periodic);
  EXPECT_EQ(writer_.applies().size(), applies);
}

}  // namespace
}  // namespace kubenode::netfilter
