#include "netfilter/service_port.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "absl/status/status.h"

namespace kubenode::netfilter {
namespace {

constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

std::string svcKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

EndpointInfo makeEndpoint(Ipv4Addr ip, uint16_t port, const api::Endpoint& ep,
                          std::string_view nodeName) {
  EndpointInfo e;
  e.ip = ip;
  e.port = port;
  // The API's semantics of unset conditions (discovery/v1 EndpointConditions).
  e.ready = ep.conditions.ready.value_or(true);
  e.serving = ep.conditions.serving.value_or(e.ready);
  e.terminating = ep.conditions.terminating.value_or(false);
  e.isLocal = !nodeName.empty() && ep.nodeName.has_value() && *ep.nodeName == nodeName;
  e.zone = ep.zone.value_or("");
  return e;
}

bool endpointLess(const EndpointInfo& a, const EndpointInfo& b) {
  return std::tie(a.ip, a.port) < std::tie(b.ip, b.port);
}

template <class Pred>
std::vector<EndpointInfo> filterEndpoints(const std::vector<EndpointInfo>& eps, Pred pred) {
  std::vector<EndpointInfo> out;
  for (const EndpointInfo& e : eps) {
    if (pred(e))
      out.push_back(e);
  }
  return out;
}

}  // namespace

std::string_view protocolName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kSctp:
      return "sctp";
  }
  return "tcp";
}

absl::StatusOr<Protocol> parseProtocol(std::string_view apiProtocol) {
  if (apiProtocol.empty() || apiProtocol == "TCP")
    return Protocol::kTcp;
  if (apiProtocol == "UDP")
    return Protocol::kUdp;
  if (apiProtocol == "SCTP")
    return Protocol::kSctp;
  return absl::InvalidArgumentError(fmt::format(
      "unsupported protocol \"{}\" (expected TCP, UDP or SCTP)", std::string(apiProtocol)));
}

std::string ServicePortName::toString() const {
  if (port.empty())
    return svcKey(namespace_, name);
  return fmt::format("{}/{}:{}", namespace_, name, port);
}

std::string EndpointInfo::toString() const {
  return fmt::format("{}:{}", ip.toString(), port);
}

EndpointCategories categorizeEndpoints(const ServicePortInfo& port) {
  EndpointCategories c;
  const std::vector<EndpointInfo>& eps = port.endpoints;
  if (port.usesClusterEndpoints()) {
    c.clusterEndpoints = filterEndpoints(eps, [](const EndpointInfo& e) { return e.ready; });
    // No ready endpoint anywhere: keep sending to the ones still serving while
    // they terminate rather than dropping traffic (KEP-1669).
    if (c.clusterEndpoints.empty()) {
      c.clusterEndpoints =
          filterEndpoints(eps, [](const EndpointInfo& e) { return e.serving && e.terminating; });
    }
    c.hasAnyEndpoints = !c.clusterEndpoints.empty();
  }
  if (!port.usesLocalEndpoints()) {
    c.allReachableEndpoints = c.clusterEndpoints;
    return c;
  }
  bool localReady = false;
  bool localServingTerminating = false;
  for (const EndpointInfo& e : eps) {
    if (e.ready) {
      c.hasAnyEndpoints = true;
      localReady = localReady || e.isLocal;
    } else if (e.serving && e.terminating) {
      c.hasAnyEndpoints = true;
      localServingTerminating = localServingTerminating || e.isLocal;
    }
  }
  if (localReady) {
    c.localEndpoints =
        filterEndpoints(eps, [](const EndpointInfo& e) { return e.isLocal && e.ready; });
  } else if (localServingTerminating) {
    c.localEndpoints = filterEndpoints(
        eps, [](const EndpointInfo& e) { return e.isLocal && e.serving && e.terminating; });
  }
  if (!port.usesClusterEndpoints()) {
    c.allReachableEndpoints = c.localEndpoints;
    return c;
  }
  // Union by address, kept sorted.
  c.allReachableEndpoints = c.clusterEndpoints;
  for (const EndpointInfo& e : c.localEndpoints) {
    bool present =
        std::any_of(c.allReachableEndpoints.begin(), c.allReachableEndpoints.end(),
                    [&](const EndpointInfo& o) { return o.ip == e.ip && o.port == e.port; });
    if (!present)
      c.allReachableEndpoints.push_back(e);
  }
  std::sort(c.allReachableEndpoints.begin(), c.allReachableEndpoints.end(), endpointLess);
  return c;
}

