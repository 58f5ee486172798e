#include "netfilter/nftrace.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/trace.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace kubenode::netfilter {

// ---- Pure part -------------------------------------------------------------

absl::StatusOr<TraceFilter> parseTraceTarget(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("DST[:PORT]: \"{}\": {}: expected an IPv4 address and an optional port, e.g. "
                    "10.96.0.10:80",
                    text, why));
  };
  TraceFilter filter;
  std::string_view address = text;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    address = text.substr(0, colon);
    std::string_view port = text.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return bad("the port is not a number from 1 to 65535");
    }
    filter.port = static_cast<uint16_t>(value);
  }
  absl::StatusOr<Ipv4Addr> ip = parseIpv4(address);
  if (!ip.ok())
    return bad("not an IPv4 address");
  filter.destination = *ip;
  return filter;
}

namespace {

// The protocol variants the filter needs: one rule each. nullopt: no protocol match.
std::vector<std::optional<Protocol>> protocolVariants(const TraceFilter& filter) {
  if (filter.protocol)
    return {filter.protocol};
  if (filter.port)
    return {Protocol::kTcp, Protocol::kUdp};  // a port means something at the transport layer
  return {std::nullopt};
}

}  // namespace

std::vector<std::string> traceRuleTexts(const TraceFilter& filter) {
  std::vector<std::string> out;
  for (const std::optional<Protocol>& p : protocolVariants(filter)) {
    std::string text = fmt::format("ip daddr {}", filter.destination.toString());
    if (p && filter.port)
      text += fmt::format(" {} dport {}", protocolName(*p), *filter.port);
    else if (p)
      text += fmt::format(" meta l4proto {}", protocolName(*p));
    else if (filter.port)
      text += fmt::format(" th dport {}", *filter.port);
    out.push_back(text + " meta nftrace set 1");
  }
  return out;
}

std::optional<TracePacket> decodeTracePacket(std::span<const uint8_t> nh,
                                             std::span<const uint8_t> th) {
  if (nh.size() < 20 || (nh[0] >> 4) != 4)
    return std::nullopt;
  auto be32 = [](const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
  };
  TracePacket p;
  p.protocol = nh[9];
  p.src.value = be32(&nh[12]);
  p.dst.value = be32(&nh[16]);
  bool hasPorts = p.protocol == IPPROTO_TCP || p.protocol == IPPROTO_UDP ||
                  p.protocol == IPPROTO_SCTP || p.protocol == IPPROTO_UDPLITE;
  if (hasPorts && th.size() >= 4) {
    p.sport = static_cast<uint16_t>(th[0] << 8 | th[1]);
    p.dport = static_cast<uint16_t>(th[2] << 8 | th[3]);
  }
  if (p.protocol == IPPROTO_TCP && th.size() >= 14)
    p.tcpFlags = th[13];
  return p;
}

namespace {

std::string protocolText(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    case IPPROTO_SCTP:
      return "sctp";
    case IPPROTO_ICMP:
      return "icmp";
    case IPPROTO_UDPLITE:
      return "udplite";
    default:
      return std::to_string(protocol);
  }
}

// "syn", "syn | ack", as nft names TCP flags.
std::string tcpFlagsText(uint8_t flags) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {
      {0x01, "fin"}, {0x02, "syn"}, {0x04, "rst"}, {0x08, "psh"},
      {0x10, "ack"}, {0x20, "urg"}, {0x40, "ecn"}, {0x80, "cwr"}};
  std::string out;
  for (auto [bit, name] : kNames) {
    if (flags & bit)
      out += out.empty() ? name : fmt::format(" | {}", name);
  }
  return out;
}

}  // namespace

std::string TracePrinter::format(const TraceEvent& e) {
  std::string prefix = fmt::format("trace id {:08x} {} {} {}", e.id, e.family, e.table, e.chain);
  std::string out;
  // nft prints the packet each time a hook dumps it, so NAT's rewrites show between hooks.
  if (e.packet || lastId_ != e.id) {
    std::string line = prefix + " packet:";
    if (!e.iif.empty())
      line += fmt::format(" iif \"{}\"", e.iif);
    if (!e.oif.empty())
      line += fmt::format(" oif \"{}\"", e.oif);
    if (e.mark && *e.mark != 0)
      line += fmt::format(" meta mark 0x{:08x}", *e.mark);
    if (e.packet) {
      const TracePacket& p = *e.packet;
      std::string proto = protocolText(p.protocol);
      line += fmt::format(" ip saddr {} ip daddr {} ip protocol {}", p.src.toString(),
                          p.dst.toString(), proto);
      if (p.sport)
        line += fmt::format(" {} sport {}", proto, *p.sport);
      if (p.dport)
        line += fmt::format(" {} dport {}", proto, *p.dport);
      if (p.protocol == IPPROTO_TCP && p.tcpFlags != 0)
        line += fmt::format(" tcp flags == {}", tcpFlagsText(p.tcpFlags));
    }
    out += line + "\n";
    lastId_ = e.id;
  }
  std::string verdict = e.verdict;
  if (!e.jumpTarget.empty())
    verdict += " " + e.jumpTarget;
  switch (e.type) {
    case TraceEvent::Type::kRule: {
      // Kernel 6.18 reports falling off a chain's end as a rule report without a handle
      // (older kernels send kReturn); print both the same way.
      if (!e.ruleHandle) {
        out += fmt::format("{} end of chain (verdict {})\n", prefix, verdict);
        break;
      }
      std::string line = fmt::format("{} rule handle {}", prefix, *e.ruleHandle);
      if (!e.ruleText.empty())
        line += ": " + e.ruleText;
      out += fmt::format("{} (verdict {})\n", line, verdict);
      break;
    }
    case TraceEvent::Type::kReturn:
      out += fmt::format("{} end of chain (verdict {})\n", prefix, verdict);
      break;
    case TraceEvent::Type::kPolicy:
      out += fmt::format("{} policy {}\n", prefix, verdict);
      break;
    case TraceEvent::Type::kUnknown:
      out += fmt::format("{} (verdict {})\n", prefix, verdict);
      break;
  }
  return out;
}

