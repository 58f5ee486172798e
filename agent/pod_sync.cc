#include "agent/pod_sync.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <thread>

#include "agent/pods/image_ref.h"
#include "agent/pods/runtime_listing.h"
#include "api/defaults.h"
#include "probes/prober.h"

namespace kubenode::agent {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kDefaultGracePeriod = 30;
constexpr int64_t kMinimumGracePeriod = 2;  // the kubelet's minimumGracePeriodInSeconds
// Runtime calls that may take a while on a loaded node get more than the default deadline.
constexpr absl::Duration kSandboxTimeout = absl::Minutes(4);
constexpr absl::Duration kPullTimeout = absl::Minutes(10);

std::string msg(const absl::Status& s) {
  return std::string(s.message());
}

const api::Container* findContainer(const api::Pod& pod, std::string_view name) {
  for (const api::Container& c : pod.spec.initContainers) {
    if (c.name == name)
      return &c;
  }
  for (const api::Container& c : pod.spec.containers) {
    if (c.name == name)
      return &c;
  }
  return nullptr;
}

// Go's time.Duration printing as the kubelet's "Successfully pulled image ... in 1.2s".
std::string shortDuration(absl::Duration d) {
  if (d < absl::Seconds(1))
    return fmt::format("{}ms", absl::ToInt64Milliseconds(d));
  return fmt::format("{:.3g}s", absl::ToDoubleSeconds(d));
}

// A preStop/postStart httpGet: one GET with a deadline; any answer below 400 is success.
absl::Status httpGetHook(const api::HTTPGetAction& action, const std::string& defaultHost,
                         const api::Container& container, absl::Duration timeout) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  std::string host = action.host.empty() ? defaultHost : action.host;
  int port = 0;
  if (action.port.isInt()) {
    port = action.port.intValue();
  } else {
    for (const api::ContainerPort& p : container.ports) {
      if (p.name == action.port.str())
        port = p.containerPort;
    }
  }
  if (host.empty() || port <= 0)
    return absl::InvalidArgumentError(fmt::format("no host or port for http hook"));
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  boost::system::error_code ec;
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host, ec),
                                    static_cast<uint16_t>(port));
  if (ec)
    return absl::InvalidArgumentError(fmt::format("bad host {}: {}", host, ec.message()));
  stream.connect(ep, ec);
  if (ec)
    return absl::UnavailableError(ec.message());
  http::request<http::empty_body> req{http::verb::get, action.path.empty() ? "/" : action.path, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, std::string("kube-lifecycle/") + probes::kKubeVersion);
  for (const api::HTTPHeader& h : action.httpHeaders)
    req.set(h.name, h.value);
  http::write(stream, req, ec);
  if (ec)
    return absl::UnavailableError(ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec)
    return absl::UnavailableError(ec.message());
  if (res.result_int() >= 400)
    return absl::UnavailableError(fmt::format("HTTP {}", res.result_int()));
  return absl::OkStatus();
}

std::vector<std::string> podIpsOf(const pods::PodRuntimeStatus& status,
                                  const std::vector<std::string>& hostIps) {
  if (status.sandboxes.empty())
    return {};
  const pods::RuntimeSandbox& s = status.sandboxes.front();
  if (s.hostNetwork)
    return hostIps;
  std::vector<std::string> ips;
  if (!s.ip.empty())
    ips.push_back(s.ip);
  ips.insert(ips.end(), s.additionalIps.begin(), s.additionalIps.end());
  return ips;
}

}  // namespace

int64_t podGracePeriod(const api::Pod& pod, std::optional<int64_t> gracePeriodOverride) {
  int64_t grace = gracePeriodOverride.value_or(
      pod.spec.terminationGracePeriodSeconds.value_or(kDefaultGracePeriod));
  return std::max<int64_t>(grace, 0);
}

PodSyncer::PodSyncer(cri::RuntimeClient& runtime, cri::ImageClient& images,
                     PodRuntimeReader& reader, EventRecorder& events, PodSyncerOptions options,
                     std::function<absl::Time()> clock)
    : runtime_(runtime),
      images_(images),
      reader_(reader),
      events_(events),
      options_(std::move(options)),
      clock_(std::move(clock)),
      volumes_(options_.node) {}