ServicePorts buildServicePorts(const std::vector<api::Service>& services,
                               const std::vector<api::EndpointSlice>& slices,
                               std::string_view nodeName) {
  ServicePorts out;

  // Slices by service, in name order so that duplicates resolve the same way every
  // sync. (Pointers sorted once rather than a map of vectors keyed by strings: at
  // 10,000 services this runs on every sync.)
  struct SliceRef {
    std::string_view ns, service, name;
    const api::EndpointSlice* slice;
  };
  std::vector<SliceRef> sliceRefs;
  sliceRefs.reserve(slices.size());
  for (const api::EndpointSlice& s : slices) {
    static const std::string label(kServiceNameLabel);
    auto it = s.metadata.labels.find(label);
    if (it == s.metadata.labels.end())
      continue;  // not managed for a service
    if (s.addressType != "IPv4") {
      if (s.addressType != "IPv6") {
        out.warnings.push_back(
            fmt::format("EndpointSlice {}/{}: addressType: unsupported value "
                        "\"{}\"",
                        s.metadata.namespace_, s.metadata.name, s.addressType));
      }
      continue;  // the ip table serves IPv4 only
    }
    sliceRefs.push_back({s.metadata.namespace_, it->second, s.metadata.name, &s});
  }
  auto sliceKey = [](const SliceRef& r) { return std::tie(r.ns, r.service, r.name); };
  // A cache that lists objects by key hands them over sorted: then one pass.
  auto sliceLess = [&](const SliceRef& a, const SliceRef& b) { return sliceKey(a) < sliceKey(b); };
  if (!std::is_sorted(sliceRefs.begin(), sliceRefs.end(), sliceLess))
    std::sort(sliceRefs.begin(), sliceRefs.end(), sliceLess);
  std::vector<const api::EndpointSlice*> svcSlices;

  // Services visited in (namespace, name) order, each one's ports then sorted among
  // themselves: the output comes out sorted by name and protocol without sorting
  // 10,000 large ServicePortInfo values afterwards, and a service's slices are
  // found by walking the sorted slice array alongside.
  std::vector<const api::Service*> order;
  order.reserve(services.size());
  for (const api::Service& svc : services)
    order.push_back(&svc);
  auto serviceKey = [](const api::Service* s) {
    return std::tie(s->metadata.namespace_, s->metadata.name);
  };
  auto serviceLess = [&](const api::Service* a, const api::Service* b) {
    return serviceKey(a) < serviceKey(b);
  };
  if (!std::is_sorted(order.begin(), order.end(), serviceLess))
    std::stable_sort(order.begin(), order.end(), serviceLess);
  auto nextSlice = sliceRefs.begin();

  for (const api::Service* svcp : order) {
    const api::Service& svc = *svcp;
    const std::string& ns = svc.metadata.namespace_;
    const std::string& name = svc.metadata.name;
    // Only for warnings: formatted when one is written.
    auto where = [&] { return fmt::format("Service {}/{}", ns, name); };
    if (svc.spec.type == "ExternalName")
      continue;
    const std::string& clusterIPText =
        !svc.spec.clusterIP.empty()
            ? svc.spec.clusterIP
            : (svc.spec.clusterIPs.empty() ? std::string() : svc.spec.clusterIPs.front());
    if (clusterIPText.empty() || clusterIPText == "None")
      continue;  // headless
    absl::StatusOr<Ipv4Addr> clusterIP = parseIpv4(clusterIPText);
    if (!clusterIP.ok()) {
      // An IPv6 service is not an error, only not this table's business.
      if (clusterIPText.find(':') == std::string::npos) {
        out.warnings.push_back(fmt::format("{}: spec.clusterIP: {}", where(),
                                           std::string(clusterIP.status().message())));
      }
      continue;
    }

    ServicePortInfo base;
    base.clusterIP = *clusterIP;
    for (size_t i = 0; i < svc.spec.externalIPs.size(); ++i) {
      absl::StatusOr<Ipv4Addr> ip = parseIpv4(svc.spec.externalIPs[i]);
      if (ip.ok()) {
        base.externalIPs.push_back(*ip);
      } else if (svc.spec.externalIPs[i].find(':') == std::string::npos) {
        out.warnings.push_back(fmt::format("{}: spec.externalIPs[{}]: {}", where(), i,
                                           std::string(ip.status().message())));
      }
    }
    for (size_t i = 0; i < svc.status.loadBalancer.ingress.size(); ++i) {
      const std::string& text = svc.status.loadBalancer.ingress[i].ip;
      if (text.empty())
        continue;  // hostname-only ingress
      absl::StatusOr<Ipv4Addr> ip = parseIpv4(text);
      if (ip.ok()) {
        base.loadBalancerIPs.push_back(*ip);
      } else if (text.find(':') == std::string::npos) {
        out.warnings.push_back(fmt::format("{}: status.loadBalancer.ingress[{}].ip: {}", where(), i,
                                           std::string(ip.status().message())));
      }
    }
    for (size_t i = 0; i < svc.spec.loadBalancerSourceRanges.size(); ++i) {
      absl::StatusOr<Cidr> c = parseCidr(svc.spec.loadBalancerSourceRanges[i]);
      if (c.ok()) {
        base.loadBalancerSourceRanges.push_back(*c);
      } else if (svc.spec.loadBalancerSourceRanges[i].find(':') == std::string::npos) {
        out.warnings.push_back(fmt::format("{}: spec.loadBalancerSourceRanges[{}]: {}", where(), i,
                                           std::string(c.status().message())));
      }
    }
    std::sort(base.externalIPs.begin(), base.externalIPs.end());
    base.externalIPs.erase(std::unique(base.externalIPs.begin(), base.externalIPs.end()),
                           base.externalIPs.end());
    std::sort(base.loadBalancerIPs.begin(), base.loadBalancerIPs.end());
    base.loadBalancerIPs.erase(
        std::unique(base.loadBalancerIPs.begin(), base.loadBalancerIPs.end()),
        base.loadBalancerIPs.end());
    base.sessionAffinityClientIP = svc.spec.sessionAffinity == "ClientIP";
    if (base.sessionAffinityClientIP && svc.spec.sessionAffinityConfig &&
        svc.spec.sessionAffinityConfig->clientIP &&
        svc.spec.sessionAffinityConfig->clientIP->timeoutSeconds) {
      base.stickyMaxAgeSeconds = *svc.spec.sessionAffinityConfig->clientIP->timeoutSeconds;
    }
    base.internalPolicyLocal = svc.spec.internalTrafficPolicy.value_or("") == "Local";

    // Slices of services that sort before this one belong to no service here.
    // (Not advanced past this service's own: a duplicate entry of it may follow.)
    const std::string_view nsView = ns, nameView = name;
    while (nextSlice != sliceRefs.end() &&
           std::tie(nextSlice->ns, nextSlice->service) < std::tie(nsView, nameView))
      ++nextSlice;
    svcSlices.clear();
    size_t endpointCount = 0;
    for (auto it = nextSlice; it != sliceRefs.end() && it->ns == ns && it->service == name; ++it) {
      svcSlices.push_back(it->slice);
      endpointCount += it->slice->endpoints.size();
    }
    const size_t firstPort = out.ports.size();
    for (size_t pi = 0; pi < svc.spec.ports.size(); ++pi) {
      const api::ServicePort& sp = svc.spec.ports[pi];
      absl::StatusOr<Protocol> proto = parseProtocol(sp.protocol);
      if (!proto.ok()) {
        out.warnings.push_back(fmt::format("{}: spec.ports[{}].protocol: {}", where(), pi,
                                           std::string(proto.status().message())));
        continue;
      }
      if (sp.port <= 0 || sp.port > 65535 || sp.nodePort < 0 || sp.nodePort > 65535) {
        out.warnings.push_back(
            fmt::format("{}: spec.ports[{}]: port and nodePort must be 1-65535", where(), pi));
        continue;
      }
      ServicePortInfo info = base;
      info.name = ServicePortName{ns, name, sp.name};
      info.protocol = *proto;
      info.port = static_cast<uint16_t>(sp.port);
      info.nodePort = static_cast<uint16_t>(sp.nodePort);
      info.externalPolicyLocal =
          info.externallyAccessible() && svc.spec.externalTrafficPolicy == "Local";
      info.endpoints.reserve(endpointCount);

      for (const api::EndpointSlice* slice : svcSlices) {
        for (const api::EndpointPort& ep : slice->ports) {
          if ((ep.name ? std::string_view(*ep.name) : std::string_view()) != sp.name)
            continue;
          absl::StatusOr<Protocol> epProto =
              parseProtocol(ep.protocol ? std::string_view(*ep.protocol) : std::string_view());
          if (!epProto.ok() || *epProto != *proto)
            continue;
          if (!ep.port || *ep.port <= 0 || *ep.port > 65535)
            continue;
          for (size_t ei = 0; ei < slice->endpoints.size(); ++ei) {
            const api::Endpoint& e = slice->endpoints[ei];
            if (e.addresses.empty())
              continue;
            // kube-proxy uses the first address: the API defines the rest as
            // fungible and allows only one today.
            absl::StatusOr<Ipv4Addr> ip = parseIpv4(e.addresses.front());
            if (!ip.ok()) {
              out.warnings.push_back(fmt::format(
                  "EndpointSlice {}/{}: endpoints[{}].addresses[0]: {}", slice->metadata.namespace_,
                  slice->metadata.name, ei, std::string(ip.status().message())));
              continue;
            }
            info.endpoints.push_back(
                makeEndpoint(*ip, static_cast<uint16_t>(*ep.port), e, nodeName));
          }
        }
      }
      // One endpoint per address and port: the first seen (slices in name order).
      // Slices usually list them sorted already; stable_sort would allocate anyway.
      if (!std::is_sorted(info.endpoints.begin(), info.endpoints.end(), endpointLess))
        std::stable_sort(info.endpoints.begin(), info.endpoints.end(), endpointLess);
      info.endpoints.erase(std::unique(info.endpoints.begin(), info.endpoints.end(),
                                       [](const EndpointInfo& a, const EndpointInfo& b) {
                                         return a.ip == b.ip && a.port == b.port;
                                       }),
                           info.endpoints.end());
      out.ports.push_back(std::move(info));
    }
    // This service's few ports by name, then protocol.
    std::sort(out.ports.begin() + static_cast<std::ptrdiff_t>(firstPort), out.ports.end(),
              [](const ServicePortInfo& a, const ServicePortInfo& b) {
                return std::tie(a.name.port, a.protocol) < std::tie(b.name.port, b.protocol);
              });
  }
  return out;
}

}  // namespace kubenode::netfilter