// ---- Netlink part ----------------------------------------------------------

namespace {

struct NftnlDeleter {
  void operator()(nftnl_table* p) const { nftnl_table_free(p); }
  void operator()(nftnl_chain* p) const { nftnl_chain_free(p); }
  void operator()(nftnl_rule* p) const { nftnl_rule_free(p); }
  void operator()(nftnl_trace* p) const { nftnl_trace_free(p); }
  void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); }
  void operator()(mnl_socket* p) const { mnl_socket_close(p); }
};
template <class T>
using NftnlPtr = std::unique_ptr<T, NftnlDeleter>;

constexpr char kRuleComment[] = "kubenode proxy trace";

absl::Status errnoStatus(int err, std::string_view what) {
  std::string message = fmt::format("{}: {}", what, std::strerror(err));
  if (err == EPERM || err == EACCES)
    return absl::PermissionDeniedError(message + " (needs CAP_NET_ADMIN: run as root)");
  return absl::UnavailableError(message);
}

std::string familyName(uint32_t nfproto) {
  switch (nfproto) {
    case NFPROTO_IPV4:
      return "ip";
    case NFPROTO_IPV6:
      return "ip6";
    case NFPROTO_INET:
      return "inet";
    case NFPROTO_ARP:
      return "arp";
    case NFPROTO_BRIDGE:
      return "bridge";
    case NFPROTO_NETDEV:
      return "netdev";
    default:
      return std::to_string(nfproto);
  }
}

std::string verdictName(int32_t verdict) {
  switch (verdict) {
    case NF_ACCEPT:
      return "accept";
    case NF_DROP:
      return "drop";
    case NF_STOLEN:
      return "stolen";
    case NF_QUEUE:
      return "queue";
    case NFT_CONTINUE:
      return "continue";
    case NFT_BREAK:
      return "break";
    case NFT_JUMP:
      return "jump";
    case NFT_GOTO:
      return "goto";
    case NFT_RETURN:
      return "return";
    default:
      return std::to_string(verdict);
  }
}

std::string interfaceName(uint32_t index) {
  char name[IF_NAMESIZE] = {};
  if (index == 0 || if_indextoname(index, name) == nullptr)
    return index == 0 ? "" : std::to_string(index);
  return name;
}

// One nf_tables transaction: BATCH_BEGIN, messages that each ask for an ACK, BATCH_END.
class Batch {
 public:
  explicit Batch(uint32_t seq) : buffer_(1 << 16), seq_(seq) {
    batch_ = mnl_nlmsg_batch_start(buffer_.data(), buffer_.size());
    nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), seq_++);
    mnl_nlmsg_batch_next(batch_);
  }
  ~Batch() { mnl_nlmsg_batch_stop(batch_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  nlmsghdr* header(uint16_t type, uint16_t flags) {
    ++messages_;
    return nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), type,
                                 NFPROTO_IPV4, flags | NLM_F_ACK, seq_++);
  }
  void next() { mnl_nlmsg_batch_next(batch_); }
  void end() {
    nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), seq_++);
    mnl_nlmsg_batch_next(batch_);
  }
  const void* data() const { return mnl_nlmsg_batch_head(batch_); }
  size_t size() const { return mnl_nlmsg_batch_size(batch_); }
  int messages() const { return messages_; }

 private:
  std::vector<char> buffer_;
  mnl_nlmsg_batch* batch_ = nullptr;
  uint32_t seq_;
  int messages_ = 0;
};

void addTable(Batch& b, uint16_t type, uint16_t flags) {
  NftnlPtr<nftnl_table> t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, std::string(kTraceTable).c_str());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
  nftnl_table_nlmsg_build_payload(b.header(type, flags), t.get());
  b.next();
}

//   chain NAME { type filter hook HOOK priority raw; policy accept; }
void addBaseChain(Batch& b, const char* name, uint32_t hook) {
  NftnlPtr<nftnl_chain> c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, std::string(kTraceTable).c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hook);
  nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, -300);  // raw: before conntrack and dstnat
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  nftnl_chain_nlmsg_build_payload(b.header(NFT_MSG_NEWCHAIN, NLM_F_CREATE), c.get());
  b.next();
}

void addCmp(nftnl_rule* r, const void* data, uint32_t len) {
  nftnl_expr* cmp = nftnl_expr_alloc("cmp");
  nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
  nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, data, len);
  nftnl_rule_add_expr(r, cmp);
}

