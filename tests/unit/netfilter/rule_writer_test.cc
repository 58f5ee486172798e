// The read-back helpers the sync loop's drift check uses: which sentinels it
// asks for, what it expects for a ruleset, and how a difference reads in the log.
#include "netfilter/rule_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/netfilter/rulesets.h"

namespace kubenode::netfilter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ReadBackTest, SentinelsAreTheBaseAndGlobalChainsAndTheDispatchMaps) {
  const Ruleset r = testing::manyServices(3, 2);
  const ReadBackRequest req = readBackRequestFor(r);
  EXPECT_THAT(req.chains,
              ElementsAre("nat-prerouting", "nat-output", "nat-postrouting", "filter-input",
                          "filter-forward", "filter-output", "KUBE-MARK-MASQ", "KUBE-NODEPORTS",
                          "KUBE-POSTROUTING", "KUBE-SERVICES"));
  EXPECT_THAT(req.sets, ElementsAre("service-ips", "service-nodeports"));
}

TEST(ReadBackTest, ExpectedStateCountsObjectsRulesAndElements) {
  const Ruleset r = testing::manyServices(3, 2);
  const TableState t = expectedTableState(r, readBackRequestFor(r));
  EXPECT_TRUE(t.exists);
  EXPECT_EQ(t.objects, r.chains.size() + r.sets.size());
  EXPECT_EQ(t.ruleCounts.at("KUBE-SERVICES"), r.findChain("KUBE-SERVICES")->rules.size());
  EXPECT_EQ(t.elementCounts.at("service-ips"), 3u);
  EXPECT_EQ(t.elementCounts.at("service-nodeports"), 0u);
}

TEST(ReadBackTest, DriftIsDescribedObjectByObject) {
  const Ruleset r = testing::manyServices(3, 2);
  const ReadBackRequest req = readBackRequestFor(r);
  const TableState want = expectedTableState(r, req);
  EXPECT_EQ(describeDrift(want, want), "");
  EXPECT_EQ(describeDrift(want, TableState{}), "table missing");

  TableState flushed = want;
  flushed.ruleCounts["KUBE-SERVICES"] = 0;
  flushed.elementCounts.erase("service-ips");
  flushed.objects -= 2;
  const std::string d = describeDrift(want, flushed);
  EXPECT_THAT(d, HasSubstr(fmt::format("table holds {} chains and sets, expected {}",
                                       want.objects - 2, want.objects)));
  EXPECT_THAT(d, HasSubstr("chain KUBE-SERVICES has 0 rules, expected 2"));
  EXPECT_THAT(d, HasSubstr("set service-ips missing"));
}

}  // namespace
}  // namespace kubenode::netfilter
