#include "agent/pods/container_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "agent/pods/labels.h"
#include "api/quantity.h"
#include "fmt/format.h"

namespace kubenode::agent::pods {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

api::Quantity q(const char* text) {
  return *api::Quantity::parse(text);
}

// A defaulted pod as decodeManifest leaves it.
api::Pod basePod() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "0b9e-41c1";
  pod.metadata.labels = {{"app", "web"}};
  pod.spec.dnsPolicy = "ClusterFirst";
  pod.spec.restartPolicy = "Always";
  pod.spec.securityContext.emplace();
  api::Container& c = pod.spec.containers.emplace_back();
  c.name = "app";
  c.image = "busybox:latest";
  c.terminationMessagePath = "/dev/termination-log";
  c.terminationMessagePolicy = "File";
  return pod;
}

NodeSettings baseNode() {
  NodeSettings node;
  node.nodeName = "node-1";
  node.rootDir = "/var/lib/kubenode";
  node.podLogsDir = "/var/log/pods";
  node.clusterDns = {"10.96.0.10"};
  node.clusterDomain = "cluster.local";
  node.hostResolvConf = ResolvConf{
      .nameservers = {"192.168.1.1"}, .searches = {"lan.example.com"}, .options = {"edns0"}};
  return node;
}

ContainerContext baseContext(const api::Pod& pod) {
  ContainerContext ctx;
  ctx.node = baseNode();
  ctx.podIps = {"10.88.0.2"};
  ctx.hostIps = {"192.168.1.10"};
  ctx.volumePaths = podVolumeHostPaths(pod, ctx.node);
  ctx.memoryCapacityBytes = 8LL << 30;
  return ctx;
}

std::vector<std::string> list(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return {r.begin(), r.end()};
}

// ---- cpu / memory / oom ------------------------------------------------------------

TEST(MilliCpuToShares, AsTheKubeletComputesThem) {
  struct Case {
    int64_t milli;
    int64_t shares;
  };
  for (const Case& c : std::vector<Case>{{0, 2},
                                         {1, 2},
                                         {2, 2},
                                         {3, 3},
                                         {50, 51},
                                         {100, 102},
                                         {250, 256},
                                         {1000, 1024},
                                         {1500, 1536},
                                         {256000, 262144},
                                         {300000, 262144}}) {
    EXPECT_EQ(milliCpuToShares(c.milli), c.shares) << c.milli << "m";
  }
}

TEST(MilliCpuToQuota, PeriodTimesCpusWithAFloor) {
  struct Case {
    int64_t milli;
    int64_t quota;
  };
  for (const Case& c :
       std::vector<Case>{{0, 0}, {1, 1000}, {10, 1000}, {200, 20000}, {1500, 150000}}) {
    EXPECT_EQ(milliCpuToQuota(c.milli, 100000), c.quota) << c.milli << "m";
  }
  EXPECT_EQ(milliCpuToQuota(500, 50000), 25000);
}

TEST(ContainerResources, RequestsAndLimitsBecomeSharesQuotaAndMemoryLimit) {
  struct Case {
    std::string name;
    std::function<void(api::ResourceRequirements&)> mutate;
    int64_t shares;
    int64_t quota;
    int64_t memory;
  };
  std::vector<Case> cases = {
      {"best effort", [](auto&) {}, 2, 0, 0},
      {"request 50m", [](auto& r) { r.requests["cpu"] = q("50m"); }, 51, 0, 0},
      {"request 1", [](auto& r) { r.requests["cpu"] = q("1"); }, 1024, 0, 0},
      {"request 1m", [](auto& r) { r.requests["cpu"] = q("1m"); }, 2, 0, 0},
      {"limit 200m",
       [](auto& r) {
         r.requests["cpu"] = q("100m");
         r.limits["cpu"] = q("200m");
       },
       102, 20000, 0},
      {"limit only stands for the request", [](auto& r) { r.limits["cpu"] = q("500m"); }, 512,
       50000, 0},
      {"memory limit", [](auto& r) { r.limits["memory"] = q("64Mi"); }, 2, 0, 64 << 20},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    c.mutate(pod.spec.containers[0].resources);
    cri::v1::LinuxContainerResources r =
        containerResources(pod, pod.spec.containers[0], baseContext(pod));
    EXPECT_EQ(r.cpu_shares(), c.shares) << c.name;
    EXPECT_EQ(r.cpu_quota(), c.quota) << c.name;
    EXPECT_EQ(r.cpu_period(), 100000) << c.name;
    EXPECT_EQ(r.memory_limit_in_bytes(), c.memory) << c.name;
  }
}

TEST(ContainerResources, NoCfsQuotaLeavesPeriodAndQuotaUnset) {
  api::Pod pod = basePod();
  pod.spec.containers[0].resources.limits["cpu"] = q("1");
  ContainerContext ctx = baseContext(pod);
  ctx.node.cpuCfsQuota = false;
  cri::v1::LinuxContainerResources r = containerResources(pod, pod.spec.containers[0], ctx);
  EXPECT_EQ(r.cpu_period(), 0);
  EXPECT_EQ(r.cpu_quota(), 0);
  EXPECT_EQ(r.cpu_shares(), 1024);
}

