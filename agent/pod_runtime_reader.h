// Reads what the runtime knows about one pod (or all of them) through CRI and turns it into
// the PodRuntimeStatus the pure pod decisions take (agent/pods/runtime_listing.h). The
// kubelet's GetPodStatus: list the pod's sandboxes and containers by the pod UID label,
// then ask for the statuses that a listing lacks (IPs, exit codes, times).
//
// Statuses that cannot change are cached: an exited container's status, and a sandbox's
// status while its state stays the same, so a pod with a long history costs two List calls
// and one ContainerStatus per live container per read.
//
//   PodRuntimeReader reader(runtime);
//   absl::StatusOr<pods::PodRuntimeStatus> s = reader.podStatus(uid);
//   absl::StatusOr<pods::RuntimeSnapshot> all = reader.relist();  // listings only
//
// Thread-safety: every method may be called from any thread; the cache has its own lock.
// The RuntimeClient must outlive the reader.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/pods/runtime_listing.h"
#include "agent/pods/runtime_pod.h"
#include "cri/runtime_client.h"

namespace kubenode::agent {

class PodRuntimeReader {
 public:
  explicit PodRuntimeReader(cri::RuntimeClient& runtime) : runtime_(runtime) {}

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
  absl::Mutex mu_;
  std::map<std::string, cri::v1::ContainerStatus> exited_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, cri::v1::PodSandboxStatus> sandboxes_ ABSL_GUARDED_BY(mu_);
};

// The termination message of an exited container, read as the kubelet reads it: the host
// side of the terminationMessagePath mount (4096 bytes at most), or for
// FallbackToLogsOnError after a failure, the end of its log (2048 bytes at most).
std::string terminationMessage(const cri::v1::ContainerStatus& status);

}  // namespace kubenode::agent
