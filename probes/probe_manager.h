// The probe manager: one probe worker per (pod, container, probe type), with the
// kubelet's semantics (pkg/kubelet/prober/worker.go and prober_manager.go), as a pure
// state machine. It is told the node's pods with their latest status, hands out the
// probes that are due, takes their outcomes, and reports result changes and events. A
// driver (probe_loop.h) runs it on the event loop with a timer at nextDue() and a Prober.
//
//   ProbeManager m({.start = now});
//   m.updatePods(podsWithStatus, now);
//   for (ProbeRequest& r : m.takeDue(now)) prober.probe(r.target, r.timeout, ...);
//   m.complete(r.id, outcome, now);
//   for (const ResultChange& c : m.takeResultChanges()) ... pod workers' ProbeResults
//   for (const ProbeEvent& e : m.takeEvents()) ... "Liveness probe failed: ..."
//
// Semantics kept from the kubelet:
// - Initial results: readiness Failure, liveness Success, startup Unknown, set when a
//   container (ID) is first seen; a new container ID resets everything.
// - Nothing is probed before initialDelaySeconds after the container's startedAt; the
//   first probe of each container is jittered; then one probe per periodSeconds, never two
//   at once for the same worker.
// - Liveness and readiness wait until the startup probe has succeeded; the startup probe
//   stops once it has.
// - successThreshold / failureThreshold consecutive outcomes change the result; a
//   liveness or startup Failure puts the worker on hold until a new container appears
//   (the pod worker kills and restarts it).
// - A container that is not running is reported Failure; a terminated one under
//   restartPolicy Never ends its workers. A terminating pod (deletionTimestamp) stops
//   liveness and startup probes with a last Success; readiness keeps running.
// - A probe that cannot be run (named port missing, no pod IP) is an event "<Type> probe
//   errored: ..." and leaves the result unchanged.
//
// Thread-safety: none; one thread (the event loop) uses it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "api/pod.h"
#include "probes/probe_spec.h"
#include "probes/prober.h"

namespace kubenode::probes {

// A worker's published result (the kubelet's results.Result).
enum class Result { kUnknown, kSuccess, kFailure };

struct ProbeRequest {
  uint64_t id = 0;      // give it back to complete()
  uint64_t worker = 0;  // the worker it comes from: stable while the worker lives
  std::string podUid{};
  std::string podName{};
  std::string podNamespace{};
  std::string containerName{};
  ProbeType type = ProbeType::kLiveness;
  ProbeTarget target{};
  absl::Duration timeout = absl::Seconds(1);
  absl::Time scheduled{};  // when it was due: takeDue(now) - scheduled is its lateness
};

// A worker's result changed (or was first set) for one container attempt.
struct ResultChange {
  std::string podUid{};
  std::string containerName{};
  std::string containerId{};  // runtime ID without the "containerd://" prefix
  ProbeType type = ProbeType::kLiveness;
  Result result = Result::kUnknown;
  friend bool operator==(const ResultChange&, const ResultChange&) = default;
};

// A kubelet event about a probe: Warning "Unhealthy" ("Readiness probe failed: ...",
// "Liveness probe errored: ...") or Warning "ProbeWarning".
struct ProbeEvent {
  std::string podUid{};
  std::string podName{};
  std::string podNamespace{};
  std::string containerName{};
  std::string reason{};
  std::string message{};
};

struct ProbeManagerOptions {
  // When the manager (the agent) started: workers created within one period of it spread
  // their first probe over the whole period, as the kubelet does after a restart; later
  // ones over at most kMaxFirstProbeJitter.
  absl::Time start = absl::InfinitePast();
  // Returns a value in [0, 1); injected so tests are deterministic.
  std::function<double()> random;
};

class ProbeManager {
 public:
  static constexpr absl::Duration kMaxFirstProbeJitter = absl::Seconds(1);

  explicit ProbeManager(ProbeManagerOptions options);
  ~ProbeManager();

  // The node's pods with their latest status (containerStatuses with containerID, state
  // and restart data). Creates workers for new pods' probes, ends those of pods no longer
  // listed (their results are dropped), and re-evaluates what is due.
  void updatePods(const std::vector<api::Pod>& pods, absl::Time now);

  // The probes due at `now`; each stays in flight until complete().
  std::vector<ProbeRequest> takeDue(absl::Time now);
  // The outcome of an in-flight probe (unknown ids, e.g. of a removed pod, are ignored).
  void complete(uint64_t id, const ProbeOutcome& outcome, absl::Time now);
  // The earliest time takeDue() may return something, InfiniteFuture when nothing is
  // scheduled.
  absl::Time nextDue() const;

  std::vector<ResultChange> takeResultChanges();
  std::vector<ProbeEvent> takeEvents();

  // Number of probe workers (for metrics and tests).
  size_t workerCount() const;

 private:
  struct Worker;
  using Key = std::tuple<std::string, std::string, ProbeType>;  // uid, container, type

  void setResult(Worker& w, Result r);
  // Sets w.nextRun and keeps schedule_ in step: a worker is in schedule_ exactly while it
  // waits for a tick (not done, not in flight, nextRun finite).
  void reschedule(Worker& w, absl::Time nextRun);
  void unschedule(Worker& w);
  absl::Duration firstJitter(const Worker& w, absl::Time now);

  ProbeManagerOptions options_;
  std::map<Key, std::unique_ptr<Worker>> workers_;
  std::map<uint64_t, Worker*> inFlight_;  // workers are owned by workers_
  uint64_t nextWorker_ = 1;
  std::set<std::pair<absl::Time, Worker*>> schedule_;  // earliest tick first
  uint64_t nextId_ = 1;
  std::vector<ResultChange> changes_;
  std::vector<ProbeEvent> events_;
};

}  // namespace kubenode::probes
