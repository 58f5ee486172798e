#include "netfilter/netlink_rule_writer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "netfilter/render.h"

namespace kubenode::netfilter {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// ip saddr / daddr offsets in the IPv4 header.
constexpr uint32_t kSaddrOffset = 12;
constexpr uint32_t kDaddrOffset = 16;
// Transport header offset of the destination port (tcp, udp and sctp alike).
constexpr uint32_t kDportOffset = 2;
// `ct state new`: NF_CT_STATE_BIT(IP_CT_NEW).
constexpr uint32_t kCtStateNewBit = 1u << (IP_CT_NEW + 1);
// nft's datatype numbers, as the kernel stores them in a set's key type and nft
// reads them back to print `type ipv4_addr . inet_proto . inet_service`.
constexpr uint32_t kTypeIpv4Addr = 7;
constexpr uint32_t kTypeInetProto = 12;
constexpr uint32_t kTypeInetService = 13;
constexpr uint32_t kTypeBits = 6;  // a concatenation packs one type per 6 bits
// nft's byte order hints in a set's userdata (enum byteorder in nftables).
constexpr uint32_t kByteorderInvalid = 0;
constexpr uint32_t kByteorderBigEndian = 2;
// Elements per NEWSETELEM message: the element list is one netlink attribute,
// whose length is 16 bits; 200 elements of at most ~250 bytes stay below it.
constexpr size_t kElementsPerMessage = 200;

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- Expressions ----------------------------------------------------------

// Owners of the libnftnl objects still used for the few table, set and element
// messages of a batch.
struct SetDeleter {
  void operator()(nftnl_set* s) const { nftnl_set_free(s); }
};
struct TableDeleter {
  void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
using SetPtr = std::unique_ptr<nftnl_set, SetDeleter>;
using TablePtr = std::unique_ptr<nftnl_table, TableDeleter>;

// Network byte order, as nf_tables' netlink attributes carry every integer.
void putU32(nlmsghdr* h, uint16_t type, uint32_t value) {
  mnl_attr_put_u32(h, type, htonl(value));
}
// `type` { NFTA_DATA_VALUE <bytes> }: a constant operand (cmp, bitwise, immediate).
void putValue(nlmsghdr* h, uint16_t type, const void* data, uint32_t len) {
  nlattr* nest = mnl_attr_nest_start(h, type);
  mnl_attr_put(h, NFTA_DATA_VALUE, len, data);
  mnl_attr_nest_end(h, nest);
}

// Writes a rule's expressions straight into its netlink message with libmnl:
// NFTA_RULE_EXPRESSIONS { NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA {..} } .. }.
// (libnftnl's object model costs a heap block per rule, per expression and per
// string in it: over two million allocations for a 10,000-service full sync,
// about a third of the batch build. bench/proxy/README.md.)
// Each method's comment shows the `nft --debug=netlink` line it produces;
// registers follow nft's choice so the kernel holds what `nft -f` would have
// loaded. Open it after the rule's other attributes, close() it last.
class Exprs {
 public:
  explicit Exprs(nlmsghdr* h) : h_(h), list_(mnl_attr_nest_start(h, NFTA_RULE_EXPRESSIONS)) {}
  void close() { mnl_attr_nest_end(h_, list_); }

