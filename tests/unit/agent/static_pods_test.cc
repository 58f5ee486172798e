#include "agent/static_pods.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace kubenode::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ManifestDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kubenode-static-pods-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

constexpr char kGoodPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: httpd
    image: busybox
)";

TEST_F(ManifestDir, GoodPodsAreDecodedDefaultedAndBadFilesNamed) {
  write("a-web.yaml", kGoodPod);
  write("b-broken.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n"
        "  containers:\n  - name: c\n");
  write("c-json.json", R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},)"
                       R"("spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}})");
  write("d-service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n"
        "  ports:\n  - port: 80\n");
  write(".hidden.yaml", "garbage: [");

  StaticPodScan scan = scanManifestDirectory(dir_);
  ASSERT_EQ(scan.pods.size(), 2u);
  EXPECT_EQ(scan.pods[0].pod.metadata.name, "web");
  EXPECT_EQ(scan.pods[0].pod.metadata.namespace_, "default");
  EXPECT_THAT(scan.pods[0].file, HasSubstr("a-web.yaml"));
  EXPECT_EQ(scan.pods[1].pod.metadata.name, "j");
  ASSERT_EQ(scan.errors.size(), 2u);
  EXPECT_THAT(scan.errors[0], HasSubstr("b-broken.yaml"));
  EXPECT_THAT(scan.errors[0], HasSubstr("spec.containers[0].image: Required value"));
  EXPECT_THAT(scan.errors[1], HasSubstr("d-service.yaml: expected exactly one Pod"));
}

TEST_F(ManifestDir, AMissingDirectoryIsOneErrorNamingTheFlag) {
  StaticPodScan scan = scanManifestDirectory(dir_ + "/nope");
  EXPECT_THAT(scan.pods, IsEmpty());
  ASSERT_EQ(scan.errors.size(), 1u);
  EXPECT_THAT(scan.errors[0], HasSubstr("--pod-manifest-path: cannot read directory"));
}

}  // namespace
}  // namespace kubenode::agent
