#include "netfilter/conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

namespace kubenode::netfilter {
namespace {

using PortKey = std::pair<ServicePortName, Protocol>;

std::set<UdpTarget> usableEndpoints(const ServicePortInfo& p) {
  std::set<UdpTarget> out;
  for (const EndpointInfo& e : categorizeEndpoints(p).allReachableEndpoints)
    out.insert({e.ip, e.port});
  return out;
}

template <class T>
std::vector<T> sortedUnique(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

ConntrackCleanup conntrackCleanupFor(const std::vector<ServicePortInfo>& previous,
                                     const std::vector<ServicePortInfo>& current) {
  std::map<PortKey, const ServicePortInfo*> now;
  for (const ServicePortInfo& p : current)
    now[{p.name, p.protocol}] = &p;
  std::map<PortKey, const ServicePortInfo*> before;
  for (const ServicePortInfo& p : previous)
    before[{p.name, p.protocol}] = &p;

  ConntrackCleanup c;
  for (const ServicePortInfo& p : previous) {
    if (p.protocol != Protocol::kUdp)
      continue;
    std::set<UdpTarget> still;
    if (auto it = now.find({p.name, p.protocol}); it != now.end())
      still = usableEndpoints(*it->second);
    for (const UdpTarget& t : usableEndpoints(p)) {
      if (!still.count(t))
        c.removedEndpoints.push_back(t);
    }
  }
  for (const ServicePortInfo& p : current) {
    if (p.protocol != Protocol::kUdp || usableEndpoints(p).empty())
      continue;
    auto it = before.find({p.name, p.protocol});
    if (it != before.end() && !usableEndpoints(*it->second).empty())
      continue;
    c.servicesGainingEndpoints.push_back({p.clusterIP, p.port});
    for (Ipv4Addr ip : p.externalIPs)
      c.servicesGainingEndpoints.push_back({ip, p.port});
    for (Ipv4Addr ip : p.loadBalancerIPs)
      c.servicesGainingEndpoints.push_back({ip, p.port});
    if (p.nodePort != 0)
      c.servicesGainingEndpoints.push_back({Ipv4Addr{0}, p.nodePort});
  }
  c.removedEndpoints = sortedUnique(std::move(c.removedEndpoints));
  c.servicesGainingEndpoints = sortedUnique(std::move(c.servicesGainingEndpoints));
  return c;
}

// ---- ctnetlink --------------------------------------------------------------

namespace {

// One direction of a conntrack entry.
struct Tuple {
  uint32_t src = 0, dst = 0;  // host order
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;  // host order
};

// Iterates the attributes nested in `nest`.
template <class F>
void forEachNested(const nlattr* nest, F&& f) {
  const char* end =
      static_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
  for (auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a))
    f(a);
}

// CTA_TUPLE_{ORIG,REPLY} = { CTA_TUPLE_IP = { CTA_IP_V4_SRC, CTA_IP_V4_DST },
//                            CTA_TUPLE_PROTO = { CTA_PROTO_NUM, _SRC_PORT, _DST_PORT } }
Tuple parseTuple(const nlattr* nest) {
  Tuple t;
  forEachNested(nest, [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_IP:
        forEachNested(a, [&](const nlattr* ip) {
          if (mnl_attr_get_type(ip) == CTA_IP_V4_SRC)
            t.src = ntohl(mnl_attr_get_u32(ip));
          else if (mnl_attr_get_type(ip) == CTA_IP_V4_DST)
            t.dst = ntohl(mnl_attr_get_u32(ip));
        });
        break;
      case CTA_TUPLE_PROTO:
        forEachNested(a, [&](const nlattr* p) {
          switch (mnl_attr_get_type(p)) {
            case CTA_PROTO_NUM:
              t.proto = mnl_attr_get_u8(p);
              break;
            case CTA_PROTO_SRC_PORT:
              t.sport = ntohs(mnl_attr_get_u16(p));
              break;
            case CTA_PROTO_DST_PORT:
              t.dport = ntohs(mnl_attr_get_u16(p));
              break;
          }
        });
        break;
    }
  });
  return t;
}

// An entry to delete: its original tuple as the kernel sent it, and its zone.
struct Victim {
  std::string origTuple;  // the payload of CTA_TUPLE_ORIG
  bool hasZone = false;
  uint16_t zone = 0;  // network order, as received
};

struct DumpState {
  std::set<UdpTarget> endpoints;
  std::set<UdpTarget> services;
  std::vector<Victim> victims;
};

int onEntry(const nlmsghdr* nlh, void* data) {
  auto* state = static_cast<DumpState*>(data);
  const nlattr* orig = nullptr;
  const nlattr* reply = nullptr;
  const nlattr* zone = nullptr;
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a)) {
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_ORIG:
        orig = a;
        break;
      case CTA_TUPLE_REPLY:
        reply = a;
        break;
      case CTA_ZONE:
        zone = a;
        break;
    }
  }
  if (orig == nullptr || reply == nullptr)
    return MNL_CB_OK;
  const Tuple o = parseTuple(orig);
  if (o.proto != IPPROTO_UDP)
    return MNL_CB_OK;
  const Tuple r = parseTuple(reply);
  const bool toRemovedEndpoint = state->endpoints.count({Ipv4Addr{r.src}, r.sport}) > 0;
  const bool toService = state->services.count({Ipv4Addr{o.dst}, o.dport}) > 0 ||
                         state->services.count({Ipv4Addr{0}, o.dport}) > 0;
  if (!toRemovedEndpoint && !toService)
    return MNL_CB_OK;
  Victim v;
  v.origTuple.assign(static_cast<const char*>(mnl_attr_get_payload(orig)),
                     mnl_attr_get_payload_len(orig));
  if (zone != nullptr) {
    v.hasZone = true;
    v.zone = mnl_attr_get_u16(zone);
  }
  state->victims.push_back(std::move(v));
  return MNL_CB_OK;
}