TEST(ContainerOomScoreAdj, PerQosClass) {
  const int64_t capacity = 1000LL << 20;  // 1000 MiB
  struct Case {
    std::string name;
    std::function<void(api::Pod&)> mutate;
    int64_t adj;
  };
  std::vector<Case> cases = {
      {"best effort", [](api::Pod&) {}, 1000},
      {"guaranteed",
       [](api::Pod& p) {
         auto& r = p.spec.containers[0].resources;
         r.limits = {{"cpu", q("1")}, {"memory", q("100Mi")}};
         r.requests = r.limits;
       },
       -997},
      {"burstable, no memory request",
       [](api::Pod& p) { p.spec.containers[0].resources.requests["cpu"] = q("100m"); }, 999},
      {"burstable, half the memory",
       [](api::Pod& p) { p.spec.containers[0].resources.requests["memory"] = q("500Mi"); }, 500},
      {"burstable, a quarter",
       [](api::Pod& p) { p.spec.containers[0].resources.requests["memory"] = q("250Mi"); }, 750},
      {"burstable, more than the node",
       [](api::Pod& p) { p.spec.containers[0].resources.requests["memory"] = q("2000Mi"); }, 3},
      {"burstable, a tiny request",
       [](api::Pod& p) { p.spec.containers[0].resources.requests["memory"] = q("1Ki"); }, 999},
      {"node-critical static pod",
       [](api::Pod& p) {
         p.metadata.annotations[std::string(kConfigSourceAnnotation)] = "file";
         p.spec.priorityClassName = "system-node-critical";
         p.spec.containers[0].resources.requests["memory"] = q("500Mi");
       },
       -997},
      {"system-node-critical from the API without a critical priority",
       [](api::Pod& p) {
         p.metadata.annotations[std::string(kConfigSourceAnnotation)] = "api";
         p.spec.priorityClassName = "system-node-critical";
       },
       1000},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    c.mutate(pod);
    EXPECT_EQ(containerOomScoreAdj(pod, pod.spec.containers[0], capacity), c.adj) << c.name;
  }
}

// ---- $(VAR) expansion ------------------------------------------------------------------

TEST(ExpandVariables, KubernetesSyntax) {
  std::map<std::string, std::string, std::less<>> vars = {
      {"VAR_A", "A"}, {"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_EMPTY", ""}};
  auto lookup = [&](std::string_view name) -> const std::string* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : &it->second;
  };
  // The cases of the Kubernetes docs ("Define Dependent Environment Variables") and of
  // the expansion package's own table.
  std::vector<std::pair<std::string, std::string>> cases = {
      {"$(VAR_A)", "A"},
      {"___$(VAR_B)___", "___B___"},
      {"$(VAR_A)-$(VAR_A)", "A-A"},
      {"$(VAR_A)-1", "A-1"},
      {"$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
      {"$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
      {"$$(VAR_B)", "$(VAR_B)"},
      {"$$$(VAR_B)", "$B"},
      {"$$$$(VAR_B)", "$$(VAR_B)"},
      {"f000-$$VAR_A", "f000-$VAR_A"},
      {"foo\\$(VAR_C)bar", "foo\\Cbar"},
      {"foo\\\\$(VAR_C)bar", "foo\\\\Cbar"},
      {"$(VAR_EMPTY)", ""},
      {"$(UNKNOWN)", "$(UNKNOWN)"},
      {"$(VAR_A)$(UNKNOWN)", "A$(UNKNOWN)"},
      {"$(VAR_A", "$(VAR_A"},
      {"$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
      {"$()", "$()"},
      {"$VAR_A", "$VAR_A"},
      {"$", "$"},
      {"$$", "$"},
      {"$$$", "$$"},
      {"foo$", "foo$"},
      {"$(VAR_A)$", "A$"},
      {"", ""},
      {"no variables", "no variables"},
  };
  for (const auto& [input, want] : cases)
    EXPECT_EQ(expandVariables(input, lookup), want) << input;
}

// ---- env -----------------------------------------------------------------------------

api::EnvVar fieldRef(std::string name, std::string path) {
  api::EnvVar v;
  v.name = std::move(name);
  v.valueFrom.emplace().fieldRef.emplace().fieldPath = std::move(path);
  return v;
}

TEST(ContainerEnvironment, ValuesFieldRefsAndEarlierReferences) {
  api::Pod pod = basePod();
  pod.metadata.annotations = {{"team", "blue"}, {"note", "say \"hi\""}};
  pod.spec.serviceAccountName = "builder";
  pod.spec.nodeName = "node-7";
  auto& env = pod.spec.containers[0].env;
  env = {
      {.name = "A", .value = "a"},
      {.name = "B", .value = "$(A)-$(C)"},  // C is defined later: stays as written
      {.name = "C", .value = "c"},
      fieldRef("POD_NAME", "metadata.name"),
      fieldRef("POD_NAMESPACE", "metadata.namespace"),
      fieldRef("POD_UID", "metadata.uid"),
      fieldRef("APP", "metadata.labels['app']"),
      fieldRef("MISSING", "metadata.labels['nope']"),
      fieldRef("TEAM", "metadata.annotations['team']"),
      fieldRef("ANNOTATIONS", "metadata.annotations"),
      fieldRef("NODE", "spec.nodeName"),
      fieldRef("SA", "spec.serviceAccountName"),
      fieldRef("POD_IP", "status.podIP"),
      fieldRef("POD_IPS", "status.podIPs"),
      fieldRef("HOST_IP", "status.hostIP"),
      fieldRef("HOST_IPS", "status.hostIPs"),
      {.name = "URL", .value = "http://$(POD_IP):80/$(POD_NAME)"},
      {.name = "EMPTY"},
      {.name = "A", .value = "again $(A)"},  // a redefinition keeps A's place
  };
  ContainerContext ctx = baseContext(pod);
  ctx.podIps = {"10.88.0.2", "fd00::2"};
  ctx.hostIps = {"192.168.1.10", "fd01::10"};
  auto got = containerEnvironment(pod, pod.spec.containers[0], ctx, "spec.containers[0]");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(
      *got, ElementsAre(Pair("A", "again a"), Pair("B", "a-$(C)"), Pair("C", "c"),
                        Pair("POD_NAME", "web"), Pair("POD_NAMESPACE", "default"),
                        Pair("POD_UID", "0b9e-41c1"), Pair("APP", "web"), Pair("MISSING", ""),
                        Pair("TEAM", "blue"),
                        Pair("ANNOTATIONS", "note=\"say \\\"hi\\\"\"\nteam=\"blue\""),
                        Pair("NODE", "node-7"), Pair("SA", "builder"), Pair("POD_IP", "10.88.0.2"),
                        Pair("POD_IPS", "10.88.0.2,fd00::2"), Pair("HOST_IP", "192.168.1.10"),
                        Pair("HOST_IPS", "192.168.1.10,fd01::10"),
                        Pair("URL", "http://10.88.0.2:80/web"), Pair("EMPTY", "")));
}

TEST(ContainerEnvironment, StaticPodWithoutNodeNameGetsTheNodes) {
  api::Pod pod = basePod();
  pod.spec.containers[0].env = {fieldRef("NODE", "spec.nodeName")};
  auto got =
      containerEnvironment(pod, pod.spec.containers[0], baseContext(pod), "spec.containers[0]");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, ElementsAre(Pair("NODE", "node-1")));
}

TEST(ContainerEnvironment, HostNetworkPodIpIsTheNodes) {
  api::Pod pod = basePod();
  pod.spec.hostNetwork = true;
  pod.spec.containers[0].env = {fieldRef("IP", "status.podIP")};
  ContainerContext ctx = baseContext(pod);
  ctx.podIps.clear();
  auto got = containerEnvironment(pod, pod.spec.containers[0], ctx, "spec.containers[0]");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, ElementsAre(Pair("IP", "192.168.1.10")));
}

