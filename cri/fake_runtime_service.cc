#include "cri/fake_runtime_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kubenode::cri {
namespace {

// Equality-only selectors, all of which must match, as CRI filters define.
bool labelsMatch(const google::protobuf::Map<std::string, std::string>& selector,
                 const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value)
      return false;
  }
  return true;
}

absl::Status prefixed(absl::string_view method, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(method, ": ", status.message()));
}

absl::Status notFound(absl::string_view method, absl::string_view kind, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(method, ": ", kind, " \"", id, "\" not found"));
}

// A stable, fake content digest for an image name (FNV-1a).
std::string imageIdFor(absl::string_view tag) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : tag) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return absl::StrFormat("sha256:%064x", hash);
}

constexpr uint64_t kFakeImageSize = 1 << 20;

}  // namespace

FakeRuntimeService::FakeRuntimeService(Clock clock) : clock_(std::move(clock)) {
  for (const char* type : {"RuntimeReady", "NetworkReady"}) {
    v1::RuntimeCondition condition;
    condition.set_type(type);
    condition.set_status(true);
    conditions_.push_back(condition);
  }
}

int64_t FakeRuntimeService::nowNanos() const {
  return absl::ToUnixNanos(clock_ ? clock_() : absl::Now());
}

absl::Status FakeRuntimeService::enter(absl::string_view method, absl::string_view target,
                                       const CallOptions& options) {
  calls_.push_back(Call{std::string(method), std::string(target), options.timeout, {}});
  auto it = injected_.find(method);
  if (it == injected_.end() || it->second.empty())
    return absl::OkStatus();
  absl::Status status = std::move(it->second.front());
  it->second.pop_front();
  return prefixed(method, status);
}

// ---------------------------------------------------------------- programming

std::string FakeRuntimeService::addImage(absl::string_view tag,
                                         std::vector<std::string> more_tags) {
  absl::MutexLock lock(&mu_);
  if (const v1::Image* existing = findImage(tag))
    return existing->id();
  v1::Image image;
  image.set_id(imageIdFor(tag));
  image.add_repo_tags(std::string(tag));
  for (std::string& more : more_tags)
    image.add_repo_tags(std::move(more));
  image.set_size(kFakeImageSize);
  image.mutable_spec()->set_image(image.id());
  images_.push_back(image);
  return image.id();
}

void FakeRuntimeService::setPullImageError(absl::string_view image, absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    pull_errors_.erase(std::string(image));
  } else {
    pull_errors_[std::string(image)] = std::move(status);
  }
}

void FakeRuntimeService::failNext(absl::string_view method, absl::Status status, int times) {
  absl::MutexLock lock(&mu_);
  auto& queue = injected_[std::string(method)];
  for (int i = 0; i < times; ++i)
    queue.push_back(status);
}

void FakeRuntimeService::clearInjectedErrors() {
  absl::MutexLock lock(&mu_);
  injected_.clear();
}

void FakeRuntimeService::setExecResult(absl::string_view container_id, std::vector<std::string> cmd,
                                       ExecResult result) {
  absl::MutexLock lock(&mu_);
  exec_results_[std::string(container_id)][std::move(cmd)] = std::move(result);
}

absl::Status FakeRuntimeService::exitContainer(absl::string_view container_id, int32_t exit_code,
                                               absl::string_view reason,
                                               absl::string_view message) {
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("exitContainer", "container", container_id);
  if (it->second.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("exitContainer: container \"", container_id, "\" is in ",
                     v1::ContainerState_Name(it->second.state), " state, not running"));
  }
  finishContainer(it->second, exit_code, reason, message);
  return absl::OkStatus();
}

absl::Status FakeRuntimeService::killSandbox(absl::string_view pod_sandbox_id) {
  absl::MutexLock lock(&mu_);
  auto it = sandboxes_.find(pod_sandbox_id);
  if (it == sandboxes_.end())
    return notFound("killSandbox", "sandbox", pod_sandbox_id);
  it->second.state = v1::SANDBOX_NOTREADY;
  for (auto& [id, container] : containers_) {
    if (container.sandbox_id == pod_sandbox_id && container.state == v1::CONTAINER_RUNNING) {
      finishContainer(container, 137, "Error", "");
    }
  }
  return absl::OkStatus();
}

