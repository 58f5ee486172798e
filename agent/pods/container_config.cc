#include "agent/pods/container_config.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "agent/pods/labels.h"
#include "agent/pods/qos.h"
#include "api/field_error.h"
#include "api/json_codec.h"
#include "fmt/format.h"

namespace kubenode::agent::pods {
namespace {

// Resolver limits the kubelet applies (validation.MaxDNSNameservers, and the
// ExpandedDNSConfig limits, GA since 1.28).
constexpr size_t kMaxDnsNameservers = 3;
constexpr size_t kMaxDnsSearchPaths = 32;
constexpr size_t kMaxDnsSearchListChars = 2048;
// glibc aborts on a search domain longer than this (a DNS-1123 subdomain's maximum).
constexpr size_t kMaxDnsSearchDomainLength = 253;
constexpr size_t kMaxHostnameLength = 63;

constexpr int64_t kMinShares = 2;
// validation.IsValidUserID: a user ID the kernel accepts, 0 to 2^31-1.
constexpr int64_t kMaxUserId = 2147483647;
constexpr int64_t kMaxShares = 262144;
constexpr int64_t kSharesPerCpu = 1024;
constexpr int64_t kMinQuotaPeriod = 1000;

constexpr int64_t kGuaranteedOomScoreAdj = -997;
constexpr int64_t kBestEffortOomScoreAdj = 1000;
// scheduling.SystemCriticalPriority: priorities at or above it belong to critical pods.
constexpr int64_t kSystemCriticalPriority = 2000000000;

// securitycontext's defaults for procMount Default (kept in step with the runtime's).
const std::vector<std::string>& defaultMaskedPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/asound",
      "/proc/acpi",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/sys/devices/virtual/powercap",
  };
  return kPaths;
}
const std::vector<std::string>& defaultReadonlyPaths() {
  static const std::vector<std::string> kPaths = {
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
  };
  return kPaths;
}

std::vector<std::string> splitFields(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
      ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
      ++i;
    if (i > start)
      fields.emplace_back(line.substr(start, i - start));
  }
  return fields;
}

void appendUnique(std::vector<std::string>& out, std::set<std::string>& seen,
                  const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if (seen.insert(v).second)
      out.push_back(v);
  }
}

std::vector<std::string> withoutDuplicates(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  appendUnique(out, seen, values);
  return out;
}

// formDNSSearchFitsLimits: at most 32 domains, none longer than 253 characters, and the
// joined line within 2048 characters (cutting from the end).
std::vector<std::string> searchesWithinLimits(std::vector<std::string> searches) {
  if (searches.size() > kMaxDnsSearchPaths)
    searches.resize(kMaxDnsSearchPaths);
  std::erase_if(searches,
                [](const std::string& s) { return s.size() > kMaxDnsSearchDomainLength; });
  size_t lineLength = 0;
  for (const std::string& s : searches)
    lineLength += s.size() + 1;
  if (lineLength > 0)
    --lineLength;  // no separator after the last one
  while (lineLength > kMaxDnsSearchListChars && !searches.empty()) {
    lineLength -= std::min(lineLength, searches.back().size() + 1);
    searches.pop_back();
  }
  return searches;
}

bool isIpv6(std::string_view ip) {
  return ip.find(':') != std::string_view::npos;
}

bool isStaticPod(const api::Pod& pod) {
  auto it = pod.metadata.annotations.find(std::string(kConfigSourceAnnotation));
  return it != pod.metadata.annotations.end() && it->second != kConfigSourceApi;
}

// types.IsNodeCriticalPod: a critical pod (static, mirror, or with a system-critical
// priority) in the system-node-critical priority class.
bool isNodeCriticalPod(const api::Pod& pod) {
  bool critical = isStaticPod(pod) ||
                  pod.metadata.annotations.contains(std::string(kConfigMirrorAnnotation)) ||
                  (pod.spec.priority.has_value() && *pod.spec.priority >= kSystemCriticalPriority);
  return critical && pod.spec.priorityClassName == "system-node-critical";
}

const api::Quantity* findResource(const api::ResourceList& list, const char* name) {
  auto it = list.find(name);
  return it == list.end() ? nullptr : &it->second;
}

int64_t milliOf(const api::ResourceList& list, const char* name) {
  const api::Quantity* q = findResource(list, name);
  return q ? q->milliValue() : 0;
}

int64_t valueOf(const api::ResourceList& list, const char* name) {
  const api::Quantity* q = findResource(list, name);
  return q ? q->value() : 0;
}

