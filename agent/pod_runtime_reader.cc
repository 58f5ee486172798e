#include "agent/pod_runtime_reader.h"

#include "agent/pods/labels.h"

namespace kubenode::agent {

absl::StatusOr<cri::v1::ContainerStatus> PodRuntimeReader::containerStatus(const std::string& id) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = exited_.find(id); it != exited_.end())
      return it->second;
  }
  absl::StatusOr<cri::v1::ContainerStatusResponse> r = runtime_.containerStatus(id, false);
  if (!r.ok())
    return r.status();
  if (r->status().state() == cri::v1::CONTAINER_EXITED) {
    absl::MutexLock lock(&mu_);
    exited_[id] = r->status();
  }
  return r->status();
}

absl::StatusOr<cri::v1::PodSandboxStatus> PodRuntimeReader::sandboxStatus(
    const cri::v1::PodSandbox& sandbox) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = sandboxes_.find(sandbox.id());
        it != sandboxes_.end() && it->second.state() == sandbox.state())
      return it->second;
  }
  absl::StatusOr<cri::v1::PodSandboxStatusResponse> r =
      runtime_.podSandboxStatus(sandbox.id(), false);
  if (!r.ok())
    return r.status();
  absl::MutexLock lock(&mu_);
  sandboxes_[sandbox.id()] = r->status();
  return r->status();
}

absl::StatusOr<pods::PodRuntimeStatus> PodRuntimeReader::podStatus(std::string_view uid) {
  cri::v1::PodSandboxFilter sandboxFilter;
  (*sandboxFilter.mutable_label_selector())[std::string(pods::kPodUidLabel)] = std::string(uid);
  cri::v1::ContainerFilter containerFilter;
  (*containerFilter.mutable_label_selector())[std::string(pods::kPodUidLabel)] = std::string(uid);

  pods::RuntimeSnapshot snap;
  absl::StatusOr<std::vector<cri::v1::PodSandbox>> sandboxes =
      runtime_.listPodSandbox(sandboxFilter);
  if (!sandboxes.ok())
    return sandboxes.status();
  absl::StatusOr<std::vector<cri::v1::Container>> containers =
      runtime_.listContainers(containerFilter);
  if (!containers.ok())
    return containers.status();
  snap.sandboxes = std::move(*sandboxes);
  snap.containers = std::move(*containers);
  for (const cri::v1::PodSandbox& s : snap.sandboxes) {
    absl::StatusOr<cri::v1::PodSandboxStatus> st = sandboxStatus(s);
    // A sandbox removed between the list and the status call: read it as listed.
    if (st.ok())
      snap.sandboxStatuses[s.id()] = *st;
    else if (!absl::IsNotFound(st.status()))
      return st.status();
  }
  for (const cri::v1::Container& c : snap.containers) {
    absl::StatusOr<cri::v1::ContainerStatus> st = containerStatus(c.id());
    if (st.ok())
      snap.containerStatuses[c.id()] = *st;
    else if (!absl::IsNotFound(st.status()))
      return st.status();
  }
  pods::RuntimeListing listing = pods::groupRuntimePods(snap);
  if (auto it = listing.pods.find(std::string(uid)); it != listing.pods.end())
    return std::move(it->second);
  pods::PodRuntimeStatus empty;
  empty.uid = std::string(uid);
  return empty;
}

absl::StatusOr<pods::RuntimeSnapshot> PodRuntimeReader::relist() {
  pods::RuntimeSnapshot snap;
  absl::StatusOr<std::vector<cri::v1::PodSandbox>> sandboxes = runtime_.listPodSandbox({});
  if (!sandboxes.ok())
    return sandboxes.status();
  absl::StatusOr<std::vector<cri::v1::Container>> containers = runtime_.listContainers({});
  if (!containers.ok())
    return containers.status();
  snap.sandboxes = std::move(*sandboxes);
  snap.containers = std::move(*containers);

  std::set<std::string> live;
  for (const auto& s : snap.sandboxes)
    live.insert(s.id());
  for (const auto& c : snap.containers)
    live.insert(c.id());
  absl::MutexLock lock(&mu_);
  std::erase_if(exited_, [&](const auto& kv) { return !live.contains(kv.first); });
  std::erase_if(sandboxes_, [&](const auto& kv) { return !live.contains(kv.first); });
  return snap;
}

}  // namespace kubenode::agent
