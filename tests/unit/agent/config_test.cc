#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/command_line.h"

namespace kubenode::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "kubenode");
  std::vector<const char*> argv;
  for (const std::string& a : args)
    argv.push_back(a.c_str());
  return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

// A config file in a fresh temp dir, removed with the test.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    char tmpl[] = "/tmp/kubenode-config-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/config.yaml";
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(CommandLine, DefaultsAreTheKubeletsWithoutFlags) {
  CommandLine cl = parse({});
  ASSERT_FALSE(cl.exit) << cl.output;
  EXPECT_EQ(cl.config.containerRuntimeEndpoint, "unix:///run/containerd/containerd.sock");
  EXPECT_EQ(cl.config.readOnlyPort, 10255);
  EXPECT_EQ(cl.config.healthzPort, 10248);
  EXPECT_EQ(cl.config.masqueradeBit, 14);
  EXPECT_EQ(cl.config.runtimeRequestTimeout, std::chrono::minutes(2));
  EXPECT_EQ(cl.config.podLogsDir, "/var/log/pods");
}

TEST(CommandLine, FlagsSetValuesInBothSpellings) {
  CommandLine cl =
      parse({"--root-dir=/srv/kn", "--read-only-port", "0", "--cluster-dns", "10.0.0.10,10.0.0.11",
             "--cluster-dns=10.0.0.12", "--runtime-request-timeout=30s", "--v=4",
             "--hostname-override", "node-a"});
  ASSERT_FALSE(cl.exit) << cl.output;
  EXPECT_EQ(cl.config.rootDir, "/srv/kn");
  EXPECT_EQ(cl.config.readOnlyPort, 0);
  EXPECT_THAT(cl.config.clusterDNS, ElementsAre("10.0.0.10", "10.0.0.11", "10.0.0.12"));
  EXPECT_EQ(cl.config.runtimeRequestTimeout, std::chrono::seconds(30));
  EXPECT_EQ(cl.config.verbosity, 4);
  EXPECT_EQ(cl.config.hostnameOverride, "node-a");
}

TEST(CommandLine, HelpListsTheKubeletAndKubeProxyFlagNames) {
  CommandLine cl = parse({"--help"});
  EXPECT_TRUE(cl.exit);
  EXPECT_EQ(cl.exitCode, 0);
  for (const char* flag :
       {"--container-runtime-endpoint", "--pod-manifest-path", "--root-dir", "--hostname-override",
        "--kubeconfig", "--config", "--read-only-port", "--healthz-port", "--cluster-cidr",
        "--node-port-addresses", "--masquerade-bit", "--pod-infra-container-image", "--cluster-dns",
        "--cluster-domain", "--container-log-max-size", "--container-log-max-files",
        "--min-sync-period", "--sync-period"}) {
    EXPECT_THAT(cl.output, HasSubstr(flag));
  }
}

TEST(CommandLine, BadFlagValuesEndInOneLineNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {{"--read-only-port=abc"},
       "kubenode: --read-only-port: invalid value \"abc\": expected an integer from 0 to 65535\n"},
      {{"--masquerade-bit=32"},
       "kubenode: --masquerade-bit: invalid value \"32\": expected an integer from 0 to 31\n"},
      {{"--sync-period=5x"}, "kubenode: --sync-period: invalid duration \"5x\""},
      {{"--min-sync-period=-1s"}, "kubenode: --min-sync-period: invalid duration \"-1s\""},
      {{"--min-sync-period=1m", "--sync-period=30s"},
       "kubenode: --min-sync-period: 1m0s is longer than --sync-period 30s\n"},
      {{"--no-such-flag"}, "--no-such-flag"},
      {{"--config=/nonexistent/kubenode.yaml"},
       "kubenode: --config: cannot read \"/nonexistent/kubenode.yaml\""},
      {{"--container-runtime-endpoint="}, "kubenode: --container-runtime-endpoint: required"},
  };
  for (const Case& c : cases) {
    CommandLine cl = parse(c.args);
    EXPECT_TRUE(cl.exit) << c.args[0];
    EXPECT_EQ(cl.exitCode, 2) << c.args[0];
    EXPECT_THAT(cl.output, HasSubstr(c.expected));
    EXPECT_EQ(std::count(cl.output.begin(), cl.output.end(), '\n'), 1) << cl.output;
  }
}