// "spec.containers[2]" or "spec.initContainers[0]" for a container of the pod; the same
// object is found by address first, then by name.
api::FieldPath containerPath(const api::Pod& pod, const api::Container& container) {
  for (int pass = 0; pass < 2; ++pass) {
    auto match = [&](const api::Container& c) {
      return pass == 0 ? &c == &container : c.name == container.name;
    };
    for (size_t i = 0; i < pod.spec.initContainers.size(); ++i) {
      if (match(pod.spec.initContainers[i]))
        return api::FieldPath("spec").child("initContainers").index(i);
    }
    for (size_t i = 0; i < pod.spec.containers.size(); ++i) {
      if (match(pod.spec.containers[i]))
        return api::FieldPath("spec").child("containers").index(i);
    }
  }
  return api::FieldPath("spec").child("containers").key(container.name);
}

absl::Status fieldStatus(const api::FieldError& error) {
  return absl::InvalidArgumentError(error.toString());
}

// A relative path that stays inside its base: no leading '/', no ".." component
// (ValidatePathNoBacksteps).
std::string pathEscapeProblem(std::string_view rel) {
  if (!rel.empty() && rel.front() == '/')
    return "must be a relative path";
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string_view::npos)
      end = rel.size();
    if (rel.substr(start, end - start) == "..")
      return "must not contain '..'";
    start = end + 1;
  }
  return "";
}

// filepath.Join for a base and a relative path without "..": drops empty and "."
// components.
std::string joinPath(std::string_view base, std::string_view rel) {
  std::string out(base);
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string_view::npos)
      end = rel.size();
    std::string_view part = rel.substr(start, end - start);
    if (!part.empty() && part != ".") {
      if (out.empty() || out.back() != '/')
        out += '/';
      out += part;
    }
    start = end + 1;
  }
  return out;
}

std::string joinComma(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    if (!out.empty())
      out += ',';
    out += v;
  }
  return out;
}

// fieldpath.FormatMap: `key="value"` lines in key order, Go-quoted values.
std::string formatMap(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m) {
    if (!out.empty())
      out += '\n';
    out += k;
    out += '=';
    out += api::quoteGo(v);
  }
  return out;
}

// "metadata.labels['app']" -> ("metadata.labels", "app").
bool splitSubscript(std::string_view path, std::string_view& base, std::string_view& key) {
  constexpr std::string_view kOpen = "['";
  constexpr std::string_view kClose = "']";
  if (path.size() < kClose.size() || path.substr(path.size() - kClose.size()) != kClose)
    return false;
  std::string_view inner = path.substr(0, path.size() - kClose.size());
  size_t open = inner.find(kOpen);
  if (open == std::string_view::npos || open == 0)
    return false;
  base = inner.substr(0, open);
  key = inner.substr(open + kOpen.size());
  return true;
}

std::vector<std::string> effectivePodIps(const api::Pod& pod, const ContainerContext& ctx) {
  // A hostNetwork pod's IPs are the node's, as its status reports them.
  if (ctx.podIps.empty() && pod.spec.hostNetwork)
    return ctx.hostIps;
  return ctx.podIps;
}

absl::StatusOr<std::string> fieldRefValue(const api::Pod& pod, const ContainerContext& ctx,
                                          std::string_view fieldPath,
                                          const api::FieldPath& errorPath) {
  if (fieldPath == "metadata.name")
    return pod.metadata.name;
  if (fieldPath == "metadata.namespace")
    return pod.metadata.namespace_;
  if (fieldPath == "metadata.uid")
    return pod.metadata.uid;
  if (fieldPath == "metadata.labels")
    return formatMap(pod.metadata.labels);
  if (fieldPath == "metadata.annotations")
    return formatMap(pod.metadata.annotations);
  if (fieldPath == "spec.nodeName")
    return pod.spec.nodeName.empty() ? ctx.node.nodeName : pod.spec.nodeName;
  if (fieldPath == "spec.serviceAccountName")
    return pod.spec.serviceAccountName;
  if (fieldPath == "status.hostIP")
    return ctx.hostIps.empty() ? std::string() : ctx.hostIps.front();
  if (fieldPath == "status.hostIPs")
    return joinComma(ctx.hostIps);
  std::vector<std::string> podIps = effectivePodIps(pod, ctx);
  if (fieldPath == "status.podIP")
    return podIps.empty() ? std::string() : podIps.front();
  if (fieldPath == "status.podIPs")
    return joinComma(podIps);
  std::string_view base, key;
  if (splitSubscript(fieldPath, base, key) &&
      (base == "metadata.labels" || base == "metadata.annotations")) {
    const auto& m = base == "metadata.labels" ? pod.metadata.labels : pod.metadata.annotations;
    auto it = m.find(std::string(key));
    return it == m.end() ? std::string() : it->second;
  }
  return fieldStatus(api::FieldError::notSupported(
      errorPath, api::badString(fieldPath),
      {"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels",
       "metadata.annotations", "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']",
       "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
       "status.podIP", "status.podIPs"}));
}

// The JSON of one container as the API encodes it, taken from an encoded pod so that
// the one field table in api/json_codec.cc decides the shape.
api::Json containerJson(const api::Container& container) {
  api::Pod pod;
  pod.spec.containers.push_back(container);
  api::Json json = api::toJson(pod);
  return json["spec"]["containers"][0];
}

