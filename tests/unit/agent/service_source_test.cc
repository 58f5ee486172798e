#include "agent/service_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

namespace kubenode::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  clusterIP: 10.96.0.10
  ports:
  - name: http
    port: 80
    targetPort: 8080
)";

constexpr char kSliceAndService[] = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: data
  labels:
    kubernetes.io/service-name: db
addressType: IPv4
endpoints:
- addresses: ["10.244.0.9"]
ports:
- name: pg
  port: 5432
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: data
spec:
  clusterIP: 10.96.0.20
  ports:
  - name: pg
    port: 5432
)";

constexpr char kPod[] = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: httpd
    image: busybox
)";

// Missing spec.ports[0].port: validation names the field.
constexpr char kBadService[] = R"(apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: 10.96.0.10
  ports:
  - name: http
)";

class ServiceDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kubenode-service-source-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    // Through a hidden temporary and a rename, as kubectl-less operators are told to, so
    // that the source never reads half a file.
    std::string tmp = dir_ + "/." + name + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, dir_ + "/" + name);
  }
  // Runs the loop until `done` holds or 10 s pass.
  bool runUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      if (loop_.stopped())
        loop_.restart();
      loop_.run_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  std::unique_ptr<ServiceSource> makeSource() {
    return std::make_unique<ServiceSource>(
        loop_,
        ServiceSourceOptions{.dir = dir_,
                             .resyncPeriod = std::chrono::milliseconds(50),
                             .settle = std::chrono::milliseconds(10)},
        [this](const ServiceSet& set) { sets_.push_back(set); },
        [this](const std::string& error) { errors_.push_back(error); });
  }
  static std::vector<std::string> serviceNames(const ServiceSet& set) {
    std::vector<std::string> out;
    for (const api::Service& s : set.services)
      out.push_back(s.metadata.namespace_ + "/" + s.metadata.name);
    return out;
  }

  std::string dir_;
  boost::asio::io_context loop_;
  std::vector<ServiceSet> sets_;
  std::vector<std::string> errors_;
};

TEST_F(ServiceDir, ScanFindsServicesAndSlicesAndLeavesPodsAlone) {
  write("a-web.yaml", kService);
  write("b-db.yaml", kSliceAndService);
  write("c-pod.yaml", kPod);
  write("d-broken-pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec: [\n");
  write("e-bad-service.yaml", kBadService);
  write("f-broken.json", R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": 5}})");
  std::ofstream(dir_ + "/.hidden.yaml") << kService;

  ServiceScan scan = scanServiceManifests(dir_);
  ASSERT_THAT(scan.files, SizeIs(2));
  EXPECT_THAT(scan.files[0].file, HasSubstr("a-web.yaml"));
  ASSERT_THAT(scan.files[0].objects.services, SizeIs(1));
  const api::Service& web = scan.files[0].objects.services[0];
  EXPECT_EQ(web.metadata.namespace_, "default");    // defaulted, as the kubelet does for pods
  EXPECT_EQ(web.spec.ports.at(0).protocol, "TCP");  // API defaults applied
  EXPECT_EQ(web.spec.selector.at("app"), "web");
  EXPECT_THAT(scan.files[1].objects.slices, SizeIs(1));
  EXPECT_THAT(scan.files[1].objects.services, SizeIs(1));
  EXPECT_EQ(scan.files[1].objects.slices[0].metadata.namespace_, "data");

  // The broken pod file is the static pod source's to report; the bad Service is ours,
  // in one line naming the file and the field.
  ASSERT_THAT(scan.errors, SizeIs(2));
  EXPECT_THAT(scan.errors[1].message, HasSubstr("f-broken.json"));
  EXPECT_THAT(scan.errors[1].message, HasSubstr("metadata.name"));
  EXPECT_THAT(scan.errors[0].file, HasSubstr("e-bad-service.yaml"));
  EXPECT_THAT(scan.errors[0].message, HasSubstr("e-bad-service.yaml"));
  EXPECT_THAT(scan.errors[0].message, HasSubstr("spec.ports[0].port"));
  EXPECT_EQ(scan.errors[0].message.find('\n'), std::string::npos);
}