SyncResult PodSyncer::syncPod(const api::Pod& pod, const pods::ProbeResults& probes) {
  SyncResult r;
  const std::string& uid = pod.metadata.uid;
  absl::StatusOr<pods::PodRuntimeStatus> status = reader_.podStatus(uid);
  if (!status.ok()) {
    r.error = status.status();
    r.requeueAfter = options_.retryAfterFailure;
    return r;
  }
  r.runtime = std::move(*status);
  const absl::Time now = clock_();
  pods::PodActions actions = pods::computePodActions(pod, r.runtime, probes, crashBackOff_, now);
  r.waiting = pods::waitingReasonsFromActions(pod, actions, crashBackOff_);
  for (const auto& [name, wait] : actions.backOff) {
    r.requeueAfter = std::min(r.requeueAfter, wait);
    const api::Container* c = findContainer(pod, name);
    events_.record(pod, kWarning, "BackOff",
                   fmt::format("Back-off restarting failed container {} in pod {}_{}({})", name,
                               pod.metadata.name, pod.metadata.namespace_, uid),
                   c ? containerFieldPath(pod, name) : "", now);
  }

  const bool starts = actions.createSandbox || actions.nextInitContainerToStart.has_value() ||
                      !actions.containersToStart.empty();
  bool changed = false;
  auto reread = [&] {
    if (!changed)
      return;
    absl::StatusOr<pods::PodRuntimeStatus> again = reader_.podStatus(uid);
    if (again.ok())
      r.runtime = std::move(*again);
  };

  // Step 0: the pod's files, before anything that mounts them.
  if (starts) {
    if (absl::Status s = volumes_.setUp(pod); !s.ok()) {
      events_.record(pod, kWarning, "FailedMount", msg(s), {}, now);
      r.requeueAfter = std::min(r.requeueAfter, options_.retryAfterFailure);
      return r;
    }
  }

  // Step 1: kill the pod (everything of it) when it must go or get a new sandbox.
  if (actions.killPod) {
    bool anything = std::any_of(r.runtime.containers.begin(), r.runtime.containers.end(),
                                [](const pods::RuntimeContainer& c) {
                                  return c.state == pods::ContainerState::kRunning ||
                                         c.state == pods::ContainerState::kUnknown;
                                }) ||
                    std::any_of(r.runtime.sandboxes.begin(), r.runtime.sandboxes.end(),
                                [](const pods::RuntimeSandbox& s) { return s.ready; });
    if (anything) {
      if (actions.createSandbox && actions.attempt > 0) {
        events_.record(pod, kNormal, "SandboxChanged",
                       "Pod sandbox changed, it will be killed and re-created.", {}, now);
      }
      if (absl::Status s = killPod(pod, r.runtime, std::nullopt); !s.ok()) {
        r.error = s;
        r.requeueAfter = std::min(r.requeueAfter, options_.retryAfterFailure);
        changed = true;
        reread();
        return r;
      }
      changed = true;
    }
    if (!actions.createSandbox) {
      reread();
      return r;
    }
  } else {
    // Step 2: containers that must go (spec changed, probe failed, unknown state).
    for (const auto& [id, kill] : actions.containersToKill) {
      const pods::RuntimeContainer* rc = nullptr;
      for (const pods::RuntimeContainer& c : r.runtime.containers) {
        if (c.id == id)
          rc = &c;
      }
      if (rc == nullptr)
        continue;
      const api::Container* spec = findContainer(pod, kill.name);
      int64_t grace = podGracePeriod(pod, std::nullopt);
      if (spec != nullptr && kill.reason == pods::KillReason::kLivenessProbe &&
          spec->livenessProbe && spec->livenessProbe->terminationGracePeriodSeconds)
        grace = *spec->livenessProbe->terminationGracePeriodSeconds;
      if (spec != nullptr && kill.reason == pods::KillReason::kStartupProbe && spec->startupProbe &&
          spec->startupProbe->terminationGracePeriodSeconds)
        grace = *spec->startupProbe->terminationGracePeriodSeconds;
      absl::Status error;
      killContainer(pod, spec, *rc, grace, kill.message, error);
      changed = true;
    }
  }

  // Step 3: the sandbox.
  std::string sandboxId = actions.sandboxId;
  if (actions.createSandbox) {
    std::error_code ec;
    fs::create_directories(pods::podLogDirectory(pod, options_.node), ec);
    cri::v1::PodSandboxConfig config = pods::makeSandboxConfig(pod, actions.attempt, options_.node);
    sandboxSlots_.acquire();
    absl::StatusOr<std::string> id =
        runtime_.runPodSandbox(config, "", {.timeout = kSandboxTimeout});
    sandboxSlots_.release();
    const bool killedBefore = changed;
    changed = true;
    if (!id.ok()) {
      events_.record(pod, kWarning, "FailedCreatePodSandBox",
                     fmt::format("Failed to create pod sandbox: {}", msg(id.status())), {}, now);
      r.requeueAfter = std::min(r.requeueAfter, options_.retryAfterFailure);
      reread();
      return r;
    }
    sandboxId = *id;
    // The containers' environment and hosts file need the new sandbox's IP. When nothing
    // else of the pod changed in this sync, one PodSandboxStatus gives it (re-reading the
    // whole pod costs two List calls, the runtime's most expensive reads under load);
    // after a kill the containers' states changed too (the back-off reads the exits).
    if (killedBefore || !addNewSandbox(sandboxId, config, r.runtime))
      reread();
    changed = false;
  }
  if (sandboxId.empty()) {
    reread();
    return r;
  }
  uint32_t attempt = actions.attempt;
  for (const pods::RuntimeSandbox& s : r.runtime.sandboxes) {
    if (s.id == sandboxId)
      attempt = s.attempt;
  }
  cri::v1::PodSandboxConfig sandboxConfig = pods::makeSandboxConfig(pod, attempt, options_.node);

  // Step 4: the next init container; step 5: app containers.
  auto start = [&](const api::Container& c, bool init) {
    StartOutcome out = startContainer(pod, c, init, sandboxId, sandboxConfig, r.runtime);
    changed = true;
    if (out.waiting)
      r.waiting[c.name] = *out.waiting;
    r.requeueAfter = std::min(r.requeueAfter, out.requeueAfter);
  };
  if (actions.nextInitContainerToStart.has_value()) {
    start(pod.spec.initContainers[*actions.nextInitContainerToStart], true);
  } else {
    for (const pods::ContainerToStart& s : actions.containersToStart)
      start(pod.spec.containers[s.index], false);
  }
  reread();
  return r;
}