void FakeRuntimeService::setRuntimeCondition(absl::string_view type, bool status,
                                             absl::string_view reason, absl::string_view message) {
  absl::MutexLock lock(&mu_);
  v1::RuntimeCondition* condition = nullptr;
  for (v1::RuntimeCondition& existing : conditions_) {
    if (existing.type() == type)
      condition = &existing;
  }
  if (condition == nullptr) {
    condition = &conditions_.emplace_back();
    condition->set_type(std::string(type));
  }
  condition->set_status(status);
  condition->set_reason(std::string(reason));
  condition->set_message(std::string(message));
}

// ---------------------------------------------------------------- inspecting

std::vector<FakeRuntimeService::Call> FakeRuntimeService::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

int FakeRuntimeService::callCount(absl::string_view method) const {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const Call& call : calls_)
    count += call.method == method ? 1 : 0;
  return count;
}

void FakeRuntimeService::clearCalls() {
  absl::MutexLock lock(&mu_);
  calls_.clear();
}

absl::StatusOr<v1::PodSandboxConfig> FakeRuntimeService::sandboxConfig(
    absl::string_view pod_sandbox_id) const {
  absl::MutexLock lock(&mu_);
  auto it = sandboxes_.find(pod_sandbox_id);
  if (it == sandboxes_.end())
    return notFound("sandboxConfig", "sandbox", pod_sandbox_id);
  return it->second.config;
}

absl::StatusOr<v1::ContainerConfig> FakeRuntimeService::containerConfig(
    absl::string_view container_id) const {
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("containerConfig", "container", container_id);
  return it->second.config;
}

// ---------------------------------------------------------------- helpers

const v1::Image* FakeRuntimeService::findImage(absl::string_view ref) const {
  for (const v1::Image& image : images_) {
    if (image.id() == ref)
      return &image;
    for (const std::string& tag : image.repo_tags()) {
      if (tag == ref)
        return &image;
    }
  }
  return nullptr;
}

void FakeRuntimeService::finishContainer(ContainerRecord& container, int32_t exit_code,
                                         absl::string_view reason, absl::string_view message) {
  container.state = v1::CONTAINER_EXITED;
  container.finished_at = nowNanos();
  container.exit_code = exit_code;
  container.reason =
      reason.empty() ? (exit_code == 0 ? "Completed" : "Error") : std::string(reason);
  container.message = std::string(message);
}

v1::ContainerStatus FakeRuntimeService::statusOf(absl::string_view id,
                                                 const ContainerRecord& container) const {
  v1::ContainerStatus status;
  status.set_id(std::string(id));
  *status.mutable_metadata() = container.config.metadata();
  status.set_state(container.state);
  status.set_created_at(container.created_at);
  status.set_started_at(container.started_at);
  status.set_finished_at(container.finished_at);
  status.set_exit_code(container.exit_code);
  *status.mutable_image() = container.config.image();
  status.set_image_ref(container.image_ref);
  status.set_reason(container.reason);
  status.set_message(container.message);
  *status.mutable_labels() = container.config.labels();
  *status.mutable_annotations() = container.config.annotations();
  *status.mutable_mounts() = container.config.mounts();
  status.set_log_path(container.log_path);
  *status.mutable_resources()->mutable_linux() = container.resources;
  return status;
}

// ---------------------------------------------------------------- RuntimeClient

absl::StatusOr<v1::VersionResponse> FakeRuntimeService::version(absl::string_view api_version,
                                                                const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("Version", "", options); !s.ok())
    return s;
  v1::VersionResponse response;
  response.set_version("0.1.0");
  response.set_runtime_name("fake");
  response.set_runtime_version("0.0.0");
  response.set_runtime_api_version(kCriApiVersion);
  return response;
}

