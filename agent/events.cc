#include "agent/events.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kubenode::agent {

EventRecorder::EventRecorder(std::string nodeName, size_t perPodLimit)
    : nodeName_(std::move(nodeName)), perPodLimit_(perPodLimit) {}

void EventRecorder::record(const api::Pod& pod, std::string_view type, std::string_view reason,
                           std::string message, std::string_view fieldPath, absl::Time now) {
  if (type == kWarning) {
    spdlog::warn("pod {}/{}: {} {}", pod.metadata.namespace_, pod.metadata.name, reason, message);
  } else {
    spdlog::info("pod {}/{}: {} {}", pod.metadata.namespace_, pod.metadata.name, reason, message);
  }
  add(pod.metadata.uid, pod.metadata.namespace_,
      {.kind = "Pod",
       .namespace_ = pod.metadata.namespace_,
       .name = pod.metadata.name,
       .uid = pod.metadata.uid,
       .apiVersion = "v1",
       .fieldPath = std::string(fieldPath)},
      type, reason, std::move(message), now);
}

void EventRecorder::recordForNode(std::string_view type, std::string_view reason,
                                  std::string message, absl::Time now) {
  add("node/" + nodeName_, "default",
      {.kind = "Node", .name = nodeName_, .uid = nodeName_, .apiVersion = "v1"}, type, reason,
      std::move(message), now);
}

void EventRecorder::add(const std::string& key, const std::string& eventNamespace,
                        api::ObjectReference involved, std::string_view type,
                        std::string_view reason, std::string message, absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::deque<api::Event>& events = byPod_[key];
  for (api::Event& e : events) {
    if (e.reason == reason && e.type == type && e.message == message &&
        e.involvedObject.fieldPath == involved.fieldPath) {
      ++e.count;
      e.lastTimestamp = api::Time(now);
      return;
    }
  }
  api::Event e;
  e.typeMeta = {.apiVersion = "v1", .kind = "Event"};
  // The API server's names for events: "<object>.<unique hex>".
  e.metadata.name = fmt::format("{}.{:x}", involved.name,
                                absl::ToUnixNanos(now) + static_cast<int64_t>(++serial_));
  e.metadata.namespace_ = eventNamespace;
  e.involvedObject = std::move(involved);
  e.reason = std::string(reason);
  e.message = std::move(message);
  e.type = std::string(type);
  e.source = {.component = "kubelet", .host = nodeName_};
  e.firstTimestamp = api::Time(now);
  e.lastTimestamp = api::Time(now);
  e.count = 1;
  e.reportingComponent = "kubelet";
  e.reportingInstance = nodeName_;
  events.push_back(std::move(e));
  while (events.size() > perPodLimit_)
    events.pop_front();
}

std::vector<api::Event> EventRecorder::eventsFor(std::string_view uid) const {
  absl::MutexLock lock(&mu_);
  auto it = byPod_.find(uid);
  if (it == byPod_.end())
    return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<api::Event> EventRecorder::all() const {
  absl::MutexLock lock(&mu_);
  std::vector<api::Event> out;
  for (const auto& [uid, events] : byPod_)
    out.insert(out.end(), events.begin(), events.end());
  return out;
}

void EventRecorder::forget(std::string_view uid) {
  absl::MutexLock lock(&mu_);
  auto it = byPod_.find(uid);
  if (it != byPod_.end())
    byPod_.erase(it);
}

std::string containerFieldPath(const api::Pod& pod, std::string_view containerName) {
  for (const api::Container& c : pod.spec.initContainers) {
    if (c.name == containerName)
      return fmt::format("spec.initContainers{{{}}}", containerName);
  }
  return fmt::format("spec.containers{{{}}}", containerName);
}

}  // namespace kubenode::agent
