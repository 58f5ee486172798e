#include "agent/pods/gc.h"

#include <map>

namespace kubenode::agent::pods {

GcPlan planGarbageCollection(const RuntimeListing& listing,
                             const std::set<std::string>& activeUids) {
  GcPlan plan;
  plan.containers = listing.orphanContainers;
  for (const auto& [uid, pod] : listing.pods) {
    if (!activeUids.contains(uid))
      continue;
    // Newest first: the first dead container of each name stays (its log is what
    // `kubenode logs --previous` shows), older dead ones go.
    std::map<std::string, int> deadSeen;
    std::set<std::string> sandboxesInUse;
    for (const RuntimeContainer& c : pod.containers) {
      if (c.state == ContainerState::kExited && ++deadSeen[c.name] > 1) {
        plan.containers.push_back(c.id);
        continue;
      }
      sandboxesInUse.insert(c.sandboxId);
    }
    for (size_t i = 1; i < pod.sandboxes.size(); ++i) {
      const RuntimeSandbox& s = pod.sandboxes[i];
      if (!s.ready && !sandboxesInUse.contains(s.id))
        plan.sandboxes.push_back(s.id);
    }
  }
  return plan;
}

}  // namespace kubenode::agent::pods
