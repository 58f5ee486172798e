#include "netfilter/ruleset.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "netfilter/chain_names.h"

namespace kubenode::netfilter {
namespace {

const Cidr kLoopback{Ipv4Addr{0x7f000000}, 8};

Cidr host(Ipv4Addr ip) {
  return Cidr{ip, 32};
}

// The three-part key of the address maps: daddr . l4proto . dport.
const std::vector<KeyType> kAddrProtoPortKey = {KeyType::kIpv4Addr, KeyType::kInetProto,
                                                KeyType::kInetService};
const std::vector<KeyField> kAddrProtoPortFields = {KeyField::kIpDaddr, KeyField::kL4Proto,
                                                    KeyField::kThDport};
const std::vector<KeyType> kProtoPortKey = {KeyType::kInetProto, KeyType::kInetService};
const std::vector<KeyField> kProtoPortFields = {KeyField::kL4Proto, KeyField::kThDport};

Rule rule(std::vector<Match> matches, Verdict verdict, std::string comment = {}) {
  Rule r;
  r.matches = std::move(matches);
  r.verdict = std::move(verdict);
  r.comment = std::move(comment);
  return r;
}

// A rule without a counter, for rules whose packets another rule already counts:
// each counter is a per-CPU allocation in the kernel (about a fifth of a full
// sync's kernel time when every rule counts, bench/proxy/README.md).
Rule uncounted(Rule r) {
  r.counter = false;
  return r;
}

// Accumulates map elements; a key seen twice keeps its first (sorted-order)
// owner, since the kernel refuses duplicate keys in one transaction. Two
// services can share an external IP and port only by user error.
class MapBuilder {
 public:
  MapBuilder(std::string_view name, std::vector<KeyType> keyType) {
    set_.name = std::string(name);
    set_.keyType = std::move(keyType);
    set_.isVerdictMap = true;
  }
  void add(std::vector<KeyValue> key, ElementVerdict verdict, std::string comment) {
    if (!keys_.insert(key).second)
      return;
    set_.elements.push_back(SetElement{std::move(key), std::move(verdict), std::move(comment)});
  }
  Set take() {
    std::sort(set_.elements.begin(), set_.elements.end(),
              [](const SetElement& a, const SetElement& b) { return a.key < b.key; });
    return std::move(set_);
  }

 private:
  Set set_;
  std::set<std::vector<KeyValue>> keys_;
};

ElementVerdict jumpTo(std::string chain) {
  return ElementVerdict{ElementVerdict::Kind::kJump, std::move(chain)};
}
ElementVerdict dropIt() {
  return ElementVerdict{ElementVerdict::Kind::kDrop, {}};
}
// Verdict maps hold verdicts only, so "reject" is a goto to the one chain that rejects.
ElementVerdict rejectIt() {
  return ElementVerdict{ElementVerdict::Kind::kGoto, std::string(kRejectChain)};
}

class Builder {
 public:
  // With `onPort`, each port's chains and affinity sets go to it as soon as the
  // port is built, instead of into the Ruleset that finish() returns.
  Builder(const NodeSettings& node, const ServicePortSink* onPort = nullptr)
      : node_(node),
        onPort_(onPort),
        mark_(masqueradeMark(node)),
        serviceIPs_(kServiceIPsMap, kAddrProtoPortKey),
        serviceNodePorts_(kServiceNodePortsMap, kProtoPortKey),
        noEndpointServices_(kNoEndpointServicesMap, kAddrProtoPortKey),
        noEndpointNodePorts_(kNoEndpointNodePortsMap, kProtoPortKey),
        firewallIPs_(kFirewallIPsMap, kAddrProtoPortKey) {}

  void addServicePort(const ServicePortInfo& p);
  // Hands the chains and affinity sets built since the last call to onPort.
  void flushPort(size_t index);
  // Room for the chains of these ports (avoids rehashing 110,000 names).
  void reserveFor(const std::vector<ServicePortInfo>& ports) {
    size_t n = 16;
    for (const ServicePortInfo& p : ports)
      n += 4 + p.endpoints.size();
    chainIndex_.reserve(n);
  }
  Ruleset finish();

