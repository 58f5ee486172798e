#include "controlplane/endpoints/endpoint_slices.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace kubenode::controlplane::endpoints {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

api::Service baseService() {
  api::Service s;
  s.metadata.name = "web";
  s.metadata.namespace_ = "default";
  s.metadata.uid = "svc-uid";
  s.spec.selector = {{"app", "web"}};
  s.spec.clusterIP = "10.96.0.10";
  s.spec.type = "ClusterIP";
  api::ServicePort& p = s.spec.ports.emplace_back();
  p.name = "http";
  p.protocol = "TCP";
  p.port = 80;
  p.targetPort = api::IntOrString::fromInt(8080);
  return s;
}

api::Pod readyPod(const std::string& name, const std::string& ip) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-" + name;
  p.metadata.labels = {{"app", "web"}};
  p.spec.nodeName = "node-a";
  api::Container& c = p.spec.containers.emplace_back();
  c.name = "httpd";
  c.ports.push_back({.name = "http", .containerPort = 8080, .protocol = "TCP"});
  p.status.phase = "Running";
  p.status.podIP = ip;
  p.status.podIPs = {{ip}};
  p.status.conditions.push_back({.type = "Ready", .status = "True"});
  return p;
}

std::vector<std::string> addresses(const api::EndpointSlice& s) {
  std::vector<std::string> out;
  for (const api::Endpoint& e : s.endpoints)
    out.push_back(e.addresses.at(0));
  return out;
}

// ---- Which pods become endpoints, with which conditions: one table -------------

struct PodCase {
  std::string name;
  std::function<void(api::Service&, api::Pod&)> mutate;
  bool included;
  // Conditions when included.
  bool ready = true;
  bool serving = true;
  bool terminating = false;
};

class PodSelection : public ::testing::TestWithParam<PodCase> {};

TEST_P(PodSelection, EndpointAndConditions) {
  const PodCase& c = GetParam();
  api::Service svc = baseService();
  api::Pod pod = readyPod("web-1", "10.244.0.5");
  c.mutate(svc, pod);
  std::vector<api::EndpointSlice> slices = endpointSlicesForService(svc, {pod});
  ASSERT_THAT(slices, SizeIs(1));  // the placeholder when nothing is included
  if (!c.included) {
    EXPECT_THAT(slices[0].endpoints, IsEmpty());
    return;
  }
  ASSERT_THAT(slices[0].endpoints, SizeIs(1));
  const api::Endpoint& ep = slices[0].endpoints[0];
  EXPECT_THAT(ep.addresses, ElementsAre("10.244.0.5"));
  EXPECT_EQ(ep.conditions.ready, c.ready);
  EXPECT_EQ(ep.conditions.serving, c.serving);
  EXPECT_EQ(ep.conditions.terminating, c.terminating);
}

const api::Time kDeleted(absl::FromUnixSeconds(1700000000));

INSTANTIATE_TEST_SUITE_P(
    Table, PodSelection,
    ::testing::Values(
        PodCase{"ReadyRunningPod", [](api::Service&, api::Pod&) {}, true},
        PodCase{"NotReadyPod",
                [](api::Service&, api::Pod& p) { p.status.conditions[0].status = "False"; }, true,
                false, false, false},
        PodCase{"NoReadyCondition", [](api::Service&, api::Pod& p) { p.status.conditions.clear(); },
                true, false, false, false},
        PodCase{"TerminatingReadyPod",
                [](api::Service&, api::Pod& p) { p.metadata.deletionTimestamp = kDeleted; }, true,
                false, true, true},
        PodCase{"TerminatingNotReadyPod",
                [](api::Service&, api::Pod& p) {
                  p.metadata.deletionTimestamp = kDeleted;
                  p.status.conditions[0].status = "False";
                },
                true, false, false, true},
        PodCase{"NoPodIp",
                [](api::Service&, api::Pod& p) {
                  p.status.podIP.clear();
                  p.status.podIPs.clear();
                },
                false},
        PodCase{"OnlyLegacyPodIp", [](api::Service&, api::Pod& p) { p.status.podIPs.clear(); },
                true},
        PodCase{"Ipv6OnlyPod",
                [](api::Service&, api::Pod& p) {
                  p.status.podIP = "fd00::5";
                  p.status.podIPs = {{"fd00::5"}};
                },
                false},
        PodCase{"Succeeded", [](api::Service&, api::Pod& p) { p.status.phase = "Succeeded"; },
                false},
        PodCase{"Failed", [](api::Service&, api::Pod& p) { p.status.phase = "Failed"; }, false},
        PodCase{"OtherNamespace",
                [](api::Service&, api::Pod& p) { p.metadata.namespace_ = "other"; }, false},
        PodCase{"LabelMismatch",
                [](api::Service&, api::Pod& p) { p.metadata.labels["app"] = "db"; }, false},
        PodCase{"LabelMissing", [](api::Service&, api::Pod& p) { p.metadata.labels.clear(); },
                false},
        PodCase{"SelectorSubsetOfLabels",
                [](api::Service&, api::Pod& p) { p.metadata.labels["tier"] = "front"; }, true},
        PodCase{"TwoKeySelectorOneMissing",
                [](api::Service& s, api::Pod&) { s.spec.selector["tier"] = "front"; }, false}),
    [](const ::testing::TestParamInfo<PodCase>& info) { return info.param.name; });

