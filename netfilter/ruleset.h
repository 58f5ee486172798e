// The desired nftables ruleset as data: one table, its maps and sets, its
// chains and their rules, each rule a structured list of matches, statements
// and one verdict. buildRuleset() computes it from service ports and node
// settings; render.h prints it as `nft list table` does; diff.h compares two;
// the netlink writer emits each Match/Statement/Verdict as kernel expressions
// without parsing any text; trace.h runs virtual packets through it in tests.
//
//   ServicePorts sp = buildServicePorts(services, slices, "node-a");
//   NodeSettings node{.nodeName = "node-a", .clusterCIDR = parseCidr("10.244.0.0/16").value()};
//   Ruleset desired = buildRuleset(sp.ports, node);
//   const Chain* svc = desired.findChain("KUBE-SVC-XPGD46QRK7WJZT7O");
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "netfilter/ip.h"
#include "netfilter/service_port.h"

namespace kubenode::netfilter {

enum class Direction { kSource, kDestination };  // saddr / daddr

// ---- Matches: a rule applies when all of its matches hold. -----------------

// `ip saddr 10.0.0.0/8`, `ip daddr 10.96.0.1`, `ip saddr != 10.0.0.0/8`
struct IpMatch {
  Direction direction = Direction::kSource;
  Cidr cidr{};
  bool negate = false;
  friend bool operator==(const IpMatch&, const IpMatch&) = default;
};
// `tcp dport 80` (implies `meta l4proto tcp`)
struct PortMatch {
  Protocol protocol = Protocol::kTcp;
  uint16_t port = 0;
  friend bool operator==(const PortMatch&, const PortMatch&) = default;
};
// `meta l4proto tcp`
struct L4ProtoMatch {
  Protocol protocol = Protocol::kTcp;
  friend bool operator==(const L4ProtoMatch&, const L4ProtoMatch&) = default;
};
// `fib saddr type local` / `fib daddr type local`: the address is one of this host's.
struct FibLocalMatch {
  Direction direction = Direction::kDestination;
  friend bool operator==(const FibLocalMatch&, const FibLocalMatch&) = default;
};
// `ct state new`
struct CtStateNewMatch {
  friend bool operator==(const CtStateNewMatch&, const CtStateNewMatch&) = default;
};
// `meta mark & 0x00004000 == 0x00000000` (bitsSet false) or `!= 0x00000000` (true).
struct MarkMatch {
  uint32_t mask = 0;
  bool bitsSet = false;
  friend bool operator==(const MarkMatch&, const MarkMatch&) = default;
};
// `numgen random mod 3 0`: a fresh random number per rule evaluated.
struct NumgenMatch {
  uint32_t modulus = 1;
  uint32_t value = 0;
  friend bool operator==(const NumgenMatch&, const NumgenMatch&) = default;
};
// `ip saddr @KUBE-SEP-...`: the address is in a (dynamic) set.
struct SetMatch {
  Direction direction = Direction::kSource;
  std::string set{};
  friend bool operator==(const SetMatch&, const SetMatch&) = default;
};
// `ct status dnat`: the connection's destination was rewritten.
struct CtStatusDnatMatch {
  friend bool operator==(const CtStatusDnatMatch&, const CtStatusDnatMatch&) = default;
};
// Fields a set or map lookup concatenates into its key.
enum class KeyField { kIpSaddr, kIpDaddr, kL4Proto, kThDport };
// `ip saddr . ip daddr @hairpin-endpoints`: the concatenated fields are in a set.
struct KeySetMatch {
  std::vector<KeyField> key{};
  std::string set{};
  friend bool operator==(const KeySetMatch&, const KeySetMatch&) = default;
};
using Match = std::variant<IpMatch, PortMatch, L4ProtoMatch, FibLocalMatch, CtStateNewMatch,
                           MarkMatch, NumgenMatch, SetMatch, CtStatusDnatMatch, KeySetMatch>;

// ---- Statements: side effects before the verdict. --------------------------

// `meta mark set meta mark | 0x00004000`
struct MarkOrStatement {
  uint32_t bits = 0;
  friend bool operator==(const MarkOrStatement&, const MarkOrStatement&) = default;
};
// `meta mark set meta mark ^ 0x00004000`
struct MarkXorStatement {
  uint32_t bits = 0;
  friend bool operator==(const MarkXorStatement&, const MarkXorStatement&) = default;
};
// `update @KUBE-SEP-... { ip saddr }`: add or refresh the source with the set's timeout.
struct SetUpdateStatement {
  std::string set{};
  Direction direction = Direction::kSource;
  friend bool operator==(const SetUpdateStatement&, const SetUpdateStatement&) = default;
};
using Statement = std::variant<MarkOrStatement, MarkXorStatement, SetUpdateStatement>;

// ---- Verdicts: what the rule does last. ------------------------------------

struct ContinueVerdict {  // no verdict: the next rule runs
  friend bool operator==(const ContinueVerdict&, const ContinueVerdict&) = default;
};
struct JumpVerdict {  // `jump CHAIN`: run CHAIN, then come back
  std::string chain{};
  friend bool operator==(const JumpVerdict&, const JumpVerdict&) = default;
};
struct GotoVerdict {  // `goto CHAIN`: run CHAIN, do not come back
  std::string chain{};
  friend bool operator==(const GotoVerdict&, const GotoVerdict&) = default;
};
struct ReturnVerdict {
  friend bool operator==(const ReturnVerdict&, const ReturnVerdict&) = default;
};
struct AcceptVerdict {
  friend bool operator==(const AcceptVerdict&, const AcceptVerdict&) = default;
};
struct DropVerdict {
  friend bool operator==(const DropVerdict&, const DropVerdict&) = default;
};
// `reject`: ICMP port unreachable, as iptables' REJECT does by default.
struct RejectVerdict {
  friend bool operator==(const RejectVerdict&, const RejectVerdict&) = default;
};
// `dnat to 10.180.0.1:80` (the rule carries the L4ProtoMatch the port needs).
struct DnatVerdict {
  Ipv4Addr ip{};
  uint16_t port = 0;
  friend bool operator==(const DnatVerdict&, const DnatVerdict&) = default;
};
// `masquerade fully-random`
struct MasqueradeVerdict {
  bool fullyRandom = true;
  friend bool operator==(const MasqueradeVerdict&, const MasqueradeVerdict&) = default;
};
// `ip daddr . meta l4proto . th dport vmap @service-ips`: the element's verdict, if any.
struct VmapVerdict {
  std::vector<KeyField> key{};
  std::string map{};
  friend bool operator==(const VmapVerdict&, const VmapVerdict&) = default;
};
using Verdict =
    std::variant<ContinueVerdict, JumpVerdict, GotoVerdict, ReturnVerdict, AcceptVerdict,
                 DropVerdict, RejectVerdict, DnatVerdict, MasqueradeVerdict, VmapVerdict>;

struct Rule {
  std::vector<Match> matches{};
  bool counter = true;  // kube-proxy's rules all count (iptables always does)
  std::vector<Statement> statements{};
  Verdict verdict{};
  std::string comment{};  // kube-proxy's comment, e.g. "ns1/svc1:p80 cluster IP"
  friend bool operator==(const Rule&, const Rule&) = default;
};

enum class ChainType { kFilter, kNat };
enum class Hook { kPrerouting, kInput, kForward, kOutput, kPostrouting };

// Present on base chains only: where the kernel calls the chain.
struct BaseHook {
  ChainType type = ChainType::kFilter;
  Hook hook = Hook::kPrerouting;
  int priority = 0;  // dstnat -100, filter 0, srcnat 100
  friend bool operator==(const BaseHook&, const BaseHook&) = default;
};

struct Chain {
  std::string name{};
  std::optional<BaseHook> base{};  // policy is always accept
  std::vector<Rule> rules{};
  friend bool operator==(const Chain&, const Chain&) = default;
};

// Key and data types, as nft names them.
enum class KeyType { kIpv4Addr, kInetProto, kInetService };

struct Port {
  uint16_t value = 0;
  friend auto operator<=>(const Port&, const Port&) = default;
};
using KeyValue = std::variant<Ipv4Addr, Protocol, Port>;

// A verdict-map element's value.
struct ElementVerdict {
  enum class Kind { kJump, kGoto, kDrop, kAccept } kind = Kind::kJump;
  std::string chain{};  // for kJump / kGoto
  friend bool operator==(const ElementVerdict&, const ElementVerdict&) = default;
};

struct SetElement {
  std::vector<KeyValue> key{};
  std::optional<ElementVerdict> verdict{};  // maps only
  std::string comment{};
  friend bool operator==(const SetElement&, const SetElement&) = default;
};

// A named set (no data) or verdict map (isVerdictMap).
struct Set {
  std::string name{};
  std::vector<KeyType> keyType{};
  bool isVerdictMap = false;
  // `flags dynamic,timeout`: filled from the packet path (session affinity);
  // its elements are runtime state, never part of the desired ruleset or a diff.
  bool dynamic = false;
  std::optional<uint32_t> timeoutSeconds{};  // default element timeout
  // `size N`: the most elements the kernel keeps. nft gives a dynamic set 65535 when it
  // names none, so affinity sets say it, and what we render is what `nft list` prints.
  std::optional<uint32_t> maxElements{};
  std::vector<SetElement> elements{};  // sorted by key
  friend bool operator==(const Set&, const Set&) = default;
};

struct Ruleset {
  std::string family = "ip";
  std::string table = "kubenode";
  std::vector<Set> sets{};      // sorted by name
  std::vector<Chain> chains{};  // base chains first (fixed order), then by name