absl::StatusOr<std::string> FakeRuntimeService::runPodSandbox(const v1::PodSandboxConfig& config,
                                                              absl::string_view runtime_handler,
                                                              const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("RunPodSandbox", "", options); !s.ok())
    return s;
  const v1::PodSandboxMetadata& meta = config.metadata();
  if (!config.has_metadata() || meta.name().empty() || meta.namespace_().empty() ||
      meta.uid().empty()) {
    return absl::InvalidArgumentError(
        "RunPodSandbox: sandbox config must include metadata with name, namespace and uid");
  }
  // containerd reserves the name built from the metadata until the sandbox is
  // removed; the kubelet bumps `attempt` to create a replacement.
  for (const auto& [id, sandbox] : sandboxes_) {
    const v1::PodSandboxMetadata& other = sandbox.config.metadata();
    if (other.name() == meta.name() && other.namespace_() == meta.namespace_() &&
        other.uid() == meta.uid() && other.attempt() == meta.attempt()) {
      return absl::AlreadyExistsError(
          absl::StrFormat("RunPodSandbox: name %s_%s_%s_%d is reserved for sandbox \"%s\"",
                          meta.name(), meta.namespace_(), meta.uid(), meta.attempt(), id));
    }
  }
  std::string id = absl::StrCat("sandbox-", next_sandbox_++);
  Sandbox sandbox;
  sandbox.config = config;
  sandbox.runtime_handler = std::string(runtime_handler);
  sandbox.created_at = nowNanos();
  const bool host_network =
      config.linux().security_context().namespace_options().network() == v1::NODE;
  if (!host_network)
    sandbox.ip = absl::StrCat("10.88.", next_ip_ / 256, ".", next_ip_ % 256);
  if (!host_network)
    ++next_ip_;
  sandboxes_.emplace(id, std::move(sandbox));
  calls_.back().target = id;
  return id;
}

absl::Status FakeRuntimeService::stopPodSandbox(absl::string_view pod_sandbox_id,
                                                const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("StopPodSandbox", pod_sandbox_id, options); !s.ok())
    return s;
  auto it = sandboxes_.find(pod_sandbox_id);
  if (it == sandboxes_.end())
    return notFound("StopPodSandbox", "sandbox", pod_sandbox_id);
  // Like containerd, stopping the sandbox kills its containers without a grace
  // period (the kubelet stops them gracefully first).
  for (auto& [id, container] : containers_) {
    if (container.sandbox_id == pod_sandbox_id && container.state == v1::CONTAINER_RUNNING) {
      finishContainer(container, 137, "Error", "");
    }
  }
  it->second.state = v1::SANDBOX_NOTREADY;
  return absl::OkStatus();
}

absl::Status FakeRuntimeService::removePodSandbox(absl::string_view pod_sandbox_id,
                                                  const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("RemovePodSandbox", pod_sandbox_id, options); !s.ok())
    return s;
  auto it = sandboxes_.find(pod_sandbox_id);
  if (it == sandboxes_.end())
    return absl::OkStatus();
  // Like containerd, a sandbox that is still ready is stopped first (its
  // containers die with it) and then removed with them.
  it->second.state = v1::SANDBOX_NOTREADY;
  for (auto c = containers_.begin(); c != containers_.end();) {
    c = c->second.sandbox_id == pod_sandbox_id ? containers_.erase(c) : std::next(c);
  }
  sandboxes_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<v1::PodSandboxStatusResponse> FakeRuntimeService::podSandboxStatus(
    absl::string_view pod_sandbox_id, bool verbose, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("PodSandboxStatus", pod_sandbox_id, options); !s.ok())
    return s;
  auto it = sandboxes_.find(pod_sandbox_id);
  if (it == sandboxes_.end())
    return notFound("PodSandboxStatus", "sandbox", pod_sandbox_id);
  const Sandbox& sandbox = it->second;
  v1::PodSandboxStatusResponse response;
  v1::PodSandboxStatus* status = response.mutable_status();
  status->set_id(std::string(pod_sandbox_id));
  *status->mutable_metadata() = sandbox.config.metadata();
  status->set_state(sandbox.state);
  status->set_created_at(sandbox.created_at);
  status->mutable_network()->set_ip(sandbox.ip);
  *status->mutable_linux()->mutable_namespaces()->mutable_options() =
      sandbox.config.linux().security_context().namespace_options();
  *status->mutable_labels() = sandbox.config.labels();
  *status->mutable_annotations() = sandbox.config.annotations();
  status->set_runtime_handler(sandbox.runtime_handler);
  return response;
}

absl::StatusOr<std::vector<v1::PodSandbox>> FakeRuntimeService::listPodSandbox(
    const v1::PodSandboxFilter& filter, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ListPodSandbox", "", options); !s.ok())
    return s;
  std::vector<v1::PodSandbox> items;
  for (const auto& [id, sandbox] : sandboxes_) {
    if (!filter.id().empty() && filter.id() != id)
      continue;
    if (filter.has_state() && filter.state().state() != sandbox.state)
      continue;
    if (!labelsMatch(filter.label_selector(), sandbox.config.labels()))
      continue;
    v1::PodSandbox& item = items.emplace_back();
    item.set_id(id);
    *item.mutable_metadata() = sandbox.config.metadata();
    item.set_state(sandbox.state);
    item.set_created_at(sandbox.created_at);
    *item.mutable_labels() = sandbox.config.labels();
    *item.mutable_annotations() = sandbox.config.annotations();
    item.set_runtime_handler(sandbox.runtime_handler);
  }
  return items;
}

