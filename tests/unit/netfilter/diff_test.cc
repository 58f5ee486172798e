#include "netfilter/diff.h"

#include <gtest/gtest.h>

#include "netfilter/chain_names.h"
#include "netfilter/render.h"
#include "tests/integration/netfilter/rulesets.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::build;
using testing::makeService;
using testing::makeSlice;

std::vector<api::Service> twoServices() {
  return {makeService("ns1", "svc1", "172.30.0.41"), makeService("ns2", "svc2", "172.30.0.42")};
}

TEST(DiffTest, IdenticalRulesetsGiveNothing) {
  Ruleset a = build(twoServices(), {makeSlice("ns1", "svc1", {{"10.180.0.1"}})});
  EXPECT_TRUE(diffRulesets(a, a).empty());
}

TEST(DiffTest, FromNothingAddsEverything) {
  Ruleset a = build(twoServices(), {makeSlice("ns1", "svc1", {{"10.180.0.1"}})});
  RulesetDiff d = diffRulesets(Ruleset{}, a);
  EXPECT_EQ(d.chainsToAdd.size(), a.chains.size());
  EXPECT_EQ(d.setsToAdd.size(), a.sets.size());
  EXPECT_TRUE(d.chainsToReplace.empty());
}

TEST(DiffTest, OneEndpointAddedTouchesOnlyThatServiceAndEndpoint) {
  auto slices1 =
      std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}}),
                                      makeSlice("ns2", "svc2", {{"10.180.0.5"}})};
  auto slices2 = slices1;
  slices2[0] = makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}, {"10.180.0.3"}});
  RulesetDiff d = diffRulesets(build(twoServices(), slices1), build(twoServices(), slices2));
  EXPECT_EQ(d.touchedChains(),
            (std::vector<std::string>{endpointChainName("ns1/svc1:p80", "tcp", "10.180.0.3:80"),
                                      "KUBE-SVC-XPGD46QRK7WJZT7O"}));
  ASSERT_EQ(d.chainsToAdd.size(), 1u);
  EXPECT_EQ(d.chainsToAdd[0].rules.size(), 1u);  // the DNAT; hairpin is KUBE-POSTROUTING's
  // The new endpoint's hairpin element, and nothing else in the maps.
  ASSERT_EQ(d.elementsToAdd.size(), 1u);
  EXPECT_EQ(d.elementsToAdd[0].set, kHairpinEndpointsSet);
  EXPECT_EQ(renderElement(d.elementsToAdd[0].element), "10.180.0.3 . 10.180.0.3");
  EXPECT_TRUE(d.elementsToDelete.empty());
  EXPECT_TRUE(d.setsToAdd.empty());
}

TEST(DiffTest, OneEndpointRemovedFlushesAndDeletesItsChain) {
  auto before =
      std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}, {"10.180.0.2"}})};
  auto after = std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}})};
  RulesetDiff d = diffRulesets(build(twoServices(), before), build(twoServices(), after));
  const std::string gone = endpointChainName("ns1/svc1:p80", "tcp", "10.180.0.2:80");
  EXPECT_EQ(d.chainsToFlush, std::vector<std::string>{gone});
  EXPECT_EQ(d.chainsToDelete, std::vector<std::string>{gone});
  ASSERT_EQ(d.chainsToReplace.size(), 1u);
  EXPECT_EQ(d.chainsToReplace[0].name, "KUBE-SVC-XPGD46QRK7WJZT7O");
  EXPECT_TRUE(d.chainsToAdd.empty());
}

TEST(DiffTest, LastEndpointGoneMovesTheServiceToReject) {
  auto before = std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}})};
  RulesetDiff d = diffRulesets(build(twoServices(), before), build(twoServices(), {}));
  ASSERT_EQ(d.elementsToDelete.size(), 2u);
  EXPECT_EQ(d.elementsToDelete[0].set, kHairpinEndpointsSet);
  EXPECT_EQ(d.elementsToDelete[1].set, kServiceIPsMap);
  ASSERT_EQ(d.elementsToAdd.size(), 1u);
  EXPECT_EQ(d.elementsToAdd[0].set, kNoEndpointServicesMap);
  EXPECT_EQ(d.elementsToAdd[0].element.comment, "ns1/svc1:p80 has no endpoints");
  EXPECT_EQ(d.touchedChains(),
            (std::vector<std::string>{"KUBE-SEP-SXIVWICOYRO3J4NJ", "KUBE-SVC-XPGD46QRK7WJZT7O"}));
  EXPECT_TRUE(d.chainsToReplace.empty());
}