  // [ payload load <len>b @ <base> header + <offset> => reg <dreg> ]
  void payload(uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
    Expr e(h_, "payload");
    putU32(h_, NFTA_PAYLOAD_DREG, dreg);
    putU32(h_, NFTA_PAYLOAD_BASE, base);
    putU32(h_, NFTA_PAYLOAD_OFFSET, offset);
    putU32(h_, NFTA_PAYLOAD_LEN, len);
  }
  // [ cmp eq|neq reg <sreg> <data> ]
  void cmp(uint32_t op, uint32_t sreg, const void* data, uint32_t len) {
    Expr e(h_, "cmp");
    putU32(h_, NFTA_CMP_SREG, sreg);
    putU32(h_, NFTA_CMP_OP, op);
    putValue(h_, NFTA_CMP_DATA, data, len);
  }
  void cmpU32(uint32_t op, uint32_t value) { cmp(op, NFT_REG_1, &value, sizeof(value)); }
  // [ bitwise reg 1 = ( reg 1 & <mask> ) ^ <xor> ]
  void bitwise(const void* mask, const void* xorValue, uint32_t len) {
    Expr e(h_, "bitwise");
    putU32(h_, NFTA_BITWISE_SREG, NFT_REG_1);
    putU32(h_, NFTA_BITWISE_DREG, NFT_REG_1);
    putU32(h_, NFTA_BITWISE_LEN, len);
    putValue(h_, NFTA_BITWISE_MASK, mask, len);
    putValue(h_, NFTA_BITWISE_XOR, xorValue, len);
  }
  void bitwiseU32(uint32_t mask, uint32_t xorValue) { bitwise(&mask, &xorValue, 4); }
  // [ meta load <key> => reg <dreg> ]
  void metaLoad(uint32_t key, uint32_t dreg) {
    Expr e(h_, "meta");
    putU32(h_, NFTA_META_KEY, key);
    putU32(h_, NFTA_META_DREG, dreg);
  }
  // [ meta set <key> with reg 1 ]
  void metaSet(uint32_t key) {
    Expr e(h_, "meta");
    putU32(h_, NFTA_META_KEY, key);
    putU32(h_, NFTA_META_SREG, NFT_REG_1);
  }
  // [ counter pkts 0 bytes 0 ]
  void counter() { Expr e(h_, "counter"); }
  // [ immediate reg 0 jump -> CHAIN ] / goto / return / accept / drop
  void verdict(int code, const std::string& chain = {}) {
    Expr e(h_, "immediate");
    putU32(h_, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    nlattr* data = mnl_attr_nest_start(h_, NFTA_IMMEDIATE_DATA);
    nlattr* v = mnl_attr_nest_start(h_, NFTA_DATA_VERDICT);
    putU32(h_, NFTA_VERDICT_CODE, static_cast<uint32_t>(code));
    if (!chain.empty())
      mnl_attr_put_strz(h_, NFTA_VERDICT_CHAIN, chain.c_str());
    mnl_attr_nest_end(h_, v);
    mnl_attr_nest_end(h_, data);
  }
  // [ immediate reg <dreg> <data> ]
  void immediate(uint32_t dreg, const void* data, uint32_t len) {
    Expr e(h_, "immediate");
    putU32(h_, NFTA_IMMEDIATE_DREG, dreg);
    putValue(h_, NFTA_IMMEDIATE_DATA, data, len);
  }
  // [ lookup reg 1 set NAME ] or, for a verdict map, [ lookup reg 1 set NAME dreg 0 ]
  void lookup(const std::string& set, bool verdictMap) {
    Expr e(h_, "lookup");
    putU32(h_, NFTA_LOOKUP_SREG, NFT_REG_1);
    if (verdictMap)
      putU32(h_, NFTA_LOOKUP_DREG, NFT_REG_VERDICT);
    mnl_attr_put_strz(h_, NFTA_LOOKUP_SET, set.c_str());
  }
  // [ fib saddr|daddr type => reg 1 ]
  void fibAddrType(Direction d) {
    Expr e(h_, "fib");
    putU32(h_, NFTA_FIB_DREG, NFT_REG_1);
    putU32(h_, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    putU32(h_, NFTA_FIB_FLAGS, d == Direction::kSource ? NFTA_FIB_F_SADDR : NFTA_FIB_F_DADDR);
  }
  // [ ct load <key> => reg 1 ]
  void ctLoad(uint32_t key) {
    Expr e(h_, "ct");
    putU32(h_, NFTA_CT_DREG, NFT_REG_1);
    putU32(h_, NFTA_CT_KEY, key);
  }
  // [ numgen reg 1 = random mod <modulus> ]
  void numgenRandom(uint32_t modulus) {
    Expr e(h_, "numgen");
    putU32(h_, NFTA_NG_DREG, NFT_REG_1);
    putU32(h_, NFTA_NG_MODULUS, modulus);
    putU32(h_, NFTA_NG_TYPE, NFT_NG_RANDOM);
    putU32(h_, NFTA_NG_OFFSET, 0);
  }
  // [ dynset update reg_key 1 set NAME ]
  void dynsetUpdate(const std::string& set) {
    Expr e(h_, "dynset");
    putU32(h_, NFTA_DYNSET_SREG_KEY, NFT_REG_1);
    putU32(h_, NFTA_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
    mnl_attr_put_strz(h_, NFTA_DYNSET_SET_NAME, set.c_str());
  }
  // [ reject type 0 code 3 ] (ICMP port unreachable)
  void rejectPortUnreachable() {
    Expr e(h_, "reject");
    putU32(h_, NFTA_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
    mnl_attr_put_u8(h_, NFTA_REJECT_ICMP_CODE, 3 /* ICMP_PORT_UNREACH */);
  }
  // [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]
  void dnat() {
    Expr e(h_, "nat");
    putU32(h_, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    putU32(h_, NFTA_NAT_FAMILY, NFPROTO_IPV4);
    putU32(h_, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
    putU32(h_, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
    putU32(h_, NFTA_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  }
  // [ masq flags 0x10 ] (fully-random) or [ masq ]
  void masquerade(bool fullyRandom) {
    Expr e(h_, "masq");
    if (fullyRandom)
      putU32(h_, NFTA_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
  }

 private:
  // One NFTA_LIST_ELEM: the expression's name, then its attributes inside
  // NFTA_EXPR_DATA (empty for counter and a plain masq, as libnftnl sends them).
  class Expr {
   public:
    Expr(nlmsghdr* h, const char* name) : h_(h), elem_(mnl_attr_nest_start(h, NFTA_LIST_ELEM)) {
      mnl_attr_put_strz(h, NFTA_EXPR_NAME, name);
      data_ = mnl_attr_nest_start(h, NFTA_EXPR_DATA);
    }
    ~Expr() {
      mnl_attr_nest_end(h_, data_);
      mnl_attr_nest_end(h_, elem_);
    }
    Expr(const Expr&) = delete;
    Expr& operator=(const Expr&) = delete;

   private:
    nlmsghdr* h_;
    nlattr* elem_;
    nlattr* data_ = nullptr;
  };

  nlmsghdr* h_;
  nlattr* list_;
};

uint32_t addrOffset(Direction d) {
  return d == Direction::kSource ? kSaddrOffset : kDaddrOffset;
}

// `ip saddr 10.180.0.1`   -> payload load 4b @ network header + 12; cmp eq 0x0100b40a
// `ip saddr != 10.0.0.0/8` -> payload load 1b @ network header + 12; cmp neq 0x0a
// `ip saddr 203.0.113.0/25` -> payload load 4b; bitwise & 0x80ffffff; cmp eq 0x007100cb
// (byte-aligned prefixes compare only their bytes, as nft does; others are masked)
void emitIpMatch(Exprs& x, const IpMatch& m) {
  const uint32_t op = m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ;
  const uint32_t net = htonl(m.cidr.addr.value);
  if (m.cidr.prefixLength > 0 && m.cidr.prefixLength % 8 == 0) {
    const uint32_t len = static_cast<uint32_t>(m.cidr.prefixLength / 8);
    x.payload(NFT_PAYLOAD_NETWORK_HEADER, addrOffset(m.direction), len, NFT_REG_1);
    x.cmp(op, NFT_REG_1, &net, len);
    return;
  }
  x.payload(NFT_PAYLOAD_NETWORK_HEADER, addrOffset(m.direction), 4, NFT_REG_1);
  const uint32_t mask = htonl(m.cidr.mask()), zero = 0;
  x.bitwise(&mask, &zero, 4);
  x.cmp(op, NFT_REG_1, &net, 4);
}

// `meta l4proto tcp` -> meta load l4proto => reg 1; cmp eq reg 1 0x06
void emitL4Proto(Exprs& x, Protocol p) {
  x.metaLoad(NFT_META_L4PROTO, NFT_REG_1);
  const uint8_t proto = static_cast<uint8_t>(p);
  x.cmp(NFT_CMP_EQ, NFT_REG_1, &proto, 1);
}

void emitKey(Exprs& x, const std::vector<KeyField>& key);

void emitMatch(Exprs& x, const Match& match) {
  std::visit(Overloaded{
                 [&](const IpMatch& m) { emitIpMatch(x, m); },
                 // `tcp dport 80` -> meta l4proto tcp; payload load 2b @ transport header + 2;
                 //                   cmp eq reg 1 0x5000
                 [&](const PortMatch& m) {
                   emitL4Proto(x, m.protocol);
                   x.payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, NFT_REG_1);
                   const uint16_t port = htons(m.port);
                   x.cmp(NFT_CMP_EQ, NFT_REG_1, &port, 2);
                 },
                 [&](const L4ProtoMatch& m) { emitL4Proto(x, m.protocol); },
                 // `fib daddr type local` -> fib daddr type => reg 1; cmp eq reg 1 0x00000002
                 [&](const FibLocalMatch& m) {
                   x.fibAddrType(m.direction);
                   x.cmpU32(NFT_CMP_EQ, RTN_LOCAL);
                 },
                 // `ct state new` -> ct load state => reg 1; bitwise & 0x08 ^ 0; cmp neq 0
                 [&](const CtStateNewMatch&) {
                   x.ctLoad(NFT_CT_STATE);
                   x.bitwiseU32(kCtStateNewBit, 0);
                   x.cmpU32(NFT_CMP_NEQ, 0);
                 },
                 // `meta mark & 0x00004000 == 0x00000000` -> meta load mark => reg 1;
                 //   bitwise & 0x4000 ^ 0; cmp eq reg 1 0 (neq for !=)
                 [&](const MarkMatch& m) {
                   x.metaLoad(NFT_META_MARK, NFT_REG_1);
                   x.bitwiseU32(m.mask, 0);
                   x.cmpU32(m.bitsSet ? NFT_CMP_NEQ : NFT_CMP_EQ, 0);
                 },
                 // `numgen random mod 3 0` -> numgen reg 1 = random mod 3; cmp eq reg 1 0
                 [&](const NumgenMatch& m) {
                   x.numgenRandom(m.modulus);
                   x.cmpU32(NFT_CMP_EQ, m.value);
                 },
                 // `ip saddr @KUBE-SEP-X` -> payload load 4b @ network header + 12 => reg 1;
                 //   lookup reg 1 set KUBE-SEP-X
                 [&](const SetMatch& m) {
                   x.payload(NFT_PAYLOAD_NETWORK_HEADER, addrOffset(m.direction), 4, NFT_REG_1);
                   x.lookup(m.set, false);
                 },
                 // `ct status dnat` -> ct load status => reg 1; bitwise & 0x20 ^ 0; cmp neq 0
                 [&](const CtStatusDnatMatch&) {
                   x.ctLoad(NFT_CT_STATUS);
                   x.bitwiseU32(IPS_DST_NAT, 0);
                   x.cmpU32(NFT_CMP_NEQ, 0);
                 },
                 // `ip saddr . ip daddr @hairpin-endpoints` -> payload load 4b @ network
                 //   header + 12 => reg 1; payload load 4b @ network header + 16 => reg 9;
                 //   lookup reg 1 set hairpin-endpoints
                 [&](const KeySetMatch& m) {
                   emitKey(x, m.key);
                   x.lookup(m.set, false);
                 },
             },
             match);
}

void emitStatement(Exprs& x, const Statement& statement) {
  std::visit(Overloaded{
                 // `meta mark set meta mark | 0x4000` -> meta load mark => reg 1;
                 //   bitwise & 0xffffbfff ^ 0x4000; meta set mark with reg 1
                 [&](const MarkOrStatement& s) {
                   x.metaLoad(NFT_META_MARK, NFT_REG_1);
                   x.bitwiseU32(~s.bits, s.bits);
                   x.metaSet(NFT_META_MARK);
                 },
                 // `meta mark set meta mark ^ 0x4000` -> meta load mark => reg 1;
                 //   bitwise & 0xffffffff ^ 0x4000; meta set mark with reg 1
                 [&](const MarkXorStatement& s) {
                   x.metaLoad(NFT_META_MARK, NFT_REG_1);
                   x.bitwiseU32(0xffffffffu, s.bits);
                   x.metaSet(NFT_META_MARK);
                 },
                 // `update @KUBE-SEP-X { ip saddr }` -> payload load 4b @ network header
                 //   + 12 => reg 1; dynset update reg_key 1 set KUBE-SEP-X
                 [&](const SetUpdateStatement& s) {
                   x.payload(NFT_PAYLOAD_NETWORK_HEADER, addrOffset(s.direction), 4, NFT_REG_1);
                   x.dynsetUpdate(s.set);
                 },
             },
             statement);
}

// Size of one key field in the packet and in a set key.
uint32_t keyFieldLength(KeyField f) {
  switch (f) {
    case KeyField::kIpSaddr:
    case KeyField::kIpDaddr:
      return 4;
    case KeyField::kL4Proto:
      return 1;
    case KeyField::kThDport:
      return 2;
  }
  return 4;
}

// Loads a lookup key into registers from reg 1 on:
// `ip daddr . meta l4proto . th dport` ->
//   payload load 4b @ network header + 16 => reg 1
//   meta load l4proto => reg 9
//   payload load 2b @ transport header + 2 => reg 10
// A concatenation gives every field a whole number of 32-bit registers (the
// kernel's set key layout), so field i after the first goes to
// NFT_REG32_00 + (its byte offset / 4); the first uses NFT_REG_1 as nft does.
void emitKey(Exprs& x, const std::vector<KeyField>& key) {
  uint32_t offset = 0;
  for (KeyField f : key) {
    const uint32_t reg = offset == 0 ? static_cast<uint32_t>(NFT_REG_1)
                                     : static_cast<uint32_t>(NFT_REG32_00) + offset / 4;
    switch (f) {
      case KeyField::kIpSaddr:
        x.payload(NFT_PAYLOAD_NETWORK_HEADER, kSaddrOffset, 4, reg);
        break;
      case KeyField::kIpDaddr:
        x.payload(NFT_PAYLOAD_NETWORK_HEADER, kDaddrOffset, 4, reg);
        break;
      case KeyField::kL4Proto:
        x.metaLoad(NFT_META_L4PROTO, reg);
        break;
      case KeyField::kThDport:
        x.payload(NFT_PAYLOAD_TRANSPORT_HEADER, kDportOffset, 2, reg);
        break;
    }
    offset += (keyFieldLength(f) + 3) / 4 * 4;
  }
}

// `ip daddr . meta l4proto . th dport vmap @service-ips` -> the key as above;
//   lookup reg 1 set service-ips dreg 0
void emitVmap(Exprs& x, const VmapVerdict& v) {
  emitKey(x, v.key);
  x.lookup(v.map, true);
}

void emitVerdict(Exprs& x, const Verdict& verdict) {
  std::visit(Overloaded{
                 [&](const ContinueVerdict&) {},
                 // `jump X` -> immediate reg 0 jump -> X
                 [&](const JumpVerdict& v) { x.verdict(NFT_JUMP, v.chain); },
                 // `goto X` -> immediate reg 0 goto -> X
                 [&](const GotoVerdict& v) { x.verdict(NFT_GOTO, v.chain); },
                 // `return` -> immediate reg 0 return
                 [&](const ReturnVerdict&) { x.verdict(NFT_RETURN); },
                 // `accept` -> immediate reg 0 accept
                 [&](const AcceptVerdict&) { x.verdict(NF_ACCEPT); },
                 // `drop` -> immediate reg 0 drop
                 [&](const DropVerdict&) { x.verdict(NF_DROP); },
                 // `reject` -> reject type 0 code 3 (ICMP port unreachable)
                 [&](const RejectVerdict&) { x.rejectPortUnreachable(); },
                 // `dnat to 10.180.0.1:80` -> immediate reg 1 0x0100b40a;
                 //   immediate reg 2 0x5000; nat dnat ip addr_min reg 1 proto_min reg 2
                 //   flags 0x2
                 [&](const DnatVerdict& v) {
                   const uint32_t addr = htonl(v.ip.value);
                   const uint16_t port = htons(v.port);
                   x.immediate(NFT_REG_1, &addr, 4);
                   x.immediate(NFT_REG_2, &port, 2);
                   x.dnat();
                 },
                 // `masquerade fully-random` -> masq flags 0x10
                 [&](const MasqueradeVerdict& v) { x.masquerade(v.fullyRandom); },
                 [&](const VmapVerdict& v) { emitVmap(x, v); },
             },
             verdict);
}

// A comment as nft stores it, so that `nft list` prints `comment "..."`: a
// userdata TLV of type 0 (rule comment, and likewise element comment) holding
// the string with its NUL.
std::string commentUserdata(const std::string& comment) {
  std::string out;
  out.push_back(0);  // NFTNL_UDATA_RULE_COMMENT == NFTNL_UDATA_SET_ELEM_COMMENT == 0
  out.push_back(static_cast<char>(comment.size() + 1));
  out += comment;
  out.push_back(0);
  return out;
}
// The same TLV written straight into a message as attribute `type`.
void putCommentUserdata(nlmsghdr* h, uint16_t type, const std::string& comment) {
  char tlv[2 + 255];
  const size_t n = std::min<size_t>(comment.size(), 253);  // the TLV's length is one byte
  tlv[0] = 0;
  tlv[1] = static_cast<char>(n + 1);
  memcpy(tlv + 2, comment.data(), n);
  tlv[2 + n] = 0;
  mnl_attr_put(h, type, n + 3, tlv);
}

// `fields` bytes of a set key, each field padded to 4 bytes in a concatenation.
std::string encodeKey(const std::vector<KeyValue>& key) {
  std::string out;
  const bool concat = key.size() > 1;
  for (const KeyValue& v : key) {
    std::string field;
    std::visit(Overloaded{
                   [&](const Ipv4Addr& a) {
                     uint32_t n = htonl(a.value);
                     field.assign(reinterpret_cast<const char*>(&n), 4);
                   },
                   [&](const Protocol& p) { field.assign(1, static_cast<char>(p)); },
                   [&](const Port& p) {
                     uint16_t n = htons(p.value);
                     field.assign(reinterpret_cast<const char*>(&n), 2);
                   },
               },
               v);
    if (concat)
      field.resize((field.size() + 3) / 4 * 4, '\0');
    out += field;
  }
  return out;
}

uint32_t keyTypeLength(KeyType t) {
  switch (t) {
    case KeyType::kIpv4Addr:
      return 4;
    case KeyType::kInetProto:
      return 1;
    case KeyType::kInetService:
      return 2;
  }
  return 4;
}

uint32_t keyTypeNumber(KeyType t) {
  switch (t) {
    case KeyType::kIpv4Addr:
      return kTypeIpv4Addr;
    case KeyType::kInetProto:
      return kTypeInetProto;
    case KeyType::kInetService:
      return kTypeInetService;
  }
  return 0;
}

uint32_t hookNumber(Hook h) {
  switch (h) {
    case Hook::kPrerouting:
      return NF_INET_PRE_ROUTING;
    case Hook::kInput:
      return NF_INET_LOCAL_IN;
    case Hook::kForward:
      return NF_INET_FORWARD;
    case Hook::kOutput:
      return NF_INET_LOCAL_OUT;
    case Hook::kPostrouting:
      return NF_INET_POST_ROUTING;
  }
  return 0;
}

// What a batch message was about, to name it when the kernel rejects it.
struct Origin {
  enum class Kind : uint8_t {
    kAddTable,
    kDeleteTable,
    kAddChain,
    kFlushChain,
    kDeleteChain,
    kAddRule,
    kAddSet,
    kDeleteSet,
    kAddElements,
    kDeleteElements,
    // The first message of port `index`'s piece in a streamed full rebuild; the
    // piece is gone by the time the kernel answers, so a failure in it is named
    // by building the piece again (pieceMessageAt).
    kPortPiece,
  } kind;
  const Chain* chain = nullptr;            // kAddChain, kAddRule
  const Set* set = nullptr;                // kAddSet, kAddElements of a whole set
  const std::string* name = nullptr;       // flush/delete chain, delete set
  const ElementChange* changes = nullptr;  // diff element changes
  uint32_t index = 0;                      // rule index, first element
  uint32_t count = 0;                      // elements in the message
};

std::string describeOrigin(const Origin& o, const std::string& table) {
  switch (o.kind) {
    case Origin::Kind::kAddTable:
      return fmt::format("add table ip {}", table);
    case Origin::Kind::kDeleteTable:
      return fmt::format("delete table ip {}", table);
    case Origin::Kind::kAddChain:
      return fmt::format("add chain {}", o.chain->name);
    case Origin::Kind::kFlushChain:
      return fmt::format("flush chain {}", *o.name);
    case Origin::Kind::kDeleteChain:
      return fmt::format("delete chain {}", *o.name);
    case Origin::Kind::kAddRule:
      return fmt::format("rule {} of chain {} ({})", o.index + 1, o.chain->name,
                         renderRule(o.chain->rules[o.index]));
    case Origin::Kind::kAddSet:
      return fmt::format("add {} {}", o.set->isVerdictMap ? "map" : "set", o.set->name);
    case Origin::Kind::kDeleteSet:
      return fmt::format("delete set {}", *o.name);
    case Origin::Kind::kPortPiece:
      return fmt::format("a message of service port {}", o.index);
    case Origin::Kind::kAddElements:
    case Origin::Kind::kDeleteElements: {
      const bool add = o.kind == Origin::Kind::kAddElements;
      std::string set;
      std::string first;
      if (o.set != nullptr) {
        set = o.set->name;
        first = renderElement(o.set->elements[o.index]);
      } else {
        set = o.changes[0].set;
        first = renderElement(o.changes[0].element);
      }
      if (o.count == 1)
        return fmt::format("{} element {{ {} }} {} map {}", add ? "add" : "delete", first,
                           add ? "to" : "from", set);
      return fmt::format("{} {} elements {} {} (first: {{ {} }})", add ? "add" : "delete", o.count,
                         add ? "to" : "from", set, first);
    }
  }
  return "?";
}

absl::StatusCode codeForErrno(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return absl::StatusCode::kPermissionDenied;
    case ENOMEM:
    case ENOBUFS:
    case EAGAIN:
    case EINTR:
      return absl::StatusCode::kUnavailable;
    case ENOENT:
    case EEXIST:
    case EBUSY:
    case ENOTEMPTY:
      // The kernel's table is not what the batch assumed (someone changed it):
      // the caller should rebuild the whole table.
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

namespace internal {

// The bytes of one batch, in chunks of kChunkSize that the kernel reads as one
// iovec each. Each chunk is its own mapping with transparent huge pages asked
// for: a 100 MB batch then costs about fifty page faults instead of 25,000 (on
// this VM a page fault costs several microseconds: bench/proxy/README.md).
class BatchBuffer {
 public:
  BatchBuffer() = default;
  ~BatchBuffer() {
    for (const iovec& c : chunks_)
      munmap(c.iov_base, kChunkSize);
  }
  BatchBuffer(const BatchBuffer&) = delete;
  BatchBuffer& operator=(const BatchBuffer&) = delete;

  // Where the next message goes: at least kMaxMessage bytes of room, zeroed (a
  // fresh anonymous mapping). nullptr when no memory could be mapped.
  char* room() {
    if (chunks_.empty() || kChunkSize - chunks_.back().iov_len < kMaxMessage) {
      void* p = mapChunk();
      if (p == nullptr)
        return nullptr;
      chunks_.push_back(iovec{p, 0});
    }
    return static_cast<char*>(chunks_.back().iov_base) + chunks_.back().iov_len;
  }
  // The message written at room() is `len` bytes long.
  void commit(size_t len) { chunks_.back().iov_len += len; }
  const std::vector<iovec>& chunks() const { return chunks_; }

  // A message is at most this long: an element message is bounded by its
  // 16-bit element-list attribute, everything else is far smaller.
  static constexpr size_t kMaxMessage = 128u << 10;

 private:
  static constexpr size_t kChunkSize = 4u << 20;
  static constexpr size_t kHugePage = 2u << 20;

  // A kChunkSize mapping aligned to a huge page, so that THP can back it whole.
  static void* mapChunk() {
    const size_t size = kChunkSize + kHugePage;
    void* raw = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
      return nullptr;
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start)
      munmap(raw, aligned - start);
    const uintptr_t end = start + size;
    if (end > aligned + kChunkSize)
      munmap(reinterpret_cast<void*>(aligned + kChunkSize), end - aligned - kChunkSize);
    void* chunk = reinterpret_cast<void*>(aligned);
    madvise(chunk, kChunkSize, MADV_HUGEPAGE);  // advice only: without THP, 4 KiB pages
    return chunk;
  }

  std::vector<iovec> chunks_;
};

// One nfnetlink batch under construction: the messages, and what each was about
// (indexed by sequence number) so that an error names its object.
class NlBatch {
 public:
  explicit NlBatch(uint32_t& nextSeq) : nextSeq_(nextSeq) {
    begin_ = nextSeq_++;
    if (char* p = room()) {
      nftnl_batch_begin(p, begin_);
      buffer_.commit(reinterpret_cast<nlmsghdr*>(p)->nlmsg_len);
    }
  }
  NlBatch(const NlBatch&) = delete;
  NlBatch& operator=(const NlBatch&) = delete;

  // Starts the next object message; fill its payload, then call done().
  nlmsghdr* header(uint16_t type, uint16_t flags, const Origin& origin) {
    origins_.emplace_back(nextSeq_, origin);
    return headerOnly(type, flags);
  }
  // Starts a message of the piece opened by beginPiece(): no origin of its own.
  nlmsghdr* pieceHeader(uint16_t type, uint16_t flags) { return headerOnly(type, flags); }
  // The next messages, up to the next header() or beginPiece(), are port `port`'s piece.
  void beginPiece(uint32_t port) {
    origins_.emplace_back(nextSeq_, Origin{.kind = Origin::Kind::kPortPiece, .index = port});
  }
  // The message from header() is complete.
  void done() {
    if (scratch_.empty() || reinterpret_cast<char*>(current_) != scratch_.data())
      buffer_.commit(current_->nlmsg_len);
  }
  // Closes the batch. Only the last object message asks for an acknowledgement:
  // the kernel reports every failing message anyway (with its sequence number),
  // and one ACK per message would cost a kernel skb and a recvmsg each (300,000
  // of them at 10,000 services).
  void finish(nlmsghdr* lastObject) {
    if (lastObject != nullptr)
      lastObject->nlmsg_flags |= NLM_F_ACK;
    if (char* p = room()) {
      nftnl_batch_end(p, nextSeq_++);
      buffer_.commit(reinterpret_cast<nlmsghdr*>(p)->nlmsg_len);
    }
  }

  size_t size() const { return count_; }
  // What message `seq` was about, and for a port piece the message's position in
  // it; nullptr for a sequence number that is not one of this batch's objects.
  const Origin* origin(uint32_t seq, uint32_t& offset) const {
    if (seq <= begin_ || seq > lastObjectSeq())
      return nullptr;
    auto it = std::upper_bound(origins_.begin(), origins_.end(), seq,
                               [](uint32_t q, const auto& entry) { return q < entry.first; });
    if (it == origins_.begin())
      return nullptr;
    --it;
    offset = seq - it->first;
    if (offset != 0 && it->second.kind != Origin::Kind::kPortPiece)
      return nullptr;
    return &it->second;
  }
  uint32_t lastObjectSeq() const { return begin_ + count_; }
  // False when a chunk could not be mapped: the batch is incomplete.
  bool complete() const { return !outOfMemory_; }
  const std::vector<iovec>& chunks() const { return buffer_.chunks(); }

 private:
  char* room() {
    char* p = buffer_.room();
    if (p == nullptr)
      outOfMemory_ = true;
    return p;
  }
  nlmsghdr* headerOnly(uint16_t type, uint16_t flags) {
    ++count_;
    char* p = room();
    if (p == nullptr) {
      scratch_.resize(BatchBuffer::kMaxMessage);  // out of memory: built, dropped, reported
      p = scratch_.data();
    }
    current_ = nftnl_nlmsg_build_hdr(p, type, NFPROTO_IPV4, flags, nextSeq_++);
    return current_;
  }

  uint32_t& nextSeq_;
  BatchBuffer buffer_;
  std::vector<char> scratch_;
  nlmsghdr* current_ = nullptr;
  uint32_t begin_ = 0;
  uint32_t count_ = 0;  // object messages
  bool outOfMemory_ = false;
  // By first sequence number: one entry per message, or one per port piece.
  std::vector<std::pair<uint32_t, Origin>> origins_;
};

}  // namespace internal

namespace {

using internal::NlBatch;

// Builds the messages of one apply; remembers the last one to ask for its ACK.
class Emitter {
 public:
  Emitter(NlBatch& batch, const std::string& table, uint32_t& nextSetId, ApplyStats& stats)
      : batch_(batch), table_(table), nextSetId_(nextSetId), stats_(stats) {}

  // `add table ip kubenode` (NLM_F_CREATE without EXCL: no error when present)
  void addTable() { table(NFT_MSG_NEWTABLE, NLM_F_CREATE, Origin::Kind::kAddTable); }
  // `delete table ip kubenode`
  void deleteTable() { table(NFT_MSG_DELTABLE, 0, Origin::Kind::kDeleteTable); }

  // `add chain ip kubenode NAME { type nat hook prerouting priority dstnat; policy accept; }`
  void addChain(const Chain& c) {
    nlmsghdr* h = header(NFT_MSG_NEWCHAIN, NLM_F_CREATE,
                         Origin{.kind = Origin::Kind::kAddChain, .chain = &c});
    mnl_attr_put_strz(h, NFTA_CHAIN_TABLE, table_.c_str());
    mnl_attr_put_strz(h, NFTA_CHAIN_NAME, c.name.c_str());
    if (c.base) {
      nlattr* hook = mnl_attr_nest_start(h, NFTA_CHAIN_HOOK);
      putU32(h, NFTA_HOOK_HOOKNUM, hookNumber(c.base->hook));
      putU32(h, NFTA_HOOK_PRIORITY, static_cast<uint32_t>(c.base->priority));
      mnl_attr_nest_end(h, hook);
      putU32(h, NFTA_CHAIN_POLICY, NF_ACCEPT);
      mnl_attr_put_strz(h, NFTA_CHAIN_TYPE, c.base->type == ChainType::kNat ? "nat" : "filter");
    }
    finishMessage(h);
    ++stats_.chains;
  }
  // `flush chain ip kubenode NAME`: a rule deletion without a handle.
  void flushChain(const std::string& name) {
    nlmsghdr* h =
        header(NFT_MSG_DELRULE, 0, Origin{.kind = Origin::Kind::kFlushChain, .name = &name});
    mnl_attr_put_strz(h, NFTA_RULE_TABLE, table_.c_str());
    mnl_attr_put_strz(h, NFTA_RULE_CHAIN, name.c_str());
    finishMessage(h);
  }
  // `delete chain ip kubenode NAME`
  void deleteChain(const std::string& name) {
    nlmsghdr* h =
        header(NFT_MSG_DELCHAIN, 0, Origin{.kind = Origin::Kind::kDeleteChain, .name = &name});
    mnl_attr_put_strz(h, NFTA_CHAIN_TABLE, table_.c_str());
    mnl_attr_put_strz(h, NFTA_CHAIN_NAME, name.c_str());
    finishMessage(h);
  }
  // `add rule ip kubenode CHAIN <renderRule(rule)>`, appended.
  void addRule(const Chain& c, size_t index) {
    const Rule& rule = c.rules[index];
    nlmsghdr* h = header(
        NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
        Origin{.kind = Origin::Kind::kAddRule, .chain = &c, .index = static_cast<uint32_t>(index)});
    mnl_attr_put_strz(h, NFTA_RULE_TABLE, table_.c_str());
    mnl_attr_put_strz(h, NFTA_RULE_CHAIN, c.name.c_str());
    if (!rule.comment.empty())
      putCommentUserdata(h, NFTA_RULE_USERDATA, rule.comment);
    Exprs x(h);
    for (const Match& m : rule.matches)
      emitMatch(x, m);
    if (rule.counter)
      x.counter();
    for (const Statement& s : rule.statements)
      emitStatement(x, s);
    emitVerdict(x, rule.verdict);
    x.close();
    finishMessage(h);
    ++stats_.rules;
  }
  void addRules(const Chain& c) {
    for (size_t i = 0; i < c.rules.size(); ++i)
      addRule(c, i);
  }

  // `add map ip kubenode service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }`
  // `add set ip kubenode KUBE-SEP-X { type ipv4_addr; size 65535; flags dynamic,timeout;
  //  timeout 3h; }` (elements go separately, after the chains they jump to)
  void addSet(const Set& s) {
    SetPtr set = newSet(s.name);
    uint32_t flags = 0;
    if (s.isVerdictMap) {
      flags |= NFT_SET_MAP;
      nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    }
    if (s.dynamic)
      flags |= NFT_SET_EVAL;
    if (s.timeoutSeconds) {
      flags |= NFT_SET_TIMEOUT;
      nftnl_set_set_u64(set.get(), NFTNL_SET_TIMEOUT, uint64_t{*s.timeoutSeconds} * 1000);
    }
    if (s.maxElements)
      nftnl_set_set_u32(set.get(), NFTNL_SET_DESC_SIZE, *s.maxElements);
    nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, flags);
    uint32_t type = 0, len = 0;
    for (KeyType t : s.keyType) {
      type = (type << kTypeBits) | keyTypeNumber(t);
      len += s.keyType.size() > 1 ? (keyTypeLength(t) + 3) / 4 * 4 : keyTypeLength(t);
    }
    nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, type);
    nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, len);
    // nft's hints for printing keys back: the key's byte order (big endian for
    // an address, none for a concatenation), and for maps the data's (none for
    // verdicts).
    nftnl_udata_buf* ud = nftnl_udata_buf_alloc(64);
    nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER,
                        s.keyType.size() == 1 && s.keyType[0] != KeyType::kInetProto
                            ? kByteorderBigEndian
                            : kByteorderInvalid);
    if (s.isVerdictMap)
      nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, kByteorderInvalid);
    nftnl_set_set_data(set.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
                       nftnl_udata_buf_len(ud));
    nftnl_udata_buf_free(ud);
    nlmsghdr* h =
        header(NFT_MSG_NEWSET, NLM_F_CREATE, Origin{.kind = Origin::Kind::kAddSet, .set = &s});
    nftnl_set_nlmsg_build_payload(h, set.get());
    finishMessage(h);
  }
  // `delete set ip kubenode NAME`
  void deleteSet(const std::string& name) {
    SetPtr set = newSet(name, /*withId=*/false);
    nlmsghdr* h =
        header(NFT_MSG_DELSET, 0, Origin{.kind = Origin::Kind::kDeleteSet, .name = &name});
    nftnl_set_nlmsg_build_payload(h, set.get());
    finishMessage(h);
  }
  // `add element ip kubenode NAME { <element>, ... }`, kElementsPerMessage at a time.
  void addElements(const Set& s) {
    for (size_t first = 0; first < s.elements.size(); first += kElementsPerMessage) {
      const size_t n = std::min(kElementsPerMessage, s.elements.size() - first);
      SetPtr set = newSet(s.name, false);
      for (size_t i = first; i < first + n; ++i)
        addElement(set.get(), s.elements[i], true);
      nlmsghdr* h = header(NFT_MSG_NEWSETELEM, NLM_F_CREATE,
                           Origin{.kind = Origin::Kind::kAddElements,
                                  .set = &s,
                                  .index = static_cast<uint32_t>(first),
                                  .count = static_cast<uint32_t>(n)});
      nftnl_set_elems_nlmsg_build_payload(h, set.get());
      finishMessage(h);
    }
  }
  // Element changes of a diff, one message per element: a diff touches few, and
  // an error then names exactly the element.
  void changeElements(const std::vector<ElementChange>& changes, bool add) {
    for (const ElementChange& c : changes) {
      SetPtr set = newSet(c.set, false);
      addElement(set.get(), c.element, add);
      nlmsghdr* h =
          header(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0,
                 Origin{.kind = add ? Origin::Kind::kAddElements : Origin::Kind::kDeleteElements,
                        .changes = &c,
                        .count = 1});
      nftnl_set_elems_nlmsg_build_payload(h, set.get());
      finishMessage(h);
    }
  }

  nlmsghdr* last() const { return last_; }
  // While set, messages belong to the port piece opened with NlBatch::beginPiece().
  void setInPiece(bool inPiece) { inPiece_ = inPiece; }
  // A port piece, in the order pieceMessageAt() walks it: its sets, its chains
  // (empty), then each chain's rules.
  void addPiece(const Ruleset& piece) {
    for (const Set& s : piece.sets)
      addSet(s);
    for (const Chain& c : piece.chains)
      addChain(c);
    for (const Chain& c : piece.chains)
      addRules(c);
  }

 private:
  void table(uint16_t type, uint16_t flags, Origin::Kind kind) {
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table_.c_str());
    nlmsghdr* h = header(type, flags, Origin{.kind = kind});
    nftnl_table_nlmsg_build_payload(h, t.get());
    finishMessage(h);
  }
  SetPtr newSet(const std::string& name, bool withId = true) {
    SetPtr set(nftnl_set_alloc());
    nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(set.get(), NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, NFPROTO_IPV4);
    if (withId)
      nftnl_set_set_u32(set.get(), NFTNL_SET_ID, nextSetId_++);
    return set;
  }
  // `172.30.0.41 . tcp . 80 comment "ns1/svc1:p80 cluster IP" : jump KUBE-SVC-X`
  static void addElement(nftnl_set* set, const SetElement& e, bool withData) {
    nftnl_set_elem* el = nftnl_set_elem_alloc();
    const std::string key = encodeKey(e.key);
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
    if (withData && e.verdict) {
      int code = NFT_JUMP;
      switch (e.verdict->kind) {
        case ElementVerdict::Kind::kJump:
          code = NFT_JUMP;
          break;
        case ElementVerdict::Kind::kGoto:
          code = NFT_GOTO;
          break;
        case ElementVerdict::Kind::kDrop:
          code = NF_DROP;
          break;
        case ElementVerdict::Kind::kAccept:
          code = NF_ACCEPT;
          break;
      }
      nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(code));
      if (!e.verdict->chain.empty())
        nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, e.verdict->chain.c_str());
    }
    if (withData && !e.comment.empty()) {
      const std::string ud = commentUserdata(e.comment);
      nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, ud.data(), static_cast<uint32_t>(ud.size()));
    }
    nftnl_set_elem_add(set, el);
  }
  nlmsghdr* header(uint16_t type, uint16_t flags, const Origin& origin) {
    return inPiece_ ? batch_.pieceHeader(type, flags) : batch_.header(type, flags, origin);
  }
  void finishMessage(nlmsghdr* h) {
    last_ = h;
    batch_.done();
  }

