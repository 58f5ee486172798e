#include "agent/probe_runner.h"

#include <boost/asio/post.hpp>
#include <set>

#include "probes/exec_prober.h"
#include "probes/network_prober.h"
#include "probes/probe_loop.h"
#include "probes/prober.h"
#include "spdlog/spdlog.h"

namespace kubenode::agent {

namespace {

pods::ProbeResult toPodsResult(probes::Result r) {
  switch (r) {
    case probes::Result::kSuccess:
      return pods::ProbeResult::kSuccess;
    case probes::Result::kFailure:
      return pods::ProbeResult::kFailure;
    case probes::Result::kUnknown:
      break;
  }
  return pods::ProbeResult::kUnknown;
}

}  // namespace

void applyResultChange(pods::ProbeResults& results, const probes::ResultChange& change) {
  pods::ContainerProbeResults& c = results.byName[change.containerName];
  if (c.containerId != change.containerId)
    c = pods::ContainerProbeResults{.containerId = change.containerId};
  const pods::ProbeResult r = toPodsResult(change.result);
  switch (change.type) {
    case probes::ProbeType::kLiveness:
      c.liveness = r;
      break;
    case probes::ProbeType::kReadiness:
      c.readiness = r;
      break;
    case probes::ProbeType::kStartup:
      c.startup = r;
      break;
  }
}

ProbeRunner::ProbeRunner(cri::RuntimeClient& runtime, PodWorkers& workers, EventRecorder& events,
                         prometheus::Registry* registry)
    : workers_(workers), events_(events) {
  network_ = std::make_unique<probes::NetworkProber>(io_);
  exec_ = std::make_unique<probes::ExecProber>(runtime, io_);
  prober_ = std::make_unique<probes::CompositeProber>(*network_, *exec_);
  loop_ = std::make_unique<probes::ProbeLoop>(
      io_, *prober_,
      probes::ProbeLoopOptions{
          .onResults = [this](std::vector<probes::ResultChange> c) { onResults(std::move(c)); },
          .onEvents = [this](std::vector<probes::ProbeEvent> e) { onEvents(std::move(e)); },
          .registry = registry});
}

ProbeRunner::~ProbeRunner() {
  stop();
  // The exec prober joins its ExecSync calls (each bounded by its probe's timeout).
  loop_.reset();
  prober_.reset();
  exec_.reset();
  network_.reset();
}

void ProbeRunner::start() {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
}

void ProbeRunner::setPods(std::vector<api::Pod> pods) {
  loop_->updatePods(std::move(pods));
}

void ProbeRunner::stop() {
  if (!thread_.joinable())
    return;
  work_.reset();
  io_.stop();
  thread_.join();
}

void ProbeRunner::onResults(std::vector<probes::ResultChange> changes) {
  std::set<std::string> touched;
  for (const probes::ResultChange& c : changes) {
    applyResultChange(results_[c.podUid], c);
    touched.insert(c.podUid);
    spdlog::debug("probe: {} container {} ({}) {} -> {}", c.podUid, c.containerName, c.containerId,
                  probes::toString(c.type), static_cast<int>(c.result));
  }
  for (const std::string& uid : touched)
    workers_.setProbeResults(uid, results_[uid]);
}

void ProbeRunner::onEvents(std::vector<probes::ProbeEvent> events) {
  for (probes::ProbeEvent& e : events) {
    api::Pod ref;
    ref.metadata.uid = e.podUid;
    ref.metadata.name = e.podName;
    ref.metadata.namespace_ = e.podNamespace;
    spdlog::info("pod {}/{} container {}: {}", e.podNamespace, e.podName, e.containerName,
                 e.message);
    events_.record(ref, "Warning", e.reason, std::move(e.message),
                   "spec.containers{" + e.containerName + "}");
  }
}

}  // namespace kubenode::agent
