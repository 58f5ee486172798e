#include "api/json_codec.h"

#include <cmath>
#include <concepts>
#include <limits>
#include <map>
#include <optional>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "api/absl_compat.h"

namespace kubenode::api {

// Whether a field is left out when empty (Go's `omitempty`) or always written.
enum class Emit { kOmitEmpty, kAlways };

// ---------------------------------------------------------------------------
// Field tables: one function per type lists its JSON fields in API order. The
// encoder and the decoder both walk these tables, so the two cannot disagree.
// The Encoder never writes through the reference it is given.

template <class V>
void fields(V& v, OwnerReference& o) {
  v("apiVersion", o.apiVersion, Emit::kAlways);
  v("kind", o.kind, Emit::kAlways);
  v("name", o.name, Emit::kAlways);
  v("uid", o.uid, Emit::kAlways);
  v("controller", o.controller);
  v("blockOwnerDeletion", o.blockOwnerDeletion);
}

template <class V>
void fields(V& v, ObjectMeta& o) {
  v("name", o.name);
  v("generateName", o.generateName);
  v("namespace", o.namespace_);
  v("uid", o.uid);
  v("resourceVersion", o.resourceVersion);
  v("generation", o.generation);
  v("creationTimestamp", o.creationTimestamp);
  v("deletionTimestamp", o.deletionTimestamp);
  v("deletionGracePeriodSeconds", o.deletionGracePeriodSeconds);
  v("labels", o.labels);
  v("annotations", o.annotations);
  v("ownerReferences", o.ownerReferences);
  v("finalizers", o.finalizers);
}

template <class V>
void fields(V& v, ListMeta& o) {
  v("resourceVersion", o.resourceVersion);
  v("continue", o.continue_);
  v("remainingItemCount", o.remainingItemCount);
}

template <class V>
void fields(V& v, ObjectReference& o) {
  v("kind", o.kind);
  v("namespace", o.namespace_);
  v("name", o.name);
  v("uid", o.uid);
  v("apiVersion", o.apiVersion);
  v("resourceVersion", o.resourceVersion);
  v("fieldPath", o.fieldPath);
}

template <class V>
void typeMetaFields(V& v, TypeMeta& t) {
  v("apiVersion", t.apiVersion);
  v("kind", t.kind);
}

template <class V, class T>
void fields(V& v, List<T>& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata, Emit::kAlways);
  v("items", o.items, Emit::kAlways);
}

// --- Pod ---

