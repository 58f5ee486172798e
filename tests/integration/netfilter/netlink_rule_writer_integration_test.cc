// NetlinkRuleWriter against the real kernel, in a private network namespace:
// what it programs over netlink is exactly what renderNft() prints (nft lists
// it back), a diff changes only what changed, a batch the kernel rejects names
// the object and leaves the previous table intact, and the read-back sees a
// table flushed or deleted behind the writer's back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

#include "netfilter/diff.h"
#include "netfilter/netlink_rule_writer.h"
#include "netfilter/render.h"
#include "tests/integration/netfilter/nft_text.h"
#include "tests/integration/netfilter/rulesets.h"
#include "tests/unit/netfilter/fixtures.h"

namespace kubenode::netfilter {
namespace {

using testing::everyFeature;
using testing::everyFeatureInput;
using ::testing::HasSubstr;
using testing::manyServices;
using testing::manyServicesInput;
using testing::normalizedListing;
using testing::normalizedRender;
using testing::run;

class NetlinkRuleWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = NetlinkRuleWriter::open();
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = std::move(*w);
    ASSERT_TRUE(writer_->cleanup().ok());
  }
  void TearDown() override {
    if (writer_)
      EXPECT_TRUE(writer_->cleanup().ok());
  }
  std::unique_ptr<NetlinkRuleWriter> writer_;
};

TEST_F(NetlinkRuleWriterTest, FullApplyProgramsExactlyWhatRenderPrints) {
  for (const Ruleset& r : {everyFeature(), manyServices(3, 3), manyServices(40, 5)}) {
    absl::Status s = writer_->apply(r, nullptr);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(normalizedListing(), normalizedRender(r));
    EXPECT_TRUE(writer_->lastApplyStats().full);
  }
}

// The daemon's rebuild streams each port's piece into the batch as it is built;
// the kernel must end up with exactly buildRuleset()'s table, and the summary
// must predict the read-back and the counts.
TEST_F(NetlinkRuleWriterTest, StreamedFullRebuildProgramsExactlyWhatRenderPrints) {
  run("nft add table ip kubenode");
  run("nft add chain ip kubenode STRAY");  // replaced, as by any full rebuild
  for (const testing::RulesetInput& in :
       {everyFeatureInput(), manyServicesInput(3, 3), manyServicesInput(40, 5)}) {
    FullRebuildSummary summary;
    absl::Status s = writer_->applyFull(in.ports, in.node, summary);
    ASSERT_TRUE(s.ok()) << s;
    const Ruleset whole = buildRuleset(in.ports, in.node);
    EXPECT_EQ(normalizedListing(), normalizedRender(whole));
    EXPECT_TRUE(writer_->lastApplyStats().full);

    const FullRebuildSummary want = summarizeFullRebuild(whole);
    EXPECT_EQ(summary.chains(), whole.chains.size());
    EXPECT_EQ(summary.rules(), want.rules());
    const ReadBackRequest req = readBackRequestFor(summary.rest);
    EXPECT_EQ(req.chains, readBackRequestFor(whole).chains);
    auto state = writer_->readBack(req);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, summary.expected(req)) << describeDrift(summary.expected(req), *state);
    EXPECT_EQ(summary.expected(req), expectedTableState(whole, req));
  }
}