  NlBatch& batch_;
  const std::string& table_;
  uint32_t& nextSetId_;
  ApplyStats& stats_;
  nlmsghdr* last_ = nullptr;
  bool inPiece_ = false;
};

// The origin of message `offset` of a port piece emitted by Emitter::addPiece().
Origin pieceMessageAt(const Ruleset& piece, uint32_t offset) {
  if (offset < piece.sets.size())
    return Origin{.kind = Origin::Kind::kAddSet, .set = &piece.sets[offset]};
  offset -= static_cast<uint32_t>(piece.sets.size());
  if (offset < piece.chains.size())
    return Origin{.kind = Origin::Kind::kAddChain, .chain = &piece.chains[offset]};
  offset -= static_cast<uint32_t>(piece.chains.size());
  for (const Chain& c : piece.chains) {
    if (offset < c.rules.size())
      return Origin{.kind = Origin::Kind::kAddRule, .chain = &c, .index = offset};
    offset -= static_cast<uint32_t>(c.rules.size());
  }
  return Origin{.kind = Origin::Kind::kPortPiece};
}

}  // namespace

// ---- NetlinkRuleWriter ------------------------------------------------------

absl::StatusOr<std::unique_ptr<NetlinkRuleWriter>> NetlinkRuleWriter::open(std::string table) {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr)
    return absl::UnavailableError(
        fmt::format("opening a netfilter netlink socket: {}", strerror(errno)));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return absl::UnavailableError(
        fmt::format("binding the netfilter netlink socket: {}", strerror(err)));
  }
  // Errors carry only the failing message's header (not its payload) and the
  // kernel's explanation, when it has one.
  int one = 1;
  mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
  return std::unique_ptr<NetlinkRuleWriter>(new NetlinkRuleWriter(nl, std::move(table)));
}