template <class V>
void fields(V& v, ObjectFieldSelector& o) {
  v("apiVersion", o.apiVersion);
  v("fieldPath", o.fieldPath, Emit::kAlways);
}
template <class V>
void fields(V& v, EnvVarSource& o) {
  v("fieldRef", o.fieldRef);
}
template <class V>
void fields(V& v, EnvVar& o) {
  v("name", o.name, Emit::kAlways);
  v("value", o.value);
  v("valueFrom", o.valueFrom);
}
template <class V>
void fields(V& v, ContainerPort& o) {
  v("name", o.name);
  v("hostPort", o.hostPort);
  v("containerPort", o.containerPort, Emit::kAlways);
  v("protocol", o.protocol);
  v("hostIP", o.hostIP);
}
template <class V>
void fields(V& v, ResourceRequirements& o) {
  v("limits", o.limits);
  v("requests", o.requests);
}
template <class V>
void fields(V& v, VolumeMount& o) {
  v("name", o.name, Emit::kAlways);
  v("readOnly", o.readOnly);
  v("mountPath", o.mountPath, Emit::kAlways);
  v("subPath", o.subPath);
}
template <class V>
void fields(V& v, ExecAction& o) {
  v("command", o.command);
}
template <class V>
void fields(V& v, HTTPHeader& o) {
  v("name", o.name, Emit::kAlways);
  v("value", o.value, Emit::kAlways);
}
template <class V>
void fields(V& v, HTTPGetAction& o) {
  v("path", o.path);
  v("port", o.port, Emit::kAlways);
  v("host", o.host);
  v("scheme", o.scheme);
  v("httpHeaders", o.httpHeaders);
}
template <class V>
void fields(V& v, TCPSocketAction& o) {
  v("port", o.port, Emit::kAlways);
  v("host", o.host);
}
template <class V>
void fields(V& v, Probe& o) {
  v("exec", o.exec);
  v("httpGet", o.httpGet);
  v("tcpSocket", o.tcpSocket);
  v("initialDelaySeconds", o.initialDelaySeconds);
  v("timeoutSeconds", o.timeoutSeconds);
  v("periodSeconds", o.periodSeconds);
  v("successThreshold", o.successThreshold);
  v("failureThreshold", o.failureThreshold);
  v("terminationGracePeriodSeconds", o.terminationGracePeriodSeconds);
}
template <class V>
void fields(V& v, LifecycleHandler& o) {
  v("exec", o.exec);
  v("httpGet", o.httpGet);
  v("tcpSocket", o.tcpSocket);
}
template <class V>
void fields(V& v, Lifecycle& o) {
  v("postStart", o.postStart);
  v("preStop", o.preStop);
}
template <class V>
void fields(V& v, Capabilities& o) {
  v("add", o.add);
  v("drop", o.drop);
}
template <class V>
void fields(V& v, SeccompProfile& o) {
  v("type", o.type, Emit::kAlways);
  v("localhostProfile", o.localhostProfile);
}
template <class V>
void fields(V& v, SecurityContext& o) {
  v("capabilities", o.capabilities);
  v("privileged", o.privileged);
  v("runAsUser", o.runAsUser);
  v("runAsGroup", o.runAsGroup);
  v("runAsNonRoot", o.runAsNonRoot);
  v("readOnlyRootFilesystem", o.readOnlyRootFilesystem);
  v("allowPrivilegeEscalation", o.allowPrivilegeEscalation);
  v("seccompProfile", o.seccompProfile);
}
template <class V>
void fields(V& v, Sysctl& o) {
  v("name", o.name, Emit::kAlways);
  v("value", o.value, Emit::kAlways);
}
template <class V>
void fields(V& v, PodDNSConfigOption& o) {
  v("name", o.name);
  v("value", o.value);
}
template <class V>
void fields(V& v, PodDNSConfig& o) {
  v("nameservers", o.nameservers);
  v("searches", o.searches);
  v("options", o.options);
}
template <class V>
void fields(V& v, HostAlias& o) {
  v("ip", o.ip);
  v("hostnames", o.hostnames);
}
template <class V>
void fields(V& v, PodSecurityContext& o) {
  v("runAsUser", o.runAsUser);
  v("runAsNonRoot", o.runAsNonRoot);
  v("supplementalGroups", o.supplementalGroups);
  v("fsGroup", o.fsGroup);
  v("runAsGroup", o.runAsGroup);
  v("seccompProfile", o.seccompProfile);
  v("sysctls", o.sysctls);
}
template <class V>
void fields(V& v, Container& o) {
  v("name", o.name, Emit::kAlways);
  v("image", o.image);
  v("command", o.command);
  v("args", o.args);
  v("workingDir", o.workingDir);
  v("ports", o.ports);
  v("env", o.env);
  v("resources", o.resources);
  v("volumeMounts", o.volumeMounts);
  v("livenessProbe", o.livenessProbe);
  v("readinessProbe", o.readinessProbe);
  v("startupProbe", o.startupProbe);
  v("lifecycle", o.lifecycle);
  v("terminationMessagePath", o.terminationMessagePath);
  v("terminationMessagePolicy", o.terminationMessagePolicy);
  v("imagePullPolicy", o.imagePullPolicy);
  v("securityContext", o.securityContext);
  v("stdin", o.stdin_);
  v("tty", o.tty);
}
template <class V>
void fields(V& v, EmptyDirVolumeSource& o) {
  v("medium", o.medium);
  v("sizeLimit", o.sizeLimit);
}
template <class V>
void fields(V& v, HostPathVolumeSource& o) {
  v("path", o.path, Emit::kAlways);
  v("type", o.type);
}
template <class V>
void fields(V& v, Volume& o) {
  v("name", o.name, Emit::kAlways);
  v("hostPath", o.hostPath);
  v("emptyDir", o.emptyDir);
}
template <class V>
void fields(V& v, Toleration& o) {
  v("key", o.key);
  v("operator", o.operator_);
  v("value", o.value);
  v("effect", o.effect);
  v("tolerationSeconds", o.tolerationSeconds);
}
template <class V>
void fields(V& v, PodSpec& o) {
  v("volumes", o.volumes);
  v("initContainers", o.initContainers);
  v("containers", o.containers, Emit::kAlways);
  v("restartPolicy", o.restartPolicy);
  v("terminationGracePeriodSeconds", o.terminationGracePeriodSeconds);
  v("activeDeadlineSeconds", o.activeDeadlineSeconds);
  v("dnsPolicy", o.dnsPolicy);
  v("nodeSelector", o.nodeSelector);
  v("serviceAccountName", o.serviceAccountName);
  v("nodeName", o.nodeName);
  v("hostNetwork", o.hostNetwork);
  v("hostPID", o.hostPID);
  v("hostIPC", o.hostIPC);
  v("shareProcessNamespace", o.shareProcessNamespace);
  v("securityContext", o.securityContext);
  v("hostname", o.hostname);
  v("subdomain", o.subdomain);
  v("schedulerName", o.schedulerName);
  v("priorityClassName", o.priorityClassName);
  v("priority", o.priority);
  v("enableServiceLinks", o.enableServiceLinks);
  v("tolerations", o.tolerations);
  v("hostAliases", o.hostAliases);
  v("dnsConfig", o.dnsConfig);
}
template <class V>
void fields(V& v, PodCondition& o) {
  v("type", o.type, Emit::kAlways);
  v("status", o.status, Emit::kAlways);
  v("lastProbeTime", o.lastProbeTime);
  v("lastTransitionTime", o.lastTransitionTime);
  v("reason", o.reason);
  v("message", o.message);
}
template <class V>
void fields(V& v, ContainerStateWaiting& o) {
  v("reason", o.reason);
  v("message", o.message);
}
template <class V>
void fields(V& v, ContainerStateRunning& o) {
  v("startedAt", o.startedAt);
}
template <class V>
void fields(V& v, ContainerStateTerminated& o) {
  v("exitCode", o.exitCode, Emit::kAlways);
  v("signal", o.signal);
  v("reason", o.reason);
  v("message", o.message);
  v("startedAt", o.startedAt);
  v("finishedAt", o.finishedAt);
  v("containerID", o.containerID);
}
template <class V>
void fields(V& v, ContainerState& o) {
  v("waiting", o.waiting);
  v("running", o.running);
  v("terminated", o.terminated);
}
template <class V>
void fields(V& v, ContainerStatus& o) {
  v("name", o.name, Emit::kAlways);
  // Go's omitempty never omits a struct: the API always writes state/lastState.
  v("state", o.state, Emit::kAlways);
  v("lastState", o.lastState, Emit::kAlways);
  v("ready", o.ready, Emit::kAlways);
  v("restartCount", o.restartCount, Emit::kAlways);
  v("image", o.image, Emit::kAlways);
  v("imageID", o.imageID, Emit::kAlways);
  v("containerID", o.containerID);
  v("started", o.started);
}
template <class V>
void fields(V& v, PodIP& o) {
  v("ip", o.ip);
}
template <class V>
void fields(V& v, PodStatus& o) {
  v("phase", o.phase);
  v("conditions", o.conditions);
  v("message", o.message);
  v("reason", o.reason);
  v("hostIP", o.hostIP);
  v("hostIPs", o.hostIPs);
  v("podIP", o.podIP);
  v("podIPs", o.podIPs);
  v("startTime", o.startTime);
  v("initContainerStatuses", o.initContainerStatuses);
  v("containerStatuses", o.containerStatuses);
  v("qosClass", o.qosClass);
}
template <class V>
void fields(V& v, Pod& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("spec", o.spec);
  v("status", o.status);
}

