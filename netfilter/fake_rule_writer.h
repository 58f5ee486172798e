// Stateful fakes of the proxier's side effects, for unit tests of the sync loop:
// FakeRuleWriter holds the "kernel's" ruleset and applies diffs to it as the
// kernel would (refusing, all or nothing, a diff that does not fit what it
// holds); FakeConntrack records cleanups.
//
//   FakeRuleWriter writer;
//   writer.failNext(absl::UnavailableError("ENOBUFS"));
//   ... proxier syncs ...
//   EXPECT_EQ(writer.applies().back().full, true);
//   writer.flushTable();  // drift, as `nft flush table` behind the agent's back
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "netfilter/conntrack.h"
#include "netfilter/diff.h"
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
    } else if (a.full) {
      table_ = desired;
    } else if (!table_) {
      a.result = absl::AbortedError("table missing");
    } else {
      // As the kernel: every object the diff changes or removes must exist, and
      // every object it adds must not; all or nothing.
      a.result = check(*table_, *diff);
      if (a.result.ok())
        applyDiff(*table_, *diff);
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
  static absl::Status check(const Ruleset& t, const RulesetDiff& d) {
    std::set<std::string> chains, sets;
    for (const Chain& c : t.chains)
      chains.insert(c.name);
    for (const Set& s : t.sets)
      sets.insert(s.name);
    auto missing = [](const std::set<std::string>& names, const std::string& name,
                      std::string_view what) -> absl::Status {
      if (!names.count(name))
        return absl::AbortedError(fmt::format("{} {} missing", what, name));
      return absl::OkStatus();
    };
    for (const Chain& c : d.chainsToReplace)
      if (auto s = missing(chains, c.name, "chain"); !s.ok())
        return s;
    for (const std::string& n : d.chainsToFlush)
      if (auto s = missing(chains, n, "chain"); !s.ok())
        return s;
    for (const std::string& n : d.chainsToDelete)
      if (auto s = missing(chains, n, "chain"); !s.ok())
        return s;
    for (const std::string& n : d.setsToDelete)
      if (auto s = missing(sets, n, "set"); !s.ok())
        return s;
    for (const ElementChange& e : d.elementsToDelete) {
      const Set* s = t.findSet(e.set);
      if (s == nullptr || std::none_of(s->elements.begin(), s->elements.end(),
                                       [&](const SetElement& x) { return x.key == e.element.key; }))
        return absl::AbortedError(fmt::format("element missing from {}", e.set));
    }
    for (const Chain& c : d.chainsToAdd)
      if (chains.count(c.name))
        return absl::AbortedError(fmt::format("chain {} exists", c.name));
    for (const std::string& n : d.setsToDelete)
      sets.erase(n);
    for (const Set& s : d.setsToAdd)
      if (sets.count(s.name))
        return absl::AbortedError(fmt::format("set {} exists", s.name));
    return absl::OkStatus();
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