TEST_F(ServiceDir, MissingDirectoryIsEmptyNotAnError) {
  ServiceScan scan = scanServiceManifests(dir_ + "/absent");
  EXPECT_THAT(scan.files, IsEmpty());
  EXPECT_THAT(scan.errors, IsEmpty());
}

TEST_F(ServiceDir, DeliversFirstSetThenEveryChange) {
  write("a-web.yaml", kService);
  auto source = makeSource();
  ASSERT_TRUE(source->start().ok());
  ASSERT_THAT(sets_, SizeIs(1));  // the first read is delivered at once
  EXPECT_THAT(serviceNames(sets_[0]), ElementsAre("default/web"));

  write("b-db.yaml", kSliceAndService);
  ASSERT_TRUE(runUntil([&] { return sets_.size() >= 2; }));
  EXPECT_THAT(serviceNames(sets_.back()), ElementsAre("default/web", "data/db"));
  EXPECT_THAT(sets_.back().slices, SizeIs(1));

  std::filesystem::remove(dir_ + "/a-web.yaml");
  ASSERT_TRUE(runUntil([&] { return serviceNames(sets_.back()).size() == 1; }));
  EXPECT_THAT(serviceNames(sets_.back()), ElementsAre("data/db"));

  // Re-reads that find nothing new deliver nothing.
  const size_t delivered = sets_.size();
  write("c-pod.yaml", kPod);
  write("d-db-again.yaml", kSliceAndService);  // duplicates: reported, changes nothing
  ASSERT_TRUE(runUntil([&] { return errors_.size() >= 2; }));
  EXPECT_EQ(sets_.size(), delivered);
  EXPECT_THAT(errors_[0], HasSubstr("already defined in"));
  EXPECT_THAT(errors_[0], HasSubstr("b-db.yaml"));
  EXPECT_THAT(errors_, SizeIs(2));  // the Service and the EndpointSlice, once each
}

TEST_F(ServiceDir, FileTurningBadKeepsItsObjectsAndIsReportedOnce) {
  write("a-web.yaml", kService);
  auto source = makeSource();
  ASSERT_TRUE(source->start().ok());
  ASSERT_THAT(sets_, SizeIs(1));

  write("a-web.yaml", kBadService);
  ASSERT_TRUE(runUntil([&] { return !errors_.empty(); }));
  EXPECT_THAT(errors_[0], HasSubstr("a-web.yaml"));
  EXPECT_THAT(errors_[0], HasSubstr("spec.ports[0].port"));
  EXPECT_THAT(errors_[0], HasSubstr("keeping"));

  // A later change proves re-reads happened meanwhile: the bad file still keeps web, and
  // its error was not repeated.
  write("b-db.yaml", kSliceAndService);
  ASSERT_TRUE(runUntil([&] { return serviceNames(sets_.back()).size() == 2; }));
  EXPECT_THAT(serviceNames(sets_.back()), ElementsAre("default/web", "data/db"));
  EXPECT_THAT(errors_, SizeIs(1));

  // Fixed: no new report; removing it drops web.
  write("a-web.yaml", kService);
  std::filesystem::remove(dir_ + "/a-web.yaml");
  ASSERT_TRUE(runUntil([&] { return serviceNames(sets_.back()).size() == 1; }));
  EXPECT_THAT(serviceNames(sets_.back()), ElementsAre("data/db"));
  EXPECT_THAT(errors_, SizeIs(1));
}

TEST_F(ServiceDir, DirectoryCreatedLaterIsPickedUpByTheResync) {
  const std::string real = dir_;
  dir_ += "/later";
  auto source = makeSource();
  ASSERT_TRUE(source->start().ok());
  ASSERT_THAT(sets_, SizeIs(1));
  EXPECT_THAT(sets_[0].services, IsEmpty());
  std::filesystem::create_directory(dir_);
  write("a-web.yaml", kService);
  ASSERT_TRUE(runUntil([&] { return sets_.size() >= 2; }));
  EXPECT_THAT(serviceNames(sets_.back()), ElementsAre("default/web"));
  dir_ = real;
}

}  // namespace
}  // namespace kubenode::agent