cri::v1::Protocol runtimeProtocol(std::string_view protocol) {
  if (protocol == "UDP")
    return cri::v1::UDP;
  if (protocol == "SCTP")
    return cri::v1::SCTP;
  return cri::v1::TCP;
}

bool hasPrivilegedContainer(const api::Pod& pod) {
  auto privileged = [](const api::Container& c) {
    return c.securityContext && c.securityContext->privileged.value_or(false);
  };
  return std::any_of(pod.spec.containers.begin(), pod.spec.containers.end(), privileged) ||
         std::any_of(pod.spec.initContainers.begin(), pod.spec.initContainers.end(), privileged);
}

template <class RepeatedGroups>
void addSupplementalGroups(const api::Pod& pod, RepeatedGroups* groups) {
  if (!pod.spec.securityContext)
    return;
  const api::PodSecurityContext& sc = *pod.spec.securityContext;
  if (sc.fsGroup)
    groups->Add(*sc.fsGroup);
  for (int64_t g : sc.supplementalGroups)
    groups->Add(g);
}

// getSeccompProfile: the container's profile, else the pod's, else RuntimeDefault with
// --seccomp-default, else Unconfined.
absl::Status setSeccomp(const api::Pod& pod, const api::Container& container,
                        const ContainerContext& ctx, const api::FieldPath& path,
                        cri::v1::SecurityProfile* out) {
  const api::SeccompProfile* profile = nullptr;
  api::FieldPath profilePath;
  if (container.securityContext && container.securityContext->seccompProfile) {
    profile = &*container.securityContext->seccompProfile;
    profilePath = path.child("securityContext").child("seccompProfile");
  } else if (pod.spec.securityContext && pod.spec.securityContext->seccompProfile) {
    profile = &*pod.spec.securityContext->seccompProfile;
    profilePath = api::FieldPath("spec").child("securityContext").child("seccompProfile");
  }
  if (profile == nullptr) {
    out->set_profile_type(ctx.node.seccompDefault ? cri::v1::SecurityProfile::RuntimeDefault
                                                  : cri::v1::SecurityProfile::Unconfined);
    return absl::OkStatus();
  }
  if (profile->type == "RuntimeDefault") {
    out->set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
  } else if (profile->type == "Unconfined") {
    out->set_profile_type(cri::v1::SecurityProfile::Unconfined);
  } else if (profile->type == "Localhost") {
    api::FieldPath namePath = profilePath.child("localhostProfile");
    if (!profile->localhostProfile || profile->localhostProfile->empty())
      return fieldStatus(
          api::FieldError::required(namePath, "must be set when seccomp type is Localhost"));
    std::string problem = pathEscapeProblem(*profile->localhostProfile);
    if (!problem.empty())
      return fieldStatus(
          api::FieldError::invalid(namePath, api::badString(*profile->localhostProfile), problem));
    out->set_profile_type(cri::v1::SecurityProfile::Localhost);
    out->set_localhost_ref(
        joinPath(joinPath(ctx.node.rootDir, "seccomp"), *profile->localhostProfile));
  } else {
    return fieldStatus(
        api::FieldError::notSupported(profilePath.child("type"), api::badString(profile->type),
                                      {"Localhost", "RuntimeDefault", "Unconfined"}));
  }
  return absl::OkStatus();
}