nlmsghdr* ctHeader(char* buf, uint16_t type, uint16_t flags, uint32_t seq) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | type);
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_INET;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return nlh;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NetlinkConntrack>> NetlinkConntrack::open() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr)
    return absl::UnavailableError(fmt::format("opening a ctnetlink socket: {}", strerror(errno)));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(nl);
    return absl::UnavailableError(fmt::format("binding a ctnetlink socket: {}", strerror(err)));
  }
  return std::unique_ptr<NetlinkConntrack>(new NetlinkConntrack(nl));
}

NetlinkConntrack::NetlinkConntrack(mnl_socket* socket)
    : socket_(socket), portId_(mnl_socket_get_portid(socket)) {}

NetlinkConntrack::~NetlinkConntrack() {
  mnl_socket_close(socket_);
}

absl::StatusOr<size_t> NetlinkConntrack::deleteUdpEntries(const ConntrackCleanup& cleanup) {
  if (cleanup.empty())
    return 0;
  DumpState state;
  state.endpoints.insert(cleanup.removedEndpoints.begin(), cleanup.removedEndpoints.end());
  state.services.insert(cleanup.servicesGainingEndpoints.begin(),
                        cleanup.servicesGainingEndpoints.end());

  std::vector<char> buf(1u << 16);
  {
    const uint32_t seq = nextSeq_++;
    nlmsghdr* nlh = ctHeader(buf.data(), IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq);
    if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0)
      return absl::UnavailableError(fmt::format("conntrack dump request: {}", strerror(errno)));
    while (true) {
      ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return absl::UnavailableError(
            fmt::format("reading the conntrack dump: {}", strerror(errno)));
      }
      int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portId_, onEntry, &state);
      if (r == MNL_CB_STOP)
        break;
      if (r < 0)
        return absl::UnavailableError(
            fmt::format("reading the conntrack dump: {}", strerror(errno)));
    }
  }

  size_t deleted = 0;
  for (const Victim& v : state.victims) {
    const uint32_t seq = nextSeq_++;
    nlmsghdr* nlh = ctHeader(buf.data(), IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq);
    mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, v.origTuple.size(), v.origTuple.data());
    if (v.hasZone)
      mnl_attr_put_u16(nlh, CTA_ZONE, v.zone);
    if (mnl_socket_sendto(socket_, nlh, nlh->nlmsg_len) < 0)
      return absl::UnavailableError(fmt::format("conntrack delete: {}", strerror(errno)));
    ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
    if (n < 0)
      return absl::UnavailableError(fmt::format("conntrack delete reply: {}", strerror(errno)));
    int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portId_, nullptr, nullptr);
    if (r >= 0)
      ++deleted;
    else if (errno != ENOENT)  // gone meanwhile (timed out, or deleted by a peer)
      return absl::UnavailableError(fmt::format("conntrack delete: {}", strerror(errno)));
  }
  return deleted;
}

}  // namespace kubenode::netfilter