// Pure builders give the kernel nothing to refuse but its own limits, so the
// naming of a failed piece message is checked directly: message k of a piece is
// its k-th set, then chain, then rule, in the order the writer sends them.
TEST(StreamedRebuildErrors, APieceMessageIsNamedByBuildingThePieceAgain) {
  testing::RulesetInput in = manyServicesInput(3, 2);
  ServicePortInfo port = in.ports[1];
  port.sessionAffinityClientIP = true;  // two affinity sets, then chains, then rules
  Ruleset piece;
  buildRulesetByPort({port}, in.node, [&](size_t, Ruleset&& p) { piece = std::move(p); });
  ASSERT_EQ(piece.sets.size(), 2u);
  ASSERT_EQ(piece.chains.size(), 3u);  // KUBE-SVC and two KUBE-SEP
  using internal::describePieceMessage;
  EXPECT_EQ(describePieceMessage(port, in.node, 1), "add set " + piece.sets[1].name);
  EXPECT_EQ(describePieceMessage(port, in.node, 2), "add chain " + piece.chains[0].name);
  const Chain& svc = piece.chains[0];
  EXPECT_EQ(describePieceMessage(port, in.node, 5),
            fmt::format("rule 1 of chain {} ({})", svc.name, renderRule(svc.rules[0])));
  const Chain& sep = piece.chains[2];
  const uint32_t last =
      5 +
      static_cast<uint32_t>(svc.rules.size() + piece.chains[1].rules.size() + sep.rules.size()) - 1;
  EXPECT_EQ(describePieceMessage(port, in.node, last),
            fmt::format("rule {} of chain {} ({})", sep.rules.size(), sep.name,
                        renderRule(sep.rules.back())));
}

TEST_F(NetlinkRuleWriterTest, FullApplyReplacesWhateverTheTableHeld) {
  ASSERT_TRUE(writer_->apply(everyFeature(), nullptr).ok());
  // Someone adds a chain of their own to our table; a full rebuild removes it.
  run("nft add chain ip kubenode STRAY");
  const Ruleset small = manyServices(2, 2);
  ASSERT_TRUE(writer_->apply(small, nullptr).ok());
  EXPECT_EQ(normalizedListing(), normalizedRender(small));
}

TEST_F(NetlinkRuleWriterTest, DiffSendsOnlyTheChangedServiceAndMatchesRender) {
  const Ruleset before = manyServices(20, 3);
  ASSERT_TRUE(writer_->apply(before, nullptr).ok());
  // One endpoint of ns7/svc changes address.
  const Ruleset after = manyServices(20, 3, [](std::vector<api::EndpointSlice>& slices) {
    slices[7].endpoints[1].addresses = {"10.200.0.99"};
  });
  RulesetDiff d = diffRulesets(before, after);
  ASSERT_FALSE(d.empty());
  absl::Status s = writer_->apply(after, &d);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(normalizedListing(), normalizedRender(after));
  const ApplyStats& stats = writer_->lastApplyStats();
  EXPECT_FALSE(stats.full);
  // flush SVC, flush+delete the old SEP, add the new SEP and its 2 rules, 4 SVC rules.
  EXPECT_LE(stats.messages, 12u) << stats.messages;
  EXPECT_EQ(stats.chains, 1u);

  // And back, through a diff again; also a service removed and one added.
  const Ruleset third = manyServices(21, 3);
  RulesetDiff back = diffRulesets(after, third);
  ASSERT_TRUE(writer_->apply(third, &back).ok());
  EXPECT_EQ(normalizedListing(), normalizedRender(third));
}

TEST_F(NetlinkRuleWriterTest, DiffOnEveryFeatureRulesetMatchesRender) {
  const Ruleset small = manyServices(2, 2);
  ASSERT_TRUE(writer_->apply(small, nullptr).ok());
  const Ruleset all = everyFeature();
  RulesetDiff d = diffRulesets(small, all);
  absl::Status s = writer_->apply(all, &d);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(normalizedListing(), normalizedRender(all));
  RulesetDiff d2 = diffRulesets(all, small);
  s = writer_->apply(small, &d2);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(normalizedListing(), normalizedRender(small));
}

