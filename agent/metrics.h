// The agent's Prometheus metrics, served at /metrics of the read-only port. Names are the
// kubelet's where the meaning is the same, so existing dashboards and alerts apply:
//   kubelet_runtime_operations_total{operation_type}
//   kubelet_runtime_operations_errors_total{operation_type}
//   kubelet_runtime_operations_duration_seconds{operation_type}  (histogram)
//   kubelet_pod_start_duration_seconds  (histogram: first seen -> every container running)
//   kubelet_running_pods, kubelet_running_containers{container_state}
//   kubenode_container_restarts  (sum of the pods' restart counts; the kubelet has none)
//
//   AgentMetrics metrics;
//   options.on_call_done = metrics.criObserver();
//   server.route("/metrics", [&](const HttpRequest&) { return metrics.exposition(); });
//
// Thread-safety: every method may be called from any thread (prometheus-cpp's metrics are
// thread-safe; the operation map is guarded).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kubenode::agent {

class AgentMetrics {
 public:
  AgentMetrics();

  // Records one CRI call: counted, timed, and counted as an error unless OK.
  void recordCriCall(absl::string_view method, absl::Duration elapsed, const absl::Status& status);

  // recordCriCall as the callback GrpcRuntimeServiceOptions::on_call_done takes.
  std::function<void(absl::string_view, absl::Duration, const absl::Status&)> criObserver();

  // From the pod workers: the time from first seeing a pod to all its containers running.
  void observePodStart(absl::Duration elapsed);
  // The node's pods now, set before each scrape.
  void setPodCounts(int64_t runningPods, const std::map<std::string, int64_t>& containersByState,
                    int64_t restarts);

  // For other parts of the agent (the proxier) to register their own families.
  prometheus::Registry& registry() { return *registry_; }

  // The Prometheus text exposition format (version 0.0.4).
  std::string exposition() const;

 private:
  struct Operation {
    prometheus::Counter* total;
    prometheus::Counter* errors;
    prometheus::Histogram* duration;
  };
  Operation& operation(absl::string_view method);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& operationsTotal_;
  prometheus::Family<prometheus::Counter>& operationErrors_;
  prometheus::Family<prometheus::Histogram>& operationDuration_;
  prometheus::Histogram& podStartDuration_;
  prometheus::Gauge& runningPods_;
  prometheus::Family<prometheus::Gauge>& runningContainers_;
  prometheus::Gauge& restarts_;
  absl::Mutex mu_;
  std::map<std::string, Operation, std::less<>> operations_ ABSL_GUARDED_BY(mu_);
};

// The kubelet's operation_type for a CRI method: "RunPodSandbox" -> "run_podsandbox",
// "ListContainers" -> "list_containers".
std::string criOperationType(absl::string_view method);

}  // namespace kubenode::agent