// determineEffectiveSecurityContext, for the fields kubenode models.
absl::Status setSecurityContext(const api::Pod& pod, const api::Container& container,
                                const ContainerContext& ctx, const api::FieldPath& path,
                                cri::v1::LinuxContainerSecurityContext* out) {
  api::SecurityContext effective = container.securityContext.value_or(api::SecurityContext{});
  if (pod.spec.securityContext) {
    const api::PodSecurityContext& psc = *pod.spec.securityContext;
    if (!effective.runAsUser)
      effective.runAsUser = psc.runAsUser;
    if (!effective.runAsGroup)
      effective.runAsGroup = psc.runAsGroup;
    if (!effective.runAsNonRoot)
      effective.runAsNonRoot = psc.runAsNonRoot;
  }

  // verifyRunAsNonRoot: refuse what would run as root, before the runtime is asked, with
  // the kubelet's words (what users search for), naming the pod and container as it does.
  if (effective.runAsNonRoot.value_or(false)) {
    const std::string where =
        fmt::format("(pod: \"{}_{}({})\", container: {})", pod.metadata.name,
                    pod.metadata.namespace_, pod.metadata.uid, container.name);
    std::string detail;
    if (effective.runAsUser) {
      if (*effective.runAsUser == 0)
        detail = "container's runAsUser breaks non-root policy";
    } else if (!ctx.imageUid && !ctx.imageUsername.empty()) {
      detail = fmt::format(
          "container has runAsNonRoot and image has non-numeric user ({}), cannot verify user "
          "is non-root",
          ctx.imageUsername);
    } else if (ctx.imageUid.value_or(0) == 0) {
      // An image that names no user runs as root (the kubelet's getImageUser says so too;
      // containerd's ImageStatus then has neither uid nor username).
      detail = "container has runAsNonRoot and image will run as root";
    } else if (*ctx.imageUid < 0 || *ctx.imageUid > kMaxUserId) {
      detail = fmt::format(
          "container has runAsNonRoot and image has an invalid user id ({}). (Must be 1-({}))",
          *ctx.imageUid, kMaxUserId);
    }
    if (!detail.empty())
      return absl::InvalidArgumentError(fmt::format("{} {}", detail, where));
  }

  if (effective.capabilities) {
    // Passed as written ("NET_ADMIN"): containerd adds the "CAP_" prefix itself.
    cri::v1::Capability* caps = out->mutable_capabilities();
    for (const std::string& c : effective.capabilities->add)
      caps->add_add_capabilities(c);
    for (const std::string& c : effective.capabilities->drop)
      caps->add_drop_capabilities(c);
  }
  out->set_privileged(effective.privileged.value_or(false));
  out->set_readonly_rootfs(effective.readOnlyRootFilesystem.value_or(false));
  if (effective.runAsUser) {
    out->mutable_run_as_user()->set_value(*effective.runAsUser);
  } else if (ctx.imageUid) {
    out->mutable_run_as_user()->set_value(*ctx.imageUid);
  } else if (!ctx.imageUsername.empty()) {
    out->set_run_as_username(ctx.imageUsername);
  }
  if (effective.runAsGroup)
    out->mutable_run_as_group()->set_value(*effective.runAsGroup);
  *out->mutable_namespace_options() = podNamespaceOptions(pod);
  addSupplementalGroups(pod, out->mutable_supplemental_groups());
  // AddNoNewPrivileges: only an explicit allowPrivilegeEscalation: false sets it.
  out->set_no_new_privs(effective.allowPrivilegeEscalation.has_value() &&
                        !*effective.allowPrivilegeEscalation);
  for (const std::string& p : defaultMaskedPaths())
    out->add_masked_paths(p);
  for (const std::string& p : defaultReadonlyPaths())
    out->add_readonly_paths(p);
  return setSeccomp(pod, container, ctx, path, out->mutable_seccomp());
}

absl::Status addMounts(const api::Container& container, const ContainerContext& ctx,
                       const api::FieldPath& path, cri::v1::ContainerConfig* config) {
  bool mountsEtcHosts = false;
  for (size_t i = 0; i < container.volumeMounts.size(); ++i) {
    const api::VolumeMount& vm = container.volumeMounts[i];
    api::FieldPath mountPath = path.child("volumeMounts").index(i);
    auto volume = ctx.volumePaths.find(vm.name);
    if (volume == ctx.volumePaths.end())
      return fieldStatus(
          api::FieldError::notFound(mountPath.child("name"), api::badString(vm.name)));
    std::string hostPath = volume->second;
    if (!vm.subPath.empty()) {
      std::string problem = pathEscapeProblem(vm.subPath);
      if (!problem.empty())
        return fieldStatus(api::FieldError::invalid(mountPath.child("subPath"),
                                                    api::badString(vm.subPath), problem));
      hostPath = joinPath(hostPath, vm.subPath);
    }
    std::string containerPath = vm.mountPath;
    if (containerPath.empty() || containerPath.front() != '/')
      containerPath.insert(0, "/");
    if (containerPath == "/etc/hosts")
      mountsEtcHosts = true;
    cri::v1::Mount* m = config->add_mounts();
    m->set_container_path(containerPath);
    m->set_host_path(hostPath);
    m->set_readonly(vm.readOnly);
  }
  if (!ctx.etcHostsHostPath.empty() && !mountsEtcHosts) {
    cri::v1::Mount* m = config->add_mounts();
    m->set_container_path("/etc/hosts");
    m->set_host_path(ctx.etcHostsHostPath);
  }
  if (!ctx.terminationMessageHostPath.empty() && !container.terminationMessagePath.empty()) {
    cri::v1::Mount* m = config->add_mounts();
    m->set_container_path(container.terminationMessagePath);
    m->set_host_path(ctx.terminationMessageHostPath);
  }
  return absl::OkStatus();
}