bool PodSyncer::addNewSandbox(const std::string& sandboxId, const cri::v1::PodSandboxConfig& config,
                              pods::PodRuntimeStatus& status) {
  absl::StatusOr<cri::v1::PodSandboxStatusResponse> answer =
      runtime_.podSandboxStatus(sandboxId, false);
  if (!answer.ok() || answer->status().id() != sandboxId)
    return false;
  // The listing entry the next relist would show, from the status (a superset of it).
  const cri::v1::PodSandboxStatus& st = answer->status();
  cri::v1::PodSandbox listed;
  listed.set_id(st.id());
  *listed.mutable_metadata() = st.has_metadata() ? st.metadata() : config.metadata();
  listed.set_state(st.state());
  listed.set_created_at(st.created_at());
  *listed.mutable_labels() = st.labels();
  *listed.mutable_annotations() = st.annotations();
  status.sandboxes.insert(status.sandboxes.begin(), pods::fromListedSandbox(listed, &st));
  return true;
}

PodSyncer::ImageOutcome PodSyncer::ensureImage(const api::Pod& pod,
                                               const api::Container& container) {
  ImageOutcome out;
  const absl::Time now = clock_();
  const std::string field = containerFieldPath(pod, container.name);
  std::string policy = container.imagePullPolicy.empty()
                           ? api::defaultImagePullPolicy(container.image)
                           : container.imagePullPolicy;
  cri::v1::ImageSpec spec;
  spec.set_image(pods::normalizeImageRef(container.image));
  absl::StatusOr<cri::v1::ImageStatusResponse> present = images_.imageStatus(spec, false);
  auto take = [&](const cri::v1::Image& image) {
    out.imageRef = image.id();
    if (image.has_uid())
      out.uid = image.uid().value();
    out.username = image.username();
  };
  if (policy != "Always" && present.ok() && present->has_image()) {
    events_.record(
        pod, kNormal, "Pulled",
        fmt::format("Container image \"{}\" already present on machine", container.image), field,
        now);
    take(present->image());
    return out;
  }
  if (policy == "Never") {
    out.waiting = pods::errImageNeverPull(container);
    events_.record(pod, kWarning, "ErrImageNeverPull", out.waiting->message, field, now);
    return out;
  }
  const std::string key = pods::imagePullBackOffKey(pod, container);
  if (pullBackOff_.isInBackOff(key, now)) {
    out.waiting = pods::imagePullBackOff(container);
    out.requeueAfter = pullBackOff_.remaining(key, now);
    events_.record(pod, kNormal, "BackOff",
                   fmt::format("Back-off pulling image \"{}\"", container.image), field, now);
    return out;
  }
  events_.record(pod, kNormal, "Pulling", fmt::format("Pulling image \"{}\"", container.image),
                 field, now);
  const absl::Time began = clock_();
  absl::StatusOr<std::string> pulled =
      images_.pullImage(spec, nullptr, nullptr, {.timeout = kPullTimeout});
  if (!pulled.ok()) {
    const absl::Time failed = clock_();
    pullBackOff_.next(key, failed);
    std::string error = msg(pulled.status());
    events_.record(pod, kWarning, "Failed",
                   fmt::format("Failed to pull image \"{}\": {}", container.image, error), field,
                   failed);
    events_.record(pod, kWarning, "Failed", "Error: ErrImagePull", field, failed);
    out.waiting = pods::errImagePull(error);
    out.requeueAfter = pullBackOff_.get(key);
    return out;
  }
  events_.record(pod, kNormal, "Pulled",
                 fmt::format("Successfully pulled image \"{}\" in {}", container.image,
                             shortDuration(clock_() - began)),
                 field, clock_());
  absl::StatusOr<cri::v1::ImageStatusResponse> after = images_.imageStatus(spec, false);
  if (after.ok() && after->has_image())
    take(after->image());
  else
    out.imageRef = *pulled;
  return out;
}