void addPayload(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len) {
  nftnl_expr* e = nftnl_expr_alloc("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_rule_add_expr(r, e);
}

//   ip daddr DST [meta l4proto P] [th dport PORT] meta nftrace set 1 comment "kubenode proxy trace"
void addTraceRule(Batch& b, const char* chain, const TraceFilter& f, std::optional<Protocol> p) {
  NftnlPtr<nftnl_rule> r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(kTraceTable).c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain);
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);

  addPayload(r.get(), NFT_PAYLOAD_NETWORK_HEADER, 16, 4);  // ip daddr
  uint32_t daddr = htonl(f.destination.value);
  addCmp(r.get(), &daddr, sizeof(daddr));
  if (p) {
    nftnl_expr* meta = nftnl_expr_alloc("meta");
    nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
    nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
    nftnl_rule_add_expr(r.get(), meta);
    uint8_t proto = static_cast<uint8_t>(*p);
    addCmp(r.get(), &proto, sizeof(proto));
  }
  if (f.port) {
    addPayload(r.get(), NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);  // th dport
    uint16_t port = htons(*f.port);
    addCmp(r.get(), &port, sizeof(port));
  }
  nftnl_expr* one = nftnl_expr_alloc("immediate");
  nftnl_expr_set_u32(one, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
  uint8_t value = 1;
  nftnl_expr_set(one, NFTNL_EXPR_IMM_DATA, &value, sizeof(value));
  nftnl_rule_add_expr(r.get(), one);
  nftnl_expr* set = nftnl_expr_alloc("meta");
  nftnl_expr_set_u32(set, NFTNL_EXPR_META_KEY, NFT_META_NFTRACE);
  nftnl_expr_set_u32(set, NFTNL_EXPR_META_SREG, NFT_REG_1);
  nftnl_rule_add_expr(r.get(), set);

  NftnlPtr<nftnl_udata_buf> udata(nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8));
  nftnl_udata_put_strz(udata.get(), NFTNL_UDATA_RULE_COMMENT, kRuleComment);
  nftnl_rule_set_data(r.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(udata.get()),
                      nftnl_udata_buf_len(udata.get()));
  nftnl_rule_nlmsg_build_payload(b.header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r.get());
  b.next();
}

// The comment nft stores in a rule's user data, or "".
std::string ruleComment(const nftnl_rule* r) {
  uint32_t len = 0;
  const void* data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
  if (data == nullptr || len == 0)
    return "";
  std::string comment;
  nftnl_udata_parse(
      data, len,
      [](const nftnl_udata* attr, void* out) -> int {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && nftnl_udata_len(attr) > 0) {
          const char* text = static_cast<const char*>(nftnl_udata_get(attr));
          static_cast<std::string*>(out)->assign(text, strnlen(text, nftnl_udata_len(attr)));
        }
        return MNL_CB_OK;
      },
      &comment);
  return comment;
}

// ---- Rule text: the kernel's expressions back to nft-like text ----------------
//
// The trace names each rule by its handle; operators want to see the rule. nft would
// print it, but kubenode does not depend on nft: this decodes the expressions kubenode
// and its trace table emit (payload/meta/ct/fib/numgen loads, bitwise, cmp, lookup,
// dynset, immediate, nat, masq, reject, counter) and shows any other as "[name]".

enum class ValueKind {
  kRaw,
  kIp,
  kPort,
  kProto,
  kMark,
  kFibType,
  kCtState,
  kCtStatus,
  kNumber,
  kConst
};

struct RegValue {
  std::string text{};  // "ip daddr", "meta mark | 0x00004000"
  ValueKind kind = ValueKind::kRaw;
  int span = 1;     // 4-byte registers it fills
  int prefix = -1;  // an IPv4 prefix mask applied by bitwise
  bool masked = false;
  uint32_t ctMask = 0;
  std::vector<uint8_t> data{};  // kConst: the immediate's bytes
};

// Registers as 4-byte slots: NFT_REG_1..4 are 16 bytes each, NFT_REG32_00.. 4 bytes.
int slotOf(uint32_t reg) {
  return reg >= NFT_REG32_00 ? static_cast<int>(reg - NFT_REG32_00)
                             : static_cast<int>(reg - NFT_REG_1) * 4;
}

uint32_t hostU32(const uint8_t* d, uint32_t len) {
  uint32_t v = 0;
  std::memcpy(&v, d, std::min<uint32_t>(len, 4));
  return v;
}

std::string formatValue(const RegValue& v, const uint8_t* d, uint32_t len) {
  switch (v.kind) {
    case ValueKind::kIp: {
      if (len < 1 || len > 4)
        break;
      uint8_t b[4] = {};
      std::memcpy(b, d, len);
      std::string ip = fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
      return v.prefix >= 0 && v.prefix < 32 ? fmt::format("{}/{}", ip, v.prefix) : ip;
    }
    case ValueKind::kPort:
      if (len >= 2)
        return std::to_string(d[0] << 8 | d[1]);
      break;
    case ValueKind::kProto:
      if (len >= 1)
        return protocolText(d[0]);
      break;
    case ValueKind::kMark:
      return fmt::format("0x{:08x}", hostU32(d, len));
    case ValueKind::kFibType: {
      static constexpr const char* kTypes[] = {"unspec",    "unicast",     "local",
                                               "broadcast", "anycast",     "multicast",
                                               "blackhole", "unreachable", "prohibit"};
      uint32_t t = hostU32(d, len);
      return t < std::size(kTypes) ? kTypes[t] : std::to_string(t);
    }
    case ValueKind::kNumber:
      return std::to_string(hostU32(d, len));
    default:
      break;
  }
  std::string hex = "0x";
  for (uint32_t i = 0; i < len; ++i)
    hex += fmt::format("{:02x}", d[i]);
  return hex;
}

