// Stateful fakes of the proxier's side effects, for unit tests of the sync loop:
// FakeRuleWriter holds the "kernel's" ruleset and checks that every diff was
// computed against exactly what it holds; FakeConntrack records cleanups.
//
//   FakeRuleWriter writer;
//   writer.failNext(absl::UnavailableError("ENOBUFS"));
//   ... proxier syncs ...
//   EXPECT_EQ(writer.applies().back().full, true);
//   writer.flushTable();  // drift, as `nft flush table` behind the agent's back
#pragma once

#include <optional>
#include <vector>

#include "netfilter/conntrack.h"
#include "netfilter/rule_writer.h"

namespace kubenode::netfilter {

class FakeRuleWriter : public RuleWriter {
 public:
  struct Apply {
    bool full = false;
    std::vector<std::string> touchedChains{};  // diff applies only
    absl::Status result{};
  };

  absl::Status apply(const Ruleset& desired, const RulesetDiff* diff) override {
    Apply a;
    a.full = diff == nullptr || diff->needsFullRebuild;
    if (!a.full)
      a.touchedChains = diff->touchedChains();
    if (!nextError_.ok()) {
      a.result = nextError_;
      nextError_ = absl::OkStatus();
    } else if (!a.full && !table_) {
      a.result = absl::AbortedError("table missing");
    } else if (!a.full && !sameDiff(diffRulesets(*table_, desired), *diff)) {
      // The caller diffed against something other than what the kernel holds.
      a.result = absl::AbortedError("diff does not apply to the table");
    } else {
      table_ = desired;
    }
    applies_.push_back(a);
    return a.result;
  }
  absl::Status cleanup() override {
    table_.reset();
    ++cleanups_;
    return absl::OkStatus();
  }
  absl::StatusOr<TableState> readBack(const ReadBackRequest& request) override {
    ++readBacks_;
    if (!table_)
      return TableState{};
    return expectedTableState(*table_, request);
  }

  void failNext(absl::Status s) { nextError_ = std::move(s); }
  // Drift: what someone else's `nft delete table` / `nft flush table` would do.
  void deleteTable() { table_.reset(); }
  void flushTable() {
    if (table_) {
      for (Chain& c : table_->chains)
        c.rules.clear();
    }
  }
  const std::optional<Ruleset>& table() const { return table_; }
  const std::vector<Apply>& applies() const { return applies_; }
  int readBacks() const { return readBacks_; }
  int cleanups() const { return cleanups_; }

 private:
  static bool sameDiff(const RulesetDiff& a, const RulesetDiff& b) {
    return a.setsToAdd == b.setsToAdd && a.setsToDelete == b.setsToDelete &&
           a.chainsToAdd == b.chainsToAdd && a.chainsToReplace == b.chainsToReplace &&
           a.chainsToFlush == b.chainsToFlush && a.chainsToDelete == b.chainsToDelete &&
           a.elementsToDelete == b.elementsToDelete && a.elementsToAdd == b.elementsToAdd &&
           a.needsFullRebuild == b.needsFullRebuild;
  }

  std::optional<Ruleset> table_;
  std::vector<Apply> applies_;
  absl::Status nextError_;
  int readBacks_ = 0;
  int cleanups_ = 0;
};

class FakeConntrack : public Conntrack {
 public:
  absl::StatusOr<size_t> deleteUdpEntries(const ConntrackCleanup& cleanup) override {
    cleanups_.push_back(cleanup);
    return cleanup.removedEndpoints.size() + cleanup.servicesGainingEndpoints.size();
  }
  const std::vector<ConntrackCleanup>& cleanups() const { return cleanups_; }

 private:
  std::vector<ConntrackCleanup> cleanups_;
};

}  // namespace kubenode::netfilter