// ---- Services the controller leaves alone --------------------------------------

TEST(EndpointSlicesForService, NoSelectorOrExternalNameGivesNoSlices) {
  api::Service noSelector = baseService();
  noSelector.spec.selector.clear();
  EXPECT_FALSE(managesSlices(noSelector));
  EXPECT_THAT(endpointSlicesForService(noSelector, {readyPod("a", "10.244.0.5")}), IsEmpty());

  api::Service external = baseService();
  external.spec.type = "ExternalName";
  EXPECT_FALSE(managesSlices(external));
  EXPECT_THAT(endpointSlicesForService(external, {readyPod("a", "10.244.0.5")}), IsEmpty());
}

// ---- The slice's identity and endpoint fields ----------------------------------

TEST(EndpointSlicesForService, SliceCarriesControllerLabelsOwnerAndPodReference) {
  api::Service svc = baseService();
  svc.metadata.labels = {{"team", "a"}, {std::string(kServiceNameLabel), "spoofed"}};
  std::vector<api::EndpointSlice> slices =
      endpointSlicesForService(svc, {readyPod("web-1", "10.244.0.5")});
  ASSERT_THAT(slices, SizeIs(1));
  const api::EndpointSlice& s = slices[0];
  EXPECT_EQ(s.typeMeta.apiVersion, "discovery.k8s.io/v1");
  EXPECT_EQ(s.typeMeta.kind, "EndpointSlice");
  EXPECT_EQ(s.metadata.namespace_, "default");
  EXPECT_TRUE(s.metadata.name.starts_with("web-")) << s.metadata.name;
  EXPECT_EQ(s.metadata.name.size(), std::string("web-").size() + 5);
  EXPECT_EQ(s.addressType, "IPv4");
  EXPECT_EQ(s.metadata.labels.at("kubernetes.io/service-name"), "web");
  EXPECT_EQ(s.metadata.labels.at("endpointslice.kubernetes.io/managed-by"),
            "endpointslice-controller.k8s.io");
  EXPECT_EQ(s.metadata.labels.at("team"), "a");
  ASSERT_THAT(s.metadata.ownerReferences, SizeIs(1));
  EXPECT_EQ(s.metadata.ownerReferences[0].kind, "Service");
  EXPECT_EQ(s.metadata.ownerReferences[0].name, "web");
  EXPECT_EQ(s.metadata.ownerReferences[0].uid, "svc-uid");
  EXPECT_EQ(s.metadata.ownerReferences[0].controller, true);

  ASSERT_THAT(s.endpoints, SizeIs(1));
  const api::Endpoint& ep = s.endpoints[0];
  EXPECT_EQ(ep.nodeName, "node-a");
  ASSERT_TRUE(ep.targetRef.has_value());
  EXPECT_EQ(ep.targetRef->kind, "Pod");
  EXPECT_EQ(ep.targetRef->namespace_, "default");
  EXPECT_EQ(ep.targetRef->name, "web-1");
  EXPECT_EQ(ep.targetRef->uid, "uid-web-1");
  EXPECT_FALSE(ep.hostname.has_value());

  ASSERT_THAT(s.ports, SizeIs(1));
  EXPECT_EQ(s.ports[0].name, "http");
  EXPECT_EQ(s.ports[0].protocol, "TCP");
  EXPECT_EQ(s.ports[0].port, 8080);
}

