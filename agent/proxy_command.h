// `kubenode proxy`: the service proxier for operators and tests, without the daemon.
//
//   kubenode proxy render -f services/ --cluster-cidr 10.244.0.0/16   # print the ruleset
//   kubenode proxy apply  -f services/ --hostname-override node-a     # program it once
//   kubenode proxy cleanup                                            # remove kubenode's table
//   kubenode proxy trace 10.96.0.10:80 --duration 10s                 # follow packets
//
// render and apply read Service and EndpointSlice manifests and take the daemon's node
// flags (--config, --cluster-cidr, --hostname-override, --node-port-addresses,
// --masquerade-bit) through the same Setting table (agent/config.h), so what render prints
// is what the daemon would program on this node.
//
// Side effects (netlink, the host's addresses and name) come through ProxyCommandDeps so
// unit tests can run every subcommand against fakes:
//
//   ProxyCommandDeps deps = realProxyCommandDeps();
//   int code = runProxyCommand(argc, argv, std::cout, std::cerr, deps);
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/config.h"
#include "api/endpoint_slice.h"
#include "api/manifest.h"
#include "api/service.h"
#include "netfilter/nftrace.h"
#include "netfilter/ruleset.h"

namespace kubenode::netfilter {
class RuleWriter;  // netfilter/rule_writer.h
}

namespace kubenode::agent {

// What `-f FILE_OR_DIR` yields: the objects the proxier reads, and one note per object
// it skipped or per unknown field ("pods.yaml: skipping Pod default/web: ...").
struct ProxyManifests {
  std::vector<api::Service> services;
  std::vector<api::EndpointSlice> slices;
  std::vector<std::string> notes;
};

// Appends the Services and EndpointSlices of one decoded file (Lists expanded, namespace
// "default" when empty) to `out`, with a note naming each object of another kind it skips.
// Shared by readProxyManifests and the daemon's ServiceSource (agent/service_source.h).
void collectProxyObjects(const std::string& file, const api::Manifest& manifest,
                         ProxyManifests& out);

// Reads one file, or every *.yaml, *.yml and *.json directly inside a directory in name
// order. Objects without a namespace get "default". kInvalidArgument with one line naming
// the file, document and field (decodeManifest's message) on the first bad document;
// kNotFound when the path does not exist or a directory holds no manifest.
absl::StatusOr<ProxyManifests> readProxyManifests(const std::string& path);

// The proxier's node settings from the agent's configuration, exactly as the daemon
// derives them: node name = --hostname-override or the host name, lower-cased (as the
// kubelet does); --cluster-cidr and --node-port-addresses parsed as IPv4 CIDRs; the node's
// addresses (for --node-port-addresses) are `localAddresses`. kInvalidArgument naming the
// flag and what is expected.
absl::StatusOr<netfilter::NodeSettings> proxyNodeSettings(
    const AgentConfig& config, std::string_view hostname,
    const std::vector<netfilter::Ipv4Addr>& localAddresses);

struct ProxyCommandDeps {
  // The writer for `table ip <table>` in the current network namespace.
  std::function<absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>>(const std::string& table)>
      makeWriter;
  // The IPv4 addresses of this network namespace's interfaces.
  std::function<std::vector<netfilter::Ipv4Addr>()> localAddresses;
  std::function<std::string()> hostname;
  // Installs the trace rules and subscribes to trace events (netfilter/nftrace.h).
  std::function<absl::StatusOr<std::unique_ptr<netfilter::TraceSession>>(
      const netfilter::TraceFilter&)>
      startTrace;
  // A file descriptor that becomes readable when the user asks to stop (SIGINT/SIGTERM
  // during `trace`); -1: none. Called once, when the trace starts.
  std::function<int()> stopFd;
};

// Netlink writer and tracer, getifaddrs(), gethostname(), a self-pipe for SIGINT/SIGTERM.
ProxyCommandDeps realProxyCommandDeps();

// The subcommand; argv[0] is "proxy". Returns the exit code: 0 done, 1 the input or the
// kernel refused (one line on `err` says why), 2 bad usage.
int runProxyCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                    const ProxyCommandDeps& deps);
int runProxyCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace kubenode::agent
