#include "agent/proxy_command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "agent/duration.h"
#include "api/defaults.h"
#include "api/manifest.h"
#include "netfilter/netlink_rule_writer.h"
#include "netfilter/render.h"
#include "netfilter/rule_writer.h"
#include "netfilter/service_port.h"

namespace kubenode::agent {
namespace {

namespace fs = std::filesystem;

// The daemon's settings that shape the service rules; the same Setting entries as the
// daemon's flags, so names, help and parsing cannot drift apart.
constexpr std::string_view kNodeFlags[] = {"config", "cluster-cidr", "hostname-override",
                                           "node-port-addresses", "masquerade-bit"};

constexpr std::string_view kManifestHelp =
    "Service and EndpointSlice manifests (YAML or JSON, one or many documents, or a List): "
    "a file, or a directory whose *.yaml, *.yml and *.json files are read in name order. "
    "Other kinds are skipped with a note. A Service with a selector gets its endpoints "
    "from EndpointSlices only: without a slice it has no endpoints (slices are not "
    "computed from pods here).";

// Flags recorded while CLI11 parses, applied after --config so that they override it (the
// layering of agent/command_line.cc).
struct NodeFlags {
  struct Given {
    const Setting* setting;
    std::vector<std::string> values;
  };
  std::vector<Given> given;
};

void addNodeFlags(CLI::App* app, NodeFlags& flags) {
  AgentConfig defaults;
  for (const Setting& s : settings()) {
    if (std::find(std::begin(kNodeFlags), std::end(kNodeFlags), s.flag) == std::end(kNodeFlags))
      continue;
    CLI::Option* opt = app->add_option_function<std::vector<std::string>>(
        fmt::format("--{}", s.flag),
        [&flags, &s](const std::vector<std::string>& v) {
          flags.given.push_back({&s, v});
        },
        std::string(s.help));
    opt->default_str(s.show(defaults));
    opt->type_name(std::string(s.typeName));
    opt->expected(1);
    opt->multi_option_policy(s.isList ? CLI::MultiOptionPolicy::TakeAll
                                      : CLI::MultiOptionPolicy::TakeLast);
  }
}

// Defaults, then the --config file, then the flags given.
absl::StatusOr<AgentConfig> resolveNodeFlags(const NodeFlags& flags,
                                             std::vector<std::string>& warnings) {
  AgentConfig config;
  for (const NodeFlags::Given& g : flags.given) {
    if (g.setting->flag == "config" && !g.values.empty())
      config.configFile = g.values.back();
  }
  if (!config.configFile.empty()) {
    std::ifstream in(config.configFile);
    if (!in) {
      return absl::InvalidArgumentError(fmt::format(
          "--config: cannot read \"{}\": expected a readable YAML file", config.configFile));
    }
    std::stringstream text;
    text << in.rdbuf();
    if (absl::Status s = applyConfigText(text.str(), config.configFile, config, warnings);
        !s.ok()) {
      return s;
    }
  }
  for (const NodeFlags::Given& g : flags.given) {
    const Setting& s = *g.setting;
    if (s.isList)
      s.clear(config);
    for (const std::string& value : g.values) {
      std::vector<std::string> parts = s.isList ? absl::StrSplit(value, ',', absl::SkipEmpty())
                                                : std::vector<std::string>{value};
      for (const std::string& part : parts) {
        if (absl::Status st = s.parse(config, part); !st.ok())
          return absl::InvalidArgumentError(
              fmt::format("--{}: {}", s.flag, std::string(st.message())));
      }
    }
  }
  return config;
}

bool isManifestFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// "Pod default/web", "NodeList".
template <class T>
std::string describeObject(const T& object) {
  std::string kind(api::TypeInfo<T>::kKind);
  if constexpr (requires { object.metadata.name; }) {
    std::string ns = object.metadata.namespace_.empty() ? "" : object.metadata.namespace_ + "/";
    return fmt::format("{} {}{}", kind, ns, object.metadata.name);
  }
  return kind;
}

std::string lowerCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\n");
  size_t e = s.find_last_not_of(" \t\n");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

// Everything render and apply share: manifests and flags to the desired ruleset.
struct Desired {
  netfilter::Ruleset ruleset;
  size_t servicePorts = 0;
};

absl::StatusOr<Desired> buildDesired(const std::string& path, const NodeFlags& flags,
                                     const ProxyCommandDeps& deps, std::ostream& err,
                                     std::string_view command) {
  std::vector<std::string> warnings;
  absl::StatusOr<AgentConfig> config = resolveNodeFlags(flags, warnings);
  if (!config.ok())
    return config.status();
  absl::StatusOr<netfilter::NodeSettings> node =
      proxyNodeSettings(*config, deps.hostname(), deps.localAddresses());
  if (!node.ok())
    return node.status();
  absl::StatusOr<ProxyManifests> manifests = readProxyManifests(path);
  if (!manifests.ok())
    return manifests.status();
  netfilter::ServicePorts ports =
      netfilter::buildServicePorts(manifests->services, manifests->slices, node->nodeName);
  for (const std::string& w : warnings)
    err << "kubenode proxy " << command << ": note: " << w << "\n";
  for (const std::string& n : manifests->notes)
    err << "kubenode proxy " << command << ": note: " << n << "\n";
  for (const std::string& w : ports.warnings)
    err << "kubenode proxy " << command << ": note: " << w << "\n";
  Desired d;
  d.servicePorts = ports.ports.size();
  d.ruleset = netfilter::buildRuleset(ports.ports, *node);
  return d;
}

// ---- Real side effects ------------------------------------------------------

std::vector<netfilter::Ipv4Addr> interfaceAddresses() {
  std::vector<netfilter::Ipv4Addr> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET)
      continue;
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    out.push_back(netfilter::Ipv4Addr{ntohl(in->sin_addr.s_addr)});
  }
  freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string hostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0)
    return "";
  return name;
}