TEST_F(NetlinkRuleWriterTest, RejectedBatchNamesTheRuleAndChangesNothing) {
  const Ruleset before = manyServices(5, 2);
  ASSERT_TRUE(writer_->apply(before, nullptr).ok());
  const std::string listed = normalizedListing();

  // A desired ruleset whose KUBE-SVC chain of ns3 also jumps to a chain that does not
  // exist, next to a legitimate change (one endpoint more for ns1).
  Ruleset broken = manyServices(5, 2, [](std::vector<api::EndpointSlice>& slices) {
    slices[1].endpoints.push_back(slices[1].endpoints[0]);
    slices[1].endpoints.back().addresses = {"10.200.0.1"};
  });
  Chain* svc = nullptr;
  for (Chain& c : broken.chains) {
    if (c.name.rfind("KUBE-SVC-", 0) == 0 && !c.rules.empty() &&
        c.rules.back().comment.find("ns3/svc") != std::string::npos)
      svc = &c;
  }
  ASSERT_NE(svc, nullptr);
  Rule bad;
  bad.verdict = JumpVerdict{"KUBE-SEP-MISSING"};
  bad.comment = "crafted";
  svc->rules.insert(svc->rules.begin(), bad);
  RulesetDiff d = diffRulesets(before, broken);
  absl::Status s = writer_->apply(broken, &d);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(fmt::format("rule 1 of chain {} (counter jump KUBE-SEP-MISSING comment "
                                    "\"crafted\")",
                                    svc->name)));
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  // Atomic: the table is exactly as before, ns1's new endpoint included.
  EXPECT_EQ(normalizedListing(), listed);

  // The same through a full rebuild: rejected, nothing changed.
  s = writer_->apply(broken, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("KUBE-SEP-MISSING"));
  EXPECT_EQ(normalizedListing(), listed);
}

TEST_F(NetlinkRuleWriterTest, ReadBackSeesFlushAndDelete) {
  const Ruleset r = everyFeature();
  ASSERT_TRUE(writer_->apply(r, nullptr).ok());
  const ReadBackRequest req = readBackRequestFor(r);
  EXPECT_FALSE(req.chains.empty());
  EXPECT_FALSE(req.sets.empty());
  auto state = writer_->readBack(req);
  ASSERT_TRUE(state.ok()) << state.status();
  const TableState want = expectedTableState(r, req);
  EXPECT_EQ(*state, want) << describeDrift(want, *state);

  run("nft flush chain ip kubenode KUBE-SERVICES");
  state = writer_->readBack(req);
  ASSERT_TRUE(state.ok());
  EXPECT_THAT(describeDrift(want, *state), HasSubstr("chain KUBE-SERVICES has 0 rules"));

  run("nft flush table ip kubenode");
  state = writer_->readBack(req);
  ASSERT_TRUE(state.ok());
  EXPECT_NE(*state, want);

  run("nft delete table ip kubenode");
  state = writer_->readBack(req);
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->exists);
  EXPECT_EQ(describeDrift(want, *state), "table missing");

  // Repair is a full apply.
  ASSERT_TRUE(writer_->apply(r, nullptr).ok());
  state = writer_->readBack(req);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, want);
}

TEST_F(NetlinkRuleWriterTest, CleanupRemovesOnlyOurTable) {
  run("nft add table ip someone-else");
  ASSERT_TRUE(writer_->apply(everyFeature(), nullptr).ok());
  ASSERT_TRUE(writer_->cleanup().ok());
  int status = 0;
  run("nft list table ip kubenode", &status);
  EXPECT_NE(status, 0);
  run("nft list table ip someone-else");
  EXPECT_TRUE(writer_->cleanup().ok());  // absent: no error
  run("nft delete table ip someone-else");
}

TEST_F(NetlinkRuleWriterTest, RefusesAnotherTable) {
  Ruleset r = manyServices(1, 1);
  r.table = "other";
  absl::Status s = writer_->apply(r, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kubenode::netfilter

int main(int argc, char** argv) {
  // A private network namespace for the whole process (still single-threaded
  // here): nothing of the host's is touched.
  if (unshare(CLONE_NEWNET) != 0) {
    perror("unshare(CLONE_NEWNET) (needs root)");
    return 1;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
