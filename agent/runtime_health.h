// Runtime health: whether the container runtime answers, and since when it has not.
// A monitor thread asks the runtime for its Status every period with a short deadline and
// records the outcome; /healthz reads the verdict. A hung or absent runtime turns the agent
// unhealthy with a message naming the runtime and how long it has been silent (the
// kubelet's "PLEG is not healthy", said plainly), and nothing else reacts to it: no pod is
// killed or restarted because the runtime is slow.
//
//   RuntimeHealthMonitor monitor(runtime, "unix:///run/containerd/containerd.sock");
//   monitor.start();
//   RuntimeHealthVerdict v = monitor.verdict(absl::Now());
//   if (!v.healthy) log(v.message);
#pragma once

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cri/runtime_client.h"

namespace kubenode::agent {

struct RuntimeHealthVerdict {
  bool healthy = false;
  std::string message;  // "ok", or why not
};

struct RuntimeHealthRecord {
  absl::Time started = absl::InfinitePast();      // when monitoring began
  absl::Time lastSuccess = absl::InfinitePast();  // last Status answered with RuntimeReady
  std::string lastError{};                        // the last failure, "" after a success
};

// Pure: the verdict for a record at `now`. Unhealthy when the runtime has not answered
// for longer than `threshold` (counted from the start when it never answered).
RuntimeHealthVerdict judgeRuntimeHealth(const RuntimeHealthRecord& record,
                                        std::string_view endpoint, absl::Time now,
                                        absl::Duration threshold);

class RuntimeHealthMonitor {
 public:
  struct Options {
    absl::Duration period = absl::Seconds(2);
    absl::Duration callTimeout = absl::Seconds(2);
    absl::Duration threshold = absl::Seconds(10);
  };

  // `runtime` must outlive the monitor.
  RuntimeHealthMonitor(cri::RuntimeClient& runtime, std::string endpoint, Options options);
  RuntimeHealthMonitor(cri::RuntimeClient& runtime, std::string endpoint)
      : RuntimeHealthMonitor(runtime, std::move(endpoint), Options()) {}
  ~RuntimeHealthMonitor();  // stops the thread

  void start();
  // Thread-safe.
  RuntimeHealthVerdict verdict(absl::Time now) const;
  RuntimeHealthRecord record() const;

 private:
  void run();
  void checkOnce();

  cri::RuntimeClient& runtime_;
  const std::string endpoint_;
  const Options options_;
  mutable absl::Mutex mu_;
  RuntimeHealthRecord record_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace kubenode::agent
