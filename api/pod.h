// v1 Pod: the spec subset kubenode runs (containers, probes, volumes, security
// context, ...) and the status it reports. Field names follow the API's JSON
// names; Go pointer fields are std::optional, so "unset" and "zero" differ
// where they differ in Kubernetes.
//
//   Pod pod;
//   pod.metadata.name = "web";
//   Container& c = pod.spec.containers.emplace_back();
//   c.name = "web";
//   c.image = "busybox:1.36";
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/int_or_string.h"
#include "api/meta.h"
#include "api/quantity.h"
#include "api/time.h"

namespace kubenode::api {

struct ObjectFieldSelector {
  std::string apiVersion{};
  std::string fieldPath{};
  friend bool operator==(const ObjectFieldSelector&, const ObjectFieldSelector&) = default;
};

struct EnvVarSource {
  std::optional<ObjectFieldSelector> fieldRef{};
  friend bool operator==(const EnvVarSource&, const EnvVarSource&) = default;
};

struct EnvVar {
  std::string name{};
  std::string value{};
  std::optional<EnvVarSource> valueFrom{};
  friend bool operator==(const EnvVar&, const EnvVar&) = default;
};

struct ContainerPort {
  std::string name{};
  int32_t hostPort = 0;
  int32_t containerPort = 0;
  std::string protocol{};
  std::string hostIP{};
  friend bool operator==(const ContainerPort&, const ContainerPort&) = default;
};

using ResourceList = std::map<std::string, Quantity>;

struct ResourceRequirements {
  ResourceList limits{};
  ResourceList requests{};
  friend bool operator==(const ResourceRequirements&, const ResourceRequirements&) = default;
};

struct VolumeMount {
  std::string name{};
  bool readOnly = false;
  std::string mountPath{};
  std::string subPath{};
  friend bool operator==(const VolumeMount&, const VolumeMount&) = default;
};

struct ExecAction {
  std::vector<std::string> command{};
  friend bool operator==(const ExecAction&, const ExecAction&) = default;
};

struct HTTPHeader {
  std::string name{};
  std::string value{};
  friend bool operator==(const HTTPHeader&, const HTTPHeader&) = default;
};

struct HTTPGetAction {
  std::string path{};
  IntOrString port{};
  std::string host{};
  std::string scheme{};
  std::vector<HTTPHeader> httpHeaders{};
  friend bool operator==(const HTTPGetAction&, const HTTPGetAction&) = default;
};

struct TCPSocketAction {
  IntOrString port{};
  std::string host{};
  friend bool operator==(const TCPSocketAction&, const TCPSocketAction&) = default;
};

struct Probe {
  std::optional<ExecAction> exec{};
  std::optional<HTTPGetAction> httpGet{};
  std::optional<TCPSocketAction> tcpSocket{};
  int32_t initialDelaySeconds = 0;
  int32_t timeoutSeconds = 0;
  int32_t periodSeconds = 0;
  int32_t successThreshold = 0;
  int32_t failureThreshold = 0;
  std::optional<int64_t> terminationGracePeriodSeconds{};
  friend bool operator==(const Probe&, const Probe&) = default;
};

struct LifecycleHandler {
  std::optional<ExecAction> exec{};
  std::optional<HTTPGetAction> httpGet{};
  std::optional<TCPSocketAction> tcpSocket{};
  friend bool operator==(const LifecycleHandler&, const LifecycleHandler&) = default;
};

struct Lifecycle {
  std::optional<LifecycleHandler> postStart{};
  std::optional<LifecycleHandler> preStop{};
  friend bool operator==(const Lifecycle&, const Lifecycle&) = default;
};

struct Capabilities {
  std::vector<std::string> add{};
  std::vector<std::string> drop{};
  friend bool operator==(const Capabilities&, const Capabilities&) = default;
};

struct SeccompProfile {
  std::string type{};
  std::optional<std::string> localhostProfile{};
  friend bool operator==(const SeccompProfile&, const SeccompProfile&) = default;
};

struct SecurityContext {
  std::optional<Capabilities> capabilities{};
  std::optional<bool> privileged{};
  std::optional<int64_t> runAsUser{};
  std::optional<int64_t> runAsGroup{};
  std::optional<bool> runAsNonRoot{};
  std::optional<bool> readOnlyRootFilesystem{};
  std::optional<bool> allowPrivilegeEscalation{};
  std::optional<SeccompProfile> seccompProfile{};
  friend bool operator==(const SecurityContext&, const SecurityContext&) = default;
};

struct Sysctl {
  std::string name{};
  std::string value{};
  friend bool operator==(const Sysctl&, const Sysctl&) = default;
};

struct PodSecurityContext {
  std::optional<int64_t> runAsUser{};
  std::optional<int64_t> runAsGroup{};
  std::optional<bool> runAsNonRoot{};
  std::vector<int64_t> supplementalGroups{};
  std::optional<int64_t> fsGroup{};
  std::optional<SeccompProfile> seccompProfile{};
  std::vector<Sysctl> sysctls{};
  friend bool operator==(const PodSecurityContext&, const PodSecurityContext&) = default;
};

struct Container {
  std::string name{};
  std::string image{};
  std::vector<std::string> command{};
  std::vector<std::string> args{};
  std::string workingDir{};
  std::vector<ContainerPort> ports{};
  std::vector<EnvVar> env{};
  ResourceRequirements resources{};
  std::vector<VolumeMount> volumeMounts{};
  std::optional<Probe> livenessProbe{};
  std::optional<Probe> readinessProbe{};
  std::optional<Probe> startupProbe{};
  std::optional<Lifecycle> lifecycle{};
  std::string terminationMessagePath{};
  std::string terminationMessagePolicy{};
  std::string imagePullPolicy{};
  std::optional<SecurityContext> securityContext{};
  bool stdin_ = false;  // "stdin" on the wire
  bool tty = false;
  friend bool operator==(const Container&, const Container&) = default;
};

struct EmptyDirVolumeSource {
  std::string medium{};
  std::optional<Quantity> sizeLimit{};
  friend bool operator==(const EmptyDirVolumeSource&, const EmptyDirVolumeSource&) = default;
};

struct HostPathVolumeSource {
  std::string path{};
  std::optional<std::string> type{};
  friend bool operator==(const HostPathVolumeSource&, const HostPathVolumeSource&) = default;
};

struct Volume {
  std::string name{};
  std::optional<HostPathVolumeSource> hostPath{};
  std::optional<EmptyDirVolumeSource> emptyDir{};
  friend bool operator==(const Volume&, const Volume&) = default;
};

// Lets a pod run on (or stay on) a node with a matching taint.
struct Toleration {
  std::string key{};
  std::string operator_{};  // "operator" on the wire: Exists or Equal
  std::string value{};
  std::string effect{};
  std::optional<int64_t> tolerationSeconds{};
  friend bool operator==(const Toleration&, const Toleration&) = default;
};

struct PodDNSConfigOption {
  std::string name{};
  std::optional<std::string> value{};
  friend bool operator==(const PodDNSConfigOption&, const PodDNSConfigOption&) = default;
};

// spec.dnsConfig: added to what dnsPolicy gives, or all of it with dnsPolicy None.
struct PodDNSConfig {
  std::vector<std::string> nameservers{};
  std::vector<std::string> searches{};
  std::vector<PodDNSConfigOption> options{};
  friend bool operator==(const PodDNSConfig&, const PodDNSConfig&) = default;
};

// spec.hostAliases: extra /etc/hosts entries.
struct HostAlias {
  std::string ip{};
  std::vector<std::string> hostnames{};
  friend bool operator==(const HostAlias&, const HostAlias&) = default;
};

struct PodSpec {
  std::vector<Volume> volumes{};
  std::vector<Container> initContainers{};
  std::vector<Container> containers{};
  std::string restartPolicy{};
  std::optional<int64_t> terminationGracePeriodSeconds{};
  std::optional<int64_t> activeDeadlineSeconds{};
  std::string dnsPolicy{};
  std::optional<PodDNSConfig> dnsConfig{};
  std::vector<HostAlias> hostAliases{};
  std::optional<bool> shareProcessNamespace{};
  std::map<std::string, std::string> nodeSelector{};
  std::string serviceAccountName{};
  std::string nodeName{};
  bool hostNetwork = false;
  bool hostPID = false;
  bool hostIPC = false;
  std::optional<PodSecurityContext> securityContext{};
  std::string hostname{};
  std::string subdomain{};
  std::string schedulerName{};
  std::optional<int32_t> priority{};
  std::string priorityClassName{};
  std::vector<Toleration> tolerations{};
  std::optional<bool> enableServiceLinks{};
  friend bool operator==(const PodSpec&, const PodSpec&) = default;
};

struct PodCondition {
  std::string type{};
  std::string status{};
  std::optional<Time> lastProbeTime{};
  std::optional<Time> lastTransitionTime{};
  std::string reason{};
  std::string message{};
  friend bool operator==(const PodCondition&, const PodCondition&) = default;
};

struct ContainerStateWaiting {
  std::string reason{};
  std::string message{};
  friend bool operator==(const ContainerStateWaiting&, const ContainerStateWaiting&) = default;
};

struct ContainerStateRunning {
  std::optional<Time> startedAt{};
  friend bool operator==(const ContainerStateRunning&, const ContainerStateRunning&) = default;
};

struct ContainerStateTerminated {
  int32_t exitCode = 0;
  int32_t signal = 0;
  std::string reason{};
  std::string message{};
  std::optional<Time> startedAt{};
  std::optional<Time> finishedAt{};
  std::string containerID{};
  friend bool operator==(const ContainerStateTerminated&,
                         const ContainerStateTerminated&) = default;
};

// At most one member is set; none set means "no state recorded".
struct ContainerState {
  std::optional<ContainerStateWaiting> waiting{};
  std::optional<ContainerStateRunning> running{};
  std::optional<ContainerStateTerminated> terminated{};
  friend bool operator==(const ContainerState&, const ContainerState&) = default;
};

struct ContainerStatus {
  std::string name{};
  ContainerState state{};
  ContainerState lastState{};
  bool ready = false;
  int32_t restartCount = 0;
  std::string image{};
  std::string imageID{};
  std::string containerID{};
  std::optional<bool> started{};
  friend bool operator==(const ContainerStatus&, const ContainerStatus&) = default;
};

struct PodIP {
  std::string ip{};
  friend bool operator==(const PodIP&, const PodIP&) = default;
};

struct PodStatus {
  std::string phase{};
  std::vector<PodCondition> conditions{};
  std::string message{};
  std::string reason{};
  std::string hostIP{};
  std::vector<PodIP> hostIPs{};  // same shape as podIPs: [{ip: ...}]
  std::string podIP{};
  std::vector<PodIP> podIPs{};
  std::optional<Time> startTime{};
  std::vector<ContainerStatus> initContainerStatuses{};
  std::vector<ContainerStatus> containerStatuses{};
  std::string qosClass{};
  friend bool operator==(const PodStatus&, const PodStatus&) = default;
};

struct Pod {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  PodSpec spec{};
  PodStatus status{};
  friend bool operator==(const Pod&, const Pod&) = default;
};

using PodList = List<Pod>;

}  // namespace kubenode::api