TEST(MakeContainerConfig, UnsupportedFieldRefNamesTheField) {
  api::Pod pod = basePod();
  pod.spec.containers[0].env = {
      {.name = "A", .value = "a"}, {.name = "B", .value = "b"}, fieldRef("X", "spec.nodeSelector")};
  auto got = makeContainerConfig(pod, pod.spec.containers[0], baseContext(pod));
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("spec.containers[0].env[2].valueFrom.fieldRef.fieldPath: Unsupported "
                        "value: \"spec.nodeSelector\": supported values: \"metadata.name\""));
}

TEST(MakeContainerConfig, ErrorsInInitContainersNameThem) {
  api::Pod pod = basePod();
  api::Container init = pod.spec.containers[0];
  init.name = "setup";
  init.env = {fieldRef("X", "status.phase")};
  pod.spec.initContainers.push_back(init);
  auto got = makeContainerConfig(pod, pod.spec.initContainers[0], baseContext(pod));
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("spec.initContainers[0].env[0].valueFrom.fieldRef.fieldPath"));
}

TEST(MakeContainerConfig, CommandAndArgsExpandedSeparately) {
  api::Pod pod = basePod();
  api::Container& c = pod.spec.containers[0];
  c.env = {{.name = "GREETING", .value = "hello"}, fieldRef("NAME", "metadata.name")};
  c.command = {"sh", "-c"};
  c.args = {"echo $(GREETING) from $(NAME) $$(HOME) $(LATER)", "$(GREETING)"};
  auto got = makeContainerConfig(pod, c, baseContext(pod));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(list(got->command()), ElementsAre("sh", "-c"));
  EXPECT_THAT(list(got->args()), ElementsAre("echo hello from web $(HOME) $(LATER)", "hello"));

  // Args only: the image's entrypoint stays (command is left empty for containerd).
  c.command.clear();
  got = makeContainerConfig(pod, c, baseContext(pod));
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(list(got->command()), IsEmpty());
  EXPECT_EQ(got->args_size(), 2);
  std::vector<std::pair<std::string, std::string>> envs;
  for (const auto& kv : got->envs())
    envs.emplace_back(kv.key(), kv.value());
  EXPECT_THAT(envs, ElementsAre(Pair("GREETING", "hello"), Pair("NAME", "web")));
}

// ---- DNS -------------------------------------------------------------------------------