NetlinkRuleWriter::NetlinkRuleWriter(mnl_socket* socket, std::string table)
    : socket_(socket), portId_(mnl_socket_get_portid(socket)), table_(std::move(table)) {}

NetlinkRuleWriter::~NetlinkRuleWriter() {
  mnl_socket_close(socket_);
}

absl::Status NetlinkRuleWriter::apply(const Ruleset& desired, const RulesetDiff* diff) {
  if (desired.family != "ip" || desired.table != table_)
    return absl::InvalidArgumentError(
        fmt::format("ruleset is for table {} {}, this writer owns table ip {}", desired.family,
                    desired.table, table_));
  const auto start = Clock::now();
  stats_ = ApplyStats{};
  NlBatch batch(nextSeq_);
  Emitter e(batch, table_, nextSetId_, stats_);
  if (diff == nullptr || diff->needsFullRebuild) {
    // One transaction replaces the table: create it if missing (so the delete
    // cannot fail), delete it, create it again with everything. Connections
    // survive: conntrack keeps their NAT bindings, and the kernel swaps the
    // hooks at commit.
    stats_.full = true;
    e.addTable();
    e.deleteTable();
    e.addTable();
    for (const Set& s : desired.sets)
      e.addSet(s);
    for (const Chain& c : desired.chains)
      e.addChain(c);
    for (const Chain& c : desired.chains)
      e.addRules(c);
    for (const Set& s : desired.sets)
      e.addElements(s);
  } else {
    // The order of diff.h: references are released before their targets go,
    // and targets exist before anything refers to them.
    for (const Chain& c : diff->chainsToReplace)
      e.flushChain(c.name);
    for (const std::string& name : diff->chainsToFlush)
      e.flushChain(name);
    e.changeElements(diff->elementsToDelete, false);
    for (const std::string& name : diff->setsToDelete)
      e.deleteSet(name);
    for (const Set& s : diff->setsToAdd)
      e.addSet(s);
    for (const Chain& c : diff->chainsToAdd)
      e.addChain(c);
    for (const Chain& c : diff->chainsToAdd)
      e.addRules(c);
    for (const Chain& c : diff->chainsToReplace)
      e.addRules(c);
    for (const Set& s : diff->setsToAdd)
      e.addElements(s);
    e.changeElements(diff->elementsToAdd, true);
    for (const std::string& name : diff->chainsToDelete)
      e.deleteChain(name);
  }
  stats_.messages = batch.size();
  if (batch.size() == 0)
    return absl::OkStatus();
  batch.finish(e.last());
  stats_.buildSeconds = secondsSince(start);
  const auto sent = Clock::now();
  absl::Status s = send(batch);
  stats_.kernelSeconds = secondsSince(sent);
  return s;
}

