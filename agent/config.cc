#include "agent/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include "agent/duration.h"

namespace kubenode::agent {
namespace {

using Member = std::string AgentConfig::*;

Setting stringSetting(std::string_view flag, std::string_view key, std::string_view help,
                      Member member) {
  Setting s;
  s.flag = flag;
  s.configKey = key;
  s.help = help;
  s.typeName = "string";
  s.parse = [member](AgentConfig& c, std::string_view v) {
    c.*member = std::string(v);
    return absl::OkStatus();
  };
  s.show = [member](const AgentConfig& c) { return c.*member; };
  return s;
}

Setting intSetting(std::string_view flag, std::string_view key, std::string_view help,
                   int AgentConfig::*member, int min, int max) {
  Setting s;
  s.flag = flag;
  s.configKey = key;
  s.help = help;
  s.typeName = "int32";
  s.parse = [member, min, max](AgentConfig& c, std::string_view v) {
    int value = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec != std::errc() || end != v.data() + v.size() || value < min || value > max) {
      return absl::InvalidArgumentError(
          fmt::format("invalid value \"{}\": expected an integer from {} to {}", v, min, max));
    }
    c.*member = value;
    return absl::OkStatus();
  };
  s.show = [member](const AgentConfig& c) { return std::to_string(c.*member); };
  return s;
}

Setting boolSetting(std::string_view flag, std::string_view key, std::string_view help,
                    bool AgentConfig::*member) {
  Setting s;
  s.flag = flag;
  s.configKey = key;
  s.help = help;
  s.typeName = "bool";
  s.parse = [member](AgentConfig& c, std::string_view v) {
    // The spellings Go's strconv.ParseBool (the kubelet's flags) and YAML accept.
    if (v == "true" || v == "True" || v == "TRUE" || v == "1" || v == "t" || v == "T") {
      c.*member = true;
    } else if (v == "false" || v == "False" || v == "FALSE" || v == "0" || v == "f" || v == "F") {
      c.*member = false;
    } else {
      return absl::InvalidArgumentError(
          fmt::format("invalid value \"{}\": expected true or false", v));
    }
    return absl::OkStatus();
  };
  s.show = [member](const AgentConfig& c) { return std::string(c.*member ? "true" : "false"); };
  return s;
}

Setting durationSetting(std::string_view flag, std::string_view key, std::string_view help,
                        std::chrono::nanoseconds AgentConfig::*member) {
  Setting s;
  s.flag = flag;
  s.configKey = key;
  s.help = help;
  s.typeName = "duration";
  s.parse = [member](AgentConfig& c, std::string_view v) {
    absl::StatusOr<std::chrono::nanoseconds> d = parseDuration(v);
    if (!d.ok())
      return d.status();
    if (d->count() < 0) {
      return absl::InvalidArgumentError(
          fmt::format("invalid duration \"{}\": must not be negative", v));
    }
    c.*member = *d;
    return absl::OkStatus();
  };
  s.show = [member](const AgentConfig& c) { return formatDuration(c.*member); };
  return s;
}

Setting listSetting(std::string_view flag, std::string_view key, std::string_view help,
                    std::vector<std::string> AgentConfig::*member) {
  Setting s;
  s.flag = flag;
  s.configKey = key;
  s.help = help;
  s.typeName = "strings";
  s.isList = true;
  s.parse = [member](AgentConfig& c, std::string_view v) {
    if (v.empty())
      return absl::OkStatus();
    (c.*member).emplace_back(v);
    return absl::OkStatus();
  };
  s.show = [member](const AgentConfig& c) { return fmt::format("{}", fmt::join(c.*member, ",")); };
  s.clear = [member](AgentConfig& c) { (c.*member).clear(); };
  return s;
}

std::vector<Setting> makeSettings() {
  using C = AgentConfig;
  return {
      stringSetting("config", "",
                    "Path to a YAML configuration file (KubeletConfiguration, "
                    "KubeProxyConfiguration or KubenodeConfiguration documents); flags override it",
                    &C::configFile),
      stringSetting("container-runtime-endpoint", "containerRuntimeEndpoint",
                    "The CRI runtime's endpoint (unix socket)", &C::containerRuntimeEndpoint),
      stringSetting("image-service-endpoint", "imageServiceEndpoint",
                    "The CRI image service's endpoint; empty means the runtime endpoint",
                    &C::imageServiceEndpoint),
      durationSetting("runtime-request-timeout", "runtimeRequestTimeout",
                      "Deadline of every CRI call except long-running ones such as image pulls",
                      &C::runtimeRequestTimeout),
      stringSetting("pod-manifest-path", "staticPodPath",
                    "Directory of static pod manifests (YAML or JSON), watched for changes",
                    &C::podManifestPath),
      durationSetting("file-check-frequency", "fileCheckFrequency",
                      "How often the manifest directory is re-read in full, besides inotify",
                      &C::fileCheckFrequency),
      stringSetting("root-dir", "rootDir", "Directory for the agent's state and pod volumes",
                    &C::rootDir),
      stringSetting("pod-logs-dir", "podLogsDir", "Directory of container logs", &C::podLogsDir),
      stringSetting("hostname-override", "hostnameOverride",
                    "The node's name instead of the host name", &C::hostnameOverride),
      stringSetting("node-ip", "nodeIP", "The node's IP address to report", &C::nodeIP),
      stringSetting("kubeconfig", "kubeconfig",
                    "Kubeconfig of the API server to join; empty runs standalone", &C::kubeconfig),
      stringSetting("bootstrap-kubeconfig", "bootstrapKubeconfig",
                    "Kubeconfig carrying a bootstrap token, used to obtain --kubeconfig",
                    &C::bootstrapKubeconfig),
      stringSetting("address", "address", "The address the read-only port listens on", &C::address),
      intSetting("read-only-port", "readOnlyPort",
                 "Port of the read-only HTTP endpoint (/healthz, /pods, /metrics); 0 disables",
                 &C::readOnlyPort, 0, 65535),
      stringSetting("healthz-bind-address", "healthzBindAddress",
                    "The address the healthz port listens on", &C::healthzBindAddress),
      intSetting("healthz-port", "healthzPort", "Port of the healthz endpoint; 0 disables",
                 &C::healthzPort, 0, 65535),
      stringSetting("pod-infra-container-image", "podInfraContainerImage",
                    "The runtime's sandbox image, kept safe from image garbage collection",
                    &C::podInfraContainerImage),
      listSetting(
          "cluster-dns", "clusterDNS",
          "Comma-separated DNS server IPs for pods; empty: ClusterFirst pods get --resolv-conf's",
          &C::clusterDNS),
      stringSetting("cluster-domain", "clusterDomain",
                    "The cluster's DNS domain, added to pods' search paths", &C::clusterDomain),
      stringSetting("resolv-conf", "resolvConf",
                    "Resolver file whose nameservers, searches and options pods with dnsPolicy "
                    "Default (or ClusterFirst without --cluster-dns) get; \"\" gives them none",
                    &C::resolvConf),
      stringSetting("container-log-max-size", "containerLogMaxSize",
                    "Size at which a container's log is rotated (a quantity such as 10Mi)",
                    &C::containerLogMaxSize),
      intSetting("container-log-max-files", "containerLogMaxFiles",
                 "Log files kept per container, the live one included", &C::containerLogMaxFiles, 2,
                 1000),
      durationSetting("node-status-update-frequency", "nodeStatusUpdateFrequency",
                      "How often the node's status is posted to the API server",
                      &C::nodeStatusUpdateFrequency),
      boolSetting("proxy", "proxy",
                  "Program the service rules (kube-proxy's job) on this node; false where "
                  "another kube-proxy runs",
                  &C::proxy),
      stringSetting("cluster-cidr", "clusterCIDR",
                    "The pods' CIDR: service traffic from outside it is masqueraded",
                    &C::clusterCIDR),
      listSetting("node-port-addresses", "nodePortAddresses",
                  "Comma-separated CIDRs of local addresses that accept NodePort traffic; "
                  "empty means all",
                  &C::nodePortAddresses),
      intSetting("masquerade-bit", "masqueradeBit",
                 "The fwmark bit (0-31) that marks packets for SNAT", &C::masqueradeBit, 0, 31),
      durationSetting("min-sync-period", "minSyncPeriod",
                      "Minimum interval between two syncs of the service rules", &C::minSyncPeriod),
      durationSetting("sync-period", "syncPeriod",
                      "Interval of the full resync of the service rules", &C::syncPeriod),
      intSetting("v", "", "Log verbosity: 0 info, 4 debug, 6 and more trace", &C::verbosity, 0, 10),
  };
}

// kube-proxy's configuration file nests some settings: map them to our flat keys.
const std::map<std::string, std::string, std::less<>>& nestedKeys() {
  static const std::map<std::string, std::string, std::less<>> kKeys = {
      {"iptables.masqueradeBit", "masqueradeBit"}, {"iptables.minSyncPeriod", "minSyncPeriod"},
      {"iptables.syncPeriod", "syncPeriod"},       {"nftables.masqueradeBit", "masqueradeBit"},
      {"nftables.minSyncPeriod", "minSyncPeriod"}, {"nftables.syncPeriod", "syncPeriod"},
  };
  return kKeys;
}

const Setting* findByKey(std::string_view key) {
  for (const Setting& s : settings()) {
    if (!s.configKey.empty() && s.configKey == key)
      return &s;
  }
  return nullptr;
}

bool isKnownKind(std::string_view apiVersion, std::string_view kind) {
  return (kind == "KubeletConfiguration" && apiVersion == "kubelet.config.k8s.io/v1beta1") ||
         (kind == "KubeProxyConfiguration" && apiVersion == "kubeproxy.config.k8s.io/v1alpha1") ||
         (kind == "KubenodeConfiguration" && apiVersion == "kubenode.io/v1alpha1");
}

absl::Status applyNode(const Setting& setting, const YAML::Node& node, std::string_view where,
                       AgentConfig& config) {
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", where, why));
  };
  if (setting.isList) {
    setting.clear(config);
    if (node.IsNull())
      return absl::OkStatus();
    if (!node.IsSequence())
      return fail("expected a list of strings");
    for (const YAML::Node& item : node) {
      if (!item.IsScalar())
        return fail("expected a list of strings");
      if (absl::Status s = setting.parse(config, item.Scalar()); !s.ok()) {
        return fail(std::string(s.message()));
      }
    }
    return absl::OkStatus();
  }
  if (!node.IsScalar())
    return fail("expected a single value, not a list or a map");
  if (absl::Status s = setting.parse(config, node.Scalar()); !s.ok())
    return fail(std::string(s.message()));
  return absl::OkStatus();
}

