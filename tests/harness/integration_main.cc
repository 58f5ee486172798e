// main() of every integration test binary: private network and mount namespaces, one
// private containerd for the process (tests/harness/containerd_environment.h).
#include "tests/harness/containerd_environment.h"

int main(int argc, char** argv) {
  return kubenode::harness::runIntegrationTests(argc, argv);
}
