// v1 Node: what the agent registers and keeps current (podCIDRs, taints,
// capacity/allocatable, conditions, addresses, nodeInfo, kubelet port).
//
//   Node n;
//   n.metadata.name = "node-1";
//   n.spec.podCIDRs = {"10.244.1.0/24"};
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/meta.h"
#include "api/pod.h"

namespace kubenode::api {

struct Taint {
  std::string key{};
  std::string value{};
  std::string effect{};
  std::optional<Time> timeAdded{};
  friend bool operator==(const Taint&, const Taint&) = default;
};

struct NodeSpec {
  std::string podCIDR{};
  std::vector<std::string> podCIDRs{};
  std::string providerID{};
  bool unschedulable = false;
  std::vector<Taint> taints{};
  friend bool operator==(const NodeSpec&, const NodeSpec&) = default;
};

struct NodeCondition {
  std::string type{};
  std::string status{};
  std::optional<Time> lastHeartbeatTime{};
  std::optional<Time> lastTransitionTime{};
  std::string reason{};
  std::string message{};
  friend bool operator==(const NodeCondition&, const NodeCondition&) = default;
};

struct NodeAddress {
  std::string type{};
  std::string address{};
  friend bool operator==(const NodeAddress&, const NodeAddress&) = default;
};

struct DaemonEndpoint {
  int32_t port = 0;  // "Port" on the wire (capitalised in the API)
  friend bool operator==(const DaemonEndpoint&, const DaemonEndpoint&) = default;
};

struct NodeDaemonEndpoints {
  DaemonEndpoint kubeletEndpoint{};
  friend bool operator==(const NodeDaemonEndpoints&, const NodeDaemonEndpoints&) = default;
};

struct NodeSystemInfo {
  std::string machineID{};
  std::string systemUUID{};
  std::string bootID{};
  std::string kernelVersion{};
  std::string osImage{};
  std::string containerRuntimeVersion{};
  std::string kubeletVersion{};
  std::string kubeProxyVersion{};
  std::string operatingSystem{};
  std::string architecture{};
  friend bool operator==(const NodeSystemInfo&, const NodeSystemInfo&) = default;
};

struct NodeStatus {
  ResourceList capacity{};
  ResourceList allocatable{};
  std::string phase{};
  std::vector<NodeCondition> conditions{};
  std::vector<NodeAddress> addresses{};
  NodeDaemonEndpoints daemonEndpoints{};
  NodeSystemInfo nodeInfo{};
  friend bool operator==(const NodeStatus&, const NodeStatus&) = default;
};

struct Node {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  NodeSpec spec{};
  NodeStatus status{};
  friend bool operator==(const Node&, const Node&) = default;
};

using NodeList = List<Node>;

}  // namespace kubenode::api
