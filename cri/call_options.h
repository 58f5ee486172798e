// Per-call options shared by RuntimeClient and ImageClient, and the client-wide
// default deadlines they fall back to.
//
// Every CRI call carries a deadline so that a wedged runtime can never block a
// pod worker forever. A caller passes CallOptions only when a call needs a
// deadline other than the client's default:
//
//   cri::CallOptions quick{.timeout = absl::Seconds(5)};
//   auto version = runtime.version(cri::kCriApiVersion, quick);
//   if (absl::IsDeadlineExceeded(version.status())) { ... }
#pragma once

#include "absl/time/time.h"

namespace kubenode::cri {

// The CRI version kubenode speaks (VersionRequest.version).
inline constexpr char kCriApiVersion[] = "v1";

struct CallOptions {
  // The whole call's deadline, measured from when the call starts.
  // absl::ZeroDuration() (the default) means "the client's default for this
  // method" (see ClientTimeouts).
  absl::Duration timeout = absl::ZeroDuration();
};

// Default deadlines of a client, chosen like the kubelet's.
struct ClientTimeouts {
  // The kubelet's --runtime-request-timeout (default 2m): every call that
  // may do real work (create a sandbox, pull an image, ...).
  absl::Duration runtime_request = absl::Minutes(2);
  // Version and Status are health checks: a runtime that cannot answer them
  // quickly is unhealthy, and the caller should know soon.
  absl::Duration health_check = absl::Seconds(10);
};

}  // namespace kubenode::cri
