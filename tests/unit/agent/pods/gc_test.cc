#include "agent/pods/gc.h"

#include <gtest/gtest.h>

namespace kubenode::agent::pods {
namespace {

RuntimeContainer container(std::string id, std::string name, ContainerState state,
                           std::string sandbox = "s1") {
  RuntimeContainer c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.state = state;
  c.sandboxId = std::move(sandbox);
  return c;
}

RuntimeSandbox sandbox(std::string id, bool ready) {
  RuntimeSandbox s;
  s.id = std::move(id);
  s.ready = ready;
  return s;
}

TEST(PlanGarbageCollection, KeepsTheMostRecentDeadContainerPerName) {
  RuntimeListing listing;
  PodRuntimeStatus& pod = listing.pods["u1"];
  pod.sandboxes = {sandbox("s1", true)};
  pod.containers = {container("c4", "web", ContainerState::kRunning),
                    container("c3", "web", ContainerState::kExited),
                    container("c2", "web", ContainerState::kExited),
                    container("c1", "web", ContainerState::kExited),
                    container("i1", "init", ContainerState::kExited)};
  GcPlan plan = planGarbageCollection(listing, {"u1"});
  EXPECT_EQ(plan.containers, (std::vector<std::string>{"c2", "c1"}));
  EXPECT_TRUE(plan.sandboxes.empty());
}

TEST(PlanGarbageCollection, RemovesOldDeadSandboxesWithoutContainers) {
  RuntimeListing listing;
  PodRuntimeStatus& pod = listing.pods["u1"];
  pod.sandboxes = {sandbox("s3", true), sandbox("s2", false), sandbox("s1", false)};
  pod.containers = {container("c2", "web", ContainerState::kRunning, "s3"),
                    container("c1", "web", ContainerState::kExited, "s1")};
  GcPlan plan = planGarbageCollection(listing, {"u1"});
  EXPECT_TRUE(plan.containers.empty());
  EXPECT_EQ(plan.sandboxes, (std::vector<std::string>{"s2"}));
}

TEST(PlanGarbageCollection, LeavesInactivePodsToTheWorkersAndTakesOrphans) {
  RuntimeListing listing;
  PodRuntimeStatus& pod = listing.pods["gone"];
  pod.sandboxes = {sandbox("s2", false), sandbox("s1", false)};
  pod.containers = {container("c2", "web", ContainerState::kExited),
                    container("c1", "web", ContainerState::kExited)};
  listing.orphanContainers = {"lost"};
  GcPlan plan = planGarbageCollection(listing, {"u1"});
  EXPECT_EQ(plan.containers, (std::vector<std::string>{"lost"}));
  EXPECT_TRUE(plan.sandboxes.empty());
}

}  // namespace
}  // namespace kubenode::agent::pods
