// `kubenode logs`: subcommand entry point (being built; see the issue notes).
#pragma once

#include <ostream>

namespace kubenode::agent {

// The subcommand; argv[0] is "logs". Returns the exit code.
int runLogsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace kubenode::agent
