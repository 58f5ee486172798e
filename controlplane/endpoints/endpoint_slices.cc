#include "controlplane/endpoints/endpoint_slices.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kubenode::controlplane::endpoints {
namespace {

// The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
constexpr std::string_view kSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";
constexpr size_t kSuffixLength = 5;
// generateName is cut so that prefix + suffix fits a 63-character name.
constexpr size_t kMaxPrefixLength = 63 - kSuffixLength;

std::string protocolOf(const std::string& protocol) {
  return protocol.empty() ? "TCP" : protocol;
}

bool isIpv4(const std::string& text) {
  in_addr ignored{};
  return inet_pton(AF_INET, text.c_str(), &ignored) == 1;
}

// The pod's IPv4 address: the first of status.podIPs, else status.podIP.
std::optional<std::string> podIpv4(const api::Pod& pod) {
  for (const api::PodIP& ip : pod.status.podIPs) {
    if (isIpv4(ip.ip))
      return ip.ip;
  }
  if (!pod.status.podIP.empty() && isIpv4(pod.status.podIP))
    return pod.status.podIP;
  return std::nullopt;
}

bool selects(const std::map<std::string, std::string>& selector, const api::Pod& pod) {
  for (const auto& [key, value] : selector) {
    auto it = pod.metadata.labels.find(key);
    if (it == pod.metadata.labels.end() || it->second != value)
      return false;
  }
  return true;
}

// Succeeded and Failed pods never come back: the controller drops them even before they
// are deleted.
bool isTerminal(const api::Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

// podutil.FindPort: a number is taken as is; a name is looked up among the containers'
// ports with the service port's protocol.
std::optional<int32_t> findPort(const api::Pod& pod, const api::ServicePort& servicePort) {
  const api::IntOrString& target = servicePort.targetPort;
  if (target.isInt())
    return target.intValue() != 0 ? target.intValue() : servicePort.port;
  const std::string protocol = protocolOf(servicePort.protocol);
  for (const api::Container& c : pod.spec.containers) {
    for (const api::ContainerPort& p : c.ports) {
      if (p.name == target.str() && protocolOf(p.protocol) == protocol)
        return p.containerPort;
    }
  }
  return std::nullopt;
}

std::vector<api::EndpointPort> endpointPorts(const api::Service& service, const api::Pod& pod) {
  std::vector<api::EndpointPort> out;
  for (const api::ServicePort& sp : service.spec.ports) {
    std::optional<int32_t> port = findPort(pod, sp);
    if (!port)
      continue;  // as the controller: this pod does not serve that port
    api::EndpointPort ep;
    ep.name = sp.name;
    ep.protocol = protocolOf(sp.protocol);
    ep.port = *port;
    ep.appProtocol = sp.appProtocol;
    out.push_back(std::move(ep));
  }
  return out;
}

// A key that is equal exactly when two pods resolved the same ports.
std::string portsKey(const std::vector<api::EndpointPort>& ports) {
  std::string key;
  for (const api::EndpointPort& p : ports) {
    key += fmt::format("{}/{}/{}/{};", p.name.value_or(""), p.protocol.value_or(""),
                       p.port.value_or(0), p.appProtocol.value_or(""));
  }
  return key;
}

// FNV-1a, 64 bits: small, stable across platforms and runs, good enough to spread names.
uint64_t fnv1a(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string sliceName(const api::Service& service, std::string_view key, size_t index) {
  std::string prefix = service.metadata.name + "-";
  if (prefix.size() > kMaxPrefixLength)
    prefix.resize(kMaxPrefixLength);
  uint64_t h = fnv1a(
      fmt::format("{}/{}|{}|{}", service.metadata.namespace_, service.metadata.name, key, index));
  std::string suffix;
  for (size_t i = 0; i < kSuffixLength; ++i) {
    suffix += kSuffixAlphabet[h % kSuffixAlphabet.size()];
    h /= kSuffixAlphabet.size();
  }
  return prefix + suffix;
}

api::EndpointSlice emptySlice(const api::Service& service, std::string name) {
  api::EndpointSlice slice;
  slice.typeMeta = {.apiVersion = "discovery.k8s.io/v1", .kind = "EndpointSlice"};
  slice.metadata.name = std::move(name);
  slice.metadata.namespace_ = service.metadata.namespace_;
  // The controller copies the service's labels, then sets its own on top.
  slice.metadata.labels = service.metadata.labels;
  slice.metadata.labels.erase(std::string(kHeadlessLabel));
  if (service.spec.clusterIP == "None")
    slice.metadata.labels[std::string(kHeadlessLabel)] = "";
  slice.metadata.labels[std::string(kServiceNameLabel)] = service.metadata.name;
  slice.metadata.labels[std::string(kManagedByLabel)] = std::string(kControllerName);
  api::OwnerReference owner;
  owner.apiVersion = "v1";
  owner.kind = "Service";
  owner.name = service.metadata.name;
  owner.uid = service.metadata.uid;
  owner.controller = true;
  owner.blockOwnerDeletion = true;
  slice.metadata.ownerReferences.push_back(std::move(owner));
  slice.addressType = "IPv4";
  return slice;
}

api::Endpoint endpointFor(const api::Service& service, const api::Pod& pod, const std::string& ip) {
  api::Endpoint ep;
  ep.addresses = {ip};
  const bool terminating = pod.metadata.deletionTimestamp.has_value();
  const bool ready = isPodReady(pod);
  ep.conditions.ready = ready && !terminating;
  ep.conditions.serving = ready;
  ep.conditions.terminating = terminating;
  // A pod's hostname is published when its subdomain names this service (DNS A records).
  if (!pod.spec.hostname.empty() && pod.spec.subdomain == service.metadata.name)
    ep.hostname = pod.spec.hostname;
  if (!pod.spec.nodeName.empty())
    ep.nodeName = pod.spec.nodeName;
  api::ObjectReference ref;
  ref.kind = "Pod";
  ref.namespace_ = pod.metadata.namespace_;
  ref.name = pod.metadata.name;
  ref.uid = pod.metadata.uid;
  ep.targetRef = std::move(ref);
  return ep;
}

}  // namespace

bool isPodReady(const api::Pod& pod) {
  for (const api::PodCondition& c : pod.status.conditions) {
    if (c.type == "Ready")
      return c.status == "True";
  }
  return false;
}

bool managesSlices(const api::Service& service) {
  return !service.spec.selector.empty() && service.spec.type != "ExternalName";
}

std::vector<api::EndpointSlice> endpointSlicesForService(const api::Service& service,
                                                         const std::vector<api::Pod>& pods) {
  std::vector<api::EndpointSlice> out;
  if (!managesSlices(service))
    return out;

  std::vector<const api::Pod*> selected;
  for (const api::Pod& pod : pods) {
    if (pod.metadata.namespace_ != service.metadata.namespace_ || isTerminal(pod) ||
        !selects(service.spec.selector, pod))
      continue;
    selected.push_back(&pod);
  }
  std::sort(selected.begin(), selected.end(), [](const api::Pod* a, const api::Pod* b) {
    return std::tie(a->metadata.name, a->metadata.uid) <
           std::tie(b->metadata.name, b->metadata.uid);
  });

  // Grouped by resolved port set, in key order so that names and order are stable.
  struct Group {
    std::vector<api::EndpointPort> ports;
    std::vector<api::Endpoint> endpoints;
  };
  std::map<std::string, Group> groups;
  for (const api::Pod* pod : selected) {
    std::optional<std::string> ip = podIpv4(*pod);
    if (!ip)
      continue;  // not started yet, or IPv6 only: nothing to send traffic to
    std::vector<api::EndpointPort> ports = endpointPorts(service, *pod);
    Group& g = groups[portsKey(ports)];
    g.ports = std::move(ports);
    g.endpoints.push_back(endpointFor(service, *pod, *ip));
  }

  for (auto& [key, group] : groups) {
    for (size_t start = 0, index = 0; start < group.endpoints.size();
         start += kMaxEndpointsPerSlice, ++index) {
      api::EndpointSlice slice = emptySlice(service, sliceName(service, key, index));
      slice.ports = group.ports;
      size_t end = std::min(group.endpoints.size(), start + kMaxEndpointsPerSlice);
      slice.endpoints.assign(group.endpoints.begin() + static_cast<std::ptrdiff_t>(start),
                             group.endpoints.begin() + static_cast<std::ptrdiff_t>(end));
      out.push_back(std::move(slice));
    }
  }
  // The controller's placeholder: a service that selects nothing still has one slice, empty.
  if (out.empty())
    out.push_back(emptySlice(service, sliceName(service, "placeholder", 0)));
  std::sort(out.begin(), out.end(), [](const api::EndpointSlice& a, const api::EndpointSlice& b) {
    return a.metadata.name < b.metadata.name;
  });
  return out;
}

}  // namespace kubenode::controlplane::endpoints