namespace internal {

std::string describePieceMessage(const ServicePortInfo& port, const NodeSettings& node,
                                 uint32_t offset) {
  std::string what;
  buildRulesetByPort({port}, node, [&](size_t, Ruleset&& piece) {
    what = describeOrigin(pieceMessageAt(piece, offset), node.tableName);
  });
  return what;
}

}  // namespace internal

namespace {

// The names of a ruleset's chains and sets, in order.
std::vector<std::string> objectNames(const Ruleset& r) {
  std::vector<std::string> out;
  for (const Set& s : r.sets)
    out.push_back("set " + s.name);
  for (const Chain& c : r.chains)
    out.push_back("chain " + c.name);
  return out;
}

}  // namespace

absl::Status NetlinkRuleWriter::applyFull(const std::vector<ServicePortInfo>& ports,
                                          const NodeSettings& node, FullRebuildSummary& summary) {
  if (node.tableName != table_)
    return absl::InvalidArgumentError(fmt::format(
        "ruleset is for table ip {}, this writer owns table ip {}", node.tableName, table_));
  const auto start = Clock::now();
  stats_ = ApplyStats{};
  stats_.full = true;
  NlBatch batch(nextSeq_);
  Emitter e(batch, table_, nextSetId_, stats_);
  e.addTable();
  e.deleteTable();
  e.addTable();
  // The global chains and the maps do not depend on the ports (ruleset.h): create
  // them first, empty, so that every piece's rules find KUBE-MARK-MASQ; their
  // rules and the map elements (which jump to the pieces' chains) go last.
  const Ruleset skeleton = buildRuleset({}, node);
  for (const Set& s : skeleton.sets)
    e.addSet(s);
  for (const Chain& c : skeleton.chains)
    e.addChain(c);
  FullRebuildSummary built;
  built.rest = buildRulesetByPort(ports, node, [&](size_t i, Ruleset&& piece) {
    batch.beginPiece(static_cast<uint32_t>(i));
    e.setInPiece(true);
    e.addPiece(piece);
    e.setInPiece(false);
    built.portChains += piece.chains.size();
    built.portSets += piece.sets.size();
    for (const Chain& c : piece.chains)
      built.portRules += c.rules.size();
  });
  if (objectNames(built.rest) != objectNames(skeleton))
    return absl::InternalError(
        "streamed rebuild: the table's global chains or maps depend on the services "
        "(buildRulesetByPort broke its contract); nothing was sent");
  for (const Chain& c : built.rest.chains)
    e.addRules(c);
  for (const Set& s : built.rest.sets)
    e.addElements(s);
  stats_.messages = batch.size();
  batch.finish(e.last());
  stats_.buildSeconds = secondsSince(start);
  const auto sent = Clock::now();
  // A piece is gone by the time the kernel answers: build the failing one again.
  auto describePiece = [&](uint32_t port, uint32_t offset) {
    return internal::describePieceMessage(ports.at(port), node, offset);
  };
  absl::Status status = send(batch, describePiece);
  stats_.kernelSeconds = secondsSince(sent);
  if (status.ok())
    summary = std::move(built);
  return status;
}

