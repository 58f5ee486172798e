#include "agent/pod_runtime_reader.h"

#include <fstream>
#include <iterator>

#include "agent/pods/labels.h"
#include "agent/pods/runtime_listing.h"

namespace kubenode::agent {

namespace {

std::string readCapped(const std::string& path, size_t limit, bool tail) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return "";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > limit)
    text = tail ? text.substr(text.size() - limit) : text.substr(0, limit);
  return text;
}

}  // namespace

std::string terminationMessage(const cri::v1::ContainerStatus& status) {
  // As the kubelet's getTerminationMessage: the file mounted at terminationMessagePath
  // (its host side found among the container's mounts), at most 4096 bytes; with
  // FallbackToLogsOnError and a failure and no message, the end of the container's log.
  pods::ContainerAnnotations a = pods::parseContainerAnnotations(status.annotations());
  if (!a.terminationMessagePath.empty()) {
    for (const cri::v1::Mount& m : status.mounts()) {
      if (m.container_path() == a.terminationMessagePath) {
        std::string text = readCapped(m.host_path(), 4096, false);
        if (!text.empty())
          return text;
      }
    }
  }
  if (a.terminationMessagePolicy == "FallbackToLogsOnError" && status.exit_code() != 0 &&
      !status.log_path().empty()) {
    // CRI log lines: "<time> <stream> <F|P> <text>"; the text part of the last lines.
    std::string raw = readCapped(status.log_path(), 64 * 1024, true);
    std::string out;
    size_t start = 0;
    while (start < raw.size()) {
      size_t end = raw.find('\n', start);
      std::string line =
          raw.substr(start, end == std::string::npos ? std::string::npos : end - start);
      start = end == std::string::npos ? raw.size() : end + 1;
      size_t sp1 = line.find(' '), sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
      size_t sp3 = sp2 == std::string::npos ? sp2 : line.find(' ', sp2 + 1);
      if (sp3 == std::string::npos)
        continue;
      out += line.substr(sp3 + 1);
      if (line.compare(sp2 + 1, 1, "F") == 0)
        out += "\n";
    }
    if (out.size() > 2048)
      out = out.substr(out.size() - 2048);
    return out;
  }
  return "";
}

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
    cri::v1::ContainerStatus status = r->status();
    if (status.message().empty())
      status.set_message(terminationMessage(status));
    // A late OOM event may still change the reason (see kExitSettleTime).
    if (clock_() - absl::FromUnixNanos(status.finished_at()) < kExitSettleTime)
      return status;
    absl::MutexLock lock(&mu_);
    exited_[id] = status;
    return status;
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