std::string ctStateNames(uint32_t bits) {
  static constexpr std::pair<uint32_t, const char*> kStates[] = {
      {1, "invalid"}, {2, "established"}, {4, "related"}, {8, "new"}, {64, "untracked"}};
  std::vector<std::string> names;
  for (auto [bit, name] : kStates) {
    if (bits & bit)
      names.emplace_back(name);
  }
  return names.empty() ? fmt::format("0x{:x}", bits) : fmt::format("{}", fmt::join(names, ","));
}

// The names nft gives `ct status` bits (enum ip_conntrack_status).
std::string ctStatusNames(uint32_t bits) {
  static constexpr std::pair<uint32_t, const char*> kStatus[] = {
      {IPS_EXPECTED, "expected"},   {IPS_SEEN_REPLY, "seen-reply"}, {IPS_ASSURED, "assured"},
      {IPS_CONFIRMED, "confirmed"}, {IPS_SRC_NAT, "snat"},          {IPS_DST_NAT, "dnat"},
      {IPS_DYING, "dying"}};
  std::vector<std::string> names;
  for (auto [bit, name] : kStatus) {
    if (bits & bit)
      names.emplace_back(name);
  }
  return names.empty() ? fmt::format("0x{:x}", bits) : fmt::format("{}", fmt::join(names, ","));
}

class RuleDecoder {
 public:
  std::string decode(nftnl_rule* r) {
    nftnl_expr_foreach(
        r,
        [](nftnl_expr* e, void* self) -> int {
          static_cast<RuleDecoder*>(self)->add(e);
          return 0;
        },
        this);
    return fmt::format("{}", fmt::join(parts_, " "));
  }

 private:
  static uint32_t u32(nftnl_expr* e, uint16_t attr) { return nftnl_expr_get_u32(e, attr); }
  static bool has(nftnl_expr* e, uint16_t attr) { return nftnl_expr_is_set(e, attr); }

  void load(uint32_t dreg, RegValue v) { regs_[slotOf(dreg)] = std::move(v); }
  RegValue* reg(uint32_t r) {
    auto it = regs_.find(slotOf(r));
    return it == regs_.end() ? nullptr : &it->second;
  }
  // A concatenation of the values loaded into consecutive registers from `sreg`.
  std::string key(uint32_t sreg) {
    std::vector<std::string> fields;
    for (int slot = slotOf(sreg); regs_.count(slot) != 0; slot += regs_[slot].span)
      fields.push_back(regs_[slot].text);
    return fmt::format("{}", fmt::join(fields, " . "));
  }

