#include "agent/proxy_command.h"

namespace kubenode::agent {

int runProxyCommand(int, const char* const*, std::ostream&, std::ostream& err) {
  err << "kubenode proxy: not available yet\n";
  return 2;
}

}  // namespace kubenode::agent