// --- Service ---

template <class V>
void fields(V& v, ServicePort& o) {
  v("name", o.name);
  v("protocol", o.protocol);
  v("appProtocol", o.appProtocol);
  v("port", o.port, Emit::kAlways);
  v("targetPort", o.targetPort);
  v("nodePort", o.nodePort);
}
template <class V>
void fields(V& v, ClientIPConfig& o) {
  v("timeoutSeconds", o.timeoutSeconds);
}
template <class V>
void fields(V& v, SessionAffinityConfig& o) {
  v("clientIP", o.clientIP);
}
template <class V>
void fields(V& v, ServiceSpec& o) {
  v("ports", o.ports);
  v("selector", o.selector);
  v("clusterIP", o.clusterIP);
  v("clusterIPs", o.clusterIPs);
  v("type", o.type);
  v("externalIPs", o.externalIPs);
  v("sessionAffinity", o.sessionAffinity);
  v("loadBalancerSourceRanges", o.loadBalancerSourceRanges);
  v("externalName", o.externalName);
  v("externalTrafficPolicy", o.externalTrafficPolicy);
  v("sessionAffinityConfig", o.sessionAffinityConfig);
  v("ipFamilies", o.ipFamilies);
  v("ipFamilyPolicy", o.ipFamilyPolicy);
  v("internalTrafficPolicy", o.internalTrafficPolicy);
}
template <class V>
void fields(V& v, LoadBalancerIngress& o) {
  v("ip", o.ip);
  v("hostname", o.hostname);
}
template <class V>
void fields(V& v, LoadBalancerStatus& o) {
  v("ingress", o.ingress);
}
template <class V>
void fields(V& v, ServiceStatus& o) {
  v("loadBalancer", o.loadBalancer);
}
template <class V>
void fields(V& v, Service& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("spec", o.spec);
  v("status", o.status);
}