PodSyncer::StartOutcome PodSyncer::startContainer(const api::Pod& pod,
                                                  const api::Container& container, bool init,
                                                  const std::string& sandboxId,
                                                  const cri::v1::PodSandboxConfig& sandboxConfig,
                                                  const pods::PodRuntimeStatus& status) {
  (void)init;
  StartOutcome out;
  const std::string field = containerFieldPath(pod, container.name);
  ImageOutcome image = ensureImage(pod, container);
  if (image.waiting) {
    out.waiting = image.waiting;
    out.requeueAfter = image.requeueAfter;
    return out;
  }
  auto fail = [&](std::string_view reason, const std::string& message) {
    events_.record(pod, kWarning, "Failed", fmt::format("Error: {}", message), field, clock_());
    out.waiting = api::ContainerStateWaiting{.reason = std::string(reason), .message = message};
    out.requeueAfter = options_.retryAfterFailure;
    return out;
  };

  pods::ContainerContext ctx;
  ctx.node = options_.node;
  const pods::RuntimeContainer* previous = status.latestContainer(container.name);
  ctx.restartCount = previous ? previous->restartCount + 1 : 0;
  ctx.podIps = podIpsOf(status, options_.hostIps);
  ctx.hostIps = options_.hostIps;
  ctx.imageRef = image.imageRef;
  ctx.imageUid = image.uid;
  ctx.imageUsername = image.username;
  ctx.volumePaths = pods::podVolumeHostPaths(pod, options_.node);
  ctx.memoryCapacityBytes = options_.memoryCapacityBytes;
  if (!container.terminationMessagePath.empty()) {
    absl::StatusOr<std::string> file = volumes_.newTerminationMessageFile(pod, container.name);
    if (!file.ok())
      return fail("CreateContainerConfigError", msg(file.status()));
    ctx.terminationMessageHostPath = *file;
  }
  absl::StatusOr<std::string> hosts = volumes_.writeEtcHosts(pod, ctx.podIps);
  if (!hosts.ok())
    return fail("CreateContainerConfigError", msg(hosts.status()));
  ctx.etcHostsHostPath = *hosts;
  std::error_code ec;
  fs::create_directories(fs::path(pods::podLogDirectory(pod, options_.node)) / container.name, ec);

  absl::StatusOr<cri::v1::ContainerConfig> config = pods::makeContainerConfig(pod, container, ctx);
  if (!config.ok())
    return fail("CreateContainerConfigError", msg(config.status()));
  // A Localhost seccomp profile is compiled with libseccomp first: a broken profile is
  // this container's error, not a failure deep inside the runtime.
  if (options_.localhostSeccomp && config->has_linux() &&
      config->linux().security_context().seccomp().profile_type() ==
          cri::v1::SecurityProfile::Localhost) {
    const api::SeccompProfile* profile = nullptr;
    if (container.securityContext && container.securityContext->seccompProfile)
      profile = &*container.securityContext->seccompProfile;
    else if (pod.spec.securityContext && pod.spec.securityContext->seccompProfile)
      profile = &*pod.spec.securityContext->seccompProfile;
    if (profile != nullptr && profile->localhostProfile) {
      absl::StatusOr<std::string> path = options_.localhostSeccomp(*profile->localhostProfile);
      if (!path.ok())
        return fail("CreateContainerError", msg(path.status()));
      config->mutable_linux()->mutable_security_context()->mutable_seccomp()->set_localhost_ref(
          *path);
    }
  }

  absl::StatusOr<std::string> id = runtime_.createContainer(sandboxId, *config, sandboxConfig);
  if (!id.ok())
    return fail("CreateContainerError", msg(id.status()));
  events_.record(pod, kNormal, "Created", fmt::format("Created container {}", container.name),
                 field, clock_());
  pods::recordContainerStart(crashBackOff_, pod, container, status, clock_());
  if (absl::Status s = runtime_.startContainer(*id); !s.ok())
    return fail("RunContainerError", msg(s));
  events_.record(pod, kNormal, "Started", fmt::format("Started container {}", container.name),
                 field, clock_());

  // postStart runs right after the start; a failure kills the container (the kubelet's
  // FailedPostStartHook), and restartPolicy decides what comes next.
  if (container.lifecycle && container.lifecycle->postStart) {
    const api::LifecycleHandler& h = *container.lifecycle->postStart;
    absl::Status hook = absl::OkStatus();
    if (h.exec) {
      absl::StatusOr<cri::v1::ExecSyncResponse> r =
          runtime_.execSync(*id, h.exec->command, absl::Seconds(30));
      if (!r.ok())
        hook = r.status();
      else if (r->exit_code() != 0)
        hook = absl::UnknownError(
            fmt::format("command exited with {}: {}", r->exit_code(), r->stdout() + r->stderr()));
    } else if (h.httpGet) {
      std::vector<std::string> ips = podIpsOf(status, options_.hostIps);
      hook = httpGetHook(*h.httpGet, ips.empty() ? "" : ips.front(), container, absl::Seconds(30));
    }
    if (!hook.ok()) {
      events_.record(pod, kWarning, "FailedPostStartHook",
                     fmt::format("PostStartHook failed: {}", msg(hook)), field, clock_());
      if (absl::Status s = runtime_.stopContainer(*id, podGracePeriod(pod, std::nullopt)); !s.ok())
        spdlog::warn("pod {}/{}: stopping container {} after its postStart hook failed: {}",
                     pod.metadata.namespace_, pod.metadata.name, container.name, msg(s));
      out.waiting =
          api::ContainerStateWaiting{.reason = "PostStartHookError", .message = msg(hook)};
    }
  }
  return out;
}

