// Puts a test process into its own network and mount namespaces, so that the private
// containerd it starts (a child, which inherits both) cannot touch the host's network or
// the host's containerd.
//
// Call it first thing in main(), while the process is still single-threaded (unshare of a
// mount namespace fails in a threaded process):
//
//   int main(int argc, char** argv) {
//     absl::Status isolated = kubenode::harness::enterPrivateNamespaces();
//     ...
//   }
//
// What the process sees afterwards:
//   - a network namespace with only `lo` (up); the CNI bridge and the pods' veths appear
//     here, so the test reaches pod IPs directly, and they all vanish with the process tree;
//   - a mount namespace whose mounts do not propagate to the host, with fresh tmpfs over
//     /run/containerd (shim sockets, runc state of ctr) and /var/lib/cni (libcni's result
//     cache), the two host paths containerd 1.6 and libcni write to whatever the config says.
#pragma once

#include "absl/status/status.h"

namespace kubenode::harness {

// Unshares CLONE_NEWNET | CLONE_NEWNS, makes every mount private, brings lo up and mounts
// the tmpfs above. kFailedPrecondition if not root or if the process is threaded.
// Idempotent: a second call does nothing.
absl::Status enterPrivateNamespaces();

// Joins the named network namespace /run/netns/NAME (as `ip netns exec` does) and then
// does what enterPrivateNamespaces() does, minus the new network namespace.
absl::Status enterNamedNetworkNamespace(const char* name);

// True once one of the functions above succeeded and the process runs in a network
// namespace other than the one it started in.
bool inPrivateNetworkNamespace();

}  // namespace kubenode::harness