void setAnnotations(const api::Pod& pod, const api::Container& container,
                    const ContainerContext& ctx, cri::v1::ContainerConfig* config) {
  auto& annotations = *config->mutable_annotations();
  annotations[std::string(kContainerHashAnnotation)] =
      fmt::format("{:x}", containerSpecHash(container));
  annotations[std::string(kContainerRestartCountAnnotation)] = std::to_string(ctx.restartCount);
  annotations[std::string(kContainerTerminationMessagePathAnnotation)] =
      container.terminationMessagePath;
  annotations[std::string(kContainerTerminationMessagePolicyAnnotation)] =
      container.terminationMessagePolicy;
  if (pod.metadata.deletionGracePeriodSeconds)
    annotations[std::string(kPodDeletionGracePeriodAnnotation)] =
        std::to_string(*pod.metadata.deletionGracePeriodSeconds);
  if (pod.spec.terminationGracePeriodSeconds)
    annotations[std::string(kPodTerminationGracePeriodAnnotation)] =
        std::to_string(*pod.spec.terminationGracePeriodSeconds);
  if ((container.lifecycle && container.lifecycle->preStop) || !container.ports.empty()) {
    api::Json json = containerJson(container);
    if (container.lifecycle && container.lifecycle->preStop)
      annotations[std::string(kContainerPreStopHandlerAnnotation)] =
          json["lifecycle"]["preStop"].dump(-1, ' ', false, api::Json::error_handler_t::replace);
    if (!container.ports.empty())
      annotations[std::string(kContainerPortsAnnotation)] =
          json["ports"].dump(-1, ' ', false, api::Json::error_handler_t::replace);
  }
}

}  // namespace

ResolvConf parseResolvConf(std::string_view text) {
  ResolvConf conf;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    std::vector<std::string> fields = splitFields(text.substr(start, end - start));
    start = end + 1;
    if (fields.empty() || fields[0].front() == '#')
      continue;
    if (fields[0] == "nameserver" && fields.size() >= 2) {
      conf.nameservers.push_back(fields[1]);
    } else if (fields[0] == "search") {
      conf.searches.clear();
      for (size_t i = 1; i < fields.size(); ++i) {
        std::string s = fields[i];
        if (!s.empty() && s.back() == '.')
          s.pop_back();
        conf.searches.push_back(std::move(s));
      }
    } else if (fields[0] == "options") {
      conf.options.assign(fields.begin() + 1, fields.end());
    }
  }
  return conf;
}

std::string podLogDirectory(const api::Pod& pod, const NodeSettings& node) {
  return joinPath(node.podLogsDir, fmt::format("{}_{}_{}", pod.metadata.namespace_,
                                               pod.metadata.name, pod.metadata.uid));
}

std::string podHostname(const api::Pod& pod) {
  std::string hostname = pod.spec.hostname.empty() ? pod.metadata.name : pod.spec.hostname;
  if (hostname.size() > kMaxHostnameLength) {
    hostname.resize(kMaxHostnameLength);
    while (!hostname.empty() && (hostname.back() == '-' || hostname.back() == '.'))
      hostname.pop_back();
  }
  return hostname;
}

cri::v1::DNSConfig podDnsConfig(const api::Pod& pod, const NodeSettings& node) {
  enum class Type { kNone, kCluster, kHost };
  Type type = Type::kCluster;  // also for an unknown policy, as the kubelet falls back
  const std::string& policy = pod.spec.dnsPolicy;
  if (policy == "None")
    type = Type::kNone;
  else if (policy == "Default" || (policy == "ClusterFirst" && pod.spec.hostNetwork))
    type = Type::kHost;
  // ClusterFirst without --cluster-dns: the kubelet warns (MissingClusterDNS) and uses
  // the host's settings.
  if (type == Type::kCluster && node.clusterDns.empty())
    type = Type::kHost;

  ResolvConf conf;
  switch (type) {
    case Type::kNone:
      // Only the pod's own dnsConfig, appended below.
      break;
    case Type::kCluster: {
      conf.nameservers = node.clusterDns;
      if (node.hostResolvConf)
        conf.searches = node.hostResolvConf->searches;
      if (!node.clusterDomain.empty()) {
        std::vector<std::string> searches = {
            fmt::format("{}.svc.{}", pod.metadata.namespace_, node.clusterDomain),
            fmt::format("svc.{}", node.clusterDomain), node.clusterDomain};
        searches.insert(searches.end(), conf.searches.begin(), conf.searches.end());
        conf.searches = withoutDuplicates(searches);
      }
      conf.options = {"ndots:5"};
      break;
    }
    case Type::kHost:
      if (node.hostResolvConf) {
        conf = *node.hostResolvConf;
      } else {
        // --resolv-conf="": a localhost resolver and search "." effectively disable
        // lookups, instead of letting the runtime copy the host's file.
        for (const std::string& ip : node.nodeIps)
          conf.nameservers.push_back(isIpv6(ip) ? "::1" : "127.0.0.1");
        if (conf.nameservers.empty())
          conf.nameservers.push_back("127.0.0.1");
        conf.searches = {"."};
      }
      break;
  }

  // spec.dnsConfig adds to what the policy gave (the kubelet's appendDNSConfig):
  // nameservers and searches appended without duplicates, options merged by name with
  // the pod's value winning.
  if (pod.spec.dnsConfig) {
    const api::PodDNSConfig& extra = *pod.spec.dnsConfig;
    conf.nameservers.insert(conf.nameservers.end(), extra.nameservers.begin(),
                            extra.nameservers.end());
    conf.nameservers = withoutDuplicates(conf.nameservers);
    conf.searches.insert(conf.searches.end(), extra.searches.begin(), extra.searches.end());
    conf.searches = withoutDuplicates(conf.searches);
    auto optionName = [](const std::string& option) { return option.substr(0, option.find(':')); };
    for (const api::PodDNSConfigOption& o : extra.options) {
      std::string option = o.value ? fmt::format("{}:{}", o.name, *o.value) : o.name;
      auto same = std::find_if(conf.options.begin(), conf.options.end(),
                               [&](const std::string& x) { return optionName(x) == o.name; });
      if (same != conf.options.end())
        *same = option;
      else
        conf.options.push_back(option);
    }
  }

  if (conf.nameservers.size() > kMaxDnsNameservers)
    conf.nameservers.resize(kMaxDnsNameservers);
  conf.searches = searchesWithinLimits(std::move(conf.searches));

  cri::v1::DNSConfig dns;
  for (const std::string& s : conf.nameservers)
    dns.add_servers(s);
  for (const std::string& s : conf.searches)
    dns.add_searches(s);
  for (const std::string& s : conf.options)
    dns.add_options(s);
  return dns;
}

