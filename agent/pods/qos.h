// The pod's QoS class (Guaranteed / Burstable / BestEffort), computed from its spec as
// Kubernetes computes it (pkg/apis/core/v1/helper/qos GetPodQOS). The class decides the
// pod's cgroup parent and its containers' oom_score_adj, so it must agree with what the
// API server writes into status.qosClass.
//
//   api::Pod pod = ...;
//   PodQOSClass qos = podQosClass(pod);  // PodQOSClass::kBurstable
//   std::string word(toString(qos));     // "Burstable"
#pragma once

#include <string_view>

#include "api/pod.h"

namespace kubenode::agent::pods {

enum class PodQOSClass { kGuaranteed, kBurstable, kBestEffort };

// "Guaranteed", "Burstable", "BestEffort": the status.qosClass values.
std::string_view toString(PodQOSClass qos);

// Only cpu and memory count; init containers count like app containers; zero or negative
// quantities are ignored; a container's missing request defaults to its limit (as the API
// server's defaulting does, so a static manifest with limits only is Guaranteed).
//   BestEffort: no container has a cpu or memory request or limit.
//   Guaranteed: every container limits both cpu and memory and every request equals its
//               limit.
//   Burstable:  anything else.
PodQOSClass podQosClass(const api::Pod& pod);

}  // namespace kubenode::agent::pods