  const Chain* findChain(std::string_view name) const;
  const Set* findSet(std::string_view name) const;
  friend bool operator==(const Ruleset&, const Ruleset&) = default;
};

// The node's settings that shape the rules; the daemon and `kubenode proxy
// render` take them from the same flags (--cluster-cidr, --hostname-override,
// --node-port-addresses, --masquerade-bit).
struct NodeSettings {
  std::string tableName = "kubenode";
  std::string nodeName{};
  // Pod traffic (source inside) is not masqueraded to cluster IPs. Unset: no rule,
  // as kube-proxy without a local-traffic detector.
  std::optional<Cidr> clusterCIDR{};
  bool masqueradeAll = false;
  int masqueradeBit = 14;  // mark 0x4000
  // CIDRs whose node addresses accept node ports; empty: every local address
  // except 127.0.0.0/8 (kubenode does not set route_localnet).
  std::vector<Cidr> nodePortAddresses{};
  // This node's addresses, for --node-port-addresses and load-balancer source ranges.
  std::vector<Ipv4Addr> nodeIPs{};
};

// kInvalidArgument naming the field: masquerade bit outside 0-31, a node-port
// address that is not a network.
absl::Status validateNodeSettings(const NodeSettings& node);

// The mark KUBE-MARK-MASQ sets: 1 << masqueradeBit.
uint32_t masqueradeMark(const NodeSettings& node);

// Names of the table's maps.
inline constexpr std::string_view kServiceIPsMap = "service-ips";
inline constexpr std::string_view kServiceNodePortsMap = "service-nodeports";
inline constexpr std::string_view kNoEndpointServicesMap = "no-endpoint-services";
inline constexpr std::string_view kNoEndpointNodePortsMap = "no-endpoint-nodeports";
inline constexpr std::string_view kFirewallIPsMap = "firewall-ips";
// Every endpoint address as `ip . ip`, for the hairpin rule of KUBE-POSTROUTING.
inline constexpr std::string_view kHairpinEndpointsSet = "hairpin-endpoints";

// The addresses of `port`'s endpoints that have a KUBE-SEP chain (sorted, unique):
// each is an element `ip . ip` of hairpin-endpoints, which ports share.
std::vector<Ipv4Addr> hairpinAddresses(const ServicePortInfo& port);

// The whole desired ruleset (see README.md for its shape). Deterministic: the
// same input gives an identical Ruleset. Expects validateNodeSettings(node).ok().
Ruleset buildRuleset(const std::vector<ServicePortInfo>& ports, const NodeSettings& node);

// Receives the chains and affinity sets of ports[index] (in the order they were
// created: a port's KUBE-SVC/SVL/EXT/FW chains, then its KUBE-SEP chains).
using ServicePortSink = std::function<void(size_t index, Ruleset&& piece)>;

// The same ruleset, port by port, so that a whole-table rebuild never holds all
// of it (at 10,000 services x 10 endpoints it is 150 MB, and on this VM each
// fresh megabyte costs milliseconds): `onPort` gets each port's own chains and
// sets as soon as they are built, and the return value holds the rest (base and
// global chains, every map with all its elements). The pieces and the rest
// together are exactly buildRuleset(ports, node); a piece depends only on its
// port, so buildRulesetByPort({ports[i]}, ...) gives piece i again. The rest's
// chains and sets do not depend on the ports at all (only their elements do).
Ruleset buildRulesetByPort(const std::vector<ServicePortInfo>& ports, const NodeSettings& node,
                           const ServicePortSink& onPort);

}  // namespace kubenode::netfilter
