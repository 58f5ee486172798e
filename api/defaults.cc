#include "api/defaults.h"

namespace kubenode::api {
namespace {

constexpr int64_t kDefaultTerminationGracePeriodSeconds = 30;
constexpr int32_t kDefaultClientIPTimeoutSeconds = 10800;  // 3 hours

void defaultHTTPGet(HTTPGetAction& get) {
  if (get.path.empty())
    get.path = "/";
  if (get.scheme.empty())
    get.scheme = "HTTP";
}

void defaultHandler(std::optional<LifecycleHandler>& h) {
  if (h && h->httpGet)
    defaultHTTPGet(*h->httpGet);
}

void defaultProbe(std::optional<Probe>& probe) {
  if (!probe)
    return;
  if (probe->timeoutSeconds == 0)
    probe->timeoutSeconds = 1;
  if (probe->periodSeconds == 0)
    probe->periodSeconds = 10;
  if (probe->successThreshold == 0)
    probe->successThreshold = 1;
  if (probe->failureThreshold == 0)
    probe->failureThreshold = 3;
  if (probe->httpGet)
    defaultHTTPGet(*probe->httpGet);
}

void defaultContainer(Container& c, bool hostNetwork) {
  if (c.imagePullPolicy.empty())
    c.imagePullPolicy = defaultImagePullPolicy(c.image);
  if (c.terminationMessagePath.empty())
    c.terminationMessagePath = "/dev/termination-log";
  if (c.terminationMessagePolicy.empty())
    c.terminationMessagePolicy = "File";
  for (ContainerPort& p : c.ports) {
    if (p.protocol.empty())
      p.protocol = "TCP";
    // With the host's network the container port is the host port.
    if (hostNetwork && p.hostPort == 0)
      p.hostPort = p.containerPort;
  }
  for (EnvVar& e : c.env) {
    if (e.valueFrom && e.valueFrom->fieldRef && e.valueFrom->fieldRef->apiVersion.empty()) {
      e.valueFrom->fieldRef->apiVersion = "v1";
    }
  }
  // Requests default to limits for every resource that has only a limit.
  for (const auto& [name, limit] : c.resources.limits) {
    c.resources.requests.try_emplace(name, limit);
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (c.lifecycle) {
    defaultHandler(c.lifecycle->postStart);
    defaultHandler(c.lifecycle->preStop);
  }
}

}  // namespace

std::string defaultImagePullPolicy(std::string_view image) {
  // A digest pins the content: no need to pull again.
  if (image.find('@') != std::string_view::npos)
    return "IfNotPresent";
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  // A colon before the last slash belongs to a registry host:port.
  bool hasTag =
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  if (!hasTag || image.substr(colon + 1) == "latest")
    return "Always";
  return "IfNotPresent";
}

void applyDefaults(Pod& pod) {
  PodSpec& spec = pod.spec;
  if (spec.restartPolicy.empty())
    spec.restartPolicy = "Always";
  if (spec.dnsPolicy.empty())
    spec.dnsPolicy = "ClusterFirst";
  if (!spec.terminationGracePeriodSeconds) {
    spec.terminationGracePeriodSeconds = kDefaultTerminationGracePeriodSeconds;
  }
  if (!spec.enableServiceLinks)
    spec.enableServiceLinks = true;
  if (spec.schedulerName.empty())
    spec.schedulerName = "default-scheduler";
  if (!spec.securityContext)
    spec.securityContext.emplace();
  for (Container& c : spec.initContainers)
    defaultContainer(c, spec.hostNetwork);
  for (Container& c : spec.containers)
    defaultContainer(c, spec.hostNetwork);
  for (Volume& v : spec.volumes) {
    if (v.hostPath && !v.hostPath->type)
      v.hostPath->type = "";
  }
}

void applyDefaults(Service& service) {
  ServiceSpec& spec = service.spec;
  if (spec.type.empty())
    spec.type = "ClusterIP";
  if (spec.sessionAffinity.empty())
    spec.sessionAffinity = "None";
  if (spec.sessionAffinity == "ClientIP") {
    if (!spec.sessionAffinityConfig)
      spec.sessionAffinityConfig.emplace();
    if (!spec.sessionAffinityConfig->clientIP)
      spec.sessionAffinityConfig->clientIP.emplace();
    if (!spec.sessionAffinityConfig->clientIP->timeoutSeconds) {
      spec.sessionAffinityConfig->clientIP->timeoutSeconds = kDefaultClientIPTimeoutSeconds;
    }
  }
  for (ServicePort& p : spec.ports) {
    if (p.protocol.empty())
      p.protocol = "TCP";
    if (p.targetPort.isZero())
      p.targetPort = IntOrString::fromInt(p.port);
  }
  if (spec.clusterIPs.empty() && !spec.clusterIP.empty())
    spec.clusterIPs = {spec.clusterIP};
  if (spec.type != "ExternalName" && !spec.internalTrafficPolicy) {
    spec.internalTrafficPolicy = "Cluster";
  }
  if ((spec.type == "NodePort" || spec.type == "LoadBalancer") &&
      spec.externalTrafficPolicy.empty()) {
    spec.externalTrafficPolicy = "Cluster";
  }
}

void applyDefaults(EndpointSlice& slice) {
  for (EndpointPort& p : slice.ports) {
    if (!p.protocol)
      p.protocol = "TCP";
    if (!p.name)
      p.name = "";
  }
}

void applyDefaults(Node&) {}
void applyDefaults(Lease&) {}
void applyDefaults(Event&) {}
void applyDefaults(Namespace&) {}
void applyDefaults(Status&) {}

void applyDefaults(Object& object) {
  std::visit([](auto& o) { applyDefaults(o); }, object);
}

void defaultNamespace(ObjectMeta& metadata, std::string_view ns) {
  if (metadata.namespace_.empty())
    metadata.namespace_ = std::string(ns);
}

}  // namespace kubenode::api