struct DnsWant {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

void expectDns(const cri::v1::DNSConfig& got, const DnsWant& want, const std::string& name) {
  EXPECT_THAT(list(got.servers()), ElementsAreArray(want.servers)) << name;
  EXPECT_THAT(list(got.searches()), ElementsAreArray(want.searches)) << name;
  EXPECT_THAT(list(got.options()), ElementsAreArray(want.options)) << name;
}

TEST(PodDnsConfig, PerDnsPolicy) {
  const DnsWant cluster = {
      {"10.96.0.10"},
      {"default.svc.cluster.local", "svc.cluster.local", "cluster.local", "lan.example.com"},
      {"ndots:5"}};
  const DnsWant host = {{"192.168.1.1"}, {"lan.example.com"}, {"edns0"}};
  struct Case {
    std::string name;
    std::function<void(api::Pod&, NodeSettings&)> mutate;
    DnsWant want;
  };
  std::vector<Case> cases = {
      {"ClusterFirst", [](auto&, auto&) {}, cluster},
      {"empty policy means ClusterFirst", [](api::Pod& p, auto&) { p.spec.dnsPolicy = ""; },
       cluster},
      {"ClusterFirst without --cluster-dns falls back to Default",
       [](auto&, NodeSettings& n) { n.clusterDns.clear(); }, host},
      {"ClusterFirst on hostNetwork is Default",
       [](api::Pod& p, auto&) { p.spec.hostNetwork = true; }, host},
      {"ClusterFirstWithHostNet on hostNetwork",
       [](api::Pod& p, auto&) {
         p.spec.hostNetwork = true;
         p.spec.dnsPolicy = "ClusterFirstWithHostNet";
       },
       cluster},
      {"Default", [](api::Pod& p, auto&) { p.spec.dnsPolicy = "Default"; }, host},
      {"None", [](api::Pod& p, auto&) { p.spec.dnsPolicy = "None"; }, {}},
      {"None takes the pod's dnsConfig alone",
       [](api::Pod& p, auto&) {
         p.spec.dnsPolicy = "None";
         p.spec.dnsConfig =
             api::PodDNSConfig{.nameservers = {"192.0.2.1"},
                               .searches = {"my.dns.search.suffix"},
                               .options = {{.name = "ndots", .value = "2"}, {.name = "edns0"}}};
       },
       {{"192.0.2.1"}, {"my.dns.search.suffix"}, {"ndots:2", "edns0"}}},
      {"dnsConfig adds to ClusterFirst, its options win by name",
       [](api::Pod& p, auto&) {
         p.spec.dnsConfig = api::PodDNSConfig{
             .nameservers = {"10.96.0.10", "192.0.2.1"},
             .searches = {"extra.example"},
             .options = {{.name = "ndots", .value = "1"}, {.name = "single-request"}}};
       },
       {{"10.96.0.10", "192.0.2.1"},
        {"default.svc.cluster.local", "svc.cluster.local", "cluster.local", "lan.example.com",
         "extra.example"},
        {"ndots:1", "single-request"}}},
      {"Default without a host resolv.conf",
       [](api::Pod& p, NodeSettings& n) {
         p.spec.dnsPolicy = "Default";
         n.hostResolvConf.reset();
       },
       {{"127.0.0.1"}, {"."}, {}}},
      {"Default without a host resolv.conf on an IPv6 node",
       [](api::Pod& p, NodeSettings& n) {
         p.spec.dnsPolicy = "Default";
         n.hostResolvConf.reset();
         n.nodeIps = {"fd00::1"};
       },
       {{"::1"}, {"."}, {}}},
      {"ClusterFirst without a cluster domain keeps the host's searches",
       [](auto&, NodeSettings& n) { n.clusterDomain.clear(); },
       {{"10.96.0.10"}, {"lan.example.com"}, {"ndots:5"}}},
      {"duplicate searches are dropped",
       [](auto&, NodeSettings& n) {
         n.hostResolvConf->searches = {"cluster.local", "x.org"};
       },
       {{"10.96.0.10"},
        {"default.svc.cluster.local", "svc.cluster.local", "cluster.local", "x.org"},
        {"ndots:5"}}},
      {"at most three nameservers",
       [](api::Pod& p, NodeSettings& n) {
         p.spec.dnsPolicy = "Default";
         n.hostResolvConf->nameservers = {"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"};
       },
       {{"1.1.1.1", "2.2.2.2", "3.3.3.3"}, {"lan.example.com"}, {"edns0"}}},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    NodeSettings node = baseNode();
    c.mutate(pod, node);
    expectDns(podDnsConfig(pod, node), c.want, c.name);
  }
}

TEST(SandboxConfig, SysctlsAndASharedPidNamespace) {
  api::Pod pod = basePod();
  pod.spec.shareProcessNamespace = true;
  pod.spec.securityContext = api::PodSecurityContext{};
  pod.spec.securityContext->sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  cri::v1::PodSandboxConfig config = makeSandboxConfig(pod, 0, baseNode());
  EXPECT_EQ(config.linux().sysctls().at("net.ipv4.ip_unprivileged_port_start"), "0");
  EXPECT_EQ(config.linux().security_context().namespace_options().pid(), cri::v1::POD);
  pod.spec.shareProcessNamespace = false;
  EXPECT_EQ(
      makeSandboxConfig(pod, 0, baseNode()).linux().security_context().namespace_options().pid(),
      cri::v1::CONTAINER);
}

TEST(PodDnsConfig, SearchLimits) {
  api::Pod pod = basePod();
  pod.spec.dnsPolicy = "Default";
  NodeSettings node = baseNode();
  node.hostResolvConf->searches.clear();
  for (int i = 0; i < 40; ++i)
    node.hostResolvConf->searches.push_back(fmt::format("d{}.example", i));
  EXPECT_EQ(podDnsConfig(pod, node).searches_size(), 32);

  // Over 253 characters: dropped; then the line is cut from the end to 2048 characters.
  node.hostResolvConf->searches = {std::string(254, 'a'), "ok.example"};
  EXPECT_THAT(list(podDnsConfig(pod, node).searches()), ElementsAre("ok.example"));
  node.hostResolvConf->searches.clear();
  for (int i = 0; i < 10; ++i)
    node.hostResolvConf->searches.push_back(std::string(250, 'a' + i));
  auto searches = list(podDnsConfig(pod, node).searches());
  EXPECT_EQ(searches.size(), 8u);  // 8*250 + 7 spaces = 2007
}

TEST(ParseResolvConf, AsTheKubeletReadsIt) {
  ResolvConf got = parseResolvConf(
      "# generated\n"
      "nameserver 192.168.1.1\n"
      "search old.example\n"
      "  nameserver\t10.0.0.1  \n"
      "nameserver\n"
      "options ndots:2\n"
      "search corp.example. lan.example\r\n"
      "options edns0 rotate\n"
      "domain ignored.example\n");
  EXPECT_THAT(got.nameservers, ElementsAre("192.168.1.1", "10.0.0.1"));
  EXPECT_THAT(got.searches, ElementsAre("corp.example", "lan.example"));
  EXPECT_THAT(got.options, ElementsAre("edns0", "rotate"));
  EXPECT_EQ(parseResolvConf(""), ResolvConf{});
}

// ---- sandbox -------------------------------------------------------------------------

TEST(PodCgroupParent, PerQosClassAndDriver) {
  struct Case {
    std::string name;
    std::function<void(api::Pod&)> mutate;
    std::string cgroupfs;
    std::string systemd;
  };
  std::vector<Case> cases = {
      {"best effort", [](api::Pod&) {}, "/kubepods/besteffort/pod0b9e-41c1",
       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b9e_41c1.slice"},
      {"burstable", [](api::Pod& p) { p.spec.containers[0].resources.requests["cpu"] = q("100m"); },
       "/kubepods/burstable/pod0b9e-41c1",
       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b9e_41c1.slice"},
      {"guaranteed",
       [](api::Pod& p) {
         p.spec.containers[0].resources.limits = {{"cpu", q("1")}, {"memory", q("64Mi")}};
       },
       "/kubepods/pod0b9e-41c1", "/kubepods.slice/kubepods-pod0b9e_41c1.slice"},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    c.mutate(pod);
    NodeSettings node = baseNode();
    EXPECT_EQ(podCgroupParent(pod, node), c.cgroupfs) << c.name;
    node.cgroupDriver = CgroupDriver::kSystemd;
    EXPECT_EQ(podCgroupParent(pod, node), c.systemd) << c.name;
  }
}

TEST(PodHostname, NameOrHostnameCutTo63) {
  api::Pod pod = basePod();
  EXPECT_EQ(podHostname(pod), "web");
  pod.spec.hostname = "frontend";
  EXPECT_EQ(podHostname(pod), "frontend");
  pod.spec.hostname.clear();
  pod.metadata.name = std::string(62, 'a') + "-.b";
  EXPECT_EQ(podHostname(pod), std::string(62, 'a'));
  pod.metadata.name = std::string(63, 'a');
  EXPECT_EQ(podHostname(pod), std::string(63, 'a'));
}

TEST(MakeSandboxConfig, CarriesTheKubeletsView) {
  api::Pod pod = basePod();
  pod.metadata.annotations = {{"kubernetes.io/config.source", "file"}};
  pod.spec.securityContext->runAsUser = 1000;
  pod.spec.securityContext->runAsGroup = 3000;
  pod.spec.securityContext->fsGroup = 2000;
  pod.spec.securityContext->supplementalGroups = {4000, 5000};
  api::Container& c = pod.spec.containers[0];
  c.ports = {{.name = "http", .hostPort = 8080, .containerPort = 80, .protocol = "TCP"},
             {.name = "dns", .containerPort = 53, .protocol = "UDP", .hostIP = "127.0.0.1"},
             {.name = "http", .hostPort = 9090, .containerPort = 90, .protocol = "TCP"}};
  api::Container& sidecar = pod.spec.containers.emplace_back(c);
  sidecar.name = "sidecar";
  sidecar.ports = {{.hostPort = 7000, .containerPort = 7000, .protocol = "SCTP"}};
  sidecar.securityContext.emplace().privileged = true;

  cri::v1::PodSandboxConfig got = makeSandboxConfig(pod, 2, baseNode());
  EXPECT_EQ(got.metadata().name(), "web");
  EXPECT_EQ(got.metadata().namespace_(), "default");
  EXPECT_EQ(got.metadata().uid(), "0b9e-41c1");
  EXPECT_EQ(got.metadata().attempt(), 2u);
  EXPECT_EQ(got.hostname(), "web");
  EXPECT_EQ(got.log_directory(), "/var/log/pods/default_web_0b9e-41c1");
  std::map<std::string, std::string> labels(got.labels().begin(), got.labels().end());
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"app", "web"},
                                                        {"io.kubernetes.pod.name", "web"},
                                                        {"io.kubernetes.pod.namespace", "default"},
                                                        {"io.kubernetes.pod.uid", "0b9e-41c1"}}));
  std::map<std::string, std::string> annotations(got.annotations().begin(),
                                                 got.annotations().end());
  EXPECT_EQ(annotations, pod.metadata.annotations);
  EXPECT_EQ(got.dns_config().servers_size(), 1);

  ASSERT_EQ(got.port_mappings_size(), 3);  // the second "http" is ignored
  EXPECT_EQ(got.port_mappings(0).host_port(), 8080);
  EXPECT_EQ(got.port_mappings(0).container_port(), 80);
  EXPECT_EQ(got.port_mappings(0).protocol(), cri::v1::TCP);
  EXPECT_EQ(got.port_mappings(1).host_port(), 0);
  EXPECT_EQ(got.port_mappings(1).protocol(), cri::v1::UDP);
  EXPECT_EQ(got.port_mappings(1).host_ip(), "127.0.0.1");
  EXPECT_EQ(got.port_mappings(2).protocol(), cri::v1::SCTP);

  const cri::v1::LinuxPodSandboxConfig& linux = got.linux();
  EXPECT_EQ(linux.cgroup_parent(), "/kubepods/besteffort/pod0b9e-41c1");
  const auto& sc = linux.security_context();
  EXPECT_TRUE(sc.privileged());
  EXPECT_EQ(sc.seccomp().profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
  EXPECT_EQ(sc.namespace_options().network(), cri::v1::POD);
  EXPECT_EQ(sc.namespace_options().pid(), cri::v1::CONTAINER);
  EXPECT_EQ(sc.namespace_options().ipc(), cri::v1::POD);
  ASSERT_TRUE(sc.has_run_as_user());
  EXPECT_EQ(sc.run_as_user().value(), 1000);
  EXPECT_EQ(sc.run_as_group().value(), 3000);
  EXPECT_THAT(sc.supplemental_groups(), ElementsAre(2000, 4000, 5000));
}

