#include "agent/pods/runtime_listing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/pods/container_config.h"
#include "agent/pods/labels.h"
#include "cri/fake_runtime_service.h"

namespace kubenode::agent::pods {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

api::Pod webPod() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "uid-web";
  pod.metadata.annotations = {{"kubernetes.io/config.source", "file"}};
  pod.spec.dnsPolicy = "ClusterFirst";
  pod.spec.restartPolicy = "Always";
  pod.spec.terminationGracePeriodSeconds = 20;
  auto container = [](std::string name) {
    api::Container c;
    c.name = std::move(name);
    c.image = "busybox:latest";
    c.terminationMessagePath = "/dev/termination-log";
    c.terminationMessagePolicy = "File";
    return c;
  };
  pod.spec.initContainers.push_back(container("setup"));
  pod.spec.containers.push_back(container("app"));
  pod.spec.containers.back().ports = {{.name = "http", .containerPort = 80, .protocol = "TCP"}};
  pod.spec.containers.back().lifecycle.emplace().preStop.emplace().httpGet =
      api::HTTPGetAction{.path = "/quit", .port = api::IntOrString::fromInt(80)};
  pod.spec.containers.push_back(container("sidecar"));
  return pod;
}

class RuntimeListingTest : public ::testing::Test {
 protected:
  RuntimeListingTest() : fake_([this] { return now_; }) {
    fake_.addImage("busybox:latest");
    node_.nodeName = "node-1";
    node_.clusterDns = {"10.96.0.10"};
    node_.clusterDomain = "cluster.local";
  }

  // Creates and starts one container of `pod` as the pod worker will.
  std::string start(const api::Pod& pod, const api::Container& c, int32_t restartCount,
                    const std::string& sandboxId, const cri::v1::PodSandboxConfig& sandbox) {
    ContainerContext ctx;
    ctx.node = node_;
    ctx.restartCount = restartCount;
    ctx.podIps = {"10.88.0.2"};
    auto config = makeContainerConfig(pod, c, ctx);
    EXPECT_TRUE(config.ok()) << config.status();
    auto id = fake_.createContainer(sandboxId, *config, sandbox);
    EXPECT_TRUE(id.ok()) << id.status();
    EXPECT_TRUE(fake_.startContainer(*id).ok());
    now_ += absl::Seconds(1);
    return *id;
  }