void PodSyncer::runPreStop(const api::Pod& pod, const api::Container& spec,
                           const pods::RuntimeContainer& container, absl::Duration budget) {
  const api::LifecycleHandler& h = *spec.lifecycle->preStop;
  absl::Status hook = absl::OkStatus();
  if (h.exec) {
    absl::StatusOr<cri::v1::ExecSyncResponse> r =
        runtime_.execSync(container.id, h.exec->command, budget);
    if (!r.ok())
      hook = r.status();
    else if (r->exit_code() != 0)
      hook = absl::UnknownError(fmt::format("command '{}' exited with {}: {}",
                                            fmt::join(h.exec->command, " "), r->exit_code(),
                                            r->stdout() + r->stderr()));
  } else if (h.httpGet) {
    absl::StatusOr<pods::PodRuntimeStatus> st = reader_.podStatus(pod.metadata.uid);
    std::vector<std::string> ips =
        st.ok() ? podIpsOf(*st, options_.hostIps) : std::vector<std::string>{};
    hook = httpGetHook(*h.httpGet, ips.empty() ? "" : ips.front(), spec, budget);
  }
  if (!hook.ok()) {
    events_.record(pod, kWarning, "FailedPreStopHook",
                   fmt::format("PreStopHook failed: {}", msg(hook)),
                   containerFieldPath(pod, spec.name), clock_());
  }
}