TEST(MakeSandboxConfig, HostNamespacesAndNoHostnameOnHostNetwork) {
  api::Pod pod = basePod();
  pod.spec.hostNetwork = true;
  pod.spec.hostPID = true;
  pod.spec.hostIPC = true;
  pod.spec.securityContext.reset();
  cri::v1::PodSandboxConfig got = makeSandboxConfig(pod, 0, baseNode());
  EXPECT_EQ(got.hostname(), "");
  const auto& sc = got.linux().security_context();
  EXPECT_EQ(sc.namespace_options().network(), cri::v1::NODE);
  EXPECT_EQ(sc.namespace_options().pid(), cri::v1::NODE);
  EXPECT_EQ(sc.namespace_options().ipc(), cri::v1::NODE);
  EXPECT_FALSE(sc.privileged());
  EXPECT_FALSE(sc.has_run_as_user());
  // ClusterFirst on the host network: the host's resolver.
  EXPECT_THAT(list(got.dns_config().servers()), ElementsAre("192.168.1.1"));
}

// ---- container -----------------------------------------------------------------------

TEST(MakeContainerConfig, MetadataImageLogPathLabelsAndAnnotations) {
  api::Pod pod = basePod();
  pod.spec.terminationGracePeriodSeconds = 45;
  pod.metadata.deletionGracePeriodSeconds = 10;
  api::Container& c = pod.spec.containers[0];
  c.workingDir = "/srv";
  c.tty = true;
  c.ports = {{.name = "http", .containerPort = 80, .protocol = "TCP"}};
  c.lifecycle.emplace().preStop.emplace().exec.emplace().command = {"sh", "-c", "sleep 1"};
  ContainerContext ctx = baseContext(pod);
  ctx.restartCount = 3;
  ctx.imageRef = "sha256:abc";

  auto got = makeContainerConfig(pod, c, ctx);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->metadata().name(), "app");
  EXPECT_EQ(got->metadata().attempt(), 3u);
  EXPECT_EQ(got->image().image(), "sha256:abc");
  EXPECT_EQ(got->log_path(), "app/3.log");
  EXPECT_EQ(got->working_dir(), "/srv");
  EXPECT_TRUE(got->tty());
  EXPECT_FALSE(got->stdin());
  std::map<std::string, std::string> labels(got->labels().begin(), got->labels().end());
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"io.kubernetes.container.name", "app"},
                                                        {"io.kubernetes.pod.name", "web"},
                                                        {"io.kubernetes.pod.namespace", "default"},
                                                        {"io.kubernetes.pod.uid", "0b9e-41c1"}}));
  std::map<std::string, std::string> annotations(got->annotations().begin(),
                                                 got->annotations().end());
  EXPECT_EQ(annotations,
            (std::map<std::string, std::string>{
                {"io.kubernetes.container.hash", fmt::format("{:x}", containerSpecHash(c))},
                {"io.kubernetes.container.restartCount", "3"},
                {"io.kubernetes.container.terminationMessagePath", "/dev/termination-log"},
                {"io.kubernetes.container.terminationMessagePolicy", "File"},
                {"io.kubernetes.pod.terminationGracePeriod", "45"},
                {"io.kubernetes.pod.deletionGracePeriod", "10"},
                {"io.kubernetes.container.preStopHandler",
                 R"({"exec":{"command":["sh","-c","sleep 1"]}})"},
                {"io.kubernetes.container.ports",
                 R"([{"name":"http","containerPort":80,"protocol":"TCP"}])"}}));

  // Without an image ref, the spec's image; the first run is attempt 0 / 0.log.
  ctx.imageRef.clear();
  ctx.restartCount = 0;
  got = makeContainerConfig(pod, c, ctx);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->image().image(), "busybox:latest");
  EXPECT_EQ(got->log_path(), "app/0.log");
}