// SIGINT/SIGTERM during a trace write a byte here, so the trace loop's poll() wakes up and
// removes the trace table before the process exits.
int gStopPipe[2] = {-1, -1};

void onStopSignal(int) {
  if (gStopPipe[1] >= 0) {
    char c = 1;
    ssize_t ignored = write(gStopPipe[1], &c, 1);
    (void)ignored;
  }
}

int installStopSignals() {
  if (gStopPipe[0] < 0 && pipe2(gStopPipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return -1;
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return gStopPipe[0];
}

// ---- Subcommands -------------------------------------------------------------

int fail(std::ostream& err, std::string_view command, const absl::Status& s) {
  err << "kubenode proxy " << command << ": " << s.message() << "\n";
  return 1;
}

int runTrace(const std::string& target, const std::string& duration, const std::string& protocol,
             std::ostream& out, std::ostream& err, const ProxyCommandDeps& deps) {
  absl::StatusOr<netfilter::TraceFilter> filter = netfilter::parseTraceTarget(target);
  if (!filter.ok()) {
    err << "kubenode proxy trace: " << filter.status().message() << "\n";
    return 2;
  }
  if (!protocol.empty()) {
    std::string p = lowerCase(protocol);
    if (p != "tcp" && p != "udp") {
      err << "kubenode proxy trace: --protocol: \"" << protocol << "\": expected tcp or udp\n";
      return 2;
    }
    filter->protocol = p == "tcp" ? netfilter::Protocol::kTcp : netfilter::Protocol::kUdp;
  }
  absl::StatusOr<std::chrono::nanoseconds> d = parseDuration(duration);
  if (!d.ok() || d->count() <= 0) {
    err << "kubenode proxy trace: --duration: \"" << duration
        << "\": expected a positive duration such as 10s or 1m30s\n";
    return 2;
  }
  int stopFd = deps.stopFd ? deps.stopFd() : -1;
  auto until = std::chrono::steady_clock::now() + *d;
  absl::StatusOr<std::unique_ptr<netfilter::TraceSession>> session = deps.startTrace(*filter);
  if (!session.ok())
    return fail(err, "trace", session.status());
  std::vector<std::string> rules = netfilter::traceRuleTexts(*filter);
  err << fmt::format("kubenode proxy trace: tracing for {} (table ip {}: {}); Ctrl-C stops earlier",
                     formatDuration(*d), netfilter::kTraceTable, fmt::join(rules, "; "))
      << std::endl;
  netfilter::TracePrinter printer;
  std::set<uint32_t> packets;
  absl::Status ran = (*session)->run(
      until, stopFd,
      [&](const netfilter::TraceEvent& e) {
        packets.insert(e.id);
        out << printer.format(e) << std::flush;
      },
      [&](const std::string& note) { err << "kubenode proxy trace: note: " << note << "\n"; });
  absl::Status stopped = (*session)->stop();
  if (!ran.ok())
    return fail(err, "trace", ran);
  if (!stopped.ok())
    return fail(err, "trace", stopped);
  err << fmt::format("kubenode proxy trace: {} packet(s) traced; table ip {} removed\n",
                     packets.size(), netfilter::kTraceTable);
  return 0;
}

}  // namespace

void collectProxyObjects(const std::string& file, const api::Manifest& manifest,
                         ProxyManifests& out) {
  auto addService = [&](api::Service s) {
    api::defaultNamespace(s.metadata);
    out.services.push_back(std::move(s));
  };
  auto addSlice = [&](api::EndpointSlice s) {
    api::defaultNamespace(s.metadata);
    out.slices.push_back(std::move(s));
  };
  for (const api::Object& o : manifest.objects) {
    std::visit(
        [&](const auto& object) {
          using T = std::decay_t<decltype(object)>;
          if constexpr (std::is_same_v<T, api::Service>) {
            addService(object);
          } else if constexpr (std::is_same_v<T, api::EndpointSlice>) {
            addSlice(object);
          } else if constexpr (std::is_same_v<T, api::ServiceList>) {
            for (const api::Service& s : object.items)
              addService(s);
          } else if constexpr (std::is_same_v<T, api::EndpointSliceList>) {
            for (const api::EndpointSlice& s : object.items)
              addSlice(s);
          } else {
            std::string why = std::is_same_v<T, api::Pod>
                                  ? "pods belong to the daemon (--pod-manifest-path)"
                                  : "kubenode proxy reads Service and EndpointSlice objects only";
            out.notes.push_back(
                fmt::format("{}: skipping {}: {}", file, describeObject(object), why));
          }
        },
        o);
  }
}

absl::StatusOr<ProxyManifests> readProxyManifests(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(fmt::format(
        "-f {}: no such file or directory: expected a manifest file or a directory of them", path));
  }
  std::vector<fs::path> files;
  if (fs::is_directory(status)) {
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file() && isManifestFile(e.path()))
        files.push_back(e.path());
    }
    if (ec)
      return absl::NotFoundError(fmt::format("-f {}: cannot list: {}", path, ec.message()));
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      return absl::NotFoundError(
          fmt::format("-f {}: no *.yaml, *.yml or *.json file in this directory", path));
    }
  } else {
    files.push_back(path);
  }

  ProxyManifests out;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    if (!in) {
      return absl::NotFoundError(
          fmt::format("{}: cannot read: expected a readable manifest file", file.string()));
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<api::Manifest> m = api::decodeManifest(file.string(), text.str());
    if (!m.ok())
      return absl::InvalidArgumentError(std::string(m.status().message()));
    for (const std::string& w : m->warnings)
      out.notes.push_back(w);
    collectProxyObjects(file.string(), *m, out);
  }
  return out;
}

