#include "agent/pods/qos.h"

#include <set>
#include <string>

namespace kubenode::agent::pods {
namespace {

bool isQosResource(const std::string& name) {
  return name == "cpu" || name == "memory";
}

}  // namespace

std::string_view toString(PodQOSClass qos) {
  switch (qos) {
    case PodQOSClass::kGuaranteed:
      return "Guaranteed";
    case PodQOSClass::kBurstable:
      return "Burstable";
    case PodQOSClass::kBestEffort:
      return "BestEffort";
  }
  return "BestEffort";
}

PodQOSClass podQosClass(const api::Pod& pod) {
  // GetPodQOS sums requests and limits per resource over all containers and compares the
  // sums; validation keeps each request at or below its limit, so the sums are equal
  // exactly when every container's request equals its limit, which is what we check.
  std::set<std::string> requested;
  std::set<std::string> limited;
  bool guaranteed = true;

  auto visit = [&](const api::Container& c) {
    // The API server defaults a missing request to the limit before GetPodQOS sees the
    // pod; static manifests skip the API server, so do it here.
    api::ResourceList effectiveRequests = c.resources.requests;
    for (const auto& [name, limit] : c.resources.limits)
      effectiveRequests.emplace(name, limit);  // an explicit request wins

    std::set<std::string> limitsFound;
    for (const auto& [name, q] : c.resources.limits) {
      if (isQosResource(name) && q.sign() > 0) {
        limitsFound.insert(name);
        limited.insert(name);
      }
    }
    for (const auto& [name, q] : effectiveRequests) {
      if (!isQosResource(name) || q.sign() <= 0)
        continue;
      requested.insert(name);
      auto lim = c.resources.limits.find(name);
      if (lim == c.resources.limits.end() || !(lim->second == q))
        guaranteed = false;
    }
    if (limitsFound.size() != 2)  // both cpu and memory
      guaranteed = false;
  };
  for (const api::Container& c : pod.spec.containers)
    visit(c);
  for (const api::Container& c : pod.spec.initContainers)
    visit(c);

  if (requested.empty() && limited.empty())
    return PodQOSClass::kBestEffort;
  if (guaranteed && requested.size() == limited.size())
    return PodQOSClass::kGuaranteed;
  return PodQOSClass::kBurstable;
}

}  // namespace kubenode::agent::pods