TEST(DiffTest, ChangedElementVerdictIsDeletedAndReAdded) {
  auto slices = std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}})};
  auto itpLocal = twoServices();
  itpLocal[0].spec.internalTrafficPolicy = "Local";
  slices[0].endpoints[0].nodeName = testing::kNodeName;
  RulesetDiff d = diffRulesets(build(twoServices(), slices), build(itpLocal, slices));
  ASSERT_EQ(d.elementsToDelete.size(), 1u);
  ASSERT_EQ(d.elementsToAdd.size(), 1u);
  EXPECT_EQ(d.elementsToAdd[0].element.verdict->chain, "KUBE-SVL-XPGD46QRK7WJZT7O");
}

TEST(DiffTest, AffinityTimeoutChangeRedefinesTheSetAndRewritesItsUsers) {
  auto slices = std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}})};
  auto a = twoServices();
  a[0].spec.sessionAffinity = "ClientIP";
  auto b = a;
  b[0].spec.sessionAffinityConfig = api::SessionAffinityConfig{api::ClientIPConfig{60}};
  RulesetDiff d = diffRulesets(build(a, slices), build(b, slices));
  EXPECT_EQ(d.setsToDelete, std::vector<std::string>{"KUBE-SEP-SXIVWICOYRO3J4NJ"});
  ASSERT_EQ(d.setsToAdd.size(), 1u);
  EXPECT_EQ(d.setsToAdd[0].timeoutSeconds, 60u);
  EXPECT_EQ(d.touchedChains(),
            (std::vector<std::string>{"KUBE-SEP-SXIVWICOYRO3J4NJ", "KUBE-SVC-XPGD46QRK7WJZT7O"}));
}

TEST(DiffTest, DynamicSetElementsAreNeverDiffed) {
  auto slices = std::vector<api::EndpointSlice>{makeSlice("ns1", "svc1", {{"10.180.0.1"}})};
  auto a = twoServices();
  a[0].spec.sessionAffinity = "ClientIP";
  Ruleset applied = build(a, slices);
  // What the kernel would show after a client connected.
  for (Set& s : applied.sets) {
    if (s.dynamic)
      s.elements.push_back(SetElement{{parseIpv4("10.0.0.2").value()}, {}, {}});
  }
  EXPECT_TRUE(diffRulesets(applied, build(a, slices)).empty());
}

TEST(DiffTest, ChangedBaseHookNeedsAFullRebuild) {
  Ruleset a = build(twoServices(), {});
  Ruleset b = a;
  b.chains[0].base->priority = -150;
  EXPECT_TRUE(diffRulesets(a, b).needsFullRebuild);
}

}  // namespace
}  // namespace kubenode::netfilter

namespace kubenode::netfilter {
namespace {

// applyDiff(a, diffRulesets(a, b)) == b for every pair of a varied set of rulesets.
TEST(ApplyDiffTest, ApplyingTheDiffGivesTheDesiredRuleset) {
  std::vector<Ruleset> rulesets = {
      Ruleset{},
      testing::everyFeature(),
      testing::manyServices(3, 2),
      testing::manyServices(5, 3),
      testing::manyServices(5, 3,
                            [](std::vector<api::EndpointSlice>& s) {
                              s[2].endpoints[1].addresses = {"10.200.0.9"};
                              s[4].endpoints.clear();
                            }),
      build({makeService("ns3", "svc3", "172.30.0.43",
                         [](api::Service& s) {
                           s.spec.sessionAffinity = "ClientIP";
                           s.spec.sessionAffinityConfig =
                               api::SessionAffinityConfig{api::ClientIPConfig{60}};
                         })},
            {makeSlice("ns3", "svc3", {{"10.180.0.5"}, {"10.180.0.6"}})}),
  };
  for (size_t i = 0; i < rulesets.size(); ++i) {
    for (size_t j = 0; j < rulesets.size(); ++j) {
      if (rulesets[j].chains.empty())
        continue;  // nothing builds an empty ruleset; deleting base chains is cleanup's job
      Ruleset a = rulesets[i];
      applyDiff(a, diffRulesets(rulesets[i], rulesets[j]));
      EXPECT_EQ(a, rulesets[j]) << "from " << i << " to " << j;
    }
  }
}

}  // namespace
}  // namespace kubenode::netfilter
