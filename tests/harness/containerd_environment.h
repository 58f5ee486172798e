// ContainerdEnvironment: the gtest global environment of an integration test binary. It
// starts one PrivateContainerd before the first test and stops it after the last, so every
// test of the process talks to the same private containerd (each test case runs in its own
// process under ctest, so that is one containerd per case there).
//
// Integration test binaries link kubenode_integration_main, whose main() enters private
// namespaces and installs this environment; tests then reach the runtime through
//
//   kubenode::harness::PrivateContainerd& containerd = ContainerdEnvironment::containerd();
//   auto client = makeRuntimeClient(containerd.endpoint());
//
// A test binary with its own main() does the same in three lines:
//   absl::Status isolated = kubenode::harness::enterPrivateNamespaces();  // before threads
//   ::testing::InitGoogleTest(&argc, argv);
//   ::testing::AddGlobalTestEnvironment(new ContainerdEnvironment(isolated));
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "tests/harness/private_containerd.h"

namespace kubenode::harness {

class ContainerdEnvironment : public ::testing::Environment {
 public:
  // isolation: what enterPrivateNamespaces() returned; if it failed, SetUp fails with it.
  explicit ContainerdEnvironment(absl::Status isolation, PrivateContainerdOptions options = {});

  void SetUp() override;
  void TearDown() override;

  // The running instance. Only valid between SetUp and TearDown (i.e. inside tests).
  static PrivateContainerd& containerd();

 private:
  absl::Status isolation_;
  PrivateContainerdOptions options_;
  std::unique_ptr<PrivateContainerd> containerd_;
};

// main() of kubenode_integration_main: enters private namespaces, installs the
// environment, runs the tests.
int runIntegrationTests(int argc, char** argv);

}  // namespace kubenode::harness