 private:
  // The chain NAME, created empty on first use. References stay valid (a deque).
  Chain& chain(const std::string& name) {
    auto [it, inserted] = chainIndex_.try_emplace(name, nullptr);
    if (inserted) {
      it->second = &chains_.emplace_back();
      it->second->name = name;
    }
    return *it->second;
  }
  std::vector<Rule> nodePortDestinationRules(const std::string& target, const std::string& comment,
                                             bool viaVmap);
  void writeServiceToEndpointRules(const ServicePortInfo& p, const std::string& svcChain,
                                   const std::vector<EndpointInfo>& endpoints);
  void writeEndpointChain(const ServicePortInfo& p, const EndpointInfo& ep);
  // An endpoint of the port being added as text ("10.180.0.1:80") and its
  // KUBE-SEP-<hash> (a SHA-256): computed once per port and endpoint, since the
  // ladder, the affinity rules and the chain itself all need them.
  struct EndpointNames {
    std::string endpoint;
    std::string chain;
  };
  const EndpointNames& endpointNames(const ServicePortInfo& p, const EndpointInfo& ep);

  const NodeSettings& node_;
  const ServicePortSink* onPort_;
  uint32_t mark_;
  // Non-base chains in creation order, sorted by name in finish(). (A std::map
  // here cost a fifth of buildRuleset at 10,000 services: 110,000 long-key
  // descents.)
  std::deque<Chain> chains_;
  std::unordered_map<std::string, Chain*> chainIndex_;
  std::string portName_;                                       // of the current port
  std::unordered_map<uint64_t, EndpointNames> endpointNames_;  // of the current port, by ip:port
  std::vector<Set> affinitySets_;
  std::vector<Ipv4Addr> hairpin_;  // endpoint addresses of every port, with repeats
  MapBuilder serviceIPs_;
  MapBuilder serviceNodePorts_;
  MapBuilder noEndpointServices_;
  MapBuilder noEndpointNodePorts_;
  MapBuilder firewallIPs_;
};

void Builder::addServicePort(const ServicePortInfo& p) {
  portName_ = p.nameString();
  endpointNames_.clear();
  const std::string& name = portName_;
  const std::string proto(p.protocolString());
  // The four per-port chains share one hash (chain_names.h); compute it once.
  const std::string hash = chainNameHash(name, proto);
  const std::string svcChain = "KUBE-SVC-" + hash;
  const std::string svlChain = "KUBE-SVL-" + hash;
  const std::string extChain = "KUBE-EXT-" + hash;
  const std::string fwChain = "KUBE-FW-" + hash;

  EndpointCategories cats = categorizeEndpoints(p);
  const bool hasEndpoints = cats.hasAnyEndpoints;
  const bool usesClusterChain = !cats.clusterEndpoints.empty() && p.usesClusterEndpoints();
  const bool usesLocalChain = !cats.localEndpoints.empty() && p.usesLocalEndpoints();

  const std::string& internalChain = p.internalPolicyLocal ? svlChain : svcChain;
  const bool hasInternal = hasEndpoints && (!p.internalPolicyLocal || !cats.localEndpoints.empty());
  const std::string& externalPolicyChain = p.externalPolicyLocal ? svlChain : svcChain;
  const bool hasExternal = hasEndpoints && (!p.externalPolicyLocal || !cats.localEndpoints.empty());
  const bool usesExtChain = hasEndpoints && p.externallyAccessible();
  const bool usesFwChain =
      hasEndpoints && !p.loadBalancerIPs.empty() && !p.loadBalancerSourceRanges.empty();
  const std::string& lbChain = usesFwChain ? fwChain : extChain;

  // What traffic without a usable endpoint gets: REJECT when the service has none at
  // all, DROP when only the Local policy's node-local set is empty (kube-proxy).
  const ElementVerdict internalBlock = hasEndpoints ? dropIt() : rejectIt();
  const std::string internalBlockComment = hasEndpoints
                                               ? fmt::format("{} has no local endpoints", name)
                                               : fmt::format("{} has no endpoints", name);
  const ElementVerdict externalBlock = internalBlock;
  const std::string& externalBlockComment = internalBlockComment;

  // Dispatch: service-ips elements, O(1) per packet in KUBE-SERVICES.
  //   172.30.0.41 . tcp . 80 comment "ns1/svc1:p80 cluster IP" : jump KUBE-SVC-...
  if (hasInternal) {
    serviceIPs_.add({p.clusterIP, p.protocol, Port{p.port}}, jumpTo(internalChain),
                    fmt::format("{} cluster IP", name));
  } else {
    noEndpointServices_.add({p.clusterIP, p.protocol, Port{p.port}}, internalBlock,
                            internalBlockComment);
  }
  for (Ipv4Addr ip : p.externalIPs) {
    if (hasEndpoints) {
      serviceIPs_.add({ip, p.protocol, Port{p.port}}, jumpTo(extChain),
                      fmt::format("{} external IP", name));
    }
    if (!hasExternal) {
      noEndpointServices_.add({ip, p.protocol, Port{p.port}}, externalBlock, externalBlockComment);
    }
  }
  for (Ipv4Addr ip : p.loadBalancerIPs) {
    if (hasEndpoints) {
      serviceIPs_.add({ip, p.protocol, Port{p.port}}, jumpTo(lbChain),
                      fmt::format("{} loadbalancer IP", name));
    }
    if (usesFwChain) {
      // Runs in the filter hooks, after DNAT: only traffic KUBE-FW did not
      // accept still has the load-balancer IP as destination.
      firewallIPs_.add({ip, p.protocol, Port{p.port}}, dropIt(),
                       fmt::format("{} traffic not accepted by {}", name, fwChain));
    }
    if (!hasExternal) {
      noEndpointServices_.add({ip, p.protocol, Port{p.port}}, externalBlock, externalBlockComment);
    }
  }
  if (p.nodePort != 0) {
    if (hasEndpoints) {
      // Node ports are not subject to loadBalancerSourceRanges (kube-proxy).
      serviceNodePorts_.add({p.protocol, Port{p.nodePort}}, jumpTo(extChain), name);
    }
    if (!hasExternal) {
      noEndpointNodePorts_.add({p.protocol, Port{p.nodePort}}, externalBlock, externalBlockComment);
    }
  }

  // Internal traffic: mark for masquerade what does not come from a pod.
  if (hasInternal) {
    //   ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 counter jump KUBE-MARK-MASQ
    //     comment "ns1/svc1:p80 cluster IP"
    std::vector<Match> m = {IpMatch{Direction::kDestination, host(p.clusterIP)},
                            PortMatch{p.protocol, p.port}};
    bool write = true;
    if (!node_.masqueradeAll) {
      if (node_.clusterCIDR) {
        m.push_back(IpMatch{Direction::kSource, *node_.clusterCIDR, /*negate=*/true});
      } else {
        write = false;
      }
    }
    if (write) {
      chain(internalChain)
          .rules.push_back(rule(std::move(m), JumpVerdict{std::string(kMarkMasqChain)},
                                fmt::format("{} cluster IP", name)));
    }
  }

  if (usesExtChain) {
    Chain& ext = chain(extChain);
    if (!p.externalPolicyLocal) {
      //   counter jump KUBE-MARK-MASQ comment "masquerade traffic for ns1/svc1:p80 external
      //   destinations"
      ext.rules.push_back(
          rule({}, JumpVerdict{std::string(kMarkMasqChain)},
               fmt::format("masquerade traffic for {} external destinations", name)));
    } else {
      if (node_.clusterCIDR) {
        // Pods reaching an external address behave as if they went out to the load
        // balancer and came back: neither traffic policy applies.
        //   ip saddr 10.0.0.0/8 counter jump KUBE-SVC-... comment "pod traffic for ... external
        //   destinations"
        ext.rules.push_back(rule({IpMatch{Direction::kSource, *node_.clusterCIDR}},
                                 JumpVerdict{svcChain},
                                 fmt::format("pod traffic for {} external destinations", name)));
      }
      // The node itself: its source address will be a local one, so masquerade.
      //   fib saddr type local counter jump KUBE-MARK-MASQ comment "masquerade LOCAL traffic for
      //   ..."
      ext.rules.push_back(
          rule({FibLocalMatch{Direction::kSource}}, JumpVerdict{std::string(kMarkMasqChain)},
               fmt::format("masquerade LOCAL traffic for {} external destinations", name)));
      //   fib saddr type local counter jump KUBE-SVC-... comment "route LOCAL traffic for ..."
      ext.rules.push_back(
          rule({FibLocalMatch{Direction::kSource}}, JumpVerdict{svcChain},
               fmt::format("route LOCAL traffic for {} external destinations", name)));
    }
    if (hasExternal) {
      //   counter jump KUBE-SVC-...   (or KUBE-SVL-... for externalTrafficPolicy Local)
      ext.rules.push_back(rule({}, JumpVerdict{externalPolicyChain}));
    }
  }

  if (usesFwChain) {
    Chain& fw = chain(fwChain);
    const std::string comment = fmt::format("{} loadbalancer IP", name);
    bool allowFromNode = false;
    for (const Cidr& range : p.loadBalancerSourceRanges) {
      //   ip saddr 203.0.113.0/25 counter jump KUBE-EXT-... comment "ns5/svc5:p80 loadbalancer IP"
      fw.rules.push_back(
          rule({IpMatch{Direction::kSource, range}}, JumpVerdict{extChain}, comment));
      for (Ipv4Addr nodeIP : node_.nodeIPs)
        allowFromNode = allowFromNode || range.contains(nodeIP);
    }
    // A VIP-style load balancer's address is often local too: the node's own
    // requests to it loop back with the VIP as source.
    if (allowFromNode) {
      for (Ipv4Addr ip : p.loadBalancerIPs) {
        fw.rules.push_back(
            rule({IpMatch{Direction::kSource, host(ip)}}, JumpVerdict{extChain}, comment));
      }
    }
    //   counter comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
    fw.rules.push_back(
        rule({}, ContinueVerdict{},
             fmt::format("other traffic to {} will be dropped by KUBE-PROXY-FIREWALL", name)));
  }

  if (usesClusterChain)
    writeServiceToEndpointRules(p, svcChain, cats.clusterEndpoints);
  if (usesLocalChain)
    writeServiceToEndpointRules(p, svlChain, cats.localEndpoints);
  for (const EndpointInfo& ep : cats.allReachableEndpoints) {
    writeEndpointChain(p, ep);
    hairpin_.push_back(ep.ip);
  }
}

void Builder::writeServiceToEndpointRules(const ServicePortInfo& p, const std::string& svcChain,
                                          const std::vector<EndpointInfo>& endpoints) {
  const std::string& name = portName_;
  Chain& c = chain(svcChain);
  if (p.sessionAffinityClientIP) {
    // A client seen within the timeout keeps its endpoint (iptables: -m recent --rcheck).
    //   ip saddr @KUBE-SEP-... goto KUBE-SEP-... comment "ns1/svc1:p80 -> 10.180.0.1:80"
    for (const EndpointInfo& ep : endpoints) {
      const EndpointNames& names = endpointNames(p, ep);
      c.rules.push_back(
          uncounted(rule({SetMatch{Direction::kSource, names.chain}}, GotoVerdict{names.chain},
                         fmt::format("{} -> {}", name, names.endpoint))));
    }
  }
  // Uniform choice without per-service sets: rule i of n matches with probability
  // 1/(n-i), as iptables' statistic rules do; the last one always matches. (Rules
  // "numgen random mod n == i" for every i would draw a new number in each rule and
  // neither be uniform nor always match.)
  // The ladder rules count nothing: the packets each one sends on are exactly those
  // that its KUBE-SEP chain's DNAT rule counts (README.md, "Counters").
  //   numgen random mod 3 0 goto KUBE-SEP-... comment "ns1/svc1:p80 -> 10.180.0.1:80"
  //   numgen random mod 2 0 goto KUBE-SEP-... comment "ns1/svc1:p80 -> 10.180.0.2:80"
  //   goto KUBE-SEP-... comment "ns1/svc1:p80 -> 10.180.0.3:80"
  const size_t n = endpoints.size();
  for (size_t i = 0; i < n; ++i) {
    const EndpointInfo& ep = endpoints[i];
    std::vector<Match> m;
    if (i + 1 < n)
      m.push_back(NumgenMatch{static_cast<uint32_t>(n - i), 0});
    const EndpointNames& names = endpointNames(p, ep);
    c.rules.push_back(uncounted(rule(std::move(m), GotoVerdict{names.chain},
                                     fmt::format("{} -> {}", name, names.endpoint))));
  }
}

void Builder::flushPort(size_t index) {
  Ruleset piece;
  piece.table = node_.tableName;
  piece.chains.reserve(chains_.size());
  for (Chain& c : chains_)
    piece.chains.push_back(std::move(c));
  piece.sets = std::move(affinitySets_);
  affinitySets_.clear();
  chains_.clear();
  chainIndex_.clear();
  (*onPort_)(index, std::move(piece));
}

const Builder::EndpointNames& Builder::endpointNames(const ServicePortInfo& p,
                                                     const EndpointInfo& ep) {
  const uint64_t key = (uint64_t{ep.ip.value} << 16) | ep.port;
  auto it = endpointNames_.find(key);
  if (it == endpointNames_.end()) {
    EndpointNames names;
    names.endpoint = ep.toString();
    names.chain = endpointChainName(portName_, p.protocolString(), names.endpoint);
    it = endpointNames_.emplace(key, std::move(names)).first;
  }
  return it->second;
}

void Builder::writeEndpointChain(const ServicePortInfo& p, const EndpointInfo& ep) {
  const std::string& name = portName_;
  const std::string& sep = endpointNames(p, ep).chain;
  Chain& c = chain(sep);
  if (!c.rules.empty())
    return;  // already written for the other policy chain
  // Hairpin (a pod reaching itself through the service) is masqueraded in
  // KUBE-POSTROUTING through the hairpin-endpoints set, not by a rule here: one
  // rule less per endpoint in the jump graph the kernel re-validates at every
  // commit (README.md, "Hairpin").
  //   meta l4proto tcp counter dnat to 10.180.0.1:80 comment "ns1/svc1:p80"
  //   meta l4proto tcp counter update @KUBE-SEP-... { ip saddr } dnat to 10.180.0.1:80 comment
  //   "..."
  Rule dnat = rule({L4ProtoMatch{p.protocol}}, DnatVerdict{ep.ip, ep.port}, name);
  if (p.sessionAffinityClientIP) {
    dnat.statements.push_back(SetUpdateStatement{sep, Direction::kSource});
    Set s;
    s.name = sep;
    s.keyType = {KeyType::kIpv4Addr};
    s.dynamic = true;
    s.maxElements = 65535;
    s.timeoutSeconds = static_cast<uint32_t>(std::max(1, p.stickyMaxAgeSeconds));
    affinitySets_.push_back(std::move(s));
  }
  c.rules.push_back(std::move(dnat));
}

std::vector<Rule> Builder::nodePortDestinationRules(const std::string& target,
                                                    const std::string& comment, bool viaVmap) {
  std::vector<Rule> rules;
  auto make = [&](std::vector<Match> m) {
    if (viaVmap) {
      return rule(std::move(m), VmapVerdict{kProtoPortFields, target}, comment);
    }
    return rule(std::move(m), JumpVerdict{target}, comment);
  };
  if (node_.nodePortAddresses.empty()) {
    // Localhost node ports would need route_localnet, a known security hole
    // (kubernetes#90259): kubenode leaves them out.
    //   fib daddr type local ip daddr != 127.0.0.0/8 counter jump KUBE-NODEPORTS comment "..."
    rules.push_back(make({FibLocalMatch{Direction::kDestination},
                          IpMatch{Direction::kDestination, kLoopback, /*negate=*/true}}));
    return rules;
  }
  std::vector<Ipv4Addr> ips;
  for (Ipv4Addr ip : node_.nodeIPs) {
    if (ip.isLoopback())
      continue;
    for (const Cidr& c : node_.nodePortAddresses) {
      if (c.contains(ip)) {
        ips.push_back(ip);
        break;
      }
    }
  }
  std::sort(ips.begin(), ips.end());
  ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
  //   ip daddr 192.168.1.10 counter jump KUBE-NODEPORTS comment "..."
  for (Ipv4Addr ip : ips)
    rules.push_back(make({IpMatch{Direction::kDestination, host(ip)}}));
  return rules;
}

Ruleset Builder::finish() {
  Ruleset rs;
  rs.table = node_.tableName;

  auto base = [](std::string name, ChainType type, Hook hook, int priority,
                 std::vector<Rule> rules) {
    Chain c;
    c.name = std::move(name);
    c.base = BaseHook{type, hook, priority};
    c.rules = std::move(rules);
    return c;
  };
  const std::string services(kServicesChain);
  // NAT: packets to a service address are DNATed in prerouting (from outside and
  // from pods) and output (from the node); masquerade happens in postrouting.
  //   type nat hook prerouting priority dstnat; policy accept;  jump KUBE-SERVICES
  rs.chains.push_back(base("nat-prerouting", ChainType::kNat, Hook::kPrerouting, -100,
                           {rule({}, JumpVerdict{services})}));
  //   type nat hook output priority -100; policy accept;  jump KUBE-SERVICES
  rs.chains.push_back(
      base("nat-output", ChainType::kNat, Hook::kOutput, -100, {rule({}, JumpVerdict{services})}));
  //   type nat hook postrouting priority srcnat; policy accept;  jump KUBE-POSTROUTING
  rs.chains.push_back(base("nat-postrouting", ChainType::kNat, Hook::kPostrouting, 100,
                           {rule({}, JumpVerdict{std::string(kPostroutingChain)})}));
  // Filter: new connections that were not DNATed and still target a service
  // address are rejected or dropped. Priority filter - 10 runs before the
  // usual filter chains of other tables, after NAT (dstnat, -100 in output).
  auto filterRules = [](bool external) {
    //   ct state new counter jump KUBE-PROXY-FIREWALL
    //   ct state new counter jump KUBE-SERVICES-FILTER
    //   ct state new counter jump KUBE-EXTERNAL-SERVICES
    std::vector<Rule> r = {
        rule({CtStateNewMatch{}}, JumpVerdict{std::string(kProxyFirewallChain)}),
        rule({CtStateNewMatch{}}, JumpVerdict{std::string(kServicesFilterChain)})};
    if (external) {
      r.push_back(rule({CtStateNewMatch{}}, JumpVerdict{std::string(kExternalServicesChain)}));
    }
    return r;
  };
  rs.chains.push_back(
      base("filter-input", ChainType::kFilter, Hook::kInput, -10, filterRules(true)));
  rs.chains.push_back(
      base("filter-forward", ChainType::kFilter, Hook::kForward, -10, filterRules(true)));
  rs.chains.push_back(
      base("filter-output", ChainType::kFilter, Hook::kOutput, -10, filterRules(false)));

  //   ip daddr . meta l4proto . th dport counter vmap @service-ips
  //   fib daddr type local ip daddr != 127.0.0.0/8 counter jump KUBE-NODEPORTS
  //     comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
  Chain& svc = chain(services);
  svc.rules.push_back(rule({}, VmapVerdict{kAddrProtoPortFields, std::string(kServiceIPsMap)}));
  for (Rule& r : nodePortDestinationRules(
           std::string(kNodePortsChain),
           "kubernetes service nodeports; NOTE: this must be the last rule in this chain", false)) {
    svc.rules.push_back(std::move(r));
  }
  //   meta l4proto . th dport counter vmap @service-nodeports
  chain(std::string(kNodePortsChain))
      .rules.push_back(rule({}, VmapVerdict{kProtoPortFields, std::string(kServiceNodePortsMap)}));
  //   counter meta mark set meta mark | 0x00004000
  Rule markMasq = rule({}, ContinueVerdict{});
  markMasq.statements.push_back(MarkOrStatement{mark_});
  chain(std::string(kMarkMasqChain)).rules.push_back(std::move(markMasq));
  //   meta mark & 0x00004000 == 0x00000000 counter return
  //   counter meta mark set meta mark ^ 0x00004000
  //   counter masquerade fully-random comment "kubernetes service traffic requiring SNAT"
  Chain& post = chain(std::string(kPostroutingChain));
  // Hairpin: an endpoint reaching itself through its service must see the node as
  // source, or its reply would bypass the DNAT. kube-proxy marks it per endpoint
  // in KUBE-SEP (`ip saddr <ep> jump KUBE-MARK-MASQ`); here one rule matches after
  // the DNAT, when source and destination are the same endpoint.
  //   ct status dnat ip saddr . ip daddr @hairpin-endpoints counter jump KUBE-MARK-MASQ
  //     comment "masquerade hairpin traffic: an endpoint reaching itself through its service"
  post.rules.push_back(rule(
      {CtStatusDnatMatch{},
       KeySetMatch{{KeyField::kIpSaddr, KeyField::kIpDaddr}, std::string(kHairpinEndpointsSet)}},
      JumpVerdict{std::string(kMarkMasqChain)},
      "masquerade hairpin traffic: an endpoint reaching itself through its service"));
  post.rules.push_back(rule({MarkMatch{mark_, false}}, ReturnVerdict{}));
  // Clear the bit so a packet that traverses the stack again is not masqueraded twice.
  Rule clear = rule({}, ContinueVerdict{});
  clear.statements.push_back(MarkXorStatement{mark_});
  post.rules.push_back(std::move(clear));
  post.rules.push_back(
      rule({}, MasqueradeVerdict{true}, "kubernetes service traffic requiring SNAT"));
  //   ip daddr . meta l4proto . th dport counter vmap @firewall-ips
  chain(std::string(kProxyFirewallChain))
      .rules.push_back(rule({}, VmapVerdict{kAddrProtoPortFields, std::string(kFirewallIPsMap)}));
  //   ip daddr . meta l4proto . th dport counter vmap @no-endpoint-services
  chain(std::string(kServicesFilterChain))
      .rules.push_back(
          rule({}, VmapVerdict{kAddrProtoPortFields, std::string(kNoEndpointServicesMap)}));
  //   fib daddr type local ip daddr != 127.0.0.0/8 counter meta l4proto . th dport vmap
  //   @no-endpoint-nodeports
  Chain& ext = chain(std::string(kExternalServicesChain));
  for (Rule& r : nodePortDestinationRules(std::string(kNoEndpointNodePortsMap), {}, true)) {
    ext.rules.push_back(std::move(r));
  }
  //   counter reject
  chain(std::string(kRejectChain)).rules.push_back(rule({}, RejectVerdict{}));

  // Sorted by name through an inline key: comparing the names themselves misses
  // the cache on every step (each name is its own heap block).
  struct SortKey {
    std::array<uint64_t, 4> prefix{};  // the name's first 32 bytes, big-endian, 0-padded
    uint32_t index = 0;
  };
  std::vector<SortKey> keys(chains_.size());
  for (size_t i = 0; i < chains_.size(); ++i) {
    const std::string& n = chains_[i].name;
    for (size_t b = 0; b < std::min<size_t>(n.size(), 32); ++b)
      keys[i].prefix[b / 8] |= uint64_t{static_cast<unsigned char>(n[b])} << (56 - 8 * (b % 8));
    keys[i].index = static_cast<uint32_t>(i);
  }
  std::sort(keys.begin(), keys.end(), [this](const SortKey& a, const SortKey& b) {
    if (a.prefix != b.prefix)
      return a.prefix < b.prefix;
    return chains_[a.index].name < chains_[b.index].name;  // names over 32 bytes
  });
  rs.chains.reserve(rs.chains.size() + chains_.size());
  for (const SortKey& k : keys)
    rs.chains.push_back(std::move(chains_[k.index]));
  chains_.clear();
  chainIndex_.clear();

  rs.sets.push_back(serviceIPs_.take());
  rs.sets.push_back(serviceNodePorts_.take());
  rs.sets.push_back(noEndpointServices_.take());
  rs.sets.push_back(noEndpointNodePorts_.take());
  rs.sets.push_back(firewallIPs_.take());
  Set hairpin;
  hairpin.name = std::string(kHairpinEndpointsSet);
  hairpin.keyType = {KeyType::kIpv4Addr, KeyType::kIpv4Addr};
  std::sort(hairpin_.begin(), hairpin_.end());
  hairpin_.erase(std::unique(hairpin_.begin(), hairpin_.end()), hairpin_.end());
  hairpin.elements.reserve(hairpin_.size());
  for (Ipv4Addr ip : hairpin_)
    hairpin.elements.push_back(SetElement{{ip, ip}, std::nullopt, {}});
  hairpin_.clear();
  rs.sets.push_back(std::move(hairpin));
  for (Set& s : affinitySets_)
    rs.sets.push_back(std::move(s));
  std::sort(rs.sets.begin(), rs.sets.end(),
            [](const Set& a, const Set& b) { return a.name < b.name; });
  rs.sets.erase(std::unique(rs.sets.begin(), rs.sets.end(),
                            [](const Set& a, const Set& b) { return a.name == b.name; }),
                rs.sets.end());
  return rs;
}

}  // namespace

const Chain* Ruleset::findChain(std::string_view name) const {
  for (const Chain& c : chains) {
    if (c.name == name)
      return &c;
  }
  return nullptr;
}

const Set* Ruleset::findSet(std::string_view name) const {
  for (const Set& s : sets) {
    if (s.name == name)
      return &s;
  }
  return nullptr;
}

absl::Status validateNodeSettings(const NodeSettings& node) {
  if (node.masqueradeBit < 0 || node.masqueradeBit > 31) {
    return absl::InvalidArgumentError(
        fmt::format("--masquerade-bit: {} is out of range (expected 0-31)", node.masqueradeBit));
  }
  if (node.tableName.empty()) {
    return absl::InvalidArgumentError("nftables table name: must not be empty");
  }
  return absl::OkStatus();
}

uint32_t masqueradeMark(const NodeSettings& node) {
  return uint32_t{1} << (static_cast<unsigned>(node.masqueradeBit) & 31u);
}

std::vector<Ipv4Addr> hairpinAddresses(const ServicePortInfo& port) {
  std::vector<Ipv4Addr> out;
  for (const EndpointInfo& ep : categorizeEndpoints(port).allReachableEndpoints)
    out.push_back(ep.ip);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Ruleset buildRuleset(const std::vector<ServicePortInfo>& ports, const NodeSettings& node) {
  Builder b(node);
  b.reserveFor(ports);
  for (const ServicePortInfo& p : ports)
    b.addServicePort(p);
  return b.finish();
}

Ruleset buildRulesetByPort(const std::vector<ServicePortInfo>& ports, const NodeSettings& node,
                           const ServicePortSink& onPort) {
  Builder b(node, &onPort);
  for (size_t i = 0; i < ports.size(); ++i) {
    b.addServicePort(ports[i]);
    b.flushPort(i);
  }
  return b.finish();
}

}  // namespace kubenode::netfilter