absl::Status NetlinkRuleWriter::cleanup() {
  stats_ = ApplyStats{};
  NlBatch batch(nextSeq_);
  Emitter e(batch, table_, nextSetId_, stats_);
  e.addTable();  // so that deleting an absent table is no error
  e.deleteTable();
  batch.finish(e.last());
  return send(batch);
}

namespace {

// Reads the error attributes the kernel appends with NETLINK_EXT_ACK.
std::string extackMessage(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
    return "";
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t offset = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
    offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  std::string out;
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
       mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG)
      out = mnl_attr_get_str(attr);
  }
  return out;
}

}  // namespace

absl::Status NetlinkRuleWriter::send(NlBatch& batch, const PieceDescriber& describePiece) {
  if (!batch.complete())
    return absl::ResourceExhaustedError(fmt::format(
        "building the nftables batch for table ip {}: out of memory; nothing was sent", table_));
  std::vector<iovec> iov = batch.chunks();
  const int iovCount = static_cast<int>(iov.size());
  size_t total = 0;
  for (const iovec& v : iov)
    total += v.iov_len;
  stats_.bytes = total;
  // The whole batch must be one skb (the kernel commits per sendmsg), and netlink
  // refuses a message larger than the send buffer: raise it to fit (as root).
  const int fd = mnl_socket_get_fd(socket_);
  int sndbuf = static_cast<int>(std::min<size_t>(total + (1u << 16), 1u << 30));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  int rcvbuf = 4 << 20;  // room for many error replies
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof(kernel);
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  if (sendmsg(fd, &msg, 0) < 0) {
    const int err = errno;
    int actual = 0;
    socklen_t len = sizeof(actual);
    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &actual, &len);
    return absl::Status(
        codeForErrno(err),
        fmt::format("sending the nftables batch for table ip {} ({} bytes, {} iovecs, send buffer "
                    "{} bytes): {}",
                    table_, total, iovCount, actual, strerror(err)));
  }

  // The kernel processed the batch inside sendmsg, so every reply is queued:
  // read until the queue is empty, keep the first error (by sequence number)
  // and look for the final message's ACK.
  std::vector<char> buffer(1u << 16);
  bool acked = false;
  uint32_t firstErrorSeq = 0;
  int firstError = 0;
  std::string firstExtack;
  int errorCount = 0;
  while (true) {
    ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      const int err = errno;
      return absl::UnavailableError(fmt::format(
          "reading the kernel's replies to the nftables batch for table ip {}: {} (whether it "
          "was applied is unknown)",
          table_, strerror(err)));
    }
    const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data());
    int len = static_cast<int>(n);
    for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR)
        continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      const uint32_t seq = err->msg.nlmsg_seq;
      if (err->error == 0) {
        if (seq == batch.lastObjectSeq())
          acked = true;
        continue;
      }
      ++errorCount;
      if (firstErrorSeq == 0) {  // the kernel answers in batch order
        firstErrorSeq = seq;
        firstError = -err->error;
        firstExtack = extackMessage(nlh);
      }
    }
  }
  if (firstErrorSeq != 0) {
    uint32_t offset = 0;
    const Origin* o = batch.origin(firstErrorSeq, offset);
    std::string what = "batch framing";
    if (o != nullptr && o->kind == Origin::Kind::kPortPiece && describePiece)
      what = describePiece(o->index, offset);
    else if (o != nullptr)
      what = describeOrigin(*o, table_);
    std::string more = errorCount > 1 ? fmt::format(" ({} messages failed)", errorCount) : "";
    std::string extack = firstExtack.empty() ? "" : fmt::format(" ({})", firstExtack);
    return absl::Status(codeForErrno(firstError),
                        fmt::format("nftables rejected {}: {}{}{}; nothing of the batch was "
                                    "applied",
                                    what, strerror(firstError), extack, more));
  }
  if (!acked)
    return absl::UnavailableError(fmt::format(
        "no acknowledgement from the kernel for the nftables batch for table ip {}", table_));
  return absl::OkStatus();
}

