// A fake packet path for tests: runs a virtual packet through a Ruleset's base
// chains in hook and priority order, as the kernel would for the first packet
// of a connection, and reports every rule that matched and the outcome (DNAT
// to ip:port, masquerade, drop, reject, or accepted untouched). The numgen
// choice is injected, so tests can reach each endpoint on purpose; the
// contents of dynamic sets (session affinity) live in the environment and
// persist between traces.
//
//   TraceEnvironment env{.localAddresses = {nodeIP}};
//   env.numgen = [](uint32_t modulus) { return 0u; };  // always the first endpoint
//   TraceResult r = tracePacket(ruleset, Packet{.src = pod, .dst = clusterIP,
//                                               .protocol = Protocol::kTcp, .dport = 80}, env);
//   EXPECT_EQ(r.outcome, TraceOutcome::kDnat);
//   EXPECT_EQ(r.dnatTo(), "10.180.0.1:80");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "netfilter/ruleset.h"

namespace kubenode::netfilter {

struct Packet {
  Ipv4Addr src{};
  Ipv4Addr dst{};
  Protocol protocol = Protocol::kTcp;
  uint16_t dport = 0;
  uint32_t mark = 0;
  // Sent by a process on the node (output hook) rather than arriving on an
  // interface (prerouting hook).
  bool locallyGenerated = false;
};

struct TraceEnvironment {
  // The node's addresses (fib ... type local); 127.0.0.0/8 is always local.
  std::vector<Ipv4Addr> localAddresses{};
  // `numgen random mod m`: returns a value in [0, m). Unset: always 0.
  std::function<uint32_t(uint32_t modulus)> numgen{};
  // Dynamic sets' contents by set name, updated by `update @set`.
  std::map<std::string, std::set<Ipv4Addr>> dynamicSets{};
};

enum class TraceOutcome { kAccept, kDnat, kDrop, kReject };

struct TraceStep {
  std::string chain{};
  int rule = 0;      // index in the chain
  std::string text;  // the rule as renderRule() prints it
  friend bool operator==(const TraceStep&, const TraceStep&) = default;
};

struct TraceResult {
  std::vector<TraceStep> steps{};  // every rule that matched, in order
  TraceOutcome outcome = TraceOutcome::kAccept;
  std::optional<Ipv4Addr> dnatIp{};
  uint16_t dnatPort = 0;
  bool masqueraded = false;
  uint32_t mark = 0;    // the packet's mark at the end
  std::string error{};  // set if the ruleset is broken (unknown chain, loop)

  std::string dnatTo() const;  // "10.180.0.1:80", or "" without DNAT
  // Chains entered, in order, without repeats of consecutive entries.
  std::vector<std::string> chains() const;
};

TraceResult tracePacket(const Ruleset& ruleset, const Packet& packet, TraceEnvironment& env);

}  // namespace kubenode::netfilter
