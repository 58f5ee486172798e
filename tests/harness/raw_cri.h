// RawCri: the handful of CRI calls the harness itself needs (Status, ImageStatus,
// ListPodSandbox, StopPodSandbox, RemovePodSandbox), made over a generic gRPC stub with the
// messages encoded field by field.
//
// The harness must keep working (and above all keep cleaning up) while the project's own
// CRI client in cri/ is being changed or is broken, so it does not depend on it; the few
// field numbers used here are those of runtime.v1 (see cri/proto/runtime_v1.proto).
//
//   RawCri cri("/var/tmp/kubenode-test-ab12/containerd.sock");
//   if (cri.ready(absl::Seconds(1)).ok()) ...
//
// Thread-safety: a RawCri may be used from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubenode::harness {

class RawCri {
 public:
  explicit RawCri(const std::string& socket_path);

  // OK when Status reports RuntimeReady and NetworkReady; kUnavailable when the runtime
  // does not answer; kFailedPrecondition naming the condition that is not ready.
  absl::Status ready(absl::Duration timeout);
  // OK when the CRI image service knows the image (ImageStatus returns an image).
  absl::Status hasImage(const std::string& image, absl::Duration timeout);
  absl::StatusOr<std::vector<std::string>> listSandboxIds(absl::Duration timeout);
  absl::Status stopSandbox(const std::string& id, absl::Duration timeout);
  absl::Status removeSandbox(const std::string& id, absl::Duration timeout);

 private:
  // One unary call with already encoded request bytes; returns the response bytes.
  absl::StatusOr<std::string> call(const std::string& method, const std::string& request,
                                   absl::Duration timeout);

  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace kubenode::harness
