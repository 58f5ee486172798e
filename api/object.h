// Object: any top-level object kubenode understands, as one std::variant, and
// the apiVersion/kind each type travels under.
//
//   for (const Object& o : objects) {
//     if (const Pod* pod = std::get_if<Pod>(&o)) startPod(*pod);
//   }
#pragma once

#include <string_view>
#include <variant>

#include "api/endpoint_slice.h"
#include "api/event.h"
#include "api/lease.h"
#include "api/namespace.h"
#include "api/node.h"
#include "api/pod.h"
#include "api/service.h"

namespace kubenode::api {

using Object =
    std::variant<Pod, Service, EndpointSlice, Node, Lease, Event, Namespace, Status, PodList,
                 ServiceList, EndpointSliceList, NodeList, LeaseList, EventList, NamespaceList>;

// The apiVersion and kind a type is written with ("v1"/"Pod", ...).
template <class T>
struct TypeInfo;

#define KUBENODE_API_TYPE(Type, ApiVersion, Kind)               \
  template <>                                                   \
  struct TypeInfo<Type> {                                       \
    static constexpr std::string_view kApiVersion = ApiVersion; \
    static constexpr std::string_view kKind = Kind;             \
  };
KUBENODE_API_TYPE(Pod, "v1", "Pod")
KUBENODE_API_TYPE(Service, "v1", "Service")
KUBENODE_API_TYPE(EndpointSlice, "discovery.k8s.io/v1", "EndpointSlice")
KUBENODE_API_TYPE(Node, "v1", "Node")
KUBENODE_API_TYPE(Lease, "coordination.k8s.io/v1", "Lease")
KUBENODE_API_TYPE(Event, "v1", "Event")
KUBENODE_API_TYPE(Namespace, "v1", "Namespace")
KUBENODE_API_TYPE(Status, "v1", "Status")
KUBENODE_API_TYPE(PodList, "v1", "PodList")
KUBENODE_API_TYPE(ServiceList, "v1", "ServiceList")
KUBENODE_API_TYPE(EndpointSliceList, "discovery.k8s.io/v1", "EndpointSliceList")
KUBENODE_API_TYPE(NodeList, "v1", "NodeList")
KUBENODE_API_TYPE(LeaseList, "coordination.k8s.io/v1", "LeaseList")
KUBENODE_API_TYPE(EventList, "v1", "EventList")
KUBENODE_API_TYPE(NamespaceList, "v1", "NamespaceList")
#undef KUBENODE_API_TYPE

// Sets typeMeta to the type's apiVersion/kind (encoders call this for you).
template <class T>
void setTypeMeta(T& object) {
  object.typeMeta.apiVersion = std::string(TypeInfo<T>::kApiVersion);
  object.typeMeta.kind = std::string(TypeInfo<T>::kKind);
}

}  // namespace kubenode::api