absl::StatusOr<std::string> FakeRuntimeService::createContainer(
    absl::string_view pod_sandbox_id, const v1::ContainerConfig& config,
    const v1::PodSandboxConfig& sandbox_config, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("CreateContainer", pod_sandbox_id, options); !s.ok())
    return s;
  auto sandbox = sandboxes_.find(pod_sandbox_id);
  if (sandbox == sandboxes_.end())
    return notFound("CreateContainer", "sandbox", pod_sandbox_id);
  if (sandbox->second.state != v1::SANDBOX_READY) {
    return absl::FailedPreconditionError(
        absl::StrCat("CreateContainer: sandbox \"", pod_sandbox_id, "\" is not ready"));
  }
  if (!config.has_metadata() || config.metadata().name().empty()) {
    return absl::InvalidArgumentError(
        "CreateContainer: container config must include metadata with a name");
  }
  const v1::Image* image = findImage(config.image().image());
  if (image == nullptr) {
    return absl::NotFoundError(absl::StrCat("CreateContainer: failed to get image \"",
                                            config.image().image(), "\": not found"));
  }
  for (const auto& [id, other] : containers_) {
    if (other.sandbox_id == pod_sandbox_id &&
        other.config.metadata().name() == config.metadata().name() &&
        other.config.metadata().attempt() == config.metadata().attempt()) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "CreateContainer: name %s_%d in sandbox %s is reserved for container \"%s\"",
          config.metadata().name(), config.metadata().attempt(), pod_sandbox_id, id));
    }
  }
  std::string id = absl::StrCat("container-", next_container_++);
  ContainerRecord container;
  container.sandbox_id = std::string(pod_sandbox_id);
  container.config = config;
  container.image_ref = image->id();
  container.created_at = nowNanos();
  if (!config.log_path().empty()) {
    container.log_path =
        absl::StrCat(sandbox->second.config.log_directory(), "/", config.log_path());
  }
  container.resources = config.linux().resources();
  containers_.emplace(id, std::move(container));
  calls_.back().target = id;
  return id;
}

absl::Status FakeRuntimeService::startContainer(absl::string_view container_id,
                                                const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("StartContainer", container_id, options); !s.ok())
    return s;
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("StartContainer", "container", container_id);
  ContainerRecord& container = it->second;
  if (container.state != v1::CONTAINER_CREATED) {
    return absl::FailedPreconditionError(
        absl::StrCat("StartContainer: container \"", container_id, "\" is in ",
                     v1::ContainerState_Name(container.state), " state"));
  }
  if (sandboxes_.at(container.sandbox_id).state != v1::SANDBOX_READY) {
    return absl::FailedPreconditionError(absl::StrCat(
        "StartContainer: sandbox \"", container.sandbox_id, "\" of the container is not ready"));
  }
  container.state = v1::CONTAINER_RUNNING;
  container.started_at = nowNanos();
  return absl::OkStatus();
}

absl::Status FakeRuntimeService::stopContainer(absl::string_view container_id,
                                               int64_t grace_period_seconds,
                                               const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("StopContainer", container_id, options); !s.ok())
    return s;
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("StopContainer", "container", container_id);
  // Only a running container has a process to stop; containerd leaves a
  // CREATED or EXITED container as it is and reports success.
  if (it->second.state == v1::CONTAINER_RUNNING) {
    // The fake's process dies of the signal it gets: SIGTERM (128+15) within
    // a grace period, SIGKILL (128+9) without one.
    finishContainer(it->second, grace_period_seconds > 0 ? 143 : 137, "Error", "");
  }
  return absl::OkStatus();
}

