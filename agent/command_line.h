// The `kubenode` command line: every Setting as a flag with the kubelet's or
// kube-proxy's name, layered as the kubelet layers them: built-in defaults, then the
// --config file, then flags given on the command line.
//
//   CommandLine cl = parseCommandLine(argc, argv);
//   if (cl.exit) { std::cout << cl.output; return cl.exitCode; }
//   run(cl.config);
#pragma once

#include <string>
#include <vector>

#include "agent/config.h"

namespace kubenode::agent {

struct CommandLine {
  AgentConfig config;
  std::vector<std::string> warnings;  // e.g. unknown fields of the --config file
  bool exit = false;                  // --help, --version or an error: print and exit
  int exitCode = 0;
  std::string output;  // what to print before exiting: help text or one error line
};

CommandLine parseCommandLine(int argc, const char* const* argv);

}  // namespace kubenode::agent
