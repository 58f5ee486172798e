// `kubenode proxy`: subcommand entry point (being built; see the issue notes).
#pragma once

#include <ostream>

namespace kubenode::agent {

// The subcommand; argv[0] is "proxy". Returns the exit code.
int runProxyCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace kubenode::agent
