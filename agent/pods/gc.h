// Container garbage collection as the kubelet's (kuberuntime_gc.go with its defaults:
// MaxPerPodContainer 1, no minimum age): of each pod's containers of one name, the dead
// ones beyond the most recent go; containers whose sandbox is gone go; sandboxes that are
// not ready, not the pod's newest and hold no container go. Pods no source wants are not
// collected here: the pod workers terminate and remove them whole. Pure.
//
//   GcPlan plan = planGarbageCollection(groupRuntimePods(snapshot), workers.knownUids());
//   for (auto& id : plan.containers) syncer.removeContainer(id);
//   for (auto& id : plan.sandboxes) runtime.removePodSandbox(id);
#pragma once

#include <set>
#include <string>
#include <vector>

#include "agent/pods/runtime_listing.h"

namespace kubenode::agent::pods {

struct GcPlan {
  std::vector<std::string> containers{};
  std::vector<std::string> sandboxes{};
  friend bool operator==(const GcPlan&, const GcPlan&) = default;
};

GcPlan planGarbageCollection(const RuntimeListing& listing,
                             const std::set<std::string>& activeUids);

}  // namespace kubenode::agent::pods