TEST(ContainerSpecHash, StableAndSensitiveToTheSpec) {
  api::Pod pod = basePod();
  api::Container c = pod.spec.containers[0];
  const uint64_t h = containerSpecHash(c);
  EXPECT_EQ(containerSpecHash(c), h);
  EXPECT_NE(h, 0u);
  struct Case {
    std::string name;
    std::function<void(api::Container&)> mutate;
  };
  for (const Case& m : std::vector<Case>{
           {"image", [](api::Container& x) { x.image = "busybox:1.36"; }},
           {"args",
            [](api::Container& x) {
              x.args = {"sleep", "1"};
            }},
           {"env", [](api::Container& x) { x.env = {{.name = "A", .value = "1"}}; }},
           {"resources", [](api::Container& x) { x.resources.limits["cpu"] = q("1"); }},
       }) {
    api::Container changed = c;
    m.mutate(changed);
    EXPECT_NE(containerSpecHash(changed), h) << m.name;
  }
}

TEST(MakeContainerConfig, Mounts) {
  api::Pod pod = basePod();
  pod.spec.volumes = {{.name = "cache", .emptyDir = api::EmptyDirVolumeSource{}},
                      {.name = "logs", .hostPath = api::HostPathVolumeSource{.path = "/var/log"}}};
  api::Container& c = pod.spec.containers[0];
  c.volumeMounts = {{.name = "cache", .mountPath = "/cache"},
                    {.name = "logs", .readOnly = true, .mountPath = "/host/log"},
                    {.name = "cache", .mountPath = "data", .subPath = "./a//b/"}};
  ContainerContext ctx = baseContext(pod);
  ctx.terminationMessageHostPath = "/var/lib/kubenode/pods/0b9e-41c1/containers/app/1a2b";
  ctx.etcHostsHostPath = "/var/lib/kubenode/pods/0b9e-41c1/etc-hosts";
  auto got = makeContainerConfig(pod, c, ctx);
  ASSERT_TRUE(got.ok()) << got.status();
  std::vector<std::tuple<std::string, std::string, bool>> mounts;
  for (const auto& m : got->mounts())
    mounts.emplace_back(m.container_path(), m.host_path(), m.readonly());
  const std::string emptyDir = "/var/lib/kubenode/pods/0b9e-41c1/volumes/kubernetes.io~empty-dir";
  EXPECT_THAT(mounts, ElementsAre(std::tuple("/cache", emptyDir + "/cache", false),
                                  std::tuple("/host/log", "/var/log", true),
                                  std::tuple("/data", emptyDir + "/cache/a/b", false),
                                  std::tuple("/etc/hosts", ctx.etcHostsHostPath, false),
                                  std::tuple("/dev/termination-log", ctx.terminationMessageHostPath,
                                             false)));

  // A volume mounted at /etc/hosts replaces the pod's hosts file.
  c.volumeMounts = {{.name = "logs", .mountPath = "/etc/hosts", .subPath = "hosts"}};
  got = makeContainerConfig(pod, c, ctx);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->mounts_size(), 2);
  EXPECT_EQ(got->mounts(0).host_path(), "/var/log/hosts");
  EXPECT_EQ(got->mounts(1).container_path(), "/dev/termination-log");
}