std::string podCgroupParent(const api::Pod& pod, const NodeSettings& node) {
  std::vector<std::string> parts = {"kubepods"};
  switch (podQosClass(pod)) {
    case PodQOSClass::kGuaranteed:
      break;
    case PodQOSClass::kBurstable:
      parts.push_back("burstable");
      break;
    case PodQOSClass::kBestEffort:
      parts.push_back("besteffort");
      break;
  }
  parts.push_back("pod" + pod.metadata.uid);

  std::string out;
  if (node.cgroupDriver == CgroupDriver::kCgroupfs) {
    for (const std::string& p : parts)
      out += "/" + p;
    return out;
  }
  // systemd: each level is a slice named by all the levels above it, '-' being the
  // separator (so a UID's dashes become underscores).
  std::string prefix;
  for (std::string p : parts) {
    std::replace(p.begin(), p.end(), '-', '_');
    prefix = prefix.empty() ? p : prefix + "-" + p;
    out += "/" + prefix + ".slice";
  }
  return out;
}

cri::v1::NamespaceOption podNamespaceOptions(const api::Pod& pod) {
  cri::v1::NamespaceOption ns;
  ns.set_network(pod.spec.hostNetwork ? cri::v1::NODE : cri::v1::POD);
  // shareProcessNamespace: one PID namespace for the pod, the pause process as PID 1.
  ns.set_pid(pod.spec.hostPID                                 ? cri::v1::NODE
             : pod.spec.shareProcessNamespace.value_or(false) ? cri::v1::POD
                                                              : cri::v1::CONTAINER);
  ns.set_ipc(pod.spec.hostIPC ? cri::v1::NODE : cri::v1::POD);
  return ns;
}

