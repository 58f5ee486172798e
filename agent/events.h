// The node's event recorder: the kubelet's Scheduled, Pulling, Pulled, Created, Started,
// Killing, BackOff, Failed ... events, kept per pod in memory (bounded) for the read-only
// endpoint (/events) and logged as they happen. Repeats of one event (same object, type,
// reason, message) are folded into one with a count and a last timestamp, as the event
// correlator does. When the control plane arrives, the same recorder will post them.
//
//   EventRecorder events("node-a");
//   events.record(pod, kNormal, "Started", "Started container web", "spec.containers{web}");
//   std::vector<api::Event> forPod = events.eventsFor(pod.metadata.uid);
//
// Thread-safety: every method may be called from any thread (one lock).
#pragma once

#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/event.h"
#include "api/pod.h"

namespace kubenode::agent {

inline constexpr std::string_view kNormal = "Normal";
inline constexpr std::string_view kWarning = "Warning";

class EventRecorder {
 public:
  explicit EventRecorder(std::string nodeName, size_t perPodLimit = 100);

  // `fieldPath`: "spec.containers{web}" or "spec.initContainers{init}" for container
  // events, empty for the pod's own.
  void record(const api::Pod& pod, std::string_view type, std::string_view reason,
              std::string message, std::string_view fieldPath = {}, absl::Time now = absl::Now());

  // An event about the node itself (a manifest file that cannot be read: no pod to hang
  // it on), kept under the node's name.
  void recordForNode(std::string_view type, std::string_view reason, std::string message,
                     absl::Time now = absl::Now());

  // The pod's events, oldest first.
  std::vector<api::Event> eventsFor(std::string_view uid) const;
  // Every pod's events, oldest first per pod, pods in UID order.
  std::vector<api::Event> all() const;
  // Drops a deleted pod's events.
  void forget(std::string_view uid);

 private:
  // Folds a repeat into its earlier event or appends a new one under `key` (pod UID).
  void add(const std::string& key, const std::string& eventNamespace, api::ObjectReference involved,
           std::string_view type, std::string_view reason, std::string message, absl::Time now);

  const std::string nodeName_;
  const size_t perPodLimit_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::deque<api::Event>, std::less<>> byPod_ ABSL_GUARDED_BY(mu_);
  uint64_t serial_ ABSL_GUARDED_BY(mu_) = 0;
};

// "spec.containers{web}" / "spec.initContainers{init}".
std::string containerFieldPath(const api::Pod& pod, std::string_view containerName);

}  // namespace kubenode::agent