TEST(ConfigFile, KubeletConfigurationFieldsApplyAndFlagsOverrideThem) {
  ConfigFile file(R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: /etc/kubenode/manifests
readOnlyPort: 10266
clusterDNS: [10.96.0.10]
clusterDomain: cluster.local
runtimeRequestTimeout: 1m
authentication:
  anonymous:
    enabled: false
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clusterCIDR: 10.244.0.0/16
iptables:
  masqueradeBit: 15
  minSyncPeriod: 2s
)");
  CommandLine cl = parse({"--config", file.path(), "--read-only-port=10299"});
  ASSERT_FALSE(cl.exit) << cl.output;
  EXPECT_EQ(cl.config.podManifestPath, "/etc/kubenode/manifests");
  EXPECT_EQ(cl.config.readOnlyPort, 10299);  // the flag wins
  EXPECT_THAT(cl.config.clusterDNS, ElementsAre("10.96.0.10"));
  EXPECT_EQ(cl.config.clusterDomain, "cluster.local");
  EXPECT_EQ(cl.config.runtimeRequestTimeout, std::chrono::minutes(1));
  EXPECT_EQ(cl.config.clusterCIDR, "10.244.0.0/16");
  EXPECT_EQ(cl.config.masqueradeBit, 15);
  EXPECT_EQ(cl.config.minSyncPeriod, std::chrono::seconds(2));
  // A real kubelet configuration has fields kubenode does not use: warned, not fatal.
  ASSERT_EQ(cl.warnings.size(), 1u);
  EXPECT_THAT(cl.warnings[0], HasSubstr("authentication: not used by kubenode"));
}

TEST(ConfigFile, ErrorsNameTheFileAndTheField) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\nreadOnlyPort: lots\n",
       "config.yaml: readOnlyPort: invalid value \"lots\": expected an integer from 0 to 65535"},
      {"apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\nclusterDNS: 10.0.0.1\n",
       "config.yaml: clusterDNS: expected a list of strings"},
      {"apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\nrootDir: [a, b]\n",
       "config.yaml: rootDir: expected a single value"},
      {"apiVersion: v1\nkind: Pod\n", "unsupported apiVersion/kind \"v1/Pod\""},
      {"readOnlyPort: 1\n", "unsupported apiVersion/kind \"/\""},
      {"apiVersion: kubenode.io/v1alpha1\nkind: [\n", "config.yaml: line 3: not valid YAML"},
      {"- a\n- b\n", "config.yaml: expected a mapping with apiVersion and kind"},
  };
  for (const Case& c : cases) {
    ConfigFile file(c.text);
    CommandLine cl = parse({"--config=" + file.path()});
    EXPECT_TRUE(cl.exit) << c.text;
    EXPECT_EQ(cl.exitCode, 2);
    EXPECT_THAT(cl.output, HasSubstr(c.expected)) << c.text;
  }
}

TEST(ConfigFile, IsAppliedWholeOrNotAtAll) {
  AgentConfig config;
  std::vector<std::string> warnings;
  absl::Status s = applyConfigText(
      "apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\nrootDir: /a\n"
      "readOnlyPort: -5\n",
      "c.yaml", config, warnings);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.rootDir, "/var/lib/kubenode");
}

TEST(CommandLine, ResolvConfIsTheKubeletsFlagAndFieldAndMayBeEmpty) {
  EXPECT_EQ(parse({}).config.resolvConf, "/etc/resolv.conf");
  EXPECT_EQ(parse({"--resolv-conf", "/run/systemd/resolve/resolv.conf"}).config.resolvConf,
            "/run/systemd/resolve/resolv.conf");
  CommandLine none = parse({"--resolv-conf="});
  ASSERT_FALSE(none.exit) << none.output;
  EXPECT_EQ(none.config.resolvConf, "");

  ConfigFile file(R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
resolvConf: /etc/kubenode/resolv.conf
)");
  CommandLine cl = parse({"--config", file.path()});
  ASSERT_FALSE(cl.exit) << cl.output;
  EXPECT_EQ(cl.config.resolvConf, "/etc/kubenode/resolv.conf");
  EXPECT_TRUE(cl.warnings.empty());
  ConfigFile empty(R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
resolvConf: ""
)");
  EXPECT_EQ(parse({"--config", empty.path()}).config.resolvConf, "");
  EXPECT_THAT(parse({"--help"}).output, HasSubstr("--resolv-conf"));
}

}  // namespace
}  // namespace kubenode::agent
