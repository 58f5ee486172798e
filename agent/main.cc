// kubenode: the node agent's entry point. Parses the command line, then runs the agent
// until SIGTERM or SIGINT.
#include <spdlog/spdlog.h>

#include <iostream>
#include <string_view>

#include "agent/agent.h"
#include "agent/command_line.h"
#include "agent/logs_command.h"
#include "agent/pods_command.h"
#include "agent/proxy_command.h"

int main(int argc, char** argv) {
  using namespace kubenode::agent;
  // Subcommands for operators; the plain command is the daemon, as the kubelet.
  if (argc > 1 && std::string_view(argv[1]) == "pods") {
    return runPodsCommand(argc - 1, argv + 1, std::cout, std::cerr);
  }
  if (argc > 1 && std::string_view(argv[1]) == "logs") {
    return runLogsCommand(argc - 1, argv + 1, std::cout, std::cerr);
  }
  if (argc > 1 && std::string_view(argv[1]) == "proxy") {
    return runProxyCommand(argc - 1, argv + 1, std::cout, std::cerr);
  }
  CommandLine cl = parseCommandLine(argc, argv);
  if (cl.exit) {
    (cl.exitCode == 0 ? std::cout : std::cerr) << cl.output;
    return cl.exitCode;
  }
  // klog-like verbosity: 0 info, 4 debug, 6 and more trace.
  spdlog::set_level(cl.config.verbosity >= 6   ? spdlog::level::trace
                    : cl.config.verbosity >= 4 ? spdlog::level::debug
                                               : spdlog::level::info);
  for (const std::string& w : cl.warnings)
    spdlog::warn("{}", w);

  blockStopSignals();
  absl::Status status = runAgent(cl.config);
  if (!status.ok()) {
    std::cerr << "kubenode: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