// --- EndpointSlice ---

template <class V>
void fields(V& v, EndpointConditions& o) {
  v("ready", o.ready);
  v("serving", o.serving);
  v("terminating", o.terminating);
}
template <class V>
void fields(V& v, Endpoint& o) {
  v("addresses", o.addresses, Emit::kAlways);
  v("conditions", o.conditions);
  v("hostname", o.hostname);
  v("targetRef", o.targetRef);
  v("nodeName", o.nodeName);
  v("zone", o.zone);
}
template <class V>
void fields(V& v, EndpointPort& o) {
  v("name", o.name);
  v("protocol", o.protocol);
  v("port", o.port);
  v("appProtocol", o.appProtocol);
}
template <class V>
void fields(V& v, EndpointSlice& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("addressType", o.addressType, Emit::kAlways);
  v("endpoints", o.endpoints, Emit::kAlways);
  v("ports", o.ports);
}

// --- Node ---

template <class V>
void fields(V& v, Taint& o) {
  v("key", o.key, Emit::kAlways);
  v("value", o.value);
  v("effect", o.effect, Emit::kAlways);
  v("timeAdded", o.timeAdded);
}
template <class V>
void fields(V& v, NodeSpec& o) {
  v("podCIDR", o.podCIDR);
  v("podCIDRs", o.podCIDRs);
  v("providerID", o.providerID);
  v("unschedulable", o.unschedulable);
  v("taints", o.taints);
}
template <class V>
void fields(V& v, NodeCondition& o) {
  v("type", o.type, Emit::kAlways);
  v("status", o.status, Emit::kAlways);
  v("lastHeartbeatTime", o.lastHeartbeatTime);
  v("lastTransitionTime", o.lastTransitionTime);
  v("reason", o.reason);
  v("message", o.message);
}
template <class V>
void fields(V& v, NodeAddress& o) {
  v("type", o.type, Emit::kAlways);
  v("address", o.address, Emit::kAlways);
}
template <class V>
void fields(V& v, DaemonEndpoint& o) {
  v("Port", o.port, Emit::kAlways);
}
template <class V>
void fields(V& v, NodeDaemonEndpoints& o) {
  v("kubeletEndpoint", o.kubeletEndpoint);
}
template <class V>
void fields(V& v, NodeSystemInfo& o) {
  v("machineID", o.machineID, Emit::kAlways);
  v("systemUUID", o.systemUUID, Emit::kAlways);
  v("bootID", o.bootID, Emit::kAlways);
  v("kernelVersion", o.kernelVersion, Emit::kAlways);
  v("osImage", o.osImage, Emit::kAlways);
  v("containerRuntimeVersion", o.containerRuntimeVersion, Emit::kAlways);
  v("kubeletVersion", o.kubeletVersion, Emit::kAlways);
  v("kubeProxyVersion", o.kubeProxyVersion, Emit::kAlways);
  v("operatingSystem", o.operatingSystem, Emit::kAlways);
  v("architecture", o.architecture, Emit::kAlways);
}
template <class V>
void fields(V& v, NodeStatus& o) {
  v("capacity", o.capacity);
  v("allocatable", o.allocatable);
  v("phase", o.phase);
  v("conditions", o.conditions);
  v("addresses", o.addresses);
  v("daemonEndpoints", o.daemonEndpoints);
  v("nodeInfo", o.nodeInfo);
}
template <class V>
void fields(V& v, Node& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("spec", o.spec);
  v("status", o.status);
}

