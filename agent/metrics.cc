#include "agent/metrics.h"

#include <prometheus/text_serializer.h>

#include <cctype>

namespace kubenode::agent {
namespace {

// The kubelet's runtime operation histogram buckets (seconds), from 5 ms to about 5 min.
prometheus::Histogram::BucketBoundaries operationBuckets() {
  return {.005,
          .0125,
          .03125,
          .078125,
          .1953125,
          .48828125,
          1.220703125,
          3.0517578125,
          7.62939453125,
          19.073486328125,
          47.6837158203125,
          119.20928955078125,
          298.0232238769531};
}

}  // namespace

std::string criOperationType(absl::string_view method) {
  std::string out;
  for (size_t i = 0; i < method.size(); ++i) {
    const char c = method[i];
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0)
      out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // The kubelet spells the sandbox as one word: run_podsandbox, podsandbox_status.
  for (size_t at; (at = out.find("pod_sandbox")) != std::string::npos;) {
    out.replace(at, 11, "podsandbox");
  }
  return out;
}

AgentMetrics::AgentMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      operationsTotal_(prometheus::BuildCounter()
                           .Name("kubelet_runtime_operations_total")
                           .Help("Cumulative number of runtime operations by operation type.")
                           .Register(*registry_)),
      operationErrors_(prometheus::BuildCounter()
                           .Name("kubelet_runtime_operations_errors_total")
                           .Help("Cumulative number of runtime operation errors by operation type.")
                           .Register(*registry_)),
      operationDuration_(prometheus::BuildHistogram()
                             .Name("kubelet_runtime_operations_duration_seconds")
                             .Help("Duration in seconds of runtime operations.")
                             .Register(*registry_)),
      podStartDuration_(
          prometheus::BuildHistogram()
              .Name("kubelet_pod_start_duration_seconds")
              .Help("Duration in seconds from the agent seeing a pod for the first time to the "
                    "pod starting to run.")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30,
                                                               45, 60, 120, 180, 240, 300})),
      runningPods_(prometheus::BuildGauge()
                       .Name("kubelet_running_pods")
                       .Help("Number of pods that have a running pod sandbox.")
                       .Register(*registry_)
                       .Add({})),
      runningContainers_(prometheus::BuildGauge()
                             .Name("kubelet_running_containers")
                             .Help("Number of containers currently running.")
                             .Register(*registry_)),
      restarts_(prometheus::BuildGauge()
                    .Name("kubenode_container_restarts")
                    .Help("Sum of the restart counts of the node's pods' containers.")
                    .Register(*registry_)
                    .Add({})) {}

void AgentMetrics::observePodStart(absl::Duration elapsed) {
  podStartDuration_.Observe(absl::ToDoubleSeconds(elapsed));
}

void AgentMetrics::setPodCounts(int64_t runningPods,
                                const std::map<std::string, int64_t>& containersByState,
                                int64_t restarts) {
  runningPods_.Set(static_cast<double>(runningPods));
  for (const char* state : {"running", "exited", "created", "unknown"}) {
    auto it = containersByState.find(state);
    runningContainers_.Add({{"container_state", state}})
        .Set(it == containersByState.end() ? 0.0 : static_cast<double>(it->second));
  }
  restarts_.Set(static_cast<double>(restarts));
}

AgentMetrics::Operation& AgentMetrics::operation(absl::string_view method) {
  absl::MutexLock lock(&mu_);
  auto it = operations_.find(method);
  if (it == operations_.end()) {
    const prometheus::Labels labels = {{"operation_type", criOperationType(method)}};
    it = operations_
             .emplace(std::string(method),
                      Operation{&operationsTotal_.Add(labels), &operationErrors_.Add(labels),
                                &operationDuration_.Add(labels, operationBuckets())})
             .first;
  }
  return it->second;
}

void AgentMetrics::recordCriCall(absl::string_view method, absl::Duration elapsed,
                                 const absl::Status& status) {
  Operation& op = operation(method);
  op.total->Increment();
  if (!status.ok())
    op.errors->Increment();
  op.duration->Observe(absl::ToDoubleSeconds(elapsed));
}

std::function<void(absl::string_view, absl::Duration, const absl::Status&)>
AgentMetrics::criObserver() {
  return [this](absl::string_view method, absl::Duration elapsed, const absl::Status& status) {
    recordCriCall(method, elapsed, status);
  };
}

std::string AgentMetrics::exposition() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace kubenode::agent