TEST(EndpointSlicesForService, HeadlessServiceAndHostnameWithMatchingSubdomain) {
  api::Service svc = baseService();
  svc.spec.clusterIP = "None";
  api::Pod pod = readyPod("web-1", "10.244.0.5");
  pod.spec.hostname = "web-1";
  pod.spec.subdomain = "web";
  std::vector<api::EndpointSlice> slices = endpointSlicesForService(svc, {pod});
  ASSERT_THAT(slices, SizeIs(1));
  EXPECT_TRUE(slices[0].metadata.labels.contains("service.kubernetes.io/headless"));
  EXPECT_EQ(slices[0].endpoints.at(0).hostname, "web-1");
}

TEST(EndpointSlicesForService, SameInputsSameNamesAndOrder) {
  api::Service svc = baseService();
  std::vector<api::Pod> pods = {readyPod("web-2", "10.244.0.6"), readyPod("web-1", "10.244.0.5")};
  std::vector<api::EndpointSlice> a = endpointSlicesForService(svc, pods);
  std::vector<api::Pod> reversed(pods.rbegin(), pods.rend());
  std::vector<api::EndpointSlice> b = endpointSlicesForService(svc, reversed);
  EXPECT_EQ(a, b);
  ASSERT_THAT(a, SizeIs(1));
  EXPECT_THAT(addresses(a[0]), ElementsAre("10.244.0.5", "10.244.0.6"));  // by pod name

  api::Service other = svc;
  other.metadata.namespace_ = "other";
  for (api::Pod& p : pods)
    p.metadata.namespace_ = "other";
  EXPECT_NE(endpointSlicesForService(other, pods)[0].metadata.name, a[0].metadata.name);
}

TEST(EndpointSlicesForService, LongServiceNameIsCutToFitSixtyThreeCharacters) {
  api::Service svc = baseService();
  svc.metadata.name = std::string(70, 'a');
  std::vector<api::EndpointSlice> slices = endpointSlicesForService(svc, {});
  ASSERT_THAT(slices, SizeIs(1));
  EXPECT_EQ(slices[0].metadata.name.size(), 63u);
  EXPECT_EQ(slices[0].metadata.labels.at("kubernetes.io/service-name"), svc.metadata.name);
}

// ---- Ports: one table -----------------------------------------------------------

struct PortCase {
  std::string name;
  std::function<void(api::Service&, std::vector<api::Pod>&)> mutate;
  // Per slice (in name order is not predictable, so as a set): "addr,addr|name/proto/port;..."
  std::set<std::string> expected;
};

std::string describe(const api::EndpointSlice& s) {
  std::string out;
  for (const api::Endpoint& e : s.endpoints)
    out += (out.empty() ? "" : ",") + e.addresses.at(0);
  out += "|";
  for (const api::EndpointPort& p : s.ports) {
    out += p.name.value_or("") + "/" + p.protocol.value_or("") + "/" +
           std::to_string(p.port.value_or(0)) + ";";
  }
  return out;
}

class PortResolution : public ::testing::TestWithParam<PortCase> {};

TEST_P(PortResolution, SlicesByResolvedPorts) {
  const PortCase& c = GetParam();
  api::Service svc = baseService();
  std::vector<api::Pod> pods = {readyPod("web-1", "10.244.0.5"), readyPod("web-2", "10.244.0.6")};
  c.mutate(svc, pods);
  std::set<std::string> got;
  for (const api::EndpointSlice& s : endpointSlicesForService(svc, pods))
    got.insert(describe(s));
  EXPECT_EQ(got, c.expected);
}

void namedTarget(api::Service& s) {
  s.spec.ports[0].targetPort = api::IntOrString::fromString("http");
}

