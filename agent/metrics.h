// The agent's Prometheus metrics, served at /metrics of the read-only port. Names are the
// kubelet's where the meaning is the same, so existing dashboards and alerts apply:
//   kubelet_runtime_operations_total{operation_type}
//   kubelet_runtime_operations_errors_total{operation_type}
//   kubelet_runtime_operations_duration_seconds{operation_type}  (histogram)
// Pod-level metrics (start latency, running pods, restarts) join as the pod workers land.
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
  absl::Mutex mu_;
  std::map<std::string, Operation, std::less<>> operations_ ABSL_GUARDED_BY(mu_);
};

// The kubelet's operation_type for a CRI method: "RunPodSandbox" -> "run_podsandbox",
// "ListContainers" -> "list_containers".
std::string criOperationType(absl::string_view method);

}  // namespace kubenode::agent