  // One relist as the runtime watcher will do it.
  RuntimeSnapshot relist() {
    RuntimeSnapshot snap;
    snap.sandboxes = *fake_.listPodSandbox({});
    snap.containers = *fake_.listContainers({});
    for (const auto& s : snap.sandboxes)
      snap.sandboxStatuses[s.id()] = fake_.podSandboxStatus(s.id(), false)->status();
    for (const auto& c : snap.containers)
      snap.containerStatuses[c.id()] = fake_.containerStatus(c.id(), false)->status();
    return snap;
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  cri::FakeRuntimeService fake_;
  NodeSettings node_;
};

TEST_F(RuntimeListingTest, RoundTripPodToConfigsToRuntimeToPodRuntimeStatus) {
  api::Pod pod = webPod();
  cri::v1::PodSandboxConfig sandbox = makeSandboxConfig(pod, 0, node_);
  auto sandboxId = fake_.runPodSandbox(sandbox, "");
  ASSERT_TRUE(sandboxId.ok());
  const absl::Time sandboxCreated = now_;
  now_ += absl::Seconds(1);

  std::string setup = start(pod, pod.spec.initContainers[0], 0, *sandboxId, sandbox);
  ASSERT_TRUE(fake_.exitContainer(setup, 0).ok());
  const absl::Time setupFinished = now_;
  std::string app0 = start(pod, pod.spec.containers[0], 0, *sandboxId, sandbox);
  std::string sidecar = start(pod, pod.spec.containers[1], 0, *sandboxId, sandbox);
  ASSERT_TRUE(fake_.exitContainer(app0, 1, "", "boom").ok());
  std::string app1 = start(pod, pod.spec.containers[0], 1, *sandboxId, sandbox);

  RuntimeListing listing = groupRuntimePods(relist());
  EXPECT_THAT(listing.orphanContainers, IsEmpty());
  EXPECT_THAT(listing.foreignSandboxes, IsEmpty());
  ASSERT_EQ(listing.pods.size(), 1u);
  const PodRuntimeStatus& status = listing.pods.at("uid-web");
  EXPECT_EQ(status.uid, "uid-web");
  EXPECT_EQ(status.name, "web");
  EXPECT_EQ(status.namespace_, "default");

  ASSERT_EQ(status.sandboxes.size(), 1u);
  const RuntimeSandbox& sb = status.sandboxes[0];
  EXPECT_EQ(sb.id, *sandboxId);
  EXPECT_TRUE(sb.ready);
  EXPECT_EQ(sb.attempt, 0u);
  EXPECT_TRUE(sb.statusKnown) << "the status was read, so IP and network mode count";
  EXPECT_EQ(sb.ip, "10.88.0.2");
  EXPECT_FALSE(sb.hostNetwork);
  EXPECT_EQ(sb.createdAt, sandboxCreated);

  // Newest first: app attempt 1, sidecar, app attempt 0, setup.
  std::vector<std::string> ids;
  for (const RuntimeContainer& c : status.containers)
    ids.push_back(c.id);
  EXPECT_THAT(ids, ElementsAre(app1, sidecar, app0, setup));

  const RuntimeContainer* app = status.latestContainer("app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->id, app1);
  EXPECT_EQ(app->state, ContainerState::kRunning);
  EXPECT_EQ(app->restartCount, 1);
  EXPECT_EQ(app->sandboxId, *sandboxId);
  EXPECT_EQ(app->specHash, containerSpecHash(pod.spec.containers[0]));
  EXPECT_EQ(app->image, "busybox:latest");
  EXPECT_FALSE(app->imageRef.empty());
  EXPECT_NE(app->startedAt, absl::InfinitePast());
  EXPECT_EQ(app->finishedAt, absl::InfinitePast());

  const RuntimeContainer& previous = status.containers[2];
  EXPECT_EQ(previous.name, "app");
  EXPECT_EQ(previous.state, ContainerState::kExited);
  EXPECT_EQ(previous.exitCode, 1);
  EXPECT_EQ(previous.reason, "Error");
  EXPECT_EQ(previous.message, "boom");
  EXPECT_EQ(previous.restartCount, 0);

  const RuntimeContainer* init = status.latestContainer("setup");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->state, ContainerState::kExited);
  EXPECT_EQ(init->exitCode, 0);
  EXPECT_EQ(init->reason, "Completed");
  EXPECT_EQ(init->finishedAt, setupFinished);
  EXPECT_EQ(init->specHash, containerSpecHash(pod.spec.initContainers[0]));

  // The annotations alone are enough to stop the container politely.
  auto listed = *fake_.listContainers({});
  auto appListed = std::find_if(listed.begin(), listed.end(),
                                [&](const cri::v1::Container& c) { return c.id() == app1; });
  ASSERT_NE(appListed, listed.end());
  ContainerAnnotations a = parseContainerAnnotations(appListed->annotations());
  EXPECT_EQ(a.hash, containerSpecHash(pod.spec.containers[0]));
  EXPECT_EQ(a.restartCount, 1);
  EXPECT_EQ(a.terminationMessagePath, "/dev/termination-log");
  EXPECT_EQ(a.terminationMessagePolicy, "File");
  EXPECT_EQ(a.podTerminationGracePeriod, 20);
  EXPECT_EQ(a.podDeletionGracePeriod, std::nullopt);
  EXPECT_EQ(a.preStopHandler, pod.spec.containers[0].lifecycle->preStop);
  EXPECT_EQ(a.ports, pod.spec.containers[0].ports);
}

TEST_F(RuntimeListingTest, NewestSandboxFirstAndHostNetwork) {
  api::Pod pod = webPod();
  pod.spec.hostNetwork = true;
  cri::v1::PodSandboxConfig first = makeSandboxConfig(pod, 0, node_);
  auto id0 = fake_.runPodSandbox(first, "");
  ASSERT_TRUE(id0.ok());
  ASSERT_TRUE(fake_.stopPodSandbox(*id0).ok());
  now_ += absl::Seconds(5);
  auto id1 = fake_.runPodSandbox(makeSandboxConfig(pod, 1, node_), "");
  ASSERT_TRUE(id1.ok());

  RuntimeListing listing = groupRuntimePods(relist());
  const PodRuntimeStatus& status = listing.pods.at("uid-web");
  ASSERT_EQ(status.sandboxes.size(), 2u);
  EXPECT_EQ(status.sandboxes[0].id, *id1);
  EXPECT_EQ(status.sandboxes[0].attempt, 1u);
  EXPECT_TRUE(status.sandboxes[0].ready);
  EXPECT_TRUE(status.sandboxes[0].hostNetwork);
  EXPECT_EQ(status.sandboxes[0].ip, "");
  EXPECT_EQ(status.sandboxes[1].id, *id0);
  EXPECT_FALSE(status.sandboxes[1].ready);
}

TEST_F(RuntimeListingTest, ForeignAndOrphanedObjectsAreReportedApart) {
  // A sandbox and a container someone else made (no kubelet labels).
  cri::v1::PodSandboxConfig foreign;
  foreign.mutable_metadata()->set_name("crictl-pod");
  foreign.mutable_metadata()->set_namespace_("default");
  foreign.mutable_metadata()->set_uid("x");
  auto foreignSandbox = fake_.runPodSandbox(foreign, "");
  ASSERT_TRUE(foreignSandbox.ok());
  cri::v1::ContainerConfig foreignConfig;
  foreignConfig.mutable_metadata()->set_name("tool");
  foreignConfig.mutable_image()->set_image("busybox:latest");
  auto foreignContainer = fake_.createContainer(*foreignSandbox, foreignConfig, foreign);
  ASSERT_TRUE(foreignContainer.ok());

  api::Pod pod = webPod();
  cri::v1::PodSandboxConfig sandbox = makeSandboxConfig(pod, 0, node_);
  auto sandboxId = fake_.runPodSandbox(sandbox, "");
  ASSERT_TRUE(sandboxId.ok());
  std::string app = start(pod, pod.spec.containers[0], 4, *sandboxId, sandbox);

  RuntimeSnapshot snap = relist();
  // The pod's sandbox vanished between the two listings.
  std::erase_if(snap.sandboxes, [&](const cri::v1::PodSandbox& s) { return s.id() == *sandboxId; });
  RuntimeListing listing = groupRuntimePods(snap);
  EXPECT_THAT(listing.foreignSandboxes, ElementsAre(*foreignSandbox));
  EXPECT_THAT(listing.foreignContainers, ElementsAre(*foreignContainer));
  EXPECT_THAT(listing.orphanContainers, ElementsAre(app));
  // Still part of its pod's history, with its restart count.
  ASSERT_EQ(listing.pods.count("uid-web"), 1u);
  const PodRuntimeStatus& status = listing.pods.at("uid-web");
  EXPECT_THAT(status.sandboxes, IsEmpty());
  ASSERT_EQ(status.containers.size(), 1u);
  EXPECT_EQ(status.containers[0].restartCount, 4);
  EXPECT_EQ(status.name, "web");
}

TEST(GroupRuntimePods, ListingWithoutStatusesStillGroups) {
  cri::v1::PodSandbox sandbox;
  sandbox.set_id("s1");
  sandbox.set_created_at(5);
  sandbox.set_state(cri::v1::SANDBOX_NOTREADY);
  sandbox.mutable_metadata()->set_attempt(2);
  (*sandbox.mutable_labels())[std::string(kPodUidLabel)] = "u1";
  (*sandbox.mutable_labels())[std::string(kPodNameLabel)] = "db";
  (*sandbox.mutable_labels())[std::string(kPodNamespaceLabel)] = "prod";
  auto container = [](std::string id, int64_t created, std::string restarts) {
    cri::v1::Container c;
    c.set_id(std::move(id));
    c.set_pod_sandbox_id("s1");
    c.set_created_at(created);
    c.set_state(cri::v1::CONTAINER_EXITED);
    c.mutable_metadata()->set_name("meta-name");
    c.mutable_metadata()->set_attempt(7);
    (*c.mutable_labels())[std::string(kPodUidLabel)] = "u1";
    (*c.mutable_labels())[std::string(kContainerNameLabel)] = "db";
    if (!restarts.empty())
      (*c.mutable_annotations())[std::string(kContainerRestartCountAnnotation)] = restarts;
    (*c.mutable_annotations())[std::string(kContainerHashAnnotation)] = "ff";
    return c;
  };
  // Same creation time: the higher restart count is the newer.
  RuntimeSnapshot snap{.sandboxes = {sandbox},
                       .containers = {container("c1", 10, "1"), container("c2", 10, "2"),
                                      container("c3", 9, ""), container("c4", 20, "junk")}};
  RuntimeListing listing = groupRuntimePods(snap);
  const PodRuntimeStatus& pod = listing.pods.at("u1");
  EXPECT_EQ(pod.name, "db");
  EXPECT_EQ(pod.namespace_, "prod");
  ASSERT_EQ(pod.sandboxes.size(), 1u);
  EXPECT_FALSE(pod.sandboxes[0].ready);
  EXPECT_EQ(pod.sandboxes[0].attempt, 2u);
  EXPECT_EQ(pod.sandboxes[0].createdAt, absl::FromUnixNanos(5));
  std::vector<std::pair<std::string, int32_t>> got;
  for (const RuntimeContainer& c : pod.containers) {
    got.emplace_back(c.id, c.restartCount);
    EXPECT_EQ(c.name, "db");  // the label, not the metadata
    EXPECT_EQ(c.specHash, 0xffu);
    EXPECT_EQ(c.state, ContainerState::kExited);
  }
  // A missing or unparsable annotation falls back to the metadata attempt.
  EXPECT_THAT(got, ElementsAre(std::pair("c4", 7), std::pair("c2", 2), std::pair("c1", 1),
                               std::pair("c3", 7)));
}

TEST(FromContainerStatus, MapsEveryField) {
  cri::v1::ContainerStatus s;
  s.set_id("c9");
  s.mutable_metadata()->set_name("app");
  s.mutable_metadata()->set_attempt(3);
  s.set_state(cri::v1::CONTAINER_EXITED);
  s.set_created_at(1'000'000'000);
  s.set_started_at(2'000'000'500);
  s.set_finished_at(3'000'000'000);
  s.set_exit_code(137);
  s.set_reason("OOMKilled");
  s.set_message("out of memory");
  s.mutable_image()->set_image("busybox:latest");
  s.set_image_ref("sha256:1234");
  (*s.mutable_labels())[std::string(kContainerNameLabel)] = "app";
  (*s.mutable_annotations())[std::string(kContainerRestartCountAnnotation)] = "5";
  (*s.mutable_annotations())[std::string(kContainerHashAnnotation)] = "deadbeefcafe";
  RuntimeContainer c = fromContainerStatus(s);
  EXPECT_EQ(c.id, "c9");
  EXPECT_EQ(c.name, "app");
  EXPECT_EQ(c.state, ContainerState::kExited);
  EXPECT_EQ(c.createdAt, absl::FromUnixSeconds(1));
  EXPECT_EQ(c.startedAt, absl::FromUnixNanos(2'000'000'500));
  EXPECT_EQ(c.finishedAt, absl::FromUnixSeconds(3));
  EXPECT_EQ(c.exitCode, 137);
  EXPECT_EQ(c.reason, "OOMKilled");
  EXPECT_EQ(c.message, "out of memory");
  EXPECT_EQ(c.image, "busybox:latest");
  EXPECT_EQ(c.imageRef, "sha256:1234");
  EXPECT_EQ(c.restartCount, 5);
  EXPECT_EQ(c.specHash, 0xdeadbeefcafeu);
  EXPECT_EQ(c.sandboxId, "");

  struct StateCase {
    cri::v1::ContainerState in;
    ContainerState out;
  };
  for (const StateCase& sc :
       std::vector<StateCase>{{cri::v1::CONTAINER_CREATED, ContainerState::kCreated},
                              {cri::v1::CONTAINER_RUNNING, ContainerState::kRunning},
                              {cri::v1::CONTAINER_EXITED, ContainerState::kExited},
                              {cri::v1::CONTAINER_UNKNOWN, ContainerState::kUnknown}}) {
    s.set_state(sc.in);
    EXPECT_EQ(fromContainerStatus(s).state, sc.out) << sc.in;
  }

  // Zero times are "never": a created container has not started or finished.
  cri::v1::ContainerStatus created;
  created.set_created_at(1);
  RuntimeContainer fresh = fromContainerStatus(created);
  EXPECT_EQ(fresh.startedAt, absl::InfinitePast());
  EXPECT_EQ(fresh.finishedAt, absl::InfinitePast());
}

TEST(ParseContainerAnnotations, MissingOrBrokenValuesKeepDefaults) {
  google::protobuf::Map<std::string, std::string> a;
  a[std::string(kContainerHashAnnotation)] = "not-hex";
  a[std::string(kContainerRestartCountAnnotation)] = "-";
  a[std::string(kPodTerminationGracePeriodAnnotation)] = "30s";
  a[std::string(kContainerPreStopHandlerAnnotation)] = "{broken";
  a[std::string(kContainerPortsAnnotation)] = R"([{"containerPort":"eighty"}])";
  ContainerAnnotations got = parseContainerAnnotations(a);
  EXPECT_EQ(got.hash, 0u);
  EXPECT_EQ(got.restartCount, 0);
  EXPECT_EQ(got.podTerminationGracePeriod, std::nullopt);
  EXPECT_EQ(got.preStopHandler, std::nullopt);
  EXPECT_THAT(got.ports, IsEmpty());

  a[std::string(kContainerPreStopHandlerAnnotation)] = R"({"exec":{"command":["sleep","2"]}})";
  a.erase(std::string(kContainerPortsAnnotation));
  got = parseContainerAnnotations(a);
  ASSERT_TRUE(got.preStopHandler.has_value());
  ASSERT_TRUE(got.preStopHandler->exec.has_value());
  EXPECT_THAT(got.preStopHandler->exec->command, ElementsAre("sleep", "2"));
}

}  // namespace
}  // namespace kubenode::agent::pods
