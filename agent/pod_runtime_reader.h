// Reads what the runtime knows about one pod (or all of them) through CRI and turns it into
// the PodRuntimeStatus the pure pod decisions take (agent/pods/runtime_listing.h). The
// kubelet's GetPodStatus: list the pod's sandboxes and containers by the pod UID label,
// then ask for the statuses that a listing lacks (IPs, exit codes, times).
//
// Statuses that cannot change are cached: an exited container's status (once it has been
// exited for kExitSettleTime, see below), and a sandbox's status while its state stays the
// same, so a pod with a long history costs two List calls
// and one ContainerStatus per live container per read.
//
//   PodRuntimeReader reader(runtime);
//   absl::StatusOr<pods::PodRuntimeStatus> s = reader.podStatus(uid);
//   absl::StatusOr<pods::RuntimeSnapshot> all = reader.relist();  // listings only
//
// Thread-safety: every method may be called from any thread; the cache has its own lock.
// The RuntimeClient must outlive the reader.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/pods/runtime_listing.h"
#include "agent/pods/runtime_pod.h"
#include "cri/runtime_client.h"

namespace kubenode::agent {

class PodRuntimeReader {
 public:
  // containerd's CRI records an OOM kill (TaskOOM: reason "OOMKilled") and the exit
  // (TaskExit: exit code, finishedAt) as two events; read between them, an OOM-killed
  // container looks like a plain "Error". The kubelet never caches and so sees the late
  // reason; this reader re-reads an exited container until it has been exited this long
  // before caching its status for good.
  static constexpr absl::Duration kExitSettleTime = absl::Seconds(2);

  // `clock` gives the wall-clock time compared with the runtime's finishedAt.
  explicit PodRuntimeReader(cri::RuntimeClient& runtime,
                            std::function<absl::Time()> clock = absl::Now)
      : runtime_(runtime), clock_(std::move(clock)) {}

  // Everything the runtime has for that pod UID; an empty status (no sandboxes, no
  // containers) when it has nothing. kUnavailable and friends when the runtime does not
  // answer.
  absl::StatusOr<pods::PodRuntimeStatus> podStatus(std::string_view uid);

  // Every sandbox and container (listings only, no statuses): what the runtime watcher
  // diffs and the garbage collector sorts. Drops cache entries of IDs no longer listed.
  absl::StatusOr<pods::RuntimeSnapshot> relist();

  // The container's status, cached when it has exited.
  absl::StatusOr<cri::v1::ContainerStatus> containerStatus(const std::string& id);

 private:
  absl::StatusOr<cri::v1::PodSandboxStatus> sandboxStatus(const cri::v1::PodSandbox& sandbox);

  cri::RuntimeClient& runtime_;
  const std::function<absl::Time()> clock_;
  absl::Mutex mu_;
  std::map<std::string, cri::v1::ContainerStatus> exited_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, cri::v1::PodSandboxStatus> sandboxes_ ABSL_GUARDED_BY(mu_);
};

// The termination message of an exited container, read as the kubelet reads it: the host
// side of the terminationMessagePath mount (4096 bytes at most), or for
// FallbackToLogsOnError after a failure, the end of its log (2048 bytes at most).
std::string terminationMessage(const cri::v1::ContainerStatus& status);

}  // namespace kubenode::agent
