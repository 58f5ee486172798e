#include "agent/pods/runtime_listing.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include "agent/pods/labels.h"
#include "api/json_codec.h"

namespace kubenode::agent::pods {
namespace {

using ProtoMap = google::protobuf::Map<std::string, std::string>;

const std::string* find(const ProtoMap& map, std::string_view key) {
  auto it = map.find(std::string(key));
  return it == map.end() ? nullptr : &it->second;
}

std::string valueOr(const ProtoMap& map, std::string_view key, const std::string& fallback) {
  const std::string* v = find(map, key);
  return v ? *v : fallback;
}

template <class Int>
std::optional<Int> parseInt(const std::string* text, int base = 10) {
  if (text == nullptr || text->empty())
    return std::nullopt;
  Int value{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value, base);
  if (ec != std::errc() || end != text->data() + text->size())
    return std::nullopt;
  return value;
}

absl::Time fromNanos(int64_t nanos) {
  return nanos == 0 ? absl::InfinitePast() : absl::FromUnixNanos(nanos);
}

ContainerState stateOf(cri::v1::ContainerState state) {
  switch (state) {
    case cri::v1::CONTAINER_CREATED:
      return ContainerState::kCreated;
    case cri::v1::CONTAINER_RUNNING:
      return ContainerState::kRunning;
    case cri::v1::CONTAINER_EXITED:
      return ContainerState::kExited;
    default:
      return ContainerState::kUnknown;
  }
}

void applyAnnotations(const ProtoMap& annotations, RuntimeContainer& c) {
  if (auto restarts = parseInt<int32_t>(find(annotations, kContainerRestartCountAnnotation)))
    c.restartCount = *restarts;
  if (auto hash = parseInt<uint64_t>(find(annotations, kContainerHashAnnotation), 16))
    c.specHash = *hash;
}

}  // namespace

bool isKubeletSandbox(const cri::v1::PodSandbox& sandbox) {
  return find(sandbox.labels(), kPodUidLabel) != nullptr;
}

bool isKubeletContainer(const cri::v1::Container& container) {
  return find(container.labels(), kPodUidLabel) != nullptr &&
         find(container.labels(), kContainerNameLabel) != nullptr;
}

RuntimeContainer fromListedContainer(const cri::v1::Container& container) {
  RuntimeContainer c;
  c.id = container.id();
  c.name = valueOr(container.labels(), kContainerNameLabel, container.metadata().name());
  c.sandboxId = container.pod_sandbox_id();
  c.state = stateOf(container.state());
  c.createdAt = fromNanos(container.created_at());
  c.image = container.image().image();
  c.imageRef = container.image_ref();
  // The attempt is the restart count the container was created with; the annotation
  // says the same and wins when present.
  c.restartCount = static_cast<int32_t>(container.metadata().attempt());
  applyAnnotations(container.annotations(), c);
  return c;
}

RuntimeContainer fromContainerStatus(const cri::v1::ContainerStatus& status) {
  RuntimeContainer c;
  c.id = status.id();
  c.name = valueOr(status.labels(), kContainerNameLabel, status.metadata().name());
  c.state = stateOf(status.state());
  c.createdAt = fromNanos(status.created_at());
  c.startedAt = fromNanos(status.started_at());
  c.finishedAt = fromNanos(status.finished_at());
  c.exitCode = status.exit_code();
  c.reason = status.reason();
  c.message = status.message();
  c.image = status.image().image();
  c.imageRef = status.image_ref();
  c.restartCount = static_cast<int32_t>(status.metadata().attempt());
  applyAnnotations(status.annotations(), c);
  return c;
}

RuntimeSandbox fromListedSandbox(const cri::v1::PodSandbox& sandbox,
                                 const cri::v1::PodSandboxStatus* status) {
  RuntimeSandbox s;
  s.id = sandbox.id();
  s.ready = sandbox.state() == cri::v1::SANDBOX_READY;
  s.createdAt = fromNanos(sandbox.created_at());
  s.attempt = sandbox.metadata().attempt();
  if (status != nullptr) {
    // The status is newer than the listing when both were taken in one relist.
    s.statusKnown = true;
    s.ready = status->state() == cri::v1::SANDBOX_READY;
    s.ip = status->network().ip();
    for (const cri::v1::PodIP& ip : status->network().additional_ips())
      s.additionalIps.push_back(ip.ip());
    s.hostNetwork = status->linux().namespaces().options().network() == cri::v1::NODE;
  }
  return s;
}

RuntimeListing groupRuntimePods(const RuntimeSnapshot& snapshot) {
  RuntimeListing listing;
  std::set<std::string> sandboxIds;

  auto podFor = [&](const ProtoMap& labels, const std::string& fallbackName,
                    const std::string& fallbackNamespace) -> PodRuntimeStatus& {
    std::string uid = *find(labels, kPodUidLabel);
    PodRuntimeStatus& pod = listing.pods[uid];
    if (pod.uid.empty()) {
      pod.uid = uid;
      pod.name = valueOr(labels, kPodNameLabel, fallbackName);
      pod.namespace_ = valueOr(labels, kPodNamespaceLabel, fallbackNamespace);
    }
    return pod;
  };

  for (const cri::v1::PodSandbox& sandbox : snapshot.sandboxes) {
    if (!isKubeletSandbox(sandbox)) {
      listing.foreignSandboxes.push_back(sandbox.id());
      continue;
    }
    sandboxIds.insert(sandbox.id());
    auto status = snapshot.sandboxStatuses.find(sandbox.id());
    PodRuntimeStatus& pod =
        podFor(sandbox.labels(), sandbox.metadata().name(), sandbox.metadata().namespace_());
    pod.sandboxes.push_back(fromListedSandbox(
        sandbox, status == snapshot.sandboxStatuses.end() ? nullptr : &status->second));
  }

  for (const cri::v1::Container& container : snapshot.containers) {
    if (!isKubeletContainer(container)) {
      listing.foreignContainers.push_back(container.id());
      continue;
    }
    RuntimeContainer c = fromListedContainer(container);
    auto status = snapshot.containerStatuses.find(container.id());
    if (status != snapshot.containerStatuses.end()) {
      RuntimeContainer detailed = fromContainerStatus(status->second);
      detailed.sandboxId = c.sandboxId;
      if (detailed.image.empty())
        detailed.image = c.image;
      if (detailed.imageRef.empty())
        detailed.imageRef = c.imageRef;
      c = std::move(detailed);
    }
    if (!sandboxIds.contains(c.sandboxId))
      listing.orphanContainers.push_back(c.id);
    // A container still belongs to its pod without a sandbox: its restart count and exit
    // state are part of the pod's history.
    podFor(container.labels(), "", "").containers.push_back(std::move(c));
  }

  for (auto& [uid, pod] : listing.pods) {
    // Newest first; equal creation times (coarse clocks) fall back to the attempt, then
    // to the ID so that the order is total and stable.
    std::sort(pod.sandboxes.begin(), pod.sandboxes.end(),
              [](const RuntimeSandbox& a, const RuntimeSandbox& b) {
                return std::tie(b.createdAt, b.attempt, b.id) <
                       std::tie(a.createdAt, a.attempt, a.id);
              });
    std::sort(pod.containers.begin(), pod.containers.end(),
              [](const RuntimeContainer& a, const RuntimeContainer& b) {
                return std::tie(b.createdAt, b.restartCount, b.id) <
                       std::tie(a.createdAt, a.restartCount, a.id);
              });
  }
  return listing;
}

ContainerAnnotations parseContainerAnnotations(const ProtoMap& annotations) {
  ContainerAnnotations out;
  if (auto hash = parseInt<uint64_t>(find(annotations, kContainerHashAnnotation), 16))
    out.hash = *hash;
  if (auto restarts = parseInt<int32_t>(find(annotations, kContainerRestartCountAnnotation)))
    out.restartCount = *restarts;
  out.terminationMessagePath = valueOr(annotations, kContainerTerminationMessagePathAnnotation, "");
  out.terminationMessagePolicy =
      valueOr(annotations, kContainerTerminationMessagePolicyAnnotation, "");
  out.podDeletionGracePeriod =
      parseInt<int64_t>(find(annotations, kPodDeletionGracePeriodAnnotation));
  out.podTerminationGracePeriod =
      parseInt<int64_t>(find(annotations, kPodTerminationGracePeriodAnnotation));

  // The handler and ports were written as the API encodes them: decode them the same
  // way, through a container of a pod, so that the one codec reads what it wrote.
  const std::string* preStop = find(annotations, kContainerPreStopHandlerAnnotation);
  const std::string* ports = find(annotations, kContainerPortsAnnotation);
  if (preStop == nullptr && ports == nullptr)
    return out;
  api::Json container = {{"name", "c"}};
  auto parsed = [](const std::string* text) -> std::optional<api::Json> {
    if (text == nullptr)
      return std::nullopt;
    absl::StatusOr<api::Json> json = api::parseJson(*text);
    if (!json.ok())
      return std::nullopt;
    return *std::move(json);
  };
  std::optional<api::Json> preStopJson = parsed(preStop);
  std::optional<api::Json> portsJson = parsed(ports);
  if (preStopJson && preStopJson->is_object())
    container["lifecycle"] = {{"preStop", *preStopJson}};
  if (portsJson && portsJson->is_array())
    container["ports"] = *portsJson;
  api::Json pod = {{"spec", {{"containers", api::Json::array({container})}}}};
  absl::StatusOr<api::Decoded<api::Pod>> decoded = api::fromJson<api::Pod>(pod);
  if (!decoded.ok() || decoded->object.spec.containers.empty())
    return out;
  api::Container& c = decoded->object.spec.containers.front();
  if (c.lifecycle && c.lifecycle->preStop)
    out.preStopHandler = std::move(c.lifecycle->preStop);
  out.ports = std::move(c.ports);
  return out;
}

}  // namespace kubenode::agent::pods
