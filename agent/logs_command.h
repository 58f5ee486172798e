// `kubenode logs`: a container's logs as `kubectl logs` prints them, read from the CRI log
// files containerd writes under --pod-logs-dir (rotated and compressed files included), so an
// operator on the node needs neither an API server nor kubectl.
//
//   $ kubenode logs -n kube-system web -c app --tail 20 -f
//   $ kubenode logs web --previous
//   error: previous terminated container "app" in pod "web" not found
//
// The running agent's read-only endpoint (/pods, --read-only-port) tells the pod's current UID,
// its containers in spec order and their restart counts, and when a followed container stops;
// without it the newest log directory of the pod and the files on disk stand in.
#pragma once

#include <ostream>

namespace kubenode::agent {

// The subcommand; argv[0] is "logs". Returns the exit code: 0, 1 for a pod/container that
// cannot be found or read (one "error: ..." line on `err`), 2 for bad flags.
int runLogsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace kubenode::agent