absl::StatusOr<netfilter::NodeSettings> proxyNodeSettings(
    const AgentConfig& config, std::string_view hostname,
    const std::vector<netfilter::Ipv4Addr>& localAddresses) {
  netfilter::NodeSettings node;
  // The kubelet's node name: the override or the host name, trimmed and lower-cased.
  std::string name = trim(config.hostnameOverride);
  node.nodeName = lowerCase(name.empty() ? trim(hostname) : name);
  if (node.nodeName.empty()) {
    return absl::InvalidArgumentError(
        "--hostname-override: the host has no name: expected the node's name");
  }
  if (!trim(config.clusterCIDR).empty()) {
    absl::StatusOr<netfilter::Cidr> cidr = netfilter::parseCidr(config.clusterCIDR);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "--cluster-cidr: \"{}\": expected one IPv4 CIDR such as 10.244.0.0/16 (IPv6 is not "
          "supported yet)",
          config.clusterCIDR));
    }
    node.clusterCIDR = *cidr;
  }
  for (const std::string& text : config.nodePortAddresses) {
    absl::StatusOr<netfilter::Cidr> cidr = netfilter::parseCidr(text);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "--node-port-addresses: \"{}\": expected IPv4 CIDRs such as 192.168.0.0/16 (with the "
          "host bits zero)",
          text));
    }
    node.nodePortAddresses.push_back(*cidr);
  }
  node.masqueradeBit = config.masqueradeBit;
  node.nodeIPs = localAddresses;
  if (absl::Status s = netfilter::validateNodeSettings(node); !s.ok())
    return s;
  return node;
}

ProxyCommandDeps realProxyCommandDeps() {
  ProxyCommandDeps deps;
  deps.makeWriter =
      [](const std::string& table) -> absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> {
    absl::StatusOr<std::unique_ptr<netfilter::NetlinkRuleWriter>> w =
        netfilter::NetlinkRuleWriter::open(table);
    if (!w.ok())
      return w.status();
    return std::unique_ptr<netfilter::RuleWriter>(std::move(*w));
  };
  deps.localAddresses = interfaceAddresses;
  deps.hostname = hostName;
  deps.startTrace = netfilter::startNetlinkTrace;
  deps.stopFd = installStopSignals;
  return deps;
}

int runProxyCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  return runProxyCommand(argc, argv, out, err, realProxyCommandDeps());
}

int runProxyCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                    const ProxyCommandDeps& deps) {
  CLI::App app{
      "kube-proxy's job, once, for operators and tests: print or program the nftables rules "
      "for Service and EndpointSlice manifests, remove them, or trace packets through them",
      "kubenode proxy"};
  app.require_subcommand(1);
  app.get_formatter()->column_width(40);

  std::string path;
  NodeFlags renderFlags;
  CLI::App* render = app.add_subcommand(
      "render",
      "Print the ruleset (as `nft list table` prints it) that the daemon would program on this "
      "node for these manifests");
  render->add_option("-f,--filename", path, std::string(kManifestHelp))
      ->required()
      ->type_name("FILE_OR_DIR");
  addNodeFlags(render, renderFlags);

  NodeFlags applyFlags;
  CLI::App* apply = app.add_subcommand(
      "apply",
      "Program that ruleset into this network namespace once (one transaction, replacing "
      "kubenode's table) and exit");
  apply->add_option("-f,--filename", path, std::string(kManifestHelp))
      ->required()
      ->type_name("FILE_OR_DIR");
  addNodeFlags(apply, applyFlags);

  CLI::App* cleanup = app.add_subcommand(
      "cleanup", "Remove kubenode's table (table ip kubenode) from this network namespace");

  std::string target, duration = "10s", protocol;
  CLI::App* trace = app.add_subcommand(
      "trace",
      "Trace packets to DST[:PORT] through every nftables chain and rule they pass (as `nft "
      "monitor trace`), then remove the trace rules");
  trace->add_option("target", target, "DST or DST:PORT, e.g. 10.96.0.10:80")
      ->required()
      ->type_name("DST[:PORT]");
  trace->add_option("--duration", duration, "How long to trace (Ctrl-C stops earlier)")
      ->capture_default_str()
      ->type_name("duration");
  trace->add_option("--protocol", protocol, "tcp or udp; default: both when a port is given")
      ->type_name("tcp|udp");

  // CLI11 reads "--flag=" as a missing value; the daemon's flags read it as an empty one.
  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--") && arg.ends_with("=") && arg.find('=') == arg.size() - 1) {
      args.emplace_back();
      args.emplace_back(arg.substr(0, arg.size() - 1));
    } else {
      args.emplace_back(arg);
    }
  }
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11 throws CallForHelp from a subcommand's --help with that subcommand parsed.
    err << "kubenode proxy: " << e.what() << " (see kubenode proxy --help)\n";
    return 2;
  }

  if (render->parsed() || apply->parsed()) {
    std::string_view command = render->parsed() ? "render" : "apply";
    absl::StatusOr<Desired> desired =
        buildDesired(path, render->parsed() ? renderFlags : applyFlags, deps, err, command);
    if (!desired.ok())
      return fail(err, command, desired.status());
    if (render->parsed()) {
      out << netfilter::renderNft(desired->ruleset);
      return 0;
    }
    absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> writer =
        deps.makeWriter(desired->ruleset.table);
    if (!writer.ok())
      return fail(err, command, writer.status());
    if (absl::Status s = (*writer)->apply(desired->ruleset, nullptr); !s.ok())
      return fail(err, command, s);
    size_t rules = 0, elements = 0;
    for (const netfilter::Chain& c : desired->ruleset.chains)
      rules += c.rules.size();
    for (const netfilter::Set& s : desired->ruleset.sets)
      elements += s.elements.size();
    out << fmt::format(
        "table {} {} programmed: {} service ports, {} chains, {} rules, {} map elements\n",
        desired->ruleset.family, desired->ruleset.table, desired->servicePorts,
        desired->ruleset.chains.size(), rules, elements);
    return 0;
  }
  if (cleanup->parsed()) {
    const std::string table = netfilter::NodeSettings{}.tableName;
    absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> writer = deps.makeWriter(table);
    if (!writer.ok())
      return fail(err, "cleanup", writer.status());
    if (absl::Status s = (*writer)->cleanup(); !s.ok())
      return fail(err, "cleanup", s);
    out << fmt::format("table ip {} removed\n", table);
    return 0;
  }
  return runTrace(target, duration, protocol, out, err, deps);
}

}  // namespace kubenode::agent
