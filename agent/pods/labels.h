// The label and annotation keys the kubelet puts on CRI sandboxes and containers, with
// the same names, so that kubenode can rebuild its state from containerd alone after a
// restart and so that crictl-style tools and operators see what they know from a real
// kubelet (pkg/kubelet/kuberuntime/labels.go, pkg/kubelet/types).
//
//   (*config.mutable_labels())[std::string(kPodUidLabel)] = pod.metadata.uid;
//   auto it = sandbox.labels().find(std::string(kPodUidLabel));  // ours if present
//
// Labels identify (they can be used in CRI list filters); annotations carry the
// details the kubelet needs later (hash, restart count, grace period, preStop handler).
#pragma once

#include <string_view>

namespace kubenode::agent::pods {

// ---- Labels on sandboxes and containers ----------------------------------------------
inline constexpr std::string_view kPodNameLabel = "io.kubernetes.pod.name";
inline constexpr std::string_view kPodNamespaceLabel = "io.kubernetes.pod.namespace";
inline constexpr std::string_view kPodUidLabel = "io.kubernetes.pod.uid";
// Containers only.
inline constexpr std::string_view kContainerNameLabel = "io.kubernetes.container.name";

// ---- Annotations on containers -------------------------------------------------------
// Hex of containerSpecHash(): a change means the spec changed and the container must be
// restarted.
inline constexpr std::string_view kContainerHashAnnotation = "io.kubernetes.container.hash";
inline constexpr std::string_view kContainerRestartCountAnnotation =
    "io.kubernetes.container.restartCount";
inline constexpr std::string_view kContainerTerminationMessagePathAnnotation =
    "io.kubernetes.container.terminationMessagePath";
inline constexpr std::string_view kContainerTerminationMessagePolicyAnnotation =
    "io.kubernetes.container.terminationMessagePolicy";
// JSON of the container's lifecycle.preStop handler, so that a container can be stopped
// politely even after its pod's spec is gone (a manifest removed while the agent was down).
inline constexpr std::string_view kContainerPreStopHandlerAnnotation =
    "io.kubernetes.container.preStopHandler";
// JSON of the container's ports.
inline constexpr std::string_view kContainerPortsAnnotation = "io.kubernetes.container.ports";
// Seconds, from spec.terminationGracePeriodSeconds and metadata.deletionGracePeriodSeconds.
inline constexpr std::string_view kPodTerminationGracePeriodAnnotation =
    "io.kubernetes.pod.terminationGracePeriod";
inline constexpr std::string_view kPodDeletionGracePeriodAnnotation =
    "io.kubernetes.pod.deletionGracePeriod";

// ---- Pod annotations set by the kubelet's config sources (pkg/kubelet/types) ---------
// "file" for static pods, "api" for pods from the API server.
inline constexpr std::string_view kConfigSourceAnnotation = "kubernetes.io/config.source";
// A static pod's identity: its UID is derived from the manifest, this repeats it.
inline constexpr std::string_view kConfigHashAnnotation = "kubernetes.io/config.hash";
inline constexpr std::string_view kConfigMirrorAnnotation = "kubernetes.io/config.mirror";
inline constexpr std::string_view kConfigSeenAnnotation = "kubernetes.io/config.seen";
inline constexpr std::string_view kConfigSourceFile = "file";
inline constexpr std::string_view kConfigSourceApi = "api";

}  // namespace kubenode::agent::pods