absl::Status applyMap(const YAML::Node& map, std::string_view prefix, std::string_view source,
                      AgentConfig& config, std::vector<std::string>& warnings) {
  for (const auto& entry : map) {
    if (!entry.first.IsScalar())
      continue;
    const std::string key = fmt::format("{}{}", prefix, entry.first.Scalar());
    if (key == "apiVersion" || key == "kind")
      continue;
    std::string_view flatKey = key;
    if (auto it = nestedKeys().find(key); it != nestedKeys().end())
      flatKey = it->second;
    if (const Setting* setting = findByKey(flatKey)) {
      absl::Status s =
          applyNode(*setting, entry.second, fmt::format("{}: {}", source, key), config);
      if (!s.ok())
        return s;
    } else if (entry.second.IsMap() && prefix.empty() && (key == "iptables" || key == "nftables")) {
      absl::Status s = applyMap(entry.second, fmt::format("{}.", key), source, config, warnings);
      if (!s.ok())
        return s;
    } else {
      warnings.push_back(fmt::format("{}: {}: not used by kubenode, ignored", source, key));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::span<const Setting> settings() {
  static const std::vector<Setting> kSettings = makeSettings();
  return kSettings;
}

absl::Status applyConfigText(std::string_view text, std::string_view source, AgentConfig& config,
                             std::vector<std::string>& warnings) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("{}: line {}: not valid YAML: {}", source, e.mark.line + 1, e.msg));
  }
  // Work on a copy: a file is applied whole or not at all.
  AgentConfig result = config;
  int index = 0;
  for (const YAML::Node& doc : documents) {
    ++index;
    if (doc.IsNull())
      continue;
    const std::string where =
        documents.size() > 1 ? fmt::format("{}: document {}", source, index) : std::string(source);
    if (!doc.IsMap()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: expected a mapping with apiVersion and kind", where));
    }
    const std::string apiVersion = doc["apiVersion"] && doc["apiVersion"].IsScalar()
                                       ? doc["apiVersion"].Scalar()
                                       : std::string();
    const std::string kind =
        doc["kind"] && doc["kind"].IsScalar() ? doc["kind"].Scalar() : std::string();
    if (!isKnownKind(apiVersion, kind)) {
      return absl::InvalidArgumentError(fmt::format(
          "{}: unsupported apiVersion/kind \"{}/{}\": expected kubelet.config.k8s.io/v1beta1 "
          "KubeletConfiguration, kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration or "
          "kubenode.io/v1alpha1 KubenodeConfiguration",
          where, apiVersion, kind));
    }
    absl::Status s = applyMap(doc, "", where, result, warnings);
    if (!s.ok())
      return s;
  }
  config = std::move(result);
  return absl::OkStatus();
}

absl::Status validateConfig(const AgentConfig& config) {
  if (config.containerRuntimeEndpoint.empty()) {
    return absl::InvalidArgumentError(
        "--container-runtime-endpoint: required: the CRI runtime's unix socket, e.g. "
        "unix:///run/containerd/containerd.sock");
  }
  if (config.readOnlyPort != 0 && config.readOnlyPort == config.healthzPort &&
      config.address == config.healthzBindAddress) {
    return absl::InvalidArgumentError(fmt::format(
        "--read-only-port and --healthz-port: both are {} on {}: expected different ports",
        config.readOnlyPort, config.address));
  }
  if (config.minSyncPeriod > config.syncPeriod) {
    return absl::InvalidArgumentError(
        fmt::format("--min-sync-period: {} is longer than --sync-period {}",
                    formatDuration(config.minSyncPeriod), formatDuration(config.syncPeriod)));
  }
  return absl::OkStatus();
}

}  // namespace kubenode::agent