TEST(MakeContainerConfig, MountErrorsNameTheField) {
  struct Case {
    api::VolumeMount mount;
    std::string error;
  };
  std::vector<Case> cases = {
      {{.name = "cache", .mountPath = "/x", .subPath = "../etc"},
       R"(spec.containers[0].volumeMounts[0].subPath: Invalid value: "../etc": must not contain '..')"},
      {{.name = "cache", .mountPath = "/x", .subPath = "a/../../b"},
       R"(spec.containers[0].volumeMounts[0].subPath: Invalid value: "a/../../b": must not contain '..')"},
      {{.name = "cache", .mountPath = "/x", .subPath = "/etc"},
       R"(spec.containers[0].volumeMounts[0].subPath: Invalid value: "/etc": must be a relative path)"},
      {{.name = "nope", .mountPath = "/x"},
       R"(spec.containers[0].volumeMounts[0].name: Not found: "nope")"},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    pod.spec.volumes = {{.name = "cache", .emptyDir = api::EmptyDirVolumeSource{}}};
    pod.spec.containers[0].volumeMounts = {c.mount};
    auto got = makeContainerConfig(pod, pod.spec.containers[0], baseContext(pod));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.error;
    EXPECT_EQ(std::string(got.status().message()), c.error);
  }
  // ".." inside a name is not a step back.
  api::Pod pod = basePod();
  pod.spec.volumes = {{.name = "cache", .emptyDir = api::EmptyDirVolumeSource{}}};
  pod.spec.containers[0].volumeMounts = {
      {.name = "cache", .mountPath = "/x", .subPath = "a..b/..c"}};
  EXPECT_TRUE(makeContainerConfig(pod, pod.spec.containers[0], baseContext(pod)).ok());
}

TEST(MakeContainerConfig, SecurityContext) {
  api::Pod pod = basePod();
  pod.spec.securityContext->runAsUser = 1000;
  pod.spec.securityContext->runAsGroup = 3000;
  pod.spec.securityContext->fsGroup = 2000;
  api::SecurityContext& sc = pod.spec.containers[0].securityContext.emplace();
  sc.runAsUser = 1001;  // wins over the pod's
  sc.readOnlyRootFilesystem = true;
  sc.allowPrivilegeEscalation = false;
  sc.capabilities = api::Capabilities{.add = {"NET_ADMIN"}, .drop = {"ALL"}};
  auto got = makeContainerConfig(pod, pod.spec.containers[0], baseContext(pod));
  ASSERT_TRUE(got.ok()) << got.status();
  const auto& csc = got->linux().security_context();
  EXPECT_EQ(csc.run_as_user().value(), 1001);
  EXPECT_EQ(csc.run_as_group().value(), 3000);
  EXPECT_TRUE(csc.readonly_rootfs());
  EXPECT_TRUE(csc.no_new_privs());
  EXPECT_FALSE(csc.privileged());
  EXPECT_THAT(list(csc.capabilities().add_capabilities()), ElementsAre("NET_ADMIN"));
  EXPECT_THAT(list(csc.capabilities().drop_capabilities()), ElementsAre("ALL"));
  EXPECT_THAT(csc.supplemental_groups(), ElementsAre(2000));
  EXPECT_EQ(csc.namespace_options().network(), cri::v1::POD);
  EXPECT_EQ(csc.namespace_options().pid(), cri::v1::CONTAINER);
  EXPECT_THAT(list(csc.masked_paths()), ::testing::Contains("/proc/kcore"));
  EXPECT_THAT(list(csc.readonly_paths()), ::testing::Contains("/proc/sys"));
  EXPECT_EQ(csc.seccomp().profile_type(), cri::v1::SecurityProfile::Unconfined);

  // Defaults: nothing forced; allowPrivilegeEscalation unset is not no_new_privs.
  api::Pod plain = basePod();
  got = makeContainerConfig(plain, plain.spec.containers[0], baseContext(plain));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->linux().security_context().no_new_privs());
  EXPECT_FALSE(got->linux().security_context().has_run_as_user());
  EXPECT_FALSE(got->linux().security_context().has_capabilities());

  // The image's numeric user fills in when nothing else says.
  ContainerContext ctx = baseContext(plain);
  ctx.imageUid = 65534;
  got = makeContainerConfig(plain, plain.spec.containers[0], ctx);
  EXPECT_EQ(got->linux().security_context().run_as_user().value(), 65534);
  ctx.imageUid.reset();
  ctx.imageUsername = "nobody";
  got = makeContainerConfig(plain, plain.spec.containers[0], ctx);
  EXPECT_EQ(got->linux().security_context().run_as_username(), "nobody");
}

TEST(MakeContainerConfig, Seccomp) {
  struct Case {
    std::string name;
    std::function<void(api::Pod&, ContainerContext&)> mutate;
    cri::v1::SecurityProfile::ProfileType type;
    std::string ref;
  };
  auto profile = [](std::string type, std::optional<std::string> local = std::nullopt) {
    return api::SeccompProfile{.type = std::move(type), .localhostProfile = std::move(local)};
  };
  std::vector<Case> cases = {
      {"none: Unconfined", [](auto&, auto&) {}, cri::v1::SecurityProfile::Unconfined, ""},
      {"none with --seccomp-default",
       [](auto&, ContainerContext& ctx) { ctx.node.seccompDefault = true; },
       cri::v1::SecurityProfile::RuntimeDefault, ""},
      {"pod RuntimeDefault",
       [&](api::Pod& p, auto&) {
         p.spec.securityContext->seccompProfile = profile("RuntimeDefault");
       },
       cri::v1::SecurityProfile::RuntimeDefault, ""},
      {"container wins over pod",
       [&](api::Pod& p, auto&) {
         p.spec.securityContext->seccompProfile = profile("RuntimeDefault");
         p.spec.containers[0].securityContext.emplace().seccompProfile = profile("Unconfined");
       },
       cri::v1::SecurityProfile::Unconfined, ""},
      {"Localhost under <root-dir>/seccomp",
       [&](api::Pod& p, auto&) {
         p.spec.containers[0].securityContext.emplace().seccompProfile =
             profile("Localhost", "profiles/audit.json");
       },
       cri::v1::SecurityProfile::Localhost, "/var/lib/kubenode/seccomp/profiles/audit.json"},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    ContainerContext ctx = baseContext(pod);
    c.mutate(pod, ctx);
    auto got = makeContainerConfig(pod, pod.spec.containers[0], ctx);
    ASSERT_TRUE(got.ok()) << c.name << ": " << got.status();
    EXPECT_EQ(got->linux().security_context().seccomp().profile_type(), c.type) << c.name;
    EXPECT_EQ(got->linux().security_context().seccomp().localhost_ref(), c.ref) << c.name;
  }
}