// --- Lease, Event, Namespace, Status ---

template <class V>
void fields(V& v, LeaseSpec& o) {
  v("holderIdentity", o.holderIdentity);
  v("leaseDurationSeconds", o.leaseDurationSeconds);
  v("acquireTime", o.acquireTime);
  v("renewTime", o.renewTime);
  v("leaseTransitions", o.leaseTransitions);
}
template <class V>
void fields(V& v, Lease& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("spec", o.spec);
}
template <class V>
void fields(V& v, EventSource& o) {
  v("component", o.component);
  v("host", o.host);
}
template <class V>
void fields(V& v, Event& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("involvedObject", o.involvedObject, Emit::kAlways);
  v("reason", o.reason);
  v("message", o.message);
  v("source", o.source);
  v("firstTimestamp", o.firstTimestamp);
  v("lastTimestamp", o.lastTimestamp);
  v("count", o.count);
  v("type", o.type);
  v("eventTime", o.eventTime);
  v("action", o.action);
  v("reportingComponent", o.reportingComponent, Emit::kAlways);
  v("reportingInstance", o.reportingInstance, Emit::kAlways);
}
template <class V>
void fields(V& v, NamespaceSpec& o) {
  v("finalizers", o.finalizers);
}
template <class V>
void fields(V& v, NamespaceStatus& o) {
  v("phase", o.phase);
}
template <class V>
void fields(V& v, Namespace& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("spec", o.spec);
  v("status", o.status);
}
template <class V>
void fields(V& v, StatusCause& o) {
  v("reason", o.reason);
  v("message", o.message);
  v("field", o.field);
}
template <class V>
void fields(V& v, StatusDetails& o) {
  v("name", o.name);
  v("group", o.group);
  v("kind", o.kind);
  v("uid", o.uid);
  v("causes", o.causes);
  v("retryAfterSeconds", o.retryAfterSeconds);
}
template <class V>
void fields(V& v, Status& o) {
  typeMetaFields(v, o.typeMeta);
  v("metadata", o.metadata);
  v("status", o.status);
  v("message", o.message);
  v("reason", o.reason);
  v("details", o.details);
  v("code", o.code);
}

namespace {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class V>
struct IsMap<std::map<std::string, V>> : std::true_type {};

// ---------------------------------------------------------------------------
// Encoding

class Encoder;

template <class T>
concept HasFields = requires(Encoder& e, T& t) {
  fields(e, t);
};

template <class T>
Json encodeAny(const T& value);

class Encoder {
 public:
  explicit Encoder(Json& out) : out_(out) {}

  template <class T>
  void operator()(const char* key, const T& value, Emit emit = Emit::kOmitEmpty) {
    if constexpr (IsOptional<T>::value) {
      // A Go pointer: written whenever set, even to a zero value.
      if (value.has_value())
        out_[key] = encodeAny(*value);
      return;
    } else {
      Json j = encodeAny(value);
      if (emit == Emit::kOmitEmpty && isEmpty(value, j))
        return;
      out_[key] = std::move(j);
    }
  }

 private:
  template <class T>
  static bool isEmpty(const T& value, const Json& encoded) {
    if constexpr (std::is_same_v<T, bool>) {
      return !value;
    } else if constexpr (std::is_integral_v<T>) {
      return value == 0;
    } else if constexpr (std::is_same_v<T, std::string> || IsVector<T>::value || IsMap<T>::value) {
      return value.empty();
    } else if constexpr (HasFields<T>) {
      return encoded.empty();
    } else if constexpr (std::is_same_v<T, IntOrString>) {
      return value.isZero();
    } else {
      return false;
    }
  }