INSTANTIATE_TEST_SUITE_P(Table, PortResolution,
                         ::testing::Values(
                             PortCase{"NumericTarget",
                                      [](api::Service&, std::vector<api::Pod>&) {},
                                      {"10.244.0.5,10.244.0.6|http/TCP/8080;"}},
                             PortCase{"ZeroTargetMeansPort",
                                      [](api::Service& s, std::vector<api::Pod>&) {
                                        s.spec.ports[0].targetPort = {};
                                      },
                                      {"10.244.0.5,10.244.0.6|http/TCP/80;"}},
                             PortCase{"EmptyProtocolIsTcp",
                                      [](api::Service& s, std::vector<api::Pod>&) {
                                        s.spec.ports[0].protocol.clear();
                                      },
                                      {"10.244.0.5,10.244.0.6|http/TCP/8080;"}},
                             PortCase{
                                 "NamedTargetSameNumber",
                                 [](api::Service& s, std::vector<api::Pod>&) { namedTarget(s); },
                                 {"10.244.0.5,10.244.0.6|http/TCP/8080;"}},
                             PortCase{"NamedTargetDifferentNumbersSplitSlices",
                                      [](api::Service& s, std::vector<api::Pod>& p) {
                                        namedTarget(s);
                                        p[1].spec.containers[0].ports[0].containerPort = 9090;
                                      },
                                      {"10.244.0.5|http/TCP/8080;", "10.244.0.6|http/TCP/9090;"}},
                             PortCase{"NamedTargetMissingInOnePodLeavesThePortOut",
                                      [](api::Service& s, std::vector<api::Pod>& p) {
                                        namedTarget(s);
                                        p[1].spec.containers[0].ports.clear();
                                      },
                                      {"10.244.0.5|http/TCP/8080;", "10.244.0.6|"}},
                             PortCase{"NamedTargetProtocolMustMatch",
                                      [](api::Service& s, std::vector<api::Pod>& p) {
                                        namedTarget(s);
                                        s.spec.ports[0].protocol = "UDP";
                                      },
                                      {"10.244.0.5,10.244.0.6|"}},
                             PortCase{"NamedTargetInSecondContainer",
                                      [](api::Service& s, std::vector<api::Pod>& p) {
                                        s.spec.ports[0].targetPort =
                                            api::IntOrString::fromString("metrics");
                                        for (api::Pod& pod : p) {
                                          api::Container& c = pod.spec.containers.emplace_back();
                                          c.name = "exporter";
                                          c.ports.push_back(
                                              {.name = "metrics", .containerPort = 9100});
                                        }
                                      },
                                      {"10.244.0.5,10.244.0.6|http/TCP/9100;"}},
                             PortCase{"TwoServicePorts",
                                      [](api::Service& s, std::vector<api::Pod>&) {
                                        api::ServicePort& p = s.spec.ports.emplace_back();
                                        p.name = "dns";
                                        p.protocol = "UDP";
                                        p.port = 53;
                                        p.targetPort = api::IntOrString::fromInt(5353);
                                      },
                                      {"10.244.0.5,10.244.0.6|http/TCP/8080;dns/UDP/5353;"}},
                             PortCase{"NoPodsGivesOnePlaceholder",
                                      [](api::Service&, std::vector<api::Pod>& p) { p.clear(); },
                                      {"|"}}),
                         [](const ::testing::TestParamInfo<PortCase>& info) {
                           return info.param.name;
                         });

// ---- At most 100 endpoints a slice ---------------------------------------------

TEST(EndpointSlicesForService, AtMostOneHundredEndpointsPerSlice) {
  api::Service svc = baseService();
  std::vector<api::Pod> pods;
  for (int i = 0; i < 250; ++i) {
    pods.push_back(
        readyPod(fmt::format("web-{:03}", i), fmt::format("10.244.{}.{}", i / 200, i % 200 + 1)));
  }
  std::vector<api::EndpointSlice> slices = endpointSlicesForService(svc, pods);
  ASSERT_THAT(slices, SizeIs(3));
  std::multiset<size_t> sizes;
  std::set<std::string> names, ips;
  for (const api::EndpointSlice& s : slices) {
    sizes.insert(s.endpoints.size());
    names.insert(s.metadata.name);
    for (const std::string& ip : addresses(s))
      ips.insert(ip);
  }
  EXPECT_EQ(sizes, (std::multiset<size_t>{50, 100, 100}));
  EXPECT_THAT(names, SizeIs(3));  // distinct names
  EXPECT_THAT(ips, SizeIs(250));  // every pod exactly once
}

}  // namespace
}  // namespace kubenode::controlplane::endpoints
