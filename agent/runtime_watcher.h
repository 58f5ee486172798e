// The runtime watcher (the kubelet's PLEG): containerd 1.6 has no event stream over CRI, so
// it relists every sandbox and container (two List calls, no per-container status) each
// period, compares each pod's (id, state) pairs with the previous relist, and reports the
// pods whose containers or sandboxes changed: a container exit reaches its pod worker
// within one period. Each relist is also handed on whole (garbage collection, orphans).
//
//   RuntimeWatcher watcher(reader, absl::Milliseconds(500),
//       [&](const std::vector<std::string>& changedUids, const pods::RuntimeSnapshot& snap) {
//         for (auto& uid : changedUids) workers.podChanged(uid);
//       });
//   watcher.start();
//
// Thread-safety: start/stop from one thread; the callback runs on the watcher's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "agent/pod_runtime_reader.h"
#include "agent/pods/runtime_listing.h"

namespace kubenode::agent {

// Pure: per pod UID, a fingerprint of its sandboxes' and containers' ids and states.
std::map<std::string, std::string> podFingerprints(const pods::RuntimeSnapshot& snapshot);

// Pure: UIDs whose fingerprint differs between two relists (appeared, changed, vanished).
std::vector<std::string> changedPods(const std::map<std::string, std::string>& before,
                                     const std::map<std::string, std::string>& after);

class RuntimeWatcher {
 public:
  using Callback = std::function<void(const std::vector<std::string>& changedUids,
                                      const pods::RuntimeSnapshot& snapshot)>;
  RuntimeWatcher(PodRuntimeReader& reader, absl::Duration period, Callback callback);
  ~RuntimeWatcher();
  void start();
  void stop();
  // Relists now instead of at the end of the period (after the agent acted, in tests).
  void poke();

 private:
  void run();
  PodRuntimeReader& reader_;
  const absl::Duration period_;
  Callback callback_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool poked_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace kubenode::agent
