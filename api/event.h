// v1 Event: what the agent records about pods and nodes ("Pulled", "Killing",
// "Unhealthy", ...), readable with `kubectl get events`.
//
//   Event e;
//   e.involvedObject = {.kind = "Pod", .namespace_ = "default", .name = "web"};
//   e.reason = "Started";
//   e.type = "Normal";
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/meta.h"

namespace kubenode::api {

struct EventSource {
  std::string component{};
  std::string host{};
  friend bool operator==(const EventSource&, const EventSource&) = default;
};

struct Event {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  ObjectReference involvedObject{};
  std::string reason{};
  std::string message{};
  EventSource source{};
  std::optional<Time> firstTimestamp{};
  std::optional<Time> lastTimestamp{};
  int32_t count = 0;
  std::string type{};
  std::optional<MicroTime> eventTime{};
  std::string action{};
  std::string reportingComponent{};
  std::string reportingInstance{};
  friend bool operator==(const Event&, const Event&) = default;
};

using EventList = List<Event>;

}  // namespace kubenode::api
