#include "agent/agent.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "agent/static_pods.h"
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

// Waits up to `timeout` for SIGTERM/SIGINT; true if one arrived.
bool waitForStopSignal(std::chrono::milliseconds timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>((timeout.count() % 1000) * 1000000)};
  int sig = sigtimedwait(&set, nullptr, &ts);
  if (sig > 0) {
    spdlog::info("received {}, stopping (pods keep running, as with the kubelet)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return true;
  }
  return false;
}

}  // namespace

void blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status runAgent(const AgentConfig& config) {
  cri::GrpcRuntimeServiceOptions options;
  options.timeouts.runtime_request = toAbsl(config.runtimeRequestTimeout);
  absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> runtime =
      cri::GrpcRuntimeService::create(config.containerRuntimeEndpoint, options);
  if (!runtime.ok())
    return runtime.status();

  // The runtime may come up after the agent (systemd ordering, a restart): wait for it,
  // saying so once, then again every 30 s, rather than failing.
  std::optional<std::chrono::steady_clock::time_point> lastComplaint;
  for (;;) {
    absl::StatusOr<cri::v1::VersionResponse> version =
        (*runtime)->version(cri::kCriApiVersion, {.timeout = absl::Seconds(5)});
    if (version.ok()) {
      spdlog::info("container runtime {} {} (CRI {}) at {}", version->runtime_name(),
                   version->runtime_version(), version->runtime_api_version(),
                   config.containerRuntimeEndpoint);
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (!lastComplaint || now - *lastComplaint > std::chrono::seconds(30)) {
      spdlog::warn("container runtime at {} is not answering ({}); waiting for it",
                   config.containerRuntimeEndpoint, std::string(version.status().message()));
      lastComplaint = now;
    }
    if (waitForStopSignal(std::chrono::seconds(1)))
      return absl::OkStatus();
  }

  absl::StatusOr<cri::v1::StatusResponse> status = (*runtime)->status(false);
  if (status.ok()) {
    for (const cri::v1::RuntimeCondition& c : status->status().conditions()) {
      spdlog::info("runtime condition {}={}{}{}", c.type(), c.status() ? "true" : "false",
                   c.reason().empty() ? "" : " reason=", c.reason());
    }
  }

  boost::asio::io_context loop;
  boost::asio::signal_set stopSignals(loop, SIGTERM, SIGINT);
  stopSignals.async_wait([&loop](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    spdlog::info("received {}, stopping (pods keep running, as with the kubelet)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    loop.stop();
  });

  std::unique_ptr<StaticPodSource> staticPods;
  if (!config.podManifestPath.empty()) {
    StaticPodSourceOptions options{.dir = config.podManifestPath,
                                   .nodeName = nodeName(config),
                                   .resyncPeriod = config.fileCheckFrequency};
    staticPods = std::make_unique<StaticPodSource>(
        loop, options,
        [](const std::vector<api::Pod>& pods) {
          spdlog::info("static pods: {} from the manifest directory", pods.size());
          for (const api::Pod& pod : pods) {
            spdlog::info("static pod {}/{} uid {}: {} container(s), {} init container(s)",
                         pod.metadata.namespace_, pod.metadata.name, pod.metadata.uid,
                         pod.spec.containers.size(), pod.spec.initContainers.size());
          }
        },
        [](const std::string& error) { spdlog::error("{}", error); });
    if (absl::Status s = staticPods->start(); !s.ok())
      return s;
  }
  spdlog::info("kubenode is running");
  // The stop signals were blocked so that no other thread takes them; the loop's thread
  // now receives them through the signal_set.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  loop.run();
  return absl::OkStatus();
}

}  // namespace kubenode::agent