  Json& out_;
};

template <class T>
Json encodeAny(const T& value) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                std::is_integral_v<T>) {
    return Json(value);
  } else if constexpr (std::is_same_v<T, Quantity>) {
    return Json(value.toString());
  } else if constexpr (std::is_same_v<T, IntOrString>) {
    return value.isInt() ? Json(value.intValue()) : Json(value.str());
  } else if constexpr (std::is_same_v<T, Time> || std::is_same_v<T, MicroTime>) {
    return Json(value.toString());
  } else if constexpr (IsVector<T>::value) {
    Json arr = Json::array();
    for (const auto& item : value)
      arr.push_back(encodeAny(item));
    return arr;
  } else if constexpr (IsMap<T>::value) {
    Json obj = Json::object();
    for (const auto& [k, v] : value)
      obj[k] = encodeAny(v);
    return obj;
  } else {
    static_assert(HasFields<T>, "type has no field table");
    Json obj = Json::object();
    Encoder encoder(obj);
    // The field tables take a mutable reference so the decoder can share them;
    // the Encoder only reads.
    fields(encoder, const_cast<T&>(value));
    return obj;
  }
}

// ---------------------------------------------------------------------------
// Decoding

struct DecodeContext {
  ErrorList& errors;
  std::vector<std::string>& warnings;
};

// Go's rendering of a value of the wrong type: scalars as written, containers by kind.
BadValue badJson(const Json& j) {
  if (j.is_string())
    return badString(j.get_ref<const std::string&>());
  if (j.is_object())
    return BadValue{BadValue::Raw{"object"}};
  if (j.is_array())
    return BadValue{BadValue::Raw{"array"}};
  return BadValue{BadValue::Raw{j.dump()}};
}

// A field path rendered only when a message needs it: decoding a large list
// would otherwise build a string for every field it visits. Each LazyPath lives
// on the stack of the call that decodes its field.
class LazyPath {
 public:
  LazyPath() = default;
  LazyPath child(std::string_view name) const { return LazyPath(this, Kind::kChild, name, 0); }
  LazyPath index(size_t i) const { return LazyPath(this, Kind::kIndex, {}, i); }
  LazyPath key(std::string_view k) const { return LazyPath(this, Kind::kKey, k, 0); }

  FieldPath render() const {
    switch (kind_) {
      case Kind::kRoot:
        return FieldPath();
      case Kind::kChild:
        return parent_->render().child(name_);
      case Kind::kIndex:
        return parent_->render().index(index_);
      case Kind::kKey:
        return parent_->render().key(name_);
    }
    return FieldPath();
  }

 private:
  enum class Kind { kRoot, kChild, kIndex, kKey };
  LazyPath(const LazyPath* parent, Kind kind, std::string_view name, size_t index)
      : parent_(parent), kind_(kind), name_(name), index_(index) {}

  const LazyPath* parent_ = nullptr;
  Kind kind_ = Kind::kRoot;
  std::string_view name_;
  size_t index_ = 0;
};

void typeError(const Json& j, const LazyPath& path, std::string_view expected, DecodeContext& ctx) {
  ctx.errors.push_back(
      FieldError::invalid(path.render(), badJson(j), absl::StrCat("expected ", sv(expected))));
}

template <class T>
void decodeAny(const Json& j, T& out, const LazyPath& path, DecodeContext& ctx);

class Decoder {
 public:
  Decoder(const Json& object, const LazyPath& path, DecodeContext& ctx)
      : object_(object), path_(path), ctx_(ctx) {}

  template <class T>
  void operator()(const char* key, T& value, Emit = Emit::kOmitEmpty) {
    auto it = object_.find(key);
    if (it == object_.end())
      return;
    present_.push_back(key);
    // null means "not set", as for encoding/json.
    if (it->is_null())
      return;
    size_t before = ctx_.warnings.size();
    decodeAny(*it, value, path_.child(key), ctx_);
    // Warnings from inside this field wait so that all warnings come out in the
    // order of the document.
    if (ctx_.warnings.size() > before) {
      nested_.emplace_back(
          key, std::vector<std::string>(std::make_move_iterator(ctx_.warnings.begin() + before),
                                        std::make_move_iterator(ctx_.warnings.end())));
      ctx_.warnings.resize(before);
    }
  }

