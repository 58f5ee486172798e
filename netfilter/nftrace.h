// `kubenode proxy trace`: follow real packets through the kernel's nftables chains, as
// `nft monitor trace` (and iptables' TRACE target before it) lets operators do.
//
// A TraceSession installs a short-lived table of its own, `table ip kubenode-trace`, whose
// base chains run at priority raw (-300), before kubenode's dstnat chains, and hold
//   ip daddr 10.96.0.10 tcp dport 80 meta nftrace set 1
// so the kernel reports every chain and rule a matching packet passes, in every table, on
// the NFNLGRP_NFTRACE netlink group. The session decodes each report (libnftnl's
// nftnl_trace API), names the rule by its comment (rules are listed once, and again when
// an unknown rule shows up) and decodes its expressions back to nft-like text, and removes its
// table when stopped or destroyed.
//
//   absl::StatusOr<std::unique_ptr<TraceSession>> s = startNetlinkTrace(
//       {.destination = parseIpv4("10.96.0.10").value(), .port = 80});
//   TracePrinter printer;
//   (*s)->run(std::chrono::steady_clock::now() + std::chrono::seconds(10), /*stopFd=*/-1,
//             [&](const TraceEvent& e) { std::cout << printer.format(e); });
//   (*s)->stop();  // nothing of the trace is left in the kernel
//
// The pure part (the filter's rule text, packet decoding, the printed lines) is separate
// from the netlink part so that unit tests cover it without a kernel.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "netfilter/ip.h"
#include "netfilter/service_port.h"

namespace kubenode::netfilter {

inline constexpr std::string_view kTraceTable = "kubenode-trace";

// Which packets to trace: to `destination`, optionally to one port, optionally of one
// protocol. A port without a protocol traces both TCP and UDP.
struct TraceFilter {
  Ipv4Addr destination{};
  std::optional<uint16_t> port{};
  std::optional<Protocol> protocol{};
};

// Parses the command line's "DST[:PORT]" ("10.96.0.10", "10.96.0.10:80"); kInvalidArgument
// saying what is expected.
absl::StatusOr<TraceFilter> parseTraceTarget(std::string_view text);

// The rules the session installs, as nft prints them (one per line), for messages and tests:
//   "ip daddr 10.96.0.10 tcp dport 80 meta nftrace set 1"
std::vector<std::string> traceRuleTexts(const TraceFilter& filter);

// The packet a trace report carries, decoded from its IPv4 and transport headers.
struct TracePacket {
  Ipv4Addr src{};
  Ipv4Addr dst{};
  uint8_t protocol = 0;  // IPPROTO_*
  std::optional<uint16_t> sport{};
  std::optional<uint16_t> dport{};
  uint8_t tcpFlags = 0;  // TCP only
};

// nullopt when the network header is not an IPv4 header.
std::optional<TracePacket> decodeTracePacket(std::span<const uint8_t> networkHeader,
                                             std::span<const uint8_t> transportHeader);

// One NFNLGRP_NFTRACE report, with the names the session resolved.
struct TraceEvent {
  uint32_t id = 0;  // the same for every report about one packet
  std::string family = "ip";
  std::string table;
  std::string chain;
  enum class Type { kRule, kReturn, kPolicy, kUnknown } type = Type::kUnknown;
  std::optional<uint64_t> ruleHandle;
  // The rule as nft-like text decoded from its expressions, with its comment:
  // "ip saddr 10.180.0.1 jump KUBE-MARK-MASQ comment \"ns1/svc1:p80\""
  std::string ruleText;
  // "accept", "drop", "continue", "jump", "goto", "return", "break", "queue", "stolen"
  std::string verdict;
  std::string jumpTarget;  // for jump and goto
  std::string iif;         // interface names, empty when unknown
  std::string oif;
  std::optional<uint32_t> mark;
  std::optional<TracePacket> packet;
};

// Prints reports as `nft monitor trace` does: a "packet:" line whenever a new packet id
// starts, then one line per report:
//   trace id 1f2e3d4c ip kubenode nat-prerouting packet: iif "veth1" ip saddr 10.244.1.20 ...
//   trace id 1f2e3d4c ip kubenode KUBE-SERVICES rule handle 12 "ns1/svc1:p80 cluster IP" (verdict
//   jump KUBE-SVC-...)
// Not thread-safe; one per output stream.
class TracePrinter {
 public:
  std::string format(const TraceEvent& event);

 private:
  std::optional<uint32_t> lastId_;
};

// A running trace. Not thread-safe: one thread calls run() and stop().
class TraceSession {
 public:
  virtual ~TraceSession() = default;
  // Delivers reports to `onEvent` until `until` passes or `stopFd` (if >= 0) becomes
  // readable, then those already queued (for at most 200 ms). kUnavailable if the netlink socket
  // fails; lost reports (the socket's buffer overran) are delivered as a note through `onNote`, not
  // an error.
  virtual absl::Status run(std::chrono::steady_clock::time_point until, int stopFd,
                           const std::function<void(const TraceEvent&)>& onEvent,
                           const std::function<void(const std::string&)>& onNote) = 0;
  // Removes the trace table. Idempotent; the destructor calls it too.
  virtual absl::Status stop() = 0;
};

// One rule of the kernel's ruleset, named as the trace names it.
struct ListedRule {
  std::string family{};  // "ip"
  std::string table{};
  std::string chain{};
  uint64_t handle = 0;
  std::string text{};  // as TraceEvent::ruleText
};

// Every rule of every table in the current network namespace, in the kernel's order, as
// the trace prints them (what `nft -a list ruleset` shows, minus sets and counters' values).
absl::StatusOr<std::vector<ListedRule>> listRuleTexts();

// Subscribes to trace reports, then installs the trace table in the current network
// namespace (replacing one a killed trace left behind). kPermissionDenied without
// CAP_NET_ADMIN; kUnavailable when the kernel refuses otherwise.
absl::StatusOr<std::unique_ptr<TraceSession>> startNetlinkTrace(const TraceFilter& filter);

}  // namespace kubenode::netfilter
