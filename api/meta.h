// Metadata shared by every Kubernetes object: TypeMeta (apiVersion/kind),
// ObjectMeta (name, namespace, uid, labels, ...), ListMeta, and the references
// objects make to each other. Plain values: copy, compare with ==.
//
//   ObjectMeta m;
//   m.name = "web";
//   m.labels["app"] = "web";
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/time.h"

namespace kubenode::api {

struct TypeMeta {
  std::string apiVersion{};
  std::string kind{};
  friend bool operator==(const TypeMeta&, const TypeMeta&) = default;
};

struct OwnerReference {
  std::string apiVersion{};
  std::string kind{};
  std::string name{};
  std::string uid{};
  std::optional<bool> controller{};
  std::optional<bool> blockOwnerDeletion{};
  friend bool operator==(const OwnerReference&, const OwnerReference&) = default;
};

struct ObjectMeta {
  std::string name{};
  std::string generateName{};
  std::string namespace_{};  // "namespace" on the wire
  std::string uid{};
  std::string resourceVersion{};
  int64_t generation = 0;
  std::map<std::string, std::string> labels{};
  std::map<std::string, std::string> annotations{};
  std::optional<Time> creationTimestamp{};
  std::optional<Time> deletionTimestamp{};
  std::optional<int64_t> deletionGracePeriodSeconds{};
  std::vector<OwnerReference> ownerReferences{};
  std::vector<std::string> finalizers{};
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

struct ListMeta {
  std::string resourceVersion{};
  std::string continue_{};  // "continue" on the wire
  std::optional<int64_t> remainingItemCount{};
  friend bool operator==(const ListMeta&, const ListMeta&) = default;
};

// A reference to another object (Event.involvedObject, EndpointSlice targetRef).
struct ObjectReference {
  std::string kind{};
  std::string namespace_{};
  std::string name{};
  std::string uid{};
  std::string apiVersion{};
  std::string resourceVersion{};
  std::string fieldPath{};
  friend bool operator==(const ObjectReference&, const ObjectReference&) = default;
};

// A typed list: PodList, ServiceList, ... (items in `items`).
template <class T>
struct List {
  TypeMeta typeMeta{};
  ListMeta metadata{};
  std::vector<T> items{};
  friend bool operator==(const List&, const List&) = default;
};

}  // namespace kubenode::api
