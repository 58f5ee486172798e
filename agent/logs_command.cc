#include "agent/logs_command.h"

namespace kubenode::agent {

int runLogsCommand(int, const char* const*, std::ostream&, std::ostream& err) {
  err << "kubenode logs: not available yet\n";
  return 2;
}

}  // namespace kubenode::agent