TEST(MakeContainerConfig, SecurityErrorsNameTheField) {
  struct Case {
    std::string name;
    std::function<void(api::Pod&, ContainerContext&)> mutate;
    std::string error;
  };
  std::vector<Case> cases = {
      {"Localhost without a profile",
       [](api::Pod& p, auto&) {
         p.spec.containers[0].securityContext.emplace().seccompProfile =
             api::SeccompProfile{.type = "Localhost"};
       },
       "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: "
       "must be set when seccomp type is Localhost"},
      {"Localhost escaping the profile root",
       [](api::Pod& p, auto&) {
         p.spec.securityContext->seccompProfile =
             api::SeccompProfile{.type = "Localhost", .localhostProfile = "../../etc/x.json"};
       },
       "spec.securityContext.seccompProfile.localhostProfile: Invalid value: "
       "\"../../etc/x.json\": must not contain '..'"},
      {"unknown seccomp type",
       [](api::Pod& p, auto&) {
         p.spec.containers[0].securityContext.emplace().seccompProfile =
             api::SeccompProfile{.type = "Strict"};
       },
       "spec.containers[0].securityContext.seccompProfile.type: Unsupported value: \"Strict\": "
       "supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\""},
      {"runAsNonRoot with runAsUser 0",
       [](api::Pod& p, auto&) {
         p.spec.securityContext->runAsNonRoot = true;
         p.spec.containers[0].securityContext.emplace().runAsUser = 0;
       },
       "container's runAsUser breaks non-root policy (pod: \"web_default(0b9e-41c1)\", "
       "container: app)"},
      {"runAsNonRoot with a root image",
       [](api::Pod& p, ContainerContext& ctx) {
         p.spec.containers[0].securityContext.emplace().runAsNonRoot = true;
         ctx.imageUid = 0;
       },
       "container has runAsNonRoot and image will run as root (pod: "
       "\"web_default(0b9e-41c1)\", container: app)"},
      {"runAsNonRoot with an image that names no user (root)",
       [](api::Pod& p, ContainerContext& ctx) {
         p.spec.containers[0].securityContext.emplace().runAsNonRoot = true;
         ctx.imageUid.reset();
         ctx.imageUsername.clear();
       },
       "container has runAsNonRoot and image will run as root (pod: "
       "\"web_default(0b9e-41c1)\", container: app)"},
      {"runAsNonRoot with an image user beyond the kernel's range",
       [](api::Pod& p, ContainerContext& ctx) {
         p.spec.securityContext->runAsNonRoot = true;
         ctx.imageUid = 4294967296;
       },
       "container has runAsNonRoot and image has an invalid user id (4294967296). (Must be "
       "1-(2147483647)) (pod: \"web_default(0b9e-41c1)\", container: app)"},
      {"runAsNonRoot with a named image user",
       [](api::Pod& p, ContainerContext& ctx) {
         p.spec.securityContext->runAsNonRoot = true;
         ctx.imageUsername = "app";
       },
       "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is "
       "non-root (pod: \"web_default(0b9e-41c1)\", container: app)"},
  };
  for (const Case& c : cases) {
    api::Pod pod = basePod();
    ContainerContext ctx = baseContext(pod);
    c.mutate(pod, ctx);
    auto got = makeContainerConfig(pod, pod.spec.containers[0], ctx);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(std::string(got.status().message()), c.error) << c.name;
  }

  // runAsNonRoot holds with a non-root user.
  api::Pod pod = basePod();
  pod.spec.securityContext->runAsNonRoot = true;
  ContainerContext ctx = baseContext(pod);
  ctx.imageUid = 1000;
  EXPECT_TRUE(makeContainerConfig(pod, pod.spec.containers[0], ctx).ok());
}

TEST(MakeContainerConfig, ResourcesAndOomScoreInTheConfig) {
  api::Pod pod = basePod();
  auto& r = pod.spec.containers[0].resources;
  r.requests = {{"cpu", q("250m")}, {"memory", q("1Gi")}};
  r.limits = {{"cpu", q("500m")}, {"memory", q("2Gi")}};
  ContainerContext ctx = baseContext(pod);  // 8 GiB
  auto got = makeContainerConfig(pod, pod.spec.containers[0], ctx);
  ASSERT_TRUE(got.ok());
  const auto& lr = got->linux().resources();
  EXPECT_EQ(lr.cpu_shares(), 256);
  EXPECT_EQ(lr.cpu_quota(), 50000);
  EXPECT_EQ(lr.cpu_period(), 100000);
  EXPECT_EQ(lr.memory_limit_in_bytes(), 2LL << 30);
  EXPECT_EQ(lr.oom_score_adj(), 875);  // 1000 - 1000*1/8
}

TEST(PodVolumeHostPaths, EmptyDirUnderRootDirHostPathAsWritten) {
  api::Pod pod = basePod();
  pod.spec.volumes = {{.name = "a", .emptyDir = api::EmptyDirVolumeSource{}},
                      {.name = "b", .hostPath = api::HostPathVolumeSource{.path = "/data"}}};
  NodeSettings node = baseNode();
  node.rootDir = "/tmp/root/";
  EXPECT_EQ(
      podVolumeHostPaths(pod, node),
      (std::map<std::string, std::string>{
          {"a", "/tmp/root/pods/0b9e-41c1/volumes/kubernetes.io~empty-dir/a"}, {"b", "/data"}}));
}

}  // namespace
}  // namespace kubenode::agent::pods
