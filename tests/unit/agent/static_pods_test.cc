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
  write("e-mixed.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n"
        "  ports:\n  - port: 80\n---\n" +
            std::string(kGoodPod));
  write(".hidden.yaml", "garbage: [");

  StaticPodScan scan = scanManifestDirectory(dir_);
  ASSERT_EQ(scan.pods.size(), 2u);
  EXPECT_EQ(scan.pods[0].pod.metadata.name, "web");
  EXPECT_EQ(scan.pods[0].pod.metadata.namespace_, "default");
  EXPECT_THAT(scan.pods[0].file, HasSubstr("a-web.yaml"));
  EXPECT_EQ(scan.pods[1].pod.metadata.name, "j");
  ASSERT_EQ(scan.errors.size(), 2u);
  EXPECT_THAT(scan.errors[0].file, HasSubstr("b-broken.yaml"));
  EXPECT_THAT(scan.errors[0].message, HasSubstr("b-broken.yaml"));
  EXPECT_THAT(scan.errors[0].message, HasSubstr("spec.containers[0].image: Required value"));
  // Services and EndpointSlices belong to the proxier: skipped without a word. A file
  // mixing them with a pod is not a static pod manifest.
  EXPECT_THAT(scan.errors[1].message, HasSubstr("e-mixed.yaml: expected exactly one Pod"));
}

TEST_F(ManifestDir, AMissingDirectoryIsOneErrorNamingTheFlag) {
  StaticPodScan scan = scanManifestDirectory(dir_ + "/nope");
  EXPECT_THAT(scan.pods, IsEmpty());
  ASSERT_EQ(scan.errors.size(), 1u);
  EXPECT_THAT(scan.errors[0].message, HasSubstr("--pod-manifest-path: cannot read directory"));
}

TEST(StaticPodIdentity, IsTheKubeletsNameUidAndAnnotations) {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.spec.containers.push_back({});
  pod.spec.containers[0].name = "httpd";
  pod.spec.containers[0].image = "busybox";

  api::Pod a = pod;
  applyStaticPodIdentity(a, "Node-A", "/etc/kubenode/manifests/web.yaml");
  EXPECT_EQ(a.metadata.name, "web-node-a");
  EXPECT_EQ(a.metadata.namespace_, "default");
  EXPECT_EQ(a.spec.nodeName, "Node-A");
  EXPECT_EQ(a.metadata.uid.size(), 32u);  // MD5, hex
  EXPECT_EQ(a.metadata.annotations["kubernetes.io/config.source"], "file");
  EXPECT_EQ(a.metadata.annotations["kubernetes.io/config.hash"], a.metadata.uid);
  EXPECT_EQ(a.status.phase, "Pending");

  api::Pod same = pod;
  applyStaticPodIdentity(same, "Node-A", "/etc/kubenode/manifests/web.yaml");
  EXPECT_EQ(same.metadata.uid, a.metadata.uid) << "the same file gives the same pod";

  api::Pod otherFile = pod;
  applyStaticPodIdentity(otherFile, "Node-A", "/etc/kubenode/manifests/web2.yaml");
  api::Pod otherNode = pod;
  applyStaticPodIdentity(otherNode, "node-b", "/etc/kubenode/manifests/web.yaml");
  api::Pod edited = pod;
  edited.spec.containers[0].image = "busybox:1.36";
  applyStaticPodIdentity(edited, "Node-A", "/etc/kubenode/manifests/web.yaml");
  EXPECT_NE(otherFile.metadata.uid, a.metadata.uid);
  EXPECT_NE(otherNode.metadata.uid, a.metadata.uid);
  EXPECT_NE(edited.metadata.uid, a.metadata.uid) << "an edited file is a new pod";
}

// The source on a real directory with real inotify, driven by its own loop.
class StaticPodSourceTest : public ManifestDir {
 protected:
  void startSource() {
    source_ = std::make_unique<StaticPodSource>(
        loop_,
        StaticPodSourceOptions{.dir = dir_,
                               .nodeName = "node-a",
                               .resyncPeriod = std::chrono::hours(1),
                               .settle = std::chrono::milliseconds(20)},
        [this](const std::vector<api::Pod>& pods) {
          ++deliveries_;
          names_.clear();
          uids_.clear();
          for (const api::Pod& p : pods) {
            names_.push_back(p.metadata.name);
            uids_.push_back(p.metadata.uid);
          }
        },
        [this](const std::string& e) { errors_.push_back(e); });
    ASSERT_TRUE(source_->start().ok());
  }
  // Runs the loop until `done` holds, for at most 5 s.
  bool runUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      loop_.restart();
      loop_.run_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  boost::asio::io_context loop_;
  std::unique_ptr<StaticPodSource> source_;
  int deliveries_ = 0;
  std::vector<std::string> names_;
  std::vector<std::string> uids_;
  std::vector<std::string> errors_;
};

TEST_F(StaticPodSourceTest, DeliversAnEmptySetFirstThenFollowsTheDirectory) {
  startSource();
  EXPECT_EQ(deliveries_, 1);
  EXPECT_THAT(names_, IsEmpty());

  write("web.yaml", kGoodPod);
  ASSERT_TRUE(runUntil([&] { return names_.size() == 1; }));
  EXPECT_THAT(names_, ElementsAre("web-node-a"));
  const std::string firstUid = uids_[0];

  // Edited: a new pod replaces the old one.
  write("web.yaml", std::string(kGoodPod) + "  restartPolicy: Never\n");
  ASSERT_TRUE(runUntil([&] { return !uids_.empty() && uids_[0] != firstUid; }));
  EXPECT_THAT(names_, ElementsAre("web-node-a"));

  // Removed: the pod goes.
  std::filesystem::remove(dir_ + "/web.yaml");
  ASSERT_TRUE(runUntil([&] { return names_.empty(); }));
  EXPECT_THAT(errors_, IsEmpty());
}

TEST_F(StaticPodSourceTest, ABadFileIsReportedOnceAndKeepsItsLastGoodPod) {
  write("web.yaml", kGoodPod);
  write("other.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: other\nspec:\n"
        "  containers:\n  - name: c\n    image: busybox\n");
  startSource();
  ASSERT_THAT(names_, ElementsAre("other-node-a", "web-node-a"));
  const std::vector<std::string> before = uids_;
  const int deliveriesBefore = deliveries_;

  write("web.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"
        "  containers:\n  - name: httpd\n");
  ASSERT_TRUE(runUntil([&] { return !errors_.empty(); }));
  EXPECT_THAT(errors_[0], HasSubstr("web.yaml"));
  EXPECT_THAT(errors_[0], HasSubstr("spec.containers[0].image: Required value"));
  EXPECT_THAT(errors_[0], HasSubstr("keeping the pod from the last valid version"));
  EXPECT_EQ(uids_, before) << "neither pod changed";
  EXPECT_EQ(deliveries_, deliveriesBefore) << "nothing to deliver";

  // Touching the other file re-reads the directory: the bad file is not reported again.
  write("other.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: other\nspec:\n"
        "  containers:\n  - name: c\n    image: busybox\n");
  loop_.restart();
  loop_.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(errors_.size(), 1u);
}

}  // namespace
}  // namespace kubenode::agent
