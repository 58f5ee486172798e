// kubenode: the node agent's entry point. Parses the command line, then runs the agent
// until SIGTERM or SIGINT.
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "agent/command_line.h"

int main(int argc, char** argv) {
  using namespace kubenode::agent;
  CommandLine cl = parseCommandLine(argc, argv);
  if (cl.exit) {
    (cl.exitCode == 0 ? std::cout : std::cerr) << cl.output;
    return cl.exitCode;
  }
  for (const std::string& w : cl.warnings)
    spdlog::warn("{}", w);
  return 0;
}