// ---- read-back ---------------------------------------------------------------

absl::Status NetlinkRuleWriter::dump(char* request, size_t length,
                                     int (*callback)(const nlmsghdr*, void*), void* data) {
  const nlmsghdr* h = reinterpret_cast<const nlmsghdr*>(request);
  const uint32_t seq = h->nlmsg_seq;
  if (mnl_socket_sendto(socket_, request, length) < 0)
    return absl::UnavailableError(fmt::format("netlink request: {}", strerror(errno)));
  std::vector<char> buffer(1u << 16);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return absl::UnavailableError(fmt::format("netlink reply: {}", strerror(errno)));
    }
    int r = mnl_cb_run(buffer.data(), static_cast<size_t>(n), seq, portId_, callback, data);
    if (r == MNL_CB_STOP)
      return absl::OkStatus();
    if (r < 0)
      return absl::Status(errno == ENOENT ? absl::StatusCode::kNotFound : codeForErrno(errno),
                          strerror(errno));
  }
}

namespace {

int countMessages(const nlmsghdr*, void* data) {
  ++*static_cast<size_t*>(data);
  return MNL_CB_OK;
}

int readTableUse(const nlmsghdr* nlh, void* data) {
  TablePtr t(nftnl_table_alloc());
  if (nftnl_table_nlmsg_parse(nlh, t.get()) == 0 && nftnl_table_is_set(t.get(), NFTNL_TABLE_USE))
    *static_cast<uint32_t*>(data) = nftnl_table_get_u32(t.get(), NFTNL_TABLE_USE);
  return MNL_CB_OK;
}

// Counts the elements of one NEWSETELEM dump message without decoding them.
int countElements(const nlmsghdr* nlh, void* data) {
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
       mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
      continue;
    // Each element is one nested attribute.
    const char* end =
        static_cast<const char*>(mnl_attr_get_payload(attr)) + mnl_attr_get_payload_len(attr);
    for (auto* e = static_cast<const nlattr*>(mnl_attr_get_payload(attr));
         mnl_attr_ok(e, static_cast<int>(end - reinterpret_cast<const char*>(e)));
         e = mnl_attr_next(e))
      ++*static_cast<size_t*>(data);
  }
  return MNL_CB_OK;
}

}  // namespace

