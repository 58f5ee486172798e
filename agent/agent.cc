#include "agent/agent.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>

#include "agent/http/http_server.h"
#include "agent/metrics.h"
#include "agent/runtime_health.h"
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
        std::unique_ptr<AgentMetrics> metrics)
      : config_(config),
        metrics_(std::move(metrics)),
        runtime_(std::move(runtime)),
        health_(*runtime_, config.containerRuntimeEndpoint),
        signals_(loop_, SIGTERM, SIGINT),
        runtimeWait_(loop_),
        readOnly_(loop_),
        healthz_(loop_) {}

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
    waitForRuntime();
    // The stop signals were blocked so that no other thread takes them; the loop's thread
    // now receives them through the signal_set.
    sigset_t set = stopSignals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    loop_.run();
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
        list.items = pods_;
        return HttpResponse{200, api::encodeJson(list), "application/json"};
      });
      readOnly_.route("/metrics", [this](const HttpRequest&) {
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
    if (!config_.podManifestPath.empty())
      startStaticPods();
    spdlog::info("kubenode is running");
  }

  void startStaticPods() {
    StaticPodSourceOptions options{.dir = config_.podManifestPath,
                                   .nodeName = nodeName(config_),
                                   .resyncPeriod = config_.fileCheckFrequency};
    staticPods_ = std::make_unique<StaticPodSource>(
        loop_, options,
        [this](const std::vector<api::Pod>& pods) {
          pods_ = pods;
          spdlog::info("static pods: {} from the manifest directory", pods.size());
          for (const api::Pod& pod : pods) {
            spdlog::info("static pod {}/{} uid {}: {} container(s), {} init container(s)",
                         pod.metadata.namespace_, pod.metadata.name, pod.metadata.uid,
                         pod.spec.containers.size(), pod.spec.initContainers.size());
          }
        },
        [](const std::string& error) { spdlog::error("{}", error); });
    if (absl::Status s = staticPods_->start(); !s.ok()) {
      spdlog::error("--pod-manifest-path: {}", std::string(s.message()));
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
  std::unique_ptr<StaticPodSource> staticPods_;
  std::vector<api::Pod> pods_;
  const absl::Time started_ = absl::Now();
  absl::Time lastComplaint_ = absl::InfinitePast();
};

}  // namespace

void blockStopSignals() {
  sigset_t set = stopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status runAgent(const AgentConfig& config) {
  auto metrics = std::make_unique<AgentMetrics>();
  cri::GrpcRuntimeServiceOptions options;
  options.timeouts.runtime_request = toAbsl(config.runtimeRequestTimeout);
  options.on_call_done = metrics->criObserver();
  absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> runtime =
      cri::GrpcRuntimeService::create(config.containerRuntimeEndpoint, options);
  if (!runtime.ok())
    return runtime.status();
  Agent agent(config, std::move(*runtime), std::move(metrics));
  return agent.run();
}

}  // namespace kubenode::agent
