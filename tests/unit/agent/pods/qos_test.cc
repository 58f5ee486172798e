#include "agent/pods/qos.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace kubenode::agent::pods {
namespace {

api::Quantity q(const char* text) {
  return *api::Quantity::parse(text);
}

// Base: one app container "web" and one init container "init", no resources.
api::Pod basePod() {
  api::Pod pod;
  pod.metadata.name = "p";
  pod.spec.initContainers.push_back({.name = "init", .image = "busybox"});
  pod.spec.containers.push_back({.name = "web", .image = "busybox"});
  return pod;
}

void setBoth(api::Container& c, const char* cpu, const char* mem) {
  c.resources.limits = {{"cpu", q(cpu)}, {"memory", q(mem)}};
  c.resources.requests = {{"cpu", q(cpu)}, {"memory", q(mem)}};
}

struct Case {
  std::string name;
  std::function<void(api::Pod&)> mutate;
  PodQOSClass expected;
};

// gtest prints the case by name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class QosTable : public ::testing::TestWithParam<Case> {};

TEST_P(QosTable, ClassifiesAsKubernetes) {
  api::Pod pod = basePod();
  GetParam().mutate(pod);
  EXPECT_EQ(toString(podQosClass(pod)), toString(GetParam().expected));
}

std::vector<Case> cases() {
  return {
      {"NoResources", [](api::Pod&) {}, PodQOSClass::kBestEffort},
      {"OnlyNonQosResources",
       [](api::Pod& p) {
         p.spec.containers[0].resources.limits = {{"ephemeral-storage", q("1Gi")}};
         p.spec.containers[0].resources.requests = {{"ephemeral-storage", q("1Gi")}};
       },
       PodQOSClass::kBestEffort},
      {"ZeroRequestsIgnored",
       [](api::Pod& p) {
         p.spec.containers[0].resources.requests = {{"cpu", q("0")}, {"memory", q("0")}};
       },
       PodQOSClass::kBestEffort},
      {"AllEqualIncludingInit",
       [](api::Pod& p) {
         setBoth(p.spec.containers[0], "500m", "64Mi");
         setBoth(p.spec.initContainers[0], "100m", "32Mi");
       },
       PodQOSClass::kGuaranteed},
      {"LimitsOnlyDefaultRequests",
       [](api::Pod& p) {
         for (auto* c : {&p.spec.containers[0], &p.spec.initContainers[0]})
           c->resources.limits = {{"cpu", q("1")}, {"memory", q("1Gi")}};
       },
       PodQOSClass::kGuaranteed},
      {"EqualInDifferentUnits",
       [](api::Pod& p) {
         for (auto* c : {&p.spec.containers[0], &p.spec.initContainers[0]}) {
           c->resources.limits = {{"cpu", q("1")}, {"memory", q("1Gi")}};
           c->resources.requests = {{"cpu", q("1000m")}, {"memory", q("1024Mi")}};
         }
       },
       PodQOSClass::kGuaranteed},
      {"GuaranteedWithExtraNonQosResource",
       [](api::Pod& p) {
         for (auto* c : {&p.spec.containers[0], &p.spec.initContainers[0]}) {
           setBoth(*c, "1", "1Gi");
           c->resources.limits["ephemeral-storage"] = q("1Gi");
         }
       },
       PodQOSClass::kGuaranteed},
      {"InitContainerWithoutResources",
       [](api::Pod& p) { setBoth(p.spec.containers[0], "1", "1Gi"); }, PodQOSClass::kBurstable},
      {"AppContainerWithoutResources",
       [](api::Pod& p) { setBoth(p.spec.initContainers[0], "1", "1Gi"); }, PodQOSClass::kBurstable},
      {"RequestBelowLimit",
       [](api::Pod& p) {
         for (auto* c : {&p.spec.containers[0], &p.spec.initContainers[0]})
           setBoth(*c, "1", "1Gi");
         p.spec.containers[0].resources.requests["cpu"] = q("500m");
       },
       PodQOSClass::kBurstable},
      {"OnlyCpuLimit",
       [](api::Pod& p) {
         for (auto* c : {&p.spec.containers[0], &p.spec.initContainers[0]})
           c->resources.limits = {{"cpu", q("1")}};
       },
       PodQOSClass::kBurstable},
      {"OnlyMemoryRequest",
       [](api::Pod& p) {
         p.spec.containers[0].resources.requests = {{"memory", q("10Mi")}};
       },
       PodQOSClass::kBurstable},
      {"OnlyInitContainerRequest",
       [](api::Pod& p) {
         p.spec.initContainers[0].resources.requests = {{"cpu", q("10m")}};
       },
       PodQOSClass::kBurstable},
      {"RequestWithoutLimitInOneContainer",
       [](api::Pod& p) {
         for (auto* c : {&p.spec.containers[0], &p.spec.initContainers[0]})
           setBoth(*c, "1", "1Gi");
         api::Container& extra = p.spec.containers.emplace_back();
         extra.name = "sidecar";
         extra.resources.requests = {{"cpu", q("1")}, {"memory", q("1Gi")}};
       },
       PodQOSClass::kBurstable},
  };
}

INSTANTIATE_TEST_SUITE_P(Pods, QosTable, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(QosToString, StatusWords) {
  EXPECT_EQ(toString(PodQOSClass::kGuaranteed), "Guaranteed");
  EXPECT_EQ(toString(PodQOSClass::kBurstable), "Burstable");
  EXPECT_EQ(toString(PodQOSClass::kBestEffort), "BestEffort");
}

}  // namespace
}  // namespace kubenode::agent::pods
