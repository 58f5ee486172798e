// The pod's files on the node, under `<root-dir>/pods/<uid>/` as the kubelet lays them out:
// emptyDir volumes (`volumes/kubernetes.io~empty-dir/<name>`, a tmpfs for medium Memory,
// sized by sizeLimit), hostPath checks by type, the pod's hosts file (`etc-hosts`) and one
// termination-message file per container attempt (`containers/<name>/<id>`). Set up before
// the sandbox, torn down (tmpfs unmounted first) after it.
//
//   PodVolumes volumes(node);
//   if (absl::Status s = volumes.setUp(pod); !s.ok()) ...  // FailedMount: s.message()
//   volumes.tearDown(pod.metadata.uid);
//
// Thread-safety: reentrant; each pod's directory belongs to its pod worker.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/pods/container_config.h"
#include "api/pod.h"

namespace kubenode::agent {

class PodVolumes {
 public:
  explicit PodVolumes(pods::NodeSettings node) : node_(std::move(node)) {}

  // `<root-dir>/pods/<uid>`.
  std::string podDir(std::string_view uid) const;

  // Creates the emptyDir directories (mounting tmpfs for medium Memory) and checks the
  // hostPath volumes against their type. Idempotent. kFailedPrecondition naming the volume
  // when a hostPath does not match its type; kInternal for a failed mount.
  absl::Status setUp(const api::Pod& pod) const;

  // Writes the pod's hosts file and returns its path: localhost entries, the pod IP with
  // its host name, then hostAliases (hostNetwork pods: the node's /etc/hosts plus aliases).
  absl::StatusOr<std::string> writeEtcHosts(const api::Pod& pod,
                                            const std::vector<std::string>& podIps) const;

  // A fresh empty file for the container's termination message, mode 0666 so that any
  // user in the container can write it.
  absl::StatusOr<std::string> newTerminationMessageFile(const api::Pod& pod,
                                                        std::string_view containerName) const;

  // Unmounts what setUp mounted and removes `<root-dir>/pods/<uid>` and the pod's log
  // directory. Best effort; returns the first error.
  absl::Status tearDown(const api::Pod& pod) const;
  absl::Status tearDownUid(std::string_view uid) const;

  // UIDs that have a directory under `<root-dir>/pods`.
  std::vector<std::string> podDirs() const;

 private:
  pods::NodeSettings node_;
};

// The hosts file text (pure): what writeEtcHosts writes for a pod network pod.
std::string podHostsFile(const api::Pod& pod, const std::vector<std::string>& podIps);

}  // namespace kubenode::agent