absl::Status FakeRuntimeService::removeContainer(absl::string_view container_id,
                                                 const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("RemoveContainer", container_id, options); !s.ok())
    return s;
  // A running container is killed first, as CRI requires; a missing one is
  // already removed.
  containers_.erase(std::string(container_id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Container>> FakeRuntimeService::listContainers(
    const v1::ContainerFilter& filter, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ListContainers", "", options); !s.ok())
    return s;
  std::vector<v1::Container> items;
  for (const auto& [id, container] : containers_) {
    if (!filter.id().empty() && filter.id() != id)
      continue;
    if (filter.has_state() && filter.state().state() != container.state)
      continue;
    if (!filter.pod_sandbox_id().empty() && filter.pod_sandbox_id() != container.sandbox_id) {
      continue;
    }
    if (!labelsMatch(filter.label_selector(), container.config.labels()))
      continue;
    v1::Container& item = items.emplace_back();
    item.set_id(id);
    item.set_pod_sandbox_id(container.sandbox_id);
    *item.mutable_metadata() = container.config.metadata();
    *item.mutable_image() = container.config.image();
    item.set_image_ref(container.image_ref);
    item.set_state(container.state);
    item.set_created_at(container.created_at);
    *item.mutable_labels() = container.config.labels();
    *item.mutable_annotations() = container.config.annotations();
  }
  return items;
}

absl::StatusOr<v1::ContainerStatusResponse> FakeRuntimeService::containerStatus(
    absl::string_view container_id, bool verbose, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ContainerStatus", container_id, options); !s.ok())
    return s;
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("ContainerStatus", "container", container_id);
  v1::ContainerStatusResponse response;
  *response.mutable_status() = statusOf(container_id, it->second);
  return response;
}

absl::Status FakeRuntimeService::updateContainerResources(
    absl::string_view container_id, const v1::LinuxContainerResources& resources,
    const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("UpdateContainerResources", container_id, options); !s.ok()) {
    return s;
  }
  auto it = containers_.find(container_id);
  if (it == containers_.end()) {
    return notFound("UpdateContainerResources", "container", container_id);
  }
  if (it->second.state == v1::CONTAINER_EXITED) {
    return absl::FailedPreconditionError(
        absl::StrCat("UpdateContainerResources: container \"", container_id, "\" has exited"));
  }
  it->second.resources = resources;
  return absl::OkStatus();
}

absl::Status FakeRuntimeService::reopenContainerLog(absl::string_view container_id,
                                                    const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ReopenContainerLog", container_id, options); !s.ok())
    return s;
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("ReopenContainerLog", "container", container_id);
  if (it->second.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("ReopenContainerLog: container \"", container_id, "\" is not running"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ExecSyncResponse> FakeRuntimeService::execSync(
    absl::string_view container_id, const std::vector<std::string>& cmd, absl::Duration timeout,
    const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  absl::Status injected = enter("ExecSync", container_id, options);
  calls_.back().cmd = cmd;
  if (!injected.ok())
    return injected;
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("ExecSync", "container", container_id);
  if (it->second.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("ExecSync: container \"", container_id, "\" is in ",
                     v1::ContainerState_Name(it->second.state), " state, not running"));
  }
  ExecResult result;
  for (absl::string_view key : {container_id, absl::string_view()}) {
    auto programmed = exec_results_.find(key);
    if (programmed == exec_results_.end())
      continue;
    auto found = programmed->second.find(cmd);
    if (found == programmed->second.end())
      continue;
    result = found->second;
    break;
  }
  if (result.timed_out) {
    return absl::DeadlineExceededError(absl::StrCat("ExecSync: command \"", absl::StrJoin(cmd, " "),
                                                    "\" timed out after ",
                                                    absl::FormatDuration(timeout)));
  }
  v1::ExecSyncResponse response;
  response.set_stdout(result.stdout_data);
  response.set_stderr(result.stderr_data);
  response.set_exit_code(result.exit_code);
  return response;
}

absl::StatusOr<v1::ContainerStats> FakeRuntimeService::containerStats(
    absl::string_view container_id, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ContainerStats", container_id, options); !s.ok())
    return s;
  auto it = containers_.find(container_id);
  if (it == containers_.end())
    return notFound("ContainerStats", "container", container_id);
  v1::ContainerStats stats;
  stats.mutable_attributes()->set_id(std::string(container_id));
  *stats.mutable_attributes()->mutable_metadata() = it->second.config.metadata();
  *stats.mutable_attributes()->mutable_labels() = it->second.config.labels();
  *stats.mutable_attributes()->mutable_annotations() = it->second.config.annotations();
  const int64_t now = nowNanos();
  stats.mutable_cpu()->set_timestamp(now);
  stats.mutable_memory()->set_timestamp(now);
  return stats;
}

absl::StatusOr<std::vector<v1::ContainerStats>> FakeRuntimeService::listContainerStats(
    const v1::ContainerStatsFilter& filter, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ListContainerStats", "", options); !s.ok())
    return s;
  std::vector<v1::ContainerStats> items;
  const int64_t now = nowNanos();
  for (const auto& [id, container] : containers_) {
    if (container.state != v1::CONTAINER_RUNNING)
      continue;
    if (!filter.id().empty() && filter.id() != id)
      continue;
    if (!filter.pod_sandbox_id().empty() && filter.pod_sandbox_id() != container.sandbox_id) {
      continue;
    }
    if (!labelsMatch(filter.label_selector(), container.config.labels()))
      continue;
    v1::ContainerStats& stats = items.emplace_back();
    stats.mutable_attributes()->set_id(id);
    *stats.mutable_attributes()->mutable_metadata() = container.config.metadata();
    *stats.mutable_attributes()->mutable_labels() = container.config.labels();
    *stats.mutable_attributes()->mutable_annotations() = container.config.annotations();
    stats.mutable_cpu()->set_timestamp(now);
    stats.mutable_memory()->set_timestamp(now);
  }
  return items;
}

absl::StatusOr<v1::StatusResponse> FakeRuntimeService::status(bool verbose,
                                                              const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("Status", "", options); !s.ok())
    return s;
  v1::StatusResponse response;
  for (const v1::RuntimeCondition& condition : conditions_) {
    *response.mutable_status()->add_conditions() = condition;
  }
  return response;
}

// ---------------------------------------------------------------- ImageClient

absl::StatusOr<std::vector<v1::Image>> FakeRuntimeService::listImages(const v1::ImageFilter& filter,
                                                                      const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ListImages", filter.image().image(), options); !s.ok())
    return s;
  if (!filter.image().image().empty()) {
    const v1::Image* image = findImage(filter.image().image());
    if (image == nullptr)
      return std::vector<v1::Image>{};
    return std::vector<v1::Image>{*image};
  }
  return images_;
}

absl::StatusOr<v1::ImageStatusResponse> FakeRuntimeService::imageStatus(
    const v1::ImageSpec& image, bool verbose, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ImageStatus", image.image(), options); !s.ok())
    return s;
  v1::ImageStatusResponse response;
  if (const v1::Image* found = findImage(image.image()))
    *response.mutable_image() = *found;
  return response;
}

absl::StatusOr<std::string> FakeRuntimeService::pullImage(
    const v1::ImageSpec& image, const v1::AuthConfig* auth,
    const v1::PodSandboxConfig* sandbox_config, const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("PullImage", image.image(), options); !s.ok())
    return s;
  if (image.image().empty()) {
    return absl::InvalidArgumentError("PullImage: the image reference must not be empty");
  }
  if (auto error = pull_errors_.find(image.image()); error != pull_errors_.end()) {
    return prefixed("PullImage", error->second);
  }
  if (const v1::Image* found = findImage(image.image()))
    return found->id();
  v1::Image pulled;
  pulled.set_id(imageIdFor(image.image()));
  pulled.add_repo_tags(image.image());
  pulled.set_size(kFakeImageSize);
  pulled.mutable_spec()->set_image(pulled.id());
  images_.push_back(pulled);
  return pulled.id();
}

absl::Status FakeRuntimeService::removeImage(const v1::ImageSpec& image,
                                             const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("RemoveImage", image.image(), options); !s.ok())
    return s;
  const v1::Image* found = findImage(image.image());
  if (found == nullptr)
    return absl::OkStatus();
  images_.erase(images_.begin() + (found - images_.data()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::FilesystemUsage>> FakeRuntimeService::imageFsInfo(
    const CallOptions& options) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = enter("ImageFsInfo", "", options); !s.ok())
    return s;
  v1::FilesystemUsage usage;
  usage.set_timestamp(nowNanos());
  usage.mutable_fs_id()->set_mountpoint("/var/lib/containerd/io.containerd.snapshotter.v1.fake");
  usage.mutable_used_bytes()->set_value(kFakeImageSize * images_.size());
  usage.mutable_inodes_used()->set_value(images_.size());
  return std::vector<v1::FilesystemUsage>{usage};
}

}  // namespace kubenode::cri
