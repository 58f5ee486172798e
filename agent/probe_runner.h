// The prober inside the daemon: one event loop thread running every tcp and http probe of
// the node (probes::NetworkProber), exec probes through CRI ExecSync on a few threads
// (probes::ExecProber), and the kubelet's probe workers (probes::ProbeLoop). Result changes
// become the pod workers' ProbeResults (a liveness failure makes the pod worker restart the
// container; readiness sets Ready), probe events go to the pod's events, and the prober
// metrics to the agent's registry.
//
//   ProbeRunner probes(runtime, workers, events, metrics.registry());
//   probes.start();
//   ... after each relist, from any thread:
//   probes.setPods(workers.podsWithStatus());
//   ... on SIGTERM, before the pod workers stop:
//   probes.stop();
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/events.h"
#include "agent/pod_workers.h"
#include "agent/pods/probe_results.h"
#include "api/pod.h"
#include "cri/runtime_client.h"
#include "probes/probe_manager.h"

namespace prometheus {
class Registry;
}
namespace kubenode::probes {
class NetworkProber;
class ExecProber;
class CompositeProber;
class ProbeLoop;
}  // namespace kubenode::probes

namespace kubenode::agent {

// Folds one result change into a pod's ProbeResults: a change about another container
// attempt than the one recorded starts that container's results afresh. Pure.
void applyResultChange(pods::ProbeResults& results, const probes::ResultChange& change);

class ProbeRunner {
 public:
  ProbeRunner(cri::RuntimeClient& runtime, PodWorkers& workers, EventRecorder& events,
              prometheus::Registry* registry);
  ~ProbeRunner();  // stops

  void start();
  // Thread-safety: any thread.
  void setPods(std::vector<api::Pod> pods);
  // Stops the loop; results arriving later are dropped. Idempotent.
  void stop();

 private:
  void onResults(std::vector<probes::ResultChange> changes);  // on the loop
  void onEvents(std::vector<probes::ProbeEvent> events);      // on the loop

  PodWorkers& workers_;
  EventRecorder& events_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<probes::NetworkProber> network_;
  std::unique_ptr<probes::ExecProber> exec_;
  std::unique_ptr<probes::CompositeProber> prober_;
  std::unique_ptr<probes::ProbeLoop> loop_;
  std::map<std::string, pods::ProbeResults> results_;  // by pod UID; the loop's thread only
  std::thread thread_;
};

}  // namespace kubenode::agent
