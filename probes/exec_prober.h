// ExecProber: the exec probe handler. Each probe is one CRI ExecSync with the probe's
// timeout, run on a small thread pool of its own (ExecSync blocks for as long as the
// command runs), and its outcome is posted back to the event loop, so exec probes run
// concurrently without stalling the tcp/http probes sharing that loop. More probes than
// threads wait in the pool's queue.
//
//   boost::asio::io_context io;
//   ExecProber exec(runtime, io, {.threads = 8});
//   exec.probe(ExecTarget{.containerId = id, .command = {"cat", "/tmp/healthy"}},
//              absl::Seconds(1), [](ProbeOutcome o) { ... });   // runs on io's thread
//
// Outcomes (the kubelet's pkg/probe/exec wording):
//   exit 0         kSuccess, output = stdout then stderr (at most kMaxProbeOutputBytes)
//   exit non-zero  kFailure, output = stdout then stderr (capped)
//   timed out      kFailure, "command \"sleep 5\" timed out" (the runtime answered
//                  DeadlineExceeded, or the client's own deadline passed)
//   other errors   kFailure, the runtime's error text ("ExecSync: container ... not found")
//
// Thread-safety: probe() on the loop's thread; `done` runs on the loop's thread. The
// runtime is called from the pool's threads (RuntimeClient is thread-safe). Destruction
// waits for the ExecSync calls in progress (each bounded by its timeout) and drops probes
// still queued without calling their `done`; destroy the ExecProber before its runtime.
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "probes/prober.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace kubenode::cri {
class RuntimeClient;
}  // namespace kubenode::cri

namespace kubenode::probes {

struct ExecProberOptions {
  // ExecSync calls in flight at once; more wait in a queue. Each call blocks a thread for
  // the runtime's ~0.1 s per exec under load (measured by bench/probes): 8 sustain 50
  // exec probes a second on these 2-core machines, 4 only ~40.
  int threads = 8;
};

class ExecProber final : public Prober {
 public:
  ExecProber(cri::RuntimeClient& runtime, boost::asio::io_context& loop,
             ExecProberOptions options = {});
  ~ExecProber() override;
  ExecProber(const ExecProber&) = delete;
  ExecProber& operator=(const ExecProber&) = delete;

  // exec targets; a tcp or http target is a failure ("... need a NetworkProber").
  void probe(const ProbeTarget& target, absl::Duration timeout, ProbeDone done) override;

 private:
  cri::RuntimeClient& runtime_;
  boost::asio::io_context& loop_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace kubenode::probes