  void add(nftnl_expr* e) {
    std::string_view name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (name == "payload" && has(e, NFTNL_EXPR_PAYLOAD_DREG)) {
      uint32_t base = u32(e, NFTNL_EXPR_PAYLOAD_BASE), off = u32(e, NFTNL_EXPR_PAYLOAD_OFFSET),
               len = u32(e, NFTNL_EXPR_PAYLOAD_LEN);
      RegValue v{.text = fmt::format("@{},{},{}", base, off * 8, len * 8),
                 .span = static_cast<int>((len + 3) / 4)};
      // A prefix on a byte boundary loads only its bytes: ip saddr 10.244.0.0/16 is a
      // 2-byte load at offset 12 compared with 0x0af4 (nft emits it so, and so do we).
      if (base == NFT_PAYLOAD_NETWORK_HEADER && (off == 12 || off == 16) && len >= 1 && len <= 4) {
        v.text = off == 12 ? "ip saddr" : "ip daddr";
        v.kind = ValueKind::kIp;
        if (len < 4)
          v.prefix = static_cast<int>(len * 8);
      }
      if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 9 && len == 1)
        v.text = "ip protocol", v.kind = ValueKind::kProto;
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 0 && len == 2)
        v.text = "th sport", v.kind = ValueKind::kPort;
      else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && len == 2)
        v.text = "th dport", v.kind = ValueKind::kPort;
      load(u32(e, NFTNL_EXPR_PAYLOAD_DREG), v);
    } else if (name == "meta" && has(e, NFTNL_EXPR_META_DREG)) {
      uint32_t k = u32(e, NFTNL_EXPR_META_KEY);
      RegValue v{.text = fmt::format("meta {}", k)};
      if (k == NFT_META_L4PROTO)
        v.text = "meta l4proto", v.kind = ValueKind::kProto;
      else if (k == NFT_META_MARK)
        v.text = "meta mark", v.kind = ValueKind::kMark;
      else if (k == NFT_META_NFPROTO)
        v.text = "meta nfproto", v.kind = ValueKind::kNumber;
      load(u32(e, NFTNL_EXPR_META_DREG), v);
    } else if (name == "meta" && has(e, NFTNL_EXPR_META_SREG)) {
      uint32_t k = u32(e, NFTNL_EXPR_META_KEY);
      const RegValue* v = reg(u32(e, NFTNL_EXPR_META_SREG));
      std::string value = "?";
      if (v != nullptr) {
        value = v->kind == ValueKind::kConst
                    ? formatValue(RegValue{.kind = k == NFT_META_MARK ? ValueKind::kMark
                                                                      : ValueKind::kNumber},
                                  v->data.data(), v->data.size())
                    : v->text;
      }
      std::string key = k == NFT_META_MARK      ? "mark"
                        : k == NFT_META_NFTRACE ? "nftrace"
                                                : std::to_string(k);
      parts_.push_back(fmt::format("meta {} set {}", key, value));
    } else if (name == "ct" && has(e, NFTNL_EXPR_CT_DREG)) {
      const uint32_t k = u32(e, NFTNL_EXPR_CT_KEY);
      RegValue v{.text = fmt::format("ct {}", k), .kind = ValueKind::kRaw};
      if (k == NFT_CT_STATE)
        v.text = "ct state", v.kind = ValueKind::kCtState;
      else if (k == NFT_CT_STATUS)
        v.text = "ct status", v.kind = ValueKind::kCtStatus;
      load(u32(e, NFTNL_EXPR_CT_DREG), v);
    } else if (name == "fib") {
      uint32_t flags = u32(e, NFTNL_EXPR_FIB_FLAGS);
      std::string dir = (flags & NFTA_FIB_F_SADDR) ? "saddr" : "daddr";
      bool type = u32(e, NFTNL_EXPR_FIB_RESULT) == NFT_FIB_RESULT_ADDRTYPE;
      load(u32(e, NFTNL_EXPR_FIB_DREG),
           RegValue{.text = fmt::format("fib {} {}", dir, type ? "type" : "result"),
                    .kind = type ? ValueKind::kFibType : ValueKind::kRaw});
    } else if (name == "numgen") {
      std::string kind = u32(e, NFTNL_EXPR_NG_TYPE) == NFT_NG_RANDOM ? "random" : "inc";
      load(u32(e, NFTNL_EXPR_NG_DREG),
           RegValue{.text = fmt::format("numgen {} mod {}", kind, u32(e, NFTNL_EXPR_NG_MODULUS)),
                    .kind = ValueKind::kNumber});
    } else if (name == "bitwise") {
      RegValue* src = reg(u32(e, NFTNL_EXPR_BITWISE_SREG));
      uint32_t mlen = 0, xlen = 0;
      auto* mask = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &mlen));
      auto* x = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_BITWISE_XOR, &xlen));
      RegValue v = src ? *src : RegValue{.text = "?"};
      if (mask != nullptr && x != nullptr) {
        if (v.kind == ValueKind::kIp && mlen == 4) {
          uint32_t m = uint32_t{mask[0]} << 24 | mask[1] << 16 | mask[2] << 8 | mask[3];
          v.prefix = std::popcount(m);
        } else if (v.kind == ValueKind::kCtState || v.kind == ValueKind::kCtStatus) {
          v.ctMask = hostU32(mask, mlen);
        } else {
          uint32_t m = hostU32(mask, mlen), b = hostU32(x, xlen);
          if (b == 0)
            v.text = fmt::format("{} & 0x{:08x}", v.text, m), v.masked = true;
          else if (m == ~b)
            v.text = fmt::format("{} | 0x{:08x}", v.text, b);
          else if (m == 0xffffffff)
            v.text = fmt::format("{} ^ 0x{:08x}", v.text, b);
          else
            v.text = fmt::format("({} & 0x{:08x}) ^ 0x{:08x}", v.text, m, b);
        }
      }
      load(u32(e, NFTNL_EXPR_BITWISE_DREG), v);
    } else if (name == "cmp") {
      const RegValue* v = reg(u32(e, NFTNL_EXPR_CMP_SREG));
      RegValue unknown{.text = "?"};
      if (v == nullptr)
        v = &unknown;
      uint32_t len = 0;
      auto* d = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len));
      uint32_t op = u32(e, NFTNL_EXPR_CMP_OP);
      if (v->kind == ValueKind::kCtState && v->ctMask != 0) {
        parts_.push_back(fmt::format("{} {}{}", v->text, op == NFT_CMP_EQ ? "!= " : "",
                                     ctStateNames(v->ctMask)));
        return;
      }
      if (v->kind == ValueKind::kCtStatus && v->ctMask != 0) {
        parts_.push_back(fmt::format("{} {}{}", v->text, op == NFT_CMP_EQ ? "!= " : "",
                                     ctStatusNames(v->ctMask)));
        return;
      }
      static constexpr const char* kOps[] = {"", "!= ", "< ", "<= ", "> ", ">= "};
      std::string opText = op < std::size(kOps) ? kOps[op] : "? ";
      if (op == NFT_CMP_EQ && v->masked)
        opText = "== ";
      std::string value = formatValue(*v, d, len);
      // `meta l4proto tcp th dport 80` is what nft writes as `tcp dport 80`.
      if (v->kind == ValueKind::kPort && !lastProtocol_.empty() &&
          lastProtocolPart_ + 1 == parts_.size()) {
        parts_.back() = fmt::format("{} {} {}{}", lastProtocol_, v->text.substr(3), opText, value);
        lastProtocol_.clear();
        return;
      }
      lastProtocol_.clear();
      if (v->kind == ValueKind::kProto && v->text == "meta l4proto" && op == NFT_CMP_EQ) {
        lastProtocol_ = value;
        lastProtocolPart_ = parts_.size();
      }
      parts_.push_back(fmt::format("{} {}{}", v->text, opText, value));
    } else if (name == "lookup") {
      std::string set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);
      std::string k = key(u32(e, NFTNL_EXPR_LOOKUP_SREG));
      if (has(e, NFTNL_EXPR_LOOKUP_DREG) && u32(e, NFTNL_EXPR_LOOKUP_DREG) == NFT_REG_VERDICT) {
        parts_.push_back(fmt::format("{} vmap @{}", k, set));
      } else {
        bool inverted =
            has(e, NFTNL_EXPR_LOOKUP_FLAGS) && (u32(e, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV);
        parts_.push_back(fmt::format("{} {}@{}", k, inverted ? "!= " : "", set));
      }
    } else if (name == "dynset") {
      std::string op = u32(e, NFTNL_EXPR_DYNSET_OP) == NFT_DYNSET_OP_UPDATE ? "update" : "add";
      parts_.push_back(fmt::format("{} @{} {{ {} }}", op,
                                   nftnl_expr_get_str(e, NFTNL_EXPR_DYNSET_SET_NAME),
                                   key(u32(e, NFTNL_EXPR_DYNSET_SREG_KEY))));
    } else if (name == "immediate") {
      uint32_t dreg = u32(e, NFTNL_EXPR_IMM_DREG);
      if (dreg == NFT_REG_VERDICT) {
        int32_t verdict = static_cast<int32_t>(u32(e, NFTNL_EXPR_IMM_VERDICT));
        std::string text = verdictName(verdict);
        if (has(e, NFTNL_EXPR_IMM_CHAIN))
          text += fmt::format(" {}", nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
        parts_.push_back(text);
      } else {
        uint32_t len = 0;
        auto* d = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_IMM_DATA, &len));
        RegValue v{.kind = ValueKind::kConst, .span = static_cast<int>((len + 3) / 4)};
        if (d != nullptr)
          v.data.assign(d, d + len);
        load(dreg, v);
      }
    } else if (name == "nat") {
      std::string type = u32(e, NFTNL_EXPR_NAT_TYPE) == NFT_NAT_DNAT ? "dnat" : "snat";
      std::string to;
      if (has(e, NFTNL_EXPR_NAT_REG_ADDR_MIN)) {
        const RegValue* a = reg(u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN));
        if (a != nullptr && a->data.size() >= 4)
          to = formatValue(RegValue{.kind = ValueKind::kIp}, a->data.data(), 4);
      }
      if (has(e, NFTNL_EXPR_NAT_REG_PROTO_MIN)) {
        const RegValue* p = reg(u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN));
        if (p != nullptr && p->data.size() >= 2)
          to += ":" + formatValue(RegValue{.kind = ValueKind::kPort}, p->data.data(), 2);
      }
      parts_.push_back(fmt::format("{} to {}", type, to));
    } else if (name == "masq") {
      bool random = has(e, NFTNL_EXPR_MASQ_FLAGS) &&
                    (u32(e, NFTNL_EXPR_MASQ_FLAGS) & NF_NAT_RANGE_PROTO_RANDOM_FULLY);
      parts_.push_back(random ? "masquerade fully-random" : "masquerade");
    } else if (name == "counter" || name == "reject") {
      parts_.emplace_back(name);
    } else {
      parts_.push_back(fmt::format("[{}]", name));
    }
  }

  std::map<int, RegValue> regs_;
  std::vector<std::string> parts_;
  std::string lastProtocol_;  // "tcp" after `meta l4proto tcp`, until the next part
  size_t lastProtocolPart_ = 0;
};

