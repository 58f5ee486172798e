// FloorLoop: the floor kubenode's prober is measured against. The least a program can do
// to run the same tcp and http probes on the same schedule: one thread, epoll, a timerfd,
// non-blocking sockets, every probe's state preallocated (no allocation per probe), the
// same request bytes as an http probe of NetworkProber, the same reset on close (no
// TIME_WAIT), and the same skip rule as the kubelet's workers (a target whose last probe
// is still in flight is not probed again until it ends). No Asio, no probe manager, no
// metrics, no timer per probe (timeouts are swept every 50 ms).
//
//   FloorLoop floor({.targets = targets, .period = absl::Seconds(1)});
//   std::thread t([&] { floor.run(); });
//   floor.setRecording(true);  ... floor.setRecording(false);
//   floor.stop(); t.join();
//   floor.stats();      // started / succeeded / failed while recording
//   floor.lateness();   // seconds, one per probe started while recording
//
// Thread-safety: run() on one thread; setRecording(), stop() and the counters of stats()
// from any thread; lateness() after run() returned.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kubenode::bench {

struct FloorTarget {
  std::string ip{};  // IPv4 literal
  uint16_t port = 0;
  bool http = false;  // GET path, 200-399 is success; otherwise a tcp connect
};

struct FloorOptions {
  std::vector<FloorTarget> targets{};
  absl::Duration period = absl::Seconds(1);
  absl::Duration timeout = absl::Seconds(1);
  std::string path = "/healthz";
  uint64_t seed = 1;  // of each target's phase within the period
  // Wake-ups on this grid: probes due within one step start together, as ProbeLoop's
  // (zero: each probe at its own time).
  absl::Duration grid = absl::Milliseconds(2);
};

struct FloorStats {
  uint64_t started = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t skipped = 0;  // due while the previous probe of the target was in flight
};

class FloorLoop {
 public:
  explicit FloorLoop(FloorOptions options);
  ~FloorLoop();
  FloorLoop(const FloorLoop&) = delete;
  FloorLoop& operator=(const FloorLoop&) = delete;

  // Probes until stop(); the error of an epoll/timerfd call otherwise.
  absl::Status run();
  void stop();
  void setRecording(bool on) { recording_.store(on, std::memory_order_relaxed); }

  FloorStats stats() const;
  const std::vector<double>& lateness() const { return lateness_; }

 private:
  struct Slot;
  void startProbe(Slot& slot, int64_t now);
  void onEvent(Slot& slot, uint32_t events);
  void onWritable(Slot& slot);
  void onReadable(Slot& slot);
  void finish(Slot& slot, bool ok);

  FloorOptions options_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> order_;  // slot indices by phase within the period
  int epoll_ = -1;
  int timer_ = -1;
  int wake_ = -1;  // eventfd: stop()
  std::atomic<bool> recording_{false};
  std::atomic<uint64_t> started_{0}, succeeded_{0}, failed_{0}, skipped_{0};
  std::vector<double> lateness_;
};

}  // namespace kubenode::bench