absl::StatusOr<TableState> NetlinkRuleWriter::readBack(const ReadBackRequest& request) {
  TableState state;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  {
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table_.c_str());
    nlmsghdr* h =
        nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK, nextSeq_++);
    nftnl_table_nlmsg_build_payload(h, t.get());
    absl::Status s = dump(buf.data(), h->nlmsg_len, readTableUse, &state.objects);
    if (absl::IsNotFound(s))
      return state;
    if (!s.ok())
      return absl::Status(s.code(),
                          fmt::format("reading table ip {}: {}", table_, std::string(s.message())));
    state.exists = true;
  }
  for (const std::string& chain : request.chains) {
    nlmsghdr* h = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_IPV4,
                                        NLM_F_DUMP | NLM_F_ACK, nextSeq_++);
    mnl_attr_put_strz(h, NFTA_RULE_TABLE, table_.c_str());
    mnl_attr_put_strz(h, NFTA_RULE_CHAIN, chain.c_str());
    size_t count = 0;
    absl::Status s = dump(buf.data(), h->nlmsg_len, countMessages, &count);
    if (absl::IsNotFound(s))
      continue;
    if (!s.ok())
      return absl::Status(s.code(),
                          fmt::format("reading chain {}: {}", chain, std::string(s.message())));
    state.ruleCounts[chain] = count;
  }
  for (const std::string& name : request.sets) {
    SetPtr set(nftnl_set_alloc());
    nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(set.get(), NFTNL_SET_NAME, name.c_str());
    nlmsghdr* h = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, NFPROTO_IPV4,
                                        NLM_F_DUMP | NLM_F_ACK, nextSeq_++);
    nftnl_set_elems_nlmsg_build_payload(h, set.get());
    size_t count = 0;
    absl::Status s = dump(buf.data(), h->nlmsg_len, countElements, &count);
    if (absl::IsNotFound(s))
      continue;
    if (!s.ok())
      return absl::Status(s.code(),
                          fmt::format("reading set {}: {}", name, std::string(s.message())));
    state.elementCounts[name] = count;
  }
  return state;
}

}  // namespace kubenode::netfilter