// The rule as nft-like text, with its comment as nft prints it.
std::string describeRule(nftnl_rule* r) {
  std::string text = RuleDecoder().decode(r);
  std::string comment = ruleComment(r);
  if (!comment.empty())
    text += fmt::format(" comment \"{}\"", comment);
  return text;
}

// Dumps every rule of every table (NFT_MSG_GETRULE), in the kernel's order: table by
// table, chain by chain, rule by rule.
absl::Status dumpRules(mnl_socket* socket, uint32_t seq,
                       const std::function<void(nftnl_rule*)>& onRule) {
  char request[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request, NFT_MSG_GETRULE, NFPROTO_UNSPEC, NLM_F_DUMP, seq);
  if (mnl_socket_sendto(socket, nlh, nlh->nlmsg_len) < 0)
    return errnoStatus(errno, "listing rules");
  uint32_t portid = mnl_socket_get_portid(socket);
  std::vector<char> in(1 << 17);
  while (true) {
    ssize_t len = mnl_socket_recvfrom(socket, in.data(), in.size());
    if (len < 0)
      return errnoStatus(errno, "listing rules");
    int ret = mnl_cb_run(
        in.data(), len, seq, portid,
        [](const nlmsghdr* msg, void* data) -> int {
          NftnlPtr<nftnl_rule> r(nftnl_rule_alloc());
          if (nftnl_rule_nlmsg_parse(msg, r.get()) >= 0)
            (*static_cast<const std::function<void(nftnl_rule*)>*>(data))(r.get());
          return MNL_CB_OK;
        },
        const_cast<std::function<void(nftnl_rule*)>*>(&onRule));
    if (ret < 0)
      return errnoStatus(errno, "listing rules");
    if (ret == MNL_CB_STOP)
      return absl::OkStatus();
  }
}

class NetlinkTraceSession final : public TraceSession {
 public:
  ~NetlinkTraceSession() override { (void)stop(); }

