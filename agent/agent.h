// The node agent's run loop: connects to the container runtime, reads the static pod
// manifests, and runs until SIGTERM or SIGINT. Pod workers, probes and the proxier are
// wired in here as they land (design.md's data flow).
//
//   blockStopSignals();                 // in main(), before any thread starts
//   return runAgent(config) ? 0 : 1;
#pragma once

#include "absl/status/status.h"
#include "agent/config.h"

namespace kubenode::agent {

// Blocks SIGTERM and SIGINT in the calling thread, so that every thread started later
// inherits the mask and the run loop alone receives them (sigtimedwait).
void blockStopSignals();

// Runs until a stop signal. Returns an error only for a failure at start-up that the
// operator must fix (e.g. a malformed runtime endpoint); an unreachable runtime is waited
// for, not fatal, since the runtime may start after the agent.
absl::Status runAgent(const AgentConfig& config);

}  // namespace kubenode::agent
