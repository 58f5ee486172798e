// The agent's settings: one table that both the command line (kubelet and kube-proxy
// flag names) and the `--config FILE` YAML (their configuration-file field names) fill,
// so the two can never drift apart. Flags override the file, as with the kubelet.
//
//   absl::StatusOr<LoadedConfig> loaded = loadConfig(argc, argv);
//   if (!loaded.ok()) { std::cerr << loaded.status().message(); return 2; }
//   runAgent(loaded->config);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kubenode::agent {

struct AgentConfig {
  // kubelet
  std::string containerRuntimeEndpoint = "unix:///run/containerd/containerd.sock";
  std::string imageServiceEndpoint;  // empty: the runtime endpoint
  std::chrono::nanoseconds runtimeRequestTimeout = std::chrono::minutes(2);
  std::string podManifestPath;
  std::chrono::nanoseconds fileCheckFrequency = std::chrono::seconds(20);
  std::string rootDir = "/var/lib/kubenode";
  std::string podLogsDir = "/var/log/pods";
  std::string hostnameOverride;
  std::string nodeIP;
  std::string kubeconfig;
  std::string bootstrapKubeconfig;
  std::string address = "127.0.0.1";  // where the read-only port listens
  int readOnlyPort = 10255;           // 0 disables
  std::string healthzBindAddress = "127.0.0.1";
  int healthzPort = 10248;  // 0 disables
  std::string podInfraContainerImage = "registry.k8s.io/pause:3.9";
  std::vector<std::string> clusterDNS;
  std::string clusterDomain;
  // The host's resolver file: pods with dnsPolicy Default (and ClusterFirst without
  // clusterDNS) get its nameservers, searches and options. Empty: no host DNS at all.
  std::string resolvConf = "/etc/resolv.conf";
  std::string containerLogMaxSize = "10Mi";
  int containerLogMaxFiles = 5;
  std::chrono::nanoseconds nodeStatusUpdateFrequency = std::chrono::seconds(10);
  // kube-proxy
  bool proxy = true;  // false: another kube-proxy programs this node's service rules
  std::string clusterCIDR;
  std::vector<std::string> nodePortAddresses;
  int masqueradeBit = 14;
  std::chrono::nanoseconds minSyncPeriod = std::chrono::seconds(1);
  std::chrono::nanoseconds syncPeriod = std::chrono::seconds(30);
  // process
  std::string configFile;
  int verbosity = 0;  // -v / --v, as klog: 0 info, 4 debug, 6 and more trace
};

// One setting: its flag, its configuration-file key, and how to read a value into
// the config. Lists take comma-separated flag values (repeatable) or YAML sequences.
struct Setting {
  std::string_view flag;       // without dashes: "root-dir"
  std::string_view configKey;  // "rootDir"; empty when only a flag
  std::string_view help;
  std::string_view typeName;  // as the kubelet's --help shows it: string, int32, duration
  bool isList = false;
  // Reads one textual value; the error message says what is expected (the caller adds
  // where the value came from).
  std::function<absl::Status(AgentConfig&, std::string_view)> parse;
  std::function<std::string(const AgentConfig&)> show;
  // Lists only: empties the list before the first value from a new source.
  std::function<void(AgentConfig&)> clear;
};

// Every setting the agent knows, in the order --help lists them.
std::span<const Setting> settings();

// Applies a YAML configuration file's text. `source` names it in messages
// ("/etc/kubenode/config.yaml: readOnlyPort: ..."). Accepts one or more documents of
// kind KubeletConfiguration (kubelet.config.k8s.io/v1beta1), KubeProxyConfiguration
// (kubeproxy.config.k8s.io/v1alpha1) or KubenodeConfiguration (kubenode.io/v1alpha1);
// fields kubenode does not know are returned as warnings, not errors, so an existing
// kubelet configuration file can be reused.
absl::Status applyConfigText(std::string_view text, std::string_view source, AgentConfig& config,
                             std::vector<std::string>& warnings);

// Cross-field checks once every source is applied.
absl::Status validateConfig(const AgentConfig& config);

}  // namespace kubenode::agent
