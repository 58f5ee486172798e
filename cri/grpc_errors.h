// Mapping of gRPC call results to absl::Status, shared by the gRPC client and
// its tests.
//
// absl::StatusCode and grpc::StatusCode use the same numbers (both follow
// google.rpc.Code), so the code is kept as is; the message gains the CRI
// method name so that a log line says which call failed:
//
//   grpc::Status s(grpc::StatusCode::NOT_FOUND, "container \"ab\" not found");
//   fromGrpcStatus("ContainerStatus", s);
//   // -> absl::NotFoundError("ContainerStatus: container \"ab\" not found")
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kubenode::cri {

// OK stays OK; anything else keeps its code and gets "<method>: " prefixed.
absl::Status fromGrpcStatus(absl::string_view method, const grpc::Status& status);

}  // namespace kubenode::cri