void PodSyncer::killContainer(const api::Pod& pod, const api::Container* spec,
                              const pods::RuntimeContainer& container, int64_t gracePeriod,
                              const std::string& message, absl::Status& error) {
  const absl::Time began = clock_();
  events_.record(pod, kNormal, "Killing",
                 message.empty() ? fmt::format("Stopping container {}", container.name) : message,
                 containerFieldPath(pod, container.name), began);
  if (spec != nullptr && spec->lifecycle && spec->lifecycle->preStop &&
      container.state == pods::ContainerState::kRunning && gracePeriod > 0) {
    runPreStop(pod, *spec, container, absl::Seconds(gracePeriod));
  }
  // What the hook used is taken from the grace period, but StopContainer always gets
  // at least the minimum, as the kubelet gives it.
  int64_t left = gracePeriod - absl::ToInt64Seconds(clock_() - began);
  left = std::max(left, kMinimumGracePeriod);
  if (gracePeriod == 0)
    left = 0;
  absl::Status s = runtime_.stopContainer(container.id, left,
                                          {.timeout = absl::Seconds(left) + absl::Minutes(2)});
  if (!s.ok() && !absl::IsNotFound(s)) {
    spdlog::warn("pod {}/{}: stopping container {} ({}): {}", pod.metadata.namespace_,
                 pod.metadata.name, container.name, container.id, msg(s));
    error = s;
  }
}

absl::Status PodSyncer::stopSandboxes(const pods::PodRuntimeStatus& status) {
  absl::Status first;
  for (const pods::RuntimeSandbox& s : status.sandboxes) {
    if (!s.ready)
      continue;
    absl::Status st = runtime_.stopPodSandbox(s.id, {.timeout = kSandboxTimeout});
    if (!st.ok() && !absl::IsNotFound(st) && first.ok())
      first = st;
  }
  return first;
}

absl::Status PodSyncer::killPod(const api::Pod& pod, const pods::PodRuntimeStatus& status,
                                std::optional<int64_t> gracePeriodOverride) {
  const int64_t grace = podGracePeriod(pod, gracePeriodOverride);
  std::vector<const pods::RuntimeContainer*> running;
  for (const pods::RuntimeContainer& c : status.containers) {
    if (c.state == pods::ContainerState::kRunning || c.state == pods::ContainerState::kUnknown ||
        c.state == pods::ContainerState::kCreated)
      running.push_back(&c);
  }
  // Containers stop in parallel, each with the whole grace period, as the kubelet's
  // killContainersWithSyncResult does.
  std::vector<absl::Status> errors(running.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < running.size(); ++i) {
    threads.emplace_back([&, i] {
      const pods::RuntimeContainer& c = *running[i];
      killContainer(pod, findContainer(pod, c.name), c, grace, "", errors[i]);
    });
  }
  for (std::thread& t : threads)
    t.join();
  absl::Status first;
  for (const absl::Status& e : errors) {
    if (!e.ok() && first.ok())
      first = e;
  }
  if (absl::Status s = stopSandboxes(status); !s.ok() && first.ok())
    first = s;
  return first;
}

absl::Status PodSyncer::removePod(const api::Pod& pod, const pods::PodRuntimeStatus& status) {
  absl::Status first;
  for (const pods::RuntimeSandbox& s : status.sandboxes) {
    absl::Status st = runtime_.removePodSandbox(s.id, {.timeout = kSandboxTimeout});
    if (!st.ok() && !absl::IsNotFound(st) && first.ok())
      first = st;
  }
  // Containers whose sandbox is already gone.
  for (const pods::RuntimeContainer& c : status.containers) {
    absl::Status st = runtime_.removeContainer(c.id);
    if (!st.ok() && !absl::IsNotFound(st) && first.ok())
      first = st;
  }
  if (absl::Status s = volumes_.tearDown(pod); !s.ok() && first.ok())
    first = s;
  for (const api::Container& c : pod.spec.initContainers)
    crashBackOff_.reset(pods::containerBackOffKey(pod, c, pods::containerSpecHash(c)));
  for (const api::Container& c : pod.spec.containers)
    crashBackOff_.reset(pods::containerBackOffKey(pod, c, pods::containerSpecHash(c)));
  return first;
}

absl::Status PodSyncer::removeContainer(const std::string& containerId) {
  std::string logPath;
  if (absl::StatusOr<cri::v1::ContainerStatus> st = reader_.containerStatus(containerId); st.ok())
    logPath = st->log_path();
  absl::Status s = runtime_.removeContainer(containerId);
  if (!s.ok() && !absl::IsNotFound(s))
    return s;
  // containerd leaves the log file; the kubelet removes it with the container.
  if (!logPath.empty()) {
    std::error_code ec;
    fs::remove(logPath, ec);
  }
  return absl::OkStatus();
}

}  // namespace kubenode::agent