cri::v1::PodSandboxConfig makeSandboxConfig(const api::Pod& pod, uint32_t attempt,
                                            const NodeSettings& node) {
  cri::v1::PodSandboxConfig config;
  cri::v1::PodSandboxMetadata* meta = config.mutable_metadata();
  meta->set_name(pod.metadata.name);
  meta->set_namespace_(pod.metadata.namespace_);
  meta->set_uid(pod.metadata.uid);
  meta->set_attempt(attempt);

  auto& labels = *config.mutable_labels();
  for (const auto& [k, v] : pod.metadata.labels)
    labels[k] = v;
  labels[std::string(kPodNameLabel)] = pod.metadata.name;
  labels[std::string(kPodNamespaceLabel)] = pod.metadata.namespace_;
  labels[std::string(kPodUidLabel)] = pod.metadata.uid;
  auto& annotations = *config.mutable_annotations();
  for (const auto& [k, v] : pod.metadata.annotations)
    annotations[k] = v;

  *config.mutable_dns_config() = podDnsConfig(pod, node);
  // A hostNetwork pod keeps the node's hostname (the runtime leaves UTS alone).
  if (!pod.spec.hostNetwork)
    config.set_hostname(podHostname(pod));
  config.set_log_directory(podLogDirectory(pod, node));

  // Every declared port, as the kubelet passes them; the runtime maps those with a
  // hostPort. A port name used twice in one container counts once (MakePortMappings).
  for (const api::Container& c : pod.spec.containers) {
    std::set<std::string> names;
    for (const api::ContainerPort& p : c.ports) {
      std::string family = p.hostIP.empty() ? "any" : (isIpv6(p.hostIP) ? "v6" : "v4");
      std::string name = !p.name.empty() ? p.name
                                         : fmt::format("{}-{}-{}:{}:{}", family, p.protocol,
                                                       p.hostIP, p.containerPort, p.hostPort);
      if (!names.insert(name).second)
        continue;
      cri::v1::PortMapping* pm = config.add_port_mappings();
      pm->set_protocol(runtimeProtocol(p.protocol));
      pm->set_container_port(p.containerPort);
      pm->set_host_port(p.hostPort);
      pm->set_host_ip(p.hostIP);
    }
  }

  cri::v1::LinuxPodSandboxConfig* linux = config.mutable_linux();
  linux->set_cgroup_parent(podCgroupParent(pod, node));
  cri::v1::LinuxSandboxSecurityContext* sc = linux->mutable_security_context();
  sc->set_privileged(hasPrivilegedContainer(pod));
  // The pause process always runs under the runtime's default profile, so that a pod's
  // strict profile applies to its containers only (kubernetes#84623).
  sc->mutable_seccomp()->set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
  *sc->mutable_namespace_options() = podNamespaceOptions(pod);
  if (pod.spec.securityContext) {
    const api::PodSecurityContext& psc = *pod.spec.securityContext;
    if (psc.runAsUser)
      sc->mutable_run_as_user()->set_value(*psc.runAsUser);
    if (psc.runAsGroup)
      sc->mutable_run_as_group()->set_value(*psc.runAsGroup);
  }
  addSupplementalGroups(pod, sc->mutable_supplemental_groups());
  if (pod.spec.securityContext) {
    for (const api::Sysctl& sysctl : pod.spec.securityContext->sysctls)
      (*linux->mutable_sysctls())[sysctl.name] = sysctl.value;
  }
  return config;
}

std::map<std::string, std::string> podVolumeHostPaths(const api::Pod& pod,
                                                      const NodeSettings& node) {
  std::map<std::string, std::string> paths;
  for (const api::Volume& v : pod.spec.volumes) {
    if (v.hostPath) {
      paths[v.name] = v.hostPath->path;
    } else if (v.emptyDir) {
      paths[v.name] = joinPath(
          node.rootDir,
          fmt::format("pods/{}/volumes/kubernetes.io~empty-dir/{}", pod.metadata.uid, v.name));
    }
  }
  return paths;
}

