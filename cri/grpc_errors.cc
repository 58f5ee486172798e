#include "cri/grpc_errors.h"

#include "absl/strings/str_cat.h"

namespace kubenode::cri {

absl::Status fromGrpcStatus(absl::string_view method, const grpc::Status& status) {
  if (status.ok())
    return absl::OkStatus();
  int code = static_cast<int>(status.error_code());
  // A code outside google.rpc.Code would only come from a broken peer; do not
  // let it pass as something a caller might retry or ignore.
  if (code < 1 || code > 16)
    code = static_cast<int>(absl::StatusCode::kUnknown);
  std::string message = status.error_message().empty()
                            ? absl::StrCat(method, ": (no message from the runtime)")
                            : absl::StrCat(method, ": ", status.error_message());
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

}  // namespace kubenode::cri
