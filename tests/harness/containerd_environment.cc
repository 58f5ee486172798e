#include "tests/harness/containerd_environment.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "tests/harness/namespaces.h"

namespace kubenode::harness {
namespace {

PrivateContainerd* current = nullptr;

}  // namespace

ContainerdEnvironment::ContainerdEnvironment(absl::Status isolation,
                                             PrivateContainerdOptions options)
    : isolation_(std::move(isolation)), options_(std::move(options)) {}

void ContainerdEnvironment::SetUp() {
  ASSERT_TRUE(isolation_.ok()) << "cannot isolate the test: " << isolation_.message();
  containerd_ = std::make_unique<PrivateContainerd>(options_);
  absl::Status started = containerd_->start();
  ASSERT_TRUE(started.ok()) << started.message();
  current = containerd_.get();
  std::cerr << "[ harness  ] private containerd at " << containerd_->endpoint() << " ready in "
            << absl::ToInt64Milliseconds(containerd_->readyDuration()) << " ms, images in "
            << absl::ToInt64Milliseconds(containerd_->importDuration()) << " ms, pod subnet "
            << containerd_->podSubnet() << "\n";
}

void ContainerdEnvironment::TearDown() {
  current = nullptr;
  if (containerd_ != nullptr) {
    absl::Status stopped = containerd_->stop();
    EXPECT_TRUE(stopped.ok()) << stopped.message();
    containerd_.reset();
  }
}

PrivateContainerd& ContainerdEnvironment::containerd() {
  if (current == nullptr) {
    // A test ran without the environment (SetUp failed or the binary lacks it): say so
    // instead of crashing on a null instance.
    std::cerr << "ContainerdEnvironment::containerd(): no private containerd is running "
                 "(link kubenode_integration_main, and see the environment's SetUp error)\n";
    std::abort();
  }
  return *current;
}

int runIntegrationTests(int argc, char** argv) {
  // Before anything can start a thread: unshare(CLONE_NEWNS) refuses threaded callers.
  absl::Status isolation = enterPrivateNamespaces();
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ContainerdEnvironment(isolation));
  return RUN_ALL_TESTS();
}

}  // namespace kubenode::harness