  absl::Status start(const TraceFilter& filter) {
    // Listen first, so that no report about the first packet is missed.
    events_.reset(mnl_socket_open(NETLINK_NETFILTER));
    control_.reset(mnl_socket_open(NETLINK_NETFILTER));
    if (!events_ || !control_)
      return errnoStatus(errno, "opening a netfilter netlink socket");
    if (mnl_socket_bind(events_.get(), 0, MNL_SOCKET_AUTOPID) < 0 ||
        mnl_socket_bind(control_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
      return errnoStatus(errno, "binding a netfilter netlink socket");
    }
    int group = NFNLGRP_NFTRACE;
    if (mnl_socket_setsockopt(events_.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
      return errnoStatus(errno, "joining the nftables trace group");
    // A burst of packets produces many reports; a bigger buffer loses fewer.
    int size = 8 << 20;
    int fd = mnl_socket_get_fd(events_.get());
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));

    Batch b(nextSeq());
    // Add and delete first: this removes a table left behind by a killed trace (and is
    // harmless when there is none), so the rules are exactly ours.
    addTable(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
    addTable(b, NFT_MSG_DELTABLE, 0);
    addTable(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
    addBaseChain(b, "trace-prerouting", NF_INET_PRE_ROUTING);
    addBaseChain(b, "trace-output", NF_INET_LOCAL_OUT);
    for (const char* chain : {"trace-prerouting", "trace-output"}) {
      for (const std::optional<Protocol>& p : protocolVariants(filter))
        addTraceRule(b, chain, filter, p);
    }
    b.end();
    if (absl::Status s = send(b, "installing the trace table"); !s.ok())
      return s;
    installed_ = true;
    return listRules();
  }

  absl::Status run(std::chrono::steady_clock::time_point until, int stopFd,
                   const std::function<void(const TraceEvent&)>& onEvent,
                   const std::function<void(const std::string&)>& onNote) override {
    std::vector<char> buffer(1 << 17);
    NftnlPtr<nftnl_trace> trace(nftnl_trace_alloc());
    // Once the time is up or the user asked to stop, the reports already queued are still
    // delivered (a packet's last chains are often reported a moment after its first), for
    // at most kDrain, so that a flood cannot keep the trace table alive.
    constexpr auto kDrain = std::chrono::milliseconds(200);
    std::optional<std::chrono::steady_clock::time_point> drainUntil;
    while (true) {
      auto now = std::chrono::steady_clock::now();
      if (!drainUntil && now >= until)
        drainUntil = now + kDrain;
      if (drainUntil && now >= *drainUntil)
        return absl::OkStatus();
      int wait =
          drainUntil
              ? 0
              : static_cast<int>(std::min<int64_t>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1,
                    60000));
      pollfd fds[2] = {{mnl_socket_get_fd(events_.get()), POLLIN, 0}, {stopFd, POLLIN, 0}};
      int n = poll(fds, stopFd >= 0 && !drainUntil ? 2 : 1, wait);
      if (n < 0 && errno == EINTR)
        continue;  // the signal handler wrote to stopFd; poll again to see it
      if (n < 0)
        return errnoStatus(errno, "waiting for trace reports");
      if (!drainUntil && stopFd >= 0 && (fds[1].revents & POLLIN)) {
        drainUntil = std::chrono::steady_clock::now() + kDrain;
        continue;
      }
      if (!(fds[0].revents & POLLIN)) {
        if (drainUntil)
          return absl::OkStatus();  // nothing more queued
        continue;
      }
      ssize_t len = mnl_socket_recvfrom(events_.get(), buffer.data(), buffer.size());
      if (len < 0 && errno == ENOBUFS) {
        onNote("some trace reports were lost: the socket's receive buffer overran");
        continue;
      }
      if (len < 0 && errno == EINTR)
        continue;
      if (len < 0)
        return errnoStatus(errno, "reading trace reports");
      int remaining = static_cast<int>(len);
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(nlh, remaining);
           nlh = mnl_nlmsg_next(nlh, &remaining)) {
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
            NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_TRACE) {
          continue;
        }
        trace.reset(nftnl_trace_alloc());
        if (nftnl_trace_nlmsg_parse(nlh, trace.get()) < 0)
          continue;
        onEvent(decode(trace.get()));
      }
    }
  }

  absl::Status stop() override {
    if (!installed_)
      return absl::OkStatus();
    installed_ = false;
    Batch b(nextSeq());
    addTable(b, NFT_MSG_DELTABLE, 0);
    b.end();
    absl::Status s = send(b, "removing the trace table");
    if (absl::IsNotFound(s))
      return absl::OkStatus();  // someone removed it already: nothing is left either way
    return s;
  }

 private:
  using RuleKey = std::tuple<uint32_t, std::string, std::string, uint64_t>;

  uint32_t nextSeq() { return seq_ += 100; }