uint64_t containerSpecHash(const api::Container& container) {
  std::string json =
      containerJson(container).dump(-1, ' ', false, api::Json::error_handler_t::replace);
  uint64_t hash = 14695981039346656037ull;  // FNV-1a 64 offset basis
  for (unsigned char c : json) {
    hash ^= c;
    hash *= 1099511628211ull;  // FNV-1a 64 prime
  }
  return hash;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> containerEnvironment(
    const api::Pod& pod, const api::Container& container, const ContainerContext& ctx,
    std::string_view path) {
  std::vector<std::pair<std::string, std::string>> env;
  std::map<std::string, size_t, std::less<>> index;  // name -> position in env
  auto lookup = [&](std::string_view name) -> const std::string* {
    auto it = index.find(name);
    return it == index.end() ? nullptr : &env[it->second].second;
  };
  api::FieldPath envPath = api::FieldPath(path).child("env");
  for (size_t i = 0; i < container.env.size(); ++i) {
    const api::EnvVar& var = container.env[i];
    std::string value;
    if (!var.value.empty()) {
      // Only references to variables defined before this one resolve.
      value = expandVariables(var.value, lookup);
    } else if (var.valueFrom && var.valueFrom->fieldRef) {
      absl::StatusOr<std::string> resolved =
          fieldRefValue(pod, ctx, var.valueFrom->fieldRef->fieldPath,
                        envPath.index(i).child("valueFrom").child("fieldRef").child("fieldPath"));
      if (!resolved.ok())
        return resolved.status();
      value = *std::move(resolved);
    }
    auto it = index.find(var.name);
    if (it != index.end()) {
      env[it->second].second = std::move(value);
    } else {
      index.emplace(var.name, env.size());
      env.emplace_back(var.name, std::move(value));
    }
  }
  return env;
}

int64_t milliCpuToShares(int64_t milliCpu) {
  if (milliCpu <= 0)
    return kMinShares;
  int64_t shares = milliCpu * kSharesPerCpu / 1000;
  return std::clamp(shares, kMinShares, kMaxShares);
}

int64_t milliCpuToQuota(int64_t milliCpu, int64_t periodUs) {
  if (milliCpu <= 0)
    return 0;
  int64_t quota = milliCpu * periodUs / 1000;
  return std::max(quota, kMinQuotaPeriod);
}

int64_t containerOomScoreAdj(const api::Pod& pod, const api::Container& container,
                             int64_t memoryCapacityBytes) {
  if (isNodeCriticalPod(pod))
    return kGuaranteedOomScoreAdj;
  switch (podQosClass(pod)) {
    case PodQOSClass::kGuaranteed:
      return kGuaranteedOomScoreAdj;
    case PodQOSClass::kBestEffort:
      return kBestEffortOomScoreAdj;
    case PodQOSClass::kBurstable:
      break;
  }
  int64_t request = valueOf(container.resources.requests, "memory");
  if (request == 0)  // a limit alone stands for the request, as defaulting makes it
    request = valueOf(container.resources.limits, "memory");
  int64_t adj = 1000;
  if (memoryCapacityBytes > 0) {
    // 1000*request may overflow int64 for absurd requests; compute in 128 bits.
    adj =
        1000 - static_cast<int64_t>((static_cast<__int128>(request) * 1000) / memoryCapacityBytes);
  }
  // Above a Guaranteed container using all memory (3), below BestEffort (1000).
  return std::clamp<int64_t>(adj, 1000 + kGuaranteedOomScoreAdj, kBestEffortOomScoreAdj - 1);
}

cri::v1::LinuxContainerResources containerResources(const api::Pod& pod,
                                                    const api::Container& container,
                                                    const ContainerContext& ctx) {
  cri::v1::LinuxContainerResources r;
  int64_t cpuRequest = milliOf(container.resources.requests, "cpu");
  int64_t cpuLimit = milliOf(container.resources.limits, "cpu");
  // A limit without a request stands for the request (the API server's defaulting,
  // repeated by the kubelet for pods that skipped it).
  r.set_cpu_shares(milliCpuToShares(cpuRequest == 0 && cpuLimit != 0 ? cpuLimit : cpuRequest));
  int64_t memoryLimit = valueOf(container.resources.limits, "memory");
  if (memoryLimit != 0)
    r.set_memory_limit_in_bytes(memoryLimit);
  if (ctx.node.cpuCfsQuota) {
    r.set_cpu_period(ctx.node.cpuCfsQuotaPeriodUs);
    r.set_cpu_quota(milliCpuToQuota(cpuLimit, ctx.node.cpuCfsQuotaPeriodUs));
  }
  r.set_oom_score_adj(containerOomScoreAdj(pod, container, ctx.memoryCapacityBytes));
  return r;
}

std::string containerLogPath(std::string_view containerName, int32_t restartCount) {
  return fmt::format("{}/{}.log", containerName, restartCount);
}

absl::StatusOr<cri::v1::ContainerConfig> makeContainerConfig(const api::Pod& pod,
                                                             const api::Container& container,
                                                             const ContainerContext& ctx) {
  api::FieldPath path = containerPath(pod, container);
  cri::v1::ContainerConfig config;
  config.mutable_metadata()->set_name(container.name);
  config.mutable_metadata()->set_attempt(static_cast<uint32_t>(std::max(ctx.restartCount, 0)));
  config.mutable_image()->set_image(ctx.imageRef.empty() ? container.image : ctx.imageRef);

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> env =
      containerEnvironment(pod, container, ctx, path.toString());
  if (!env.ok())
    return env.status();
  std::map<std::string, std::string, std::less<>> envMap(env->begin(), env->end());
  auto lookup = [&](std::string_view name) -> const std::string* {
    auto it = envMap.find(name);
    return it == envMap.end() ? nullptr : &it->second;
  };
  // command replaces the image's entrypoint and args its cmd; containerd applies the
  // same rule when given both lists, so they pass through (expanded) separately.
  for (const std::string& c : container.command)
    config.add_command(expandVariables(c, lookup));
  for (const std::string& a : container.args)
    config.add_args(expandVariables(a, lookup));
  config.set_working_dir(container.workingDir);
  for (const auto& [name, value] : *env) {
    cri::v1::KeyValue* kv = config.add_envs();
    kv->set_key(name);
    kv->set_value(value);
  }

  if (absl::Status s = addMounts(container, ctx, path, &config); !s.ok())
    return s;
  config.set_log_path(containerLogPath(container.name, ctx.restartCount));
  config.set_stdin(container.stdin_);
  config.set_tty(container.tty);

  auto& labels = *config.mutable_labels();
  labels[std::string(kPodNameLabel)] = pod.metadata.name;
  labels[std::string(kPodNamespaceLabel)] = pod.metadata.namespace_;
  labels[std::string(kPodUidLabel)] = pod.metadata.uid;
  labels[std::string(kContainerNameLabel)] = container.name;
  setAnnotations(pod, container, ctx, &config);

  cri::v1::LinuxContainerConfig* linux = config.mutable_linux();
  *linux->mutable_resources() = containerResources(pod, container, ctx);
  if (absl::Status s =
          setSecurityContext(pod, container, ctx, path, linux->mutable_security_context());
      !s.ok())
    return s;
  return config;
}

}  // namespace kubenode::agent::pods
