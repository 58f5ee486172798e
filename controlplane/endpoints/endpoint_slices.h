// The EndpointSlice controller's pure core: which EndpointSlices a Service with a selector
// should have, given the pods. The control plane's controller and the agent's standalone
// proxier (agent/proxy_runner.h) both call this one function, so a node without a control
// plane programs the same endpoints a cluster would.
//
//   std::vector<api::EndpointSlice> slices = endpointSlicesForService(service, pods);
//   proxier.setEndpointSlices(slices);  // with any slices the user wrote
//
// What it does, as Kubernetes' controller does it:
//  - pods in the service's namespace whose labels match spec.selector, not in a terminal
//    phase (Succeeded, Failed), with an IPv4 pod IP;
//  - conditions: ready = pod Ready condition True and not terminating; serving = pod Ready
//    condition True; terminating = metadata.deletionTimestamp set;
//  - ports resolved from each service port's targetPort: a number as is, a name looked up
//    in the pod's container ports (same protocol); a name a pod does not define leaves that
//    port out for that pod. Pods whose resolved ports differ go into different slices;
//  - at most kMaxEndpointsPerSlice endpoints per slice; a service selecting no pod gets one
//    empty slice (the controller's placeholder), so it rejects rather than blackholes.
// Unlike the controller, which names slices `<service>-<random>`, the suffix here is derived
// from the slice's port set and index, so the same inputs always give the same names (the
// proxier diffs by value; random names would churn nothing but logs, but tests read them).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "api/endpoint_slice.h"
#include "api/pod.h"
#include "api/service.h"

namespace kubenode::controlplane::endpoints {

inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
inline constexpr std::string_view kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
inline constexpr std::string_view kControllerName = "endpointslice-controller.k8s.io";
inline constexpr std::string_view kHeadlessLabel = "service.kubernetes.io/headless";
inline constexpr size_t kMaxEndpointsPerSlice = 100;  // the controller's default

// True when the controller manages slices for this service: it has a selector and is not
// of type ExternalName.
bool managesSlices(const api::Service& service);

// The slices for `service` (empty when !managesSlices(service)), ordered by name; endpoints
// in each slice ordered by pod name. Pure: same inputs, same output.
std::vector<api::EndpointSlice> endpointSlicesForService(const api::Service& service,
                                                         const std::vector<api::Pod>& pods);

// The pod's Ready condition is True (the kubelet's readiness, podutil.IsPodReady).
bool isPodReady(const api::Pod& pod);

}  // namespace kubenode::controlplane::endpoints
