// Defaults as the API server applies them (k8s pkg/apis/core/v1/defaults.go and
// the discovery/v1 equivalents), so a pod read from a static manifest looks the
// same to the agent as one read from the API: restartPolicy Always, dnsPolicy
// ClusterFirst, terminationGracePeriodSeconds 30, probe timings 10s/1s/1/3,
// protocol TCP, imagePullPolicy from the image tag, ...
//
//   Pod pod = decoded.object;
//   applyDefaults(pod);
//   defaultNamespace(pod.metadata);  // the kubelet's job for static pods
#pragma once

#include <string_view>

#include "api/object.h"

namespace kubenode::api {

void applyDefaults(Pod& pod);
void applyDefaults(Service& service);
void applyDefaults(EndpointSlice& slice);
// Node, Lease, Event, Namespace, Status: the API server sets nothing kubenode reads.
void applyDefaults(Node&);
void applyDefaults(Lease&);
void applyDefaults(Event&);
void applyDefaults(Namespace&);
void applyDefaults(Status&);
template <class T>
void applyDefaults(List<T>& list) {
  for (T& item : list.items)
    applyDefaults(item);
}
void applyDefaults(Object& object);

// Sets metadata.namespace to "default" when empty. Not part of applyDefaults:
// the API server takes the namespace from the request, the kubelet does it for
// static pods.
void defaultNamespace(ObjectMeta& metadata, std::string_view ns = "default");

// The pull policy the API server picks for an image: Always for ":latest" or an
// untagged image, IfNotPresent for any other tag or a digest.
std::string defaultImagePullPolicy(std::string_view image);

}  // namespace kubenode::api
