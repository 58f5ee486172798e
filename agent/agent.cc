#include "agent/agent.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include "agent/events.h"
#include "agent/http/http_server.h"
#include "agent/logs/rotation.h"
#include "agent/metrics.h"
#include "agent/pod_runtime_reader.h"
#include "agent/pod_sync.h"
#include "agent/pod_workers.h"
#include "agent/pods/gc.h"
#include "agent/pods/labels.h"
#include "agent/probe_runner.h"
#include "agent/proxy_runner.h"
#include "agent/runtime_health.h"
#include "agent/runtime_watcher.h"
#include "agent/seccomp/localhost_profile.h"
#include "agent/static_pods.h"
#include "api/json_codec.h"
#include "cri/grpc_runtime_service.h"

namespace kubenode::agent {
namespace {

absl::Duration toAbsl(std::chrono::nanoseconds d) {
  return absl::Nanoseconds(d.count());
}

// --hostname-override, else the host name, lower-cased as the kubelet does.
std::string nodeName(const AgentConfig& config) {
  std::string name = config.hostnameOverride;
  if (name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    name = host;
  }
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return name;
}

// --node-ip, else the first up, non-loopback IPv4 address (the kubelet's default: the
// address of the node's hostname or its default route).
std::vector<std::string> hostIps(const AgentConfig& config) {
  if (!config.nodeIP.empty())
    return {config.nodeIP};
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET ||
        (a->ifa_flags & IFF_LOOPBACK) || !(a->ifa_flags & IFF_UP))
      continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof(text));
    out.push_back(text);
    break;
  }
  freeifaddrs(list);
  return out;
}

int64_t memoryCapacityBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:")
      return kb * 1024;
    in.ignore(256, '\n');
  }
  return 0;
}

// The kubelet protects itself from the OOM killer (-999). Where lowering is refused
// (containerd's restrict_oom_score_adj hosts, unprivileged containers) that is a warning.
void protectFromOomKiller() {
  std::ofstream out("/proc/self/oom_score_adj");
  out << "-999";
  out.flush();
  if (!out)
    spdlog::warn("could not set the agent's oom_score_adj to -999 ({}); continuing",
                 std::strerror(errno));
}

// --resolv-conf, read once at start: a file the operator named but the agent cannot read
// is a start-up error naming the flag, not a surprise at the first pod. (The kubelet
// re-reads it for every sandbox; a host's resolver file rarely changes under a node, and
// reading it once keeps a file that vanishes later from failing pods.)
absl::StatusOr<std::optional<pods::ResolvConf>> readHostResolvConf(const std::string& path) {
  if (path.empty())
    return std::optional<pods::ResolvConf>();  // no host DNS: pods get only what they ask
  std::FILE* file = std::fopen(path.c_str(), "re");
  std::string text;
  int error = file == nullptr ? errno : 0;
  if (file != nullptr) {
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
      text.append(buffer, n);
    if (std::ferror(file))
      error = errno != 0 ? errno : EIO;  // e.g. EISDIR: fopen accepts a directory
    std::fclose(file);
  }
  if (error != 0) {
    return absl::InvalidArgumentError(
        fmt::format("--resolv-conf: cannot read \"{}\": {}: expected a resolv.conf file, or "
                    "\"\" for no host DNS",
                    path, std::strerror(error)));
  }
  return std::optional<pods::ResolvConf>(pods::parseResolvConf(text));
}

PodSyncerOptions syncerOptions(const AgentConfig& config,
                               const std::optional<pods::ResolvConf>& hostResolvConf) {
  PodSyncerOptions o;
  o.node.nodeName = nodeName(config);
  o.node.rootDir = config.rootDir;
  o.node.podLogsDir = config.podLogsDir;
  o.node.clusterDns = config.clusterDNS;
  o.node.clusterDomain = config.clusterDomain;
  o.node.hostResolvConf = hostResolvConf;
  o.node.podInfraImage = config.podInfraContainerImage;
  o.hostIps = hostIps(config);
  o.node.nodeIps = o.hostIps;
  o.memoryCapacityBytes = memoryCapacityBytes();
  o.localhostSeccomp = [rootDir = config.rootDir](const std::string& profile) {
    return seccomp::loadLocalhostProfile(rootDir, profile);
  };
  return o;
}

sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Everything the run loop owns. All members are used on the loop's thread only, except
// the health monitor (its own thread, thread-safe reads).
class Agent {
 public:
  Agent(const AgentConfig& config, std::unique_ptr<cri::GrpcRuntimeService> runtime,
        std::unique_ptr<AgentMetrics> metrics, logs::RotationPolicy logPolicy,
        const std::optional<pods::ResolvConf>& hostResolvConf)
      : config_(config),
        metrics_(std::move(metrics)),
        runtime_(std::move(runtime)),
        health_(*runtime_, config.containerRuntimeEndpoint),
        signals_(loop_, SIGTERM, SIGINT),
        runtimeWait_(loop_),
        readOnly_(loop_),
        healthz_(loop_),
        reader_(*runtime_),
        events_(nodeName(config)),
        syncer_(*runtime_, *runtime_, reader_, events_, syncerOptions(config, hostResolvConf)),
        workers_(syncer_, events_,
                 {.onPodStarted = [this](absl::Duration d) { metrics_->observePodStart(d); }}),
        watcher_(reader_, absl::Milliseconds(500),
                 [this](const std::vector<std::string>& changed,
                        const pods::RuntimeSnapshot& snapshot) { onRelist(changed, snapshot); }),
        runningLogs_(*runtime_),
        logManager_(logLoop_, *runtime_, runningLogs_, logPolicy) {}