  // Emits, in document order, the warnings of known fields and one warning per
  // unknown field.
  void finish() {
    for (const auto& [key, value] : object_.items()) {
      bool known = false;
      for (const char* k : present_) {
        if (key == k) {
          known = true;
          break;
        }
      }
      if (!known) {
        ctx_.warnings.push_back(
            absl::StrCat("unknown field \"", path_.render().child(key).toString(), "\""));
        continue;
      }
      for (auto& [k, warnings] : nested_) {
        if (key == k) {
          for (std::string& w : warnings)
            ctx_.warnings.push_back(std::move(w));
        }
      }
    }
  }

 private:
  const Json& object_;
  const LazyPath& path_;
  DecodeContext& ctx_;
  std::vector<const char*> present_;
  std::vector<std::pair<const char*, std::vector<std::string>>> nested_;
};

// Reads an integer of type T, accepting integral floats (YAML's 1e3) as Go does
// for numbers that fit.
template <class T>
void decodeInteger(const Json& j, T& out, const LazyPath& path, DecodeContext& ctx) {
  constexpr std::string_view kExpected = sizeof(T) == 4 ? "a 32-bit integer" : "a 64-bit integer";
  if (j.is_number_integer()) {
    if (j.is_number_unsigned()) {
      uint64_t v = j.get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return typeError(j, path, kExpected, ctx);
      }
      out = static_cast<T>(v);
      return;
    }
    int64_t v = j.get<int64_t>();
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
      return typeError(j, path, kExpected, ctx);
    }
    out = static_cast<T>(v);
    return;
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    // The bounds are exact powers of two, so the comparisons are exact.
    if (std::isfinite(d) && std::trunc(d) == d &&
        d >= static_cast<double>(std::numeric_limits<T>::min()) &&
        d < -static_cast<double>(std::numeric_limits<T>::min())) {
      out = static_cast<T>(d);
      return;
    }
    return typeError(j, path, kExpected, ctx);
  }
  typeError(j, path, "an integer", ctx);
}

template <class T>
void decodeAny(const Json& j, T& out, const LazyPath& path, DecodeContext& ctx) {
  if (j.is_null())
    return;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string())
      return typeError(j, path, "a string", ctx);
    out = j.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean())
      return typeError(j, path, "a boolean (true or false)", ctx);
    out = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    decodeInteger(j, out, path, ctx);
  } else if constexpr (std::is_same_v<T, Quantity>) {
    std::string text;
    if (j.is_string()) {
      text = j.get<std::string>();
    } else if (j.is_number()) {
      // Quantity accepts bare JSON numbers (YAML `cpu: 2`).
      text = j.dump();
    } else {
      return typeError(j, path, "a quantity such as \"100m\" or \"64Mi\"", ctx);
    }
    absl::StatusOr<Quantity> q = Quantity::parse(text);
    if (!q.ok()) {
      // The value is already printed; keep only the reason from Quantity::parse.
      std::string reason(q.status().message());
      if (size_t at = reason.find("is invalid: "); at != std::string::npos)
        reason.erase(0, at + 12);
      ctx.errors.push_back(FieldError::invalid(path.render(), badJson(j), reason));
      return;
    }
    out = *q;
  } else if constexpr (std::is_same_v<T, IntOrString>) {
    if (j.is_string()) {
      out = IntOrString::fromString(j.get<std::string>());
    } else if (j.is_number()) {
      int32_t v = 0;
      size_t before = ctx.errors.size();
      decodeInteger(j, v, path, ctx);
      if (ctx.errors.size() == before)
        out = IntOrString::fromInt(v);
    } else {
      typeError(j, path, "an integer or a string", ctx);
    }
  } else if constexpr (std::is_same_v<T, Time> || std::is_same_v<T, MicroTime>) {
    if (!j.is_string())
      return typeError(j, path, "an RFC 3339 time string", ctx);
    auto t = T::parse(j.get_ref<const std::string&>());
    if (!t.ok()) {
      ctx.errors.push_back(
          FieldError::invalid(path.render(), badJson(j), std::string(t.status().message())));
      return;
    }
    out = *t;
  } else if constexpr (IsOptional<T>::value) {
    out.emplace();
    decodeAny(j, *out, path, ctx);
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array())
      return typeError(j, path, "a list", ctx);
    out.clear();
    out.resize(j.size());
    for (size_t i = 0; i < j.size(); ++i)
      decodeAny(j[i], out[i], path.index(i), ctx);
  } else if constexpr (IsMap<T>::value) {
    if (!j.is_object())
      return typeError(j, path, "a map", ctx);
    out.clear();
    for (const auto& [key, value] : j.items()) {
      decodeAny(value, out[key], path.key(key), ctx);
    }
  } else {
    static_assert(HasFields<T>, "type has no field table");
    if (!j.is_object())
      return typeError(j, path, "an object", ctx);
    Decoder decoder(j, path, ctx);
    fields(decoder, out);
    decoder.finish();
  }
}

}  // namespace

