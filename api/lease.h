// coordination.k8s.io/v1 Lease: the node heartbeat (kube-node-lease/<node>).
//
//   Lease l;
//   l.metadata.name = "node-1";
//   l.metadata.namespace_ = "kube-node-lease";
//   l.spec.holderIdentity = "node-1";
//   l.spec.leaseDurationSeconds = 40;
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/meta.h"

namespace kubenode::api {

struct LeaseSpec {
  std::optional<std::string> holderIdentity{};
  std::optional<int32_t> leaseDurationSeconds{};
  std::optional<MicroTime> acquireTime{};
  std::optional<MicroTime> renewTime{};
  std::optional<int32_t> leaseTransitions{};
  friend bool operator==(const LeaseSpec&, const LeaseSpec&) = default;
};

struct Lease {
  TypeMeta typeMeta{};
  ObjectMeta metadata{};
  LeaseSpec spec{};
  friend bool operator==(const Lease&, const Lease&) = default;
};

using LeaseList = List<Lease>;

}  // namespace kubenode::api
