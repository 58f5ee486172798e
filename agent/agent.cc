#include "agent/agent.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "agent/static_pods.h"
#include "cri/grpc_runtime_service.h"

namespace kubenode::agent {
namespace {

absl::Duration toAbsl(std::chrono::nanoseconds d) {
  return absl::Nanoseconds(d.count());
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

  if (!config.podManifestPath.empty()) {
    StaticPodScan scan = scanManifestDirectory(config.podManifestPath);
    for (const std::string& error : scan.errors)
      spdlog::error("{}", error);
    for (const std::string& warning : scan.warnings)
      spdlog::warn("{}", warning);
    for (const StaticPodScan::Found& pod : scan.pods) {
      spdlog::info("static pod {}/{} from {}: valid, {} container(s), {} init container(s)",
                   pod.pod.metadata.namespace_, pod.pod.metadata.name, pod.file,
                   pod.pod.spec.containers.size(), pod.pod.spec.initContainers.size());
    }
  }
  spdlog::info("kubenode is running");
  while (!waitForStopSignal(std::chrono::seconds(60))) {
  }
  return absl::OkStatus();
}

}  // namespace kubenode::agent
