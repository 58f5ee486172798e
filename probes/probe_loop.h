// The probe loop: runs a ProbeManager on one Asio event loop. One timer, armed at the
// manager's nextDue(), hands the due probes to a Prober (tcp/http on the same loop, exec
// on the exec prober's threads); outcomes come back on the loop, and result changes and
// events go to the caller's callbacks. Records the kubelet's prober metrics and the
// lateness of each probe against its schedule.
//
//   boost::asio::io_context io;
//   NetworkProber network(io);  ExecProber exec(runtime, io);
//   CompositeProber prober(network, exec);
//   ProbeLoop loop(io, prober, {.onResults = ..., .onEvents = ..., .registry = &reg});
//   std::thread t([&] { io.run(); });
//   loop.updatePods(podsWithStatus);   // from any thread, after every status change
//
// Metrics (prometheus-cpp, in the registry given):
//   prober_probe_total{probe_type,result,container,pod,namespace,pod_uid}  (the kubelet's;
//     result: successful | failed | unknown)
//   prober_probe_duration_seconds{probe_type,container,pod,namespace}  (histogram)
//   kubenode_prober_probe_lateness_seconds  (histogram: start of a probe - its schedule)
//
// Thread-safety: updatePods() and stop() from any thread; the callbacks run on the loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/pod.h"
#include "probes/probe_manager.h"
#include "probes/prober.h"

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}

namespace kubenode::probes {

struct ProbeLoopOptions {
  std::function<void(std::vector<ResultChange>)> onResults{};
  std::function<void(std::vector<ProbeEvent>)> onEvents{};
  prometheus::Registry* registry = nullptr;  // no metrics when null
  std::function<double()> random{};          // [0, 1); defaults to a real generator
  // Called as each probe starts, with how late it is against its schedule (benchmarks
  // use it for exact percentiles; the metric has buckets).
  std::function<void(const ProbeRequest&, absl::Duration lateness)> onProbeStart{};
};

class ProbeLoop {
 public:
  ProbeLoop(boost::asio::io_context& io, Prober& prober, ProbeLoopOptions options);
  ~ProbeLoop();
  ProbeLoop(const ProbeLoop&) = delete;
  ProbeLoop& operator=(const ProbeLoop&) = delete;

  void updatePods(std::vector<api::Pod> pods);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace kubenode::probes