  absl::Status run() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec)
        return;
      spdlog::info("received {}, stopping (pods keep running, as with the kubelet)",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
      loop_.stop();
    });
    health_.start();
    if (absl::Status s = serveHttp(); !s.ok())
      return s;
    // kube-proxy's half: Services and EndpointSlices from the manifest directory (and, for
    // Services with a selector, slices computed from this node's pods) into nftables.
    proxy_ = std::make_unique<ProxyRunner>(
        loop_, config_, metrics_->registry(), realProxyRunnerDeps(),
        ProxyRunnerOptions{.onManifestError = [this](const std::string& error) {
          spdlog::error("{}", error);
          events_.recordForNode(kWarning, "FailedToReadPodManifest", error);
        }});
    if (absl::Status s = proxy_->start(); !s.ok())
      return s;
    // The kubelet's prober: tcp/http probes on one event loop, exec probes through CRI.
    probes_ = std::make_unique<ProbeRunner>(*runtime_, workers_, events_, &metrics_->registry());
    probes_->start();
    waitForRuntime();
    // The stop signals were blocked so that no other thread takes them; the loop's thread
    // now receives them through the signal_set.
    sigset_t set = stopSignals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    loop_.run();
    logLoop_.stop();
    if (logThread_.joinable())
      logThread_.join();
    watcher_.stop();
    if (proxy_)
      proxy_->stop();  // the rules stay, as kube-proxy leaves them
    if (probes_)
      probes_->stop();  // no probe result may reach a stopping pod worker
    if (!workers_.stop(absl::Seconds(5))) {
      // A worker is inside a long runtime call (a grace period): the pods keep running
      // and the next start adopts them, so leave without waiting for it.
      spdlog::info("kubenode stopped (a pod worker was still busy)");
      spdlog::shutdown();
      _exit(0);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status serveHttp() {
    auto healthz = [this](const HttpRequest&) {
      RuntimeHealthVerdict v = health_.verdict(absl::Now());
      return HttpResponse{v.healthy ? 200 : 500, v.message + "\n"};
    };
    if (config_.readOnlyPort != 0) {
      readOnly_.route("/healthz", healthz);
      readOnly_.route("/pods", [this](const HttpRequest&) {
        api::PodList list;
        list.typeMeta = {.apiVersion = "v1", .kind = "PodList"};
        list.items = workers_.podsWithStatus();
        std::sort(list.items.begin(), list.items.end(), [](const api::Pod& a, const api::Pod& b) {
          return std::tie(a.metadata.namespace_, a.metadata.name) <
                 std::tie(b.metadata.namespace_, b.metadata.name);
        });
        return HttpResponse{200, api::encodeJson(list), "application/json"};
      });
      readOnly_.route("/events", [this](const HttpRequest&) {
        api::EventList list;
        list.typeMeta = {.apiVersion = "v1", .kind = "EventList"};
        list.items = events_.all();
        return HttpResponse{200, api::encodeJson(list), "application/json"};
      });
      readOnly_.route("/metrics", [this](const HttpRequest&) {
        updatePodMetrics();
        return HttpResponse{200, metrics_->exposition(), "text/plain; version=0.0.4"};
      });
      absl::StatusOr<uint16_t> port = readOnly_.listen(config_.address, config_.readOnlyPort);
      if (!port.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("--read-only-port: {}", std::string(port.status().message())));
      }
      spdlog::info("read-only endpoint on http://{}:{} (/healthz, /pods, /metrics)",
                   config_.address, *port);
    }
    if (config_.healthzPort != 0) {
      healthz_.route("/healthz", healthz);
      absl::StatusOr<uint16_t> port =
          healthz_.listen(config_.healthzBindAddress, config_.healthzPort);
      if (!port.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("--healthz-port: {}", std::string(port.status().message())));
      }
    }
    return absl::OkStatus();
  }

  // The runtime may come up after the agent (systemd ordering, a restart): wait for the
  // health monitor's first answer, saying so once and then every 30 s, rather than failing.
  void waitForRuntime() {
    if (health_.record().lastSuccess != absl::InfinitePast()) {
      onRuntimeReady();
      return;
    }
    const absl::Time now = absl::Now();
    if (lastComplaint_ == absl::InfinitePast() || now - lastComplaint_ > absl::Seconds(30)) {
      if (lastComplaint_ != absl::InfinitePast() || now - started_ > absl::Seconds(3)) {
        spdlog::warn("{}; waiting for it", health_.verdict(now).message);
        lastComplaint_ = now;
      }
    }
    runtimeWait_.expires_after(std::chrono::milliseconds(200));
    runtimeWait_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec)
        waitForRuntime();
    });
  }

  void onRuntimeReady() {
    absl::StatusOr<cri::v1::VersionResponse> version =
        runtime_->version(cri::kCriApiVersion, {.timeout = absl::Seconds(5)});
    if (version.ok()) {
      spdlog::info("container runtime {} {} (CRI {}) at {}", version->runtime_name(),
                   version->runtime_version(), version->runtime_api_version(),
                   config_.containerRuntimeEndpoint);
    }
    absl::StatusOr<cri::v1::StatusResponse> status = runtime_->status(false);
    if (status.ok()) {
      for (const cri::v1::RuntimeCondition& c : status->status().conditions()) {
        spdlog::info("runtime condition {}={}{}{}", c.type(), c.status() ? "true" : "false",
                     c.reason().empty() ? "" : " reason=", c.reason());
      }
    }
    protectFromOomKiller();
    watcher_.start();
    // Rotation blocks (CRI calls, gzip of whole files): its own loop and thread, so the
    // read-only endpoint never waits for it.
    logManager_.start();
    logThread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(logLoop_);
      logLoop_.run();
    });
    if (!config_.podManifestPath.empty())
      startStaticPods();
    else
      workers_.setPods({});  // no source: every pod in the runtime is a leftover
    spdlog::info("kubenode is running");
  }

  void startStaticPods() {
    StaticPodSourceOptions options{.dir = config_.podManifestPath,
                                   .nodeName = nodeName(config_),
                                   .resyncPeriod = config_.fileCheckFrequency};
    staticPods_ = std::make_unique<StaticPodSource>(
        loop_, options,
        [this](const std::vector<api::Pod>& pods) {
          spdlog::info("static pods: {} from the manifest directory", pods.size());
          workers_.setPods(pods);
        },
        [this](const std::string& error) {
          spdlog::error("{}", error);
          events_.recordForNode(kWarning, "FailedToReadPodManifest", error);
        });
    if (absl::Status s = staticPods_->start(); !s.ok()) {
      spdlog::error("--pod-manifest-path: {}", std::string(s.message()));
    }
  }

  void updatePodMetrics() {
    int64_t runningPods = 0, restarts = 0;
    std::map<std::string, int64_t> containers;
    for (const api::Pod& pod : workers_.podsWithStatus()) {
      if (pod.status.phase == "Running")
        ++runningPods;
      for (const auto* list : {&pod.status.initContainerStatuses, &pod.status.containerStatuses}) {
        for (const api::ContainerStatus& c : *list) {
          restarts += c.restartCount;
          if (c.state.running)
            ++containers["running"];
          else if (c.state.terminated)
            ++containers["exited"];
          else if (!c.containerID.empty())
            ++containers["created"];
        }
      }
    }
    metrics_->setPodCounts(runningPods, containers, restarts);
  }

  // On the watcher's thread after each relist: wake the pods that changed; every few
  // seconds terminate pods no source wants and collect garbage.
  void onRelist(const std::vector<std::string>& changed, const pods::RuntimeSnapshot& snapshot) {
    for (const std::string& uid : changed)
      workers_.podChanged(uid);
    std::vector<api::Pod> pods = workers_.podsWithStatus();
    if (probes_)
      probes_->setPods(pods);
    if (proxy_)
      proxy_->setPods(std::move(pods));
    const absl::Time now = absl::Now();
    if (!workers_.sourcesReady() || now - lastHousekeeping_ < absl::Seconds(2))
      return;
    lastHousekeeping_ = now;
    pods::RuntimeListing listing = pods::groupRuntimePods(snapshot);
    std::set<std::string> known = workers_.knownUids();
    for (const auto& [uid, pod] : listing.pods) {
      if (known.contains(uid))
        continue;
      api::Pod orphan;
      orphan.metadata.uid = uid;
      orphan.metadata.name = pod.name;
      orphan.metadata.namespace_ = pod.namespace_;
      std::optional<int64_t> grace;
      for (const cri::v1::Container& c : snapshot.containers) {
        auto it = c.labels().find(std::string(pods::kPodUidLabel));
        if (it != c.labels().end() && it->second == uid)
          grace = pods::parseContainerAnnotations(c.annotations()).podTerminationGracePeriod;
      }
      workers_.terminateOrphan(orphan, grace);
    }
    pods::GcPlan plan = pods::planGarbageCollection(listing, known);
    for (const std::string& id : plan.containers) {
      if (absl::Status s = syncer_.removeContainer(id); !s.ok())
        spdlog::warn("garbage collection: removing container {}: {}", id, std::string(s.message()));
    }
    for (const std::string& id : plan.sandboxes) {
      if (absl::Status s = runtime_->removePodSandbox(id); !s.ok())
        spdlog::warn("garbage collection: removing sandbox {}: {}", id, std::string(s.message()));
    }
    // Directories of pods that are neither wanted nor in the runtime any more.
    PodVolumes volumes(syncer_.options().node);
    for (const std::string& uid : volumes.podDirs()) {
      if (!known.contains(uid) && !listing.pods.contains(uid))
        if (absl::Status s = volumes.tearDownUid(uid); !s.ok())
          spdlog::warn("removing the files of gone pod {}: {}", uid, std::string(s.message()));
    }
  }

  const AgentConfig& config_;
  std::unique_ptr<AgentMetrics> metrics_;  // before the runtime, which reports into it
  std::unique_ptr<cri::GrpcRuntimeService> runtime_;
  RuntimeHealthMonitor health_;
  boost::asio::io_context loop_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer runtimeWait_;
  HttpServer readOnly_;
  HttpServer healthz_;
  PodRuntimeReader reader_;
  EventRecorder events_;
  PodSyncer syncer_;
  PodWorkers workers_;
  RuntimeWatcher watcher_;
  boost::asio::io_context logLoop_;
  std::thread logThread_;
  logs::CriRunningContainerLogs runningLogs_;
  logs::ContainerLogManager logManager_;  // --container-log-max-size/-files, every 10 s
  std::unique_ptr<StaticPodSource> staticPods_;
  absl::Time lastHousekeeping_ = absl::InfinitePast();
  std::unique_ptr<ProbeRunner> probes_;  // uses the runtime, the workers and the events
  std::unique_ptr<ProxyRunner> proxy_;   // last: destroyed first
  const absl::Time started_ = absl::Now();
  absl::Time lastComplaint_ = absl::InfinitePast();
};

}  // namespace

void blockStopSignals() {
  sigset_t set = stopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status runAgent(const AgentConfig& config) {
  absl::StatusOr<std::optional<pods::ResolvConf>> hostResolvConf =
      readHostResolvConf(config.resolvConf);
  if (!hostResolvConf.ok())
    return hostResolvConf.status();
  auto metrics = std::make_unique<AgentMetrics>();
  cri::GrpcRuntimeServiceOptions options;
  options.timeouts.runtime_request = toAbsl(config.runtimeRequestTimeout);
  options.on_call_done = metrics->criObserver();
  absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> runtime =
      cri::GrpcRuntimeService::create(config.containerRuntimeEndpoint, options);
  if (!runtime.ok())
    return runtime.status();
  absl::StatusOr<logs::RotationPolicy> logPolicy =
      logs::makeRotationPolicy(config.containerLogMaxSize, config.containerLogMaxFiles);
  if (!logPolicy.ok())
    return logPolicy.status();
  Agent agent(config, std::move(*runtime), std::move(metrics), *logPolicy, *hostResolvConf);
  return agent.run();
}

}  // namespace kubenode::agent
