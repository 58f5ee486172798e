// `kubenode pods`: the node's pods as `kubectl get pods -o wide` prints them, read from the
// running agent's read-only endpoint (/pods), so an operator on the node needs no API
// server and no kubectl.
//
//   $ kubenode pods -A
//   NAMESPACE   NAME          READY   STATUS    RESTARTS      AGE   IP           NODE
//   default     web-node-a    1/1     Running   2 (40s ago)   5m    10.88.0.12   node-a
#pragma once

#include <ostream>
#include <vector>

#include "absl/time/time.h"
#include "api/pod.h"

namespace kubenode::agent {

// Pure: the table for these pods at `now`, columns padded as kubectl's tabwriter pads them
// (three spaces between columns). Pods in the order given.
std::string formatPodTable(const std::vector<api::Pod>& pods, absl::Time now, bool withNamespace);

// The subcommand; argv[0] is "pods". Returns the exit code.
int runPodsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace kubenode::agent
