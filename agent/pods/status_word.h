// One pod as `kubectl get pods -o wide` prints it: READY "1/2", the STATUS word, RESTARTS
// "3 (25s ago)", AGE "3m12s", IP, NODE. The STATUS word is computed exactly as kubectl's
// pod printer computes it (printPod in pkg/printers/internalversion/printers.go), so an
// operator reads `kubenode pods` as they read kubectl: Pending, ContainerCreating,
// Init:1/2, Init:Error, Init:CrashLoopBackOff, Init:ExitCode:3, PodInitializing, Running,
// NotReady, Completed, Error, CrashLoopBackOff, ErrImagePull, ImagePullBackOff,
// Terminating, ...
//
//   PodDisplay d = displayPod(pod, absl::Now());
//   fmt::print("{} {} {} {} {}\n", d.name, d.ready, d.status, d.restarts, d.age);
//   // web 1/1 Running 3 (25s ago) 5m12s
//
// Thread-safety: reentrant; values in, values out.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "api/pod.h"

namespace kubenode::agent::pods {

struct PodDisplay {
  std::string name{};
  std::string ready{};     // "<ready app containers>/<app containers>"
  std::string status{};    // the STATUS word
  std::string restarts{};  // "0", or "3 (25s ago)" after the last restart
  std::string age{};       // since creationTimestamp; "<unknown>" without one
  std::string ip{};        // status.podIP, "<none>" without one
  std::string node{};      // spec.nodeName, "<none>" without one
  friend bool operator==(const PodDisplay&, const PodDisplay&) = default;
};

PodDisplay displayPod(const api::Pod& pod, absl::Time now);

// apimachinery's duration.HumanDuration, which kubectl prints ages with: "45s", "2m5s",
// "12m", "5h3m", "20h", "3d4h", "45d", "2y30d"; "0s" up to 2 s in the future,
// "<invalid>" beyond.
std::string humanDuration(absl::Duration d);

}  // namespace kubenode::agent::pods