  // Sends one transaction and reads every ACK; the first error wins.
  absl::Status send(const Batch& b, std::string_view what) {
    if (mnl_socket_sendto(control_.get(), b.data(), b.size()) < 0)
      return errnoStatus(errno, what);
    uint32_t portid = mnl_socket_get_portid(control_.get());
    std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
    int pending = b.messages();
    int firstError = 0;
    while (pending > 0) {
      pollfd pfd{mnl_socket_get_fd(control_.get()), POLLIN, 0};
      int ready = poll(&pfd, 1, 5000);
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready <= 0)
        return absl::UnavailableError(fmt::format("{}: the kernel did not answer", what));
      ssize_t len = mnl_socket_recvfrom(control_.get(), buffer.data(), buffer.size());
      if (len < 0)
        return errnoStatus(errno, what);
      int left = static_cast<int>(len);
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(nlh, left);
           nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_pid != portid || nlh->nlmsg_type != NLMSG_ERROR)
          continue;
        --pending;
        auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error != 0 && firstError == 0)
          firstError = -err->error;
      }
    }
    if (firstError == ENOENT)
      return absl::NotFoundError(fmt::format("{}: {}", what, std::strerror(firstError)));
    if (firstError != 0)
      return errnoStatus(firstError, what);
    return absl::OkStatus();
  }

  // Lists every rule of every table once: handle -> text, for the printed lines.
  absl::Status listRules() {
    return dumpRules(control_.get(), nextSeq(), [this](nftnl_rule* r) {
      rules_[RuleKey{
          nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
          nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE)}] =
          describeRule(r);
    });
  }

  TraceEvent decode(const nftnl_trace* t) {
    TraceEvent e;
    e.id = nftnl_trace_get_u32(t, NFTNL_TRACE_ID);
    uint32_t family = nftnl_trace_get_u32(t, NFTNL_TRACE_FAMILY);
    e.family = familyName(family);
    if (nftnl_trace_is_set(t, NFTNL_TRACE_TABLE))
      e.table = nftnl_trace_get_str(t, NFTNL_TRACE_TABLE);
    if (nftnl_trace_is_set(t, NFTNL_TRACE_CHAIN))
      e.chain = nftnl_trace_get_str(t, NFTNL_TRACE_CHAIN);
    switch (nftnl_trace_get_u32(t, NFTNL_TRACE_TYPE)) {
      case NFT_TRACETYPE_RULE:
        e.type = TraceEvent::Type::kRule;
        break;
      case NFT_TRACETYPE_RETURN:
        e.type = TraceEvent::Type::kReturn;
        break;
      case NFT_TRACETYPE_POLICY:
        e.type = TraceEvent::Type::kPolicy;
        break;
      default:
        break;
    }
    if (e.type == TraceEvent::Type::kPolicy && nftnl_trace_is_set(t, NFTNL_TRACE_POLICY)) {
      e.verdict = verdictName(static_cast<int32_t>(nftnl_trace_get_u32(t, NFTNL_TRACE_POLICY)));
    } else if (nftnl_trace_is_set(t, NFTNL_TRACE_VERDICT)) {
      e.verdict = verdictName(static_cast<int32_t>(nftnl_trace_get_u32(t, NFTNL_TRACE_VERDICT)));
    }
    if (nftnl_trace_is_set(t, NFTNL_TRACE_JUMP_TARGET))
      e.jumpTarget = nftnl_trace_get_str(t, NFTNL_TRACE_JUMP_TARGET);
    if (nftnl_trace_is_set(t, NFTNL_TRACE_IIF))
      e.iif = interfaceName(nftnl_trace_get_u32(t, NFTNL_TRACE_IIF));
    if (nftnl_trace_is_set(t, NFTNL_TRACE_OIF))
      e.oif = interfaceName(nftnl_trace_get_u32(t, NFTNL_TRACE_OIF));
    if (nftnl_trace_is_set(t, NFTNL_TRACE_MARK))
      e.mark = nftnl_trace_get_u32(t, NFTNL_TRACE_MARK);
    if (nftnl_trace_is_set(t, NFTNL_TRACE_NETWORK_HEADER)) {
      uint32_t nlen = 0, tlen = 0;
      auto* nh =
          static_cast<const uint8_t*>(nftnl_trace_get_data(t, NFTNL_TRACE_NETWORK_HEADER, &nlen));
      const uint8_t* th = nullptr;
      if (nftnl_trace_is_set(t, NFTNL_TRACE_TRANSPORT_HEADER)) {
        th = static_cast<const uint8_t*>(
            nftnl_trace_get_data(t, NFTNL_TRACE_TRANSPORT_HEADER, &tlen));
      }
      e.packet = decodeTracePacket({nh, nlen}, {th, th ? tlen : 0});
    }
    if (e.type == TraceEvent::Type::kRule && nftnl_trace_is_set(t, NFTNL_TRACE_RULE_HANDLE)) {
      e.ruleHandle = nftnl_trace_get_u64(t, NFTNL_TRACE_RULE_HANDLE);
      RuleKey key{family, e.table, e.chain, *e.ruleHandle};
      auto it = rules_.find(key);
      // A rule added since the listing: list again, once per unknown rule.
      if (it == rules_.end() && relisted_.insert(key).second && listRules().ok())
        it = rules_.find(key);
      if (it != rules_.end())
        e.ruleText = it->second;
    }
    return e;
  }

  NftnlPtr<mnl_socket> events_;
  NftnlPtr<mnl_socket> control_;
  uint32_t seq_ = static_cast<uint32_t>(time(nullptr));
  bool installed_ = false;
  std::map<RuleKey, std::string> rules_;
  std::set<RuleKey> relisted_;
};

}  // namespace

absl::StatusOr<std::vector<ListedRule>> listRuleTexts() {
  NftnlPtr<mnl_socket> socket(mnl_socket_open(NETLINK_NETFILTER));
  if (!socket)
    return errnoStatus(errno, "opening a netfilter netlink socket");
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return errnoStatus(errno, "binding a netfilter netlink socket");
  std::vector<ListedRule> out;
  absl::Status s =
      dumpRules(socket.get(), static_cast<uint32_t>(time(nullptr)), [&](nftnl_rule* r) {
        out.push_back(ListedRule{.family = familyName(nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY)),
                                 .table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
                                 .chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN),
                                 .handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE),
                                 .text = describeRule(r)});
      });
  if (!s.ok())
    return s;
  return out;
}

absl::StatusOr<std::unique_ptr<TraceSession>> startNetlinkTrace(const TraceFilter& filter) {
  auto session = std::make_unique<NetlinkTraceSession>();
  if (absl::Status s = session->start(filter); !s.ok())
    return s;
  return session;
}

}  // namespace kubenode::netfilter
