#include "agent/pods/image_ref.h"

#include <gtest/gtest.h>

namespace kubenode::agent::pods {
namespace {

TEST(NormalizeImageRef, AsContainerdNormalisesThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
      {"someone/app", "docker.io/someone/app:latest"},
      {"localhost/kubenode/pause:3.9", "localhost/kubenode/pause:3.9"},
      {"localhost/app", "localhost/app:latest"},
      {"registry.k8s.io/pause", "registry.k8s.io/pause:latest"},
      {"myregistry:5000/team/app", "myregistry:5000/team/app:latest"},
      {"myregistry:5000/team/app:v2", "myregistry:5000/team/app:v2"},
      {"busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
       "docker.io/library/busybox@sha256:"
       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
  };
  for (const auto& [in, want] : cases)
    EXPECT_EQ(normalizeImageRef(in), want) << in;
}

}  // namespace
}  // namespace kubenode::agent::pods