template <class T>
void decodeValue(const Json& value, T& out, ErrorList& errors, std::vector<std::string>& warnings) {
  DecodeContext ctx{errors, warnings};
  if (!value.is_object()) {
    errors.push_back(
        FieldError::invalid(FieldPath(), badJson(value),
                            absl::StrCat("expected a ", sv(TypeInfo<T>::kKind), " object")));
    return;
  }
  for (const auto& [key, want] :
       {std::pair{"apiVersion", TypeInfo<T>::kApiVersion}, std::pair{"kind", TypeInfo<T>::kKind}}) {
    auto it = value.find(key);
    if (it != value.end() && it->is_string() &&
        it->template get_ref<const std::string&>() != want) {
      errors.push_back(FieldError::notSupported(FieldPath(key), badJson(*it), {std::string(want)}));
    }
  }
  decodeAny(value, out, LazyPath(), ctx);
}

template <class T>
absl::StatusOr<Decoded<T>> fromJson(const Json& value) {
  Decoded<T> decoded;
  ErrorList errors;
  decodeValue(value, decoded.object, errors, decoded.warnings);
  if (!errors.empty())
    return absl::InvalidArgumentError(joinErrors(errors));
  return decoded;
}

template <class T>
absl::StatusOr<Decoded<T>> decodeJson(std::string_view text) {
  absl::StatusOr<Json> j = parseJson(text);
  if (!j.ok())
    return j.status();
  return fromJson<T>(*j);
}

template <class T>
Json toJson(const T& object) {
  if (object.typeMeta.kind.empty() || object.typeMeta.apiVersion.empty()) {
    T copy = object;
    setTypeMeta(copy);
    return encodeAny(copy);
  }
  return encodeAny(object);
}

Json toJson(const Object& object) {
  return std::visit([](const auto& o) { return toJson(o); }, object);
}

absl::StatusOr<Json> parseJson(std::string_view text) {
  // Measure nesting first: nlohmann's parser and dump() recurse per level.
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return absl::InvalidArgumentError(absl::StrCat("invalid JSON: nesting deeper than ",
                                                       kMaxJsonDepth, " levels at byte ", i + 1));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, ...";
    // drop the bracketed id, which means nothing to a user.
    std::string_view what = e.what();
    if (size_t close = what.find("] "); close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", sv(what)));
  }
}

#define KUBENODE_INSTANTIATE(T)                                                         \
  template void decodeValue<T>(const Json&, T&, ErrorList&, std::vector<std::string>&); \
  template absl::StatusOr<Decoded<T>> fromJson<T>(const Json&);                         \
  template absl::StatusOr<Decoded<T>> decodeJson<T>(std::string_view);                  \
  template Json toJson<T>(const T&);
KUBENODE_INSTANTIATE(Pod)
KUBENODE_INSTANTIATE(Service)
KUBENODE_INSTANTIATE(EndpointSlice)
KUBENODE_INSTANTIATE(Node)
KUBENODE_INSTANTIATE(Lease)
KUBENODE_INSTANTIATE(Event)
KUBENODE_INSTANTIATE(Namespace)
KUBENODE_INSTANTIATE(Status)
KUBENODE_INSTANTIATE(PodList)
KUBENODE_INSTANTIATE(ServiceList)
KUBENODE_INSTANTIATE(EndpointSliceList)
KUBENODE_INSTANTIATE(NodeList)
KUBENODE_INSTANTIATE(LeaseList)
KUBENODE_INSTANTIATE(EventList)
KUBENODE_INSTANTIATE(NamespaceList)
#undef KUBENODE_INSTANTIATE

}  // namespace kubenode::api
