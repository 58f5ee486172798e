// The service proxier inside the daemon (kube-proxy's job): owns the netlink rule writer,
// the conntrack cleaner and the netfilter::Proxier sync loop, configured from the agent's
// settings exactly as `kubenode proxy render/apply` configure it (proxyNodeSettings), and
// feeds it. In standalone mode the Services and EndpointSlices come from the manifests of
// --pod-manifest-path (ServiceSource); a Service with a selector and no EndpointSlice of its
// own gets slices computed from the node's pods by the control plane's pure function
// (controlplane/endpoints), so `selector: {app: web}` works without a control plane.
// Metrics (kube-proxy's names where they exist) go to the agent's registry:
//   kubeproxy_sync_proxy_rules_duration_seconds (histogram, every sync)
//   kubeproxy_sync_full_proxy_rules_duration_seconds, ..._partial_... (histograms)
//   kubeproxy_sync_proxy_rules_last_timestamp_seconds (last successful sync)
//   kubenode_proxy_rules, kubenode_proxy_chains (programmed after the last success)
//   kubenode_proxy_sync_errors_total
//
//   ProxyRunner proxy(loop, config, metrics.registry());
//   if (absl::Status s = proxy.start(); !s.ok()) return s;   // bad flag: one line
//   ... after each relist, from any thread:
//   proxy.setPods(workers.podsWithStatus());
//   ... on SIGTERM:
//   proxy.stop();  // the rules stay, as kube-proxy leaves them
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/config.h"
#include "agent/service_source.h"
#include "api/endpoint_slice.h"
#include "api/pod.h"
#include "api/service.h"
#include "netfilter/conntrack.h"
#include "netfilter/ip.h"
#include "netfilter/proxier.h"
#include "netfilter/rule_writer.h"
#include "netfilter/time_source.h"

namespace prometheus {
class Registry;
}

namespace kubenode::agent {

// The runner's side effects, replaceable by fakes in unit tests.
struct ProxyRunnerDeps {
  // The writer for `table ip <table>` in the current network namespace.
  std::function<absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>>(const std::string& table)>
      makeWriter;
  // ctnetlink for UDP conntrack cleanup; an error only disables the cleanup (logged).
  std::function<absl::StatusOr<std::unique_ptr<netfilter::Conntrack>>()> makeConntrack;
  // The IPv4 addresses of this network namespace's interfaces (for --node-port-addresses).
  std::function<std::vector<netfilter::Ipv4Addr>()> localAddresses;
  std::function<std::string()> hostname;
  // The proxier's clock and timers; null: Asio timers on the runner's loop.
  netfilter::TimeSource* time = nullptr;
};

// NetlinkRuleWriter, NetlinkConntrack, getifaddrs(), gethostname() (those of `kubenode
// proxy`, realProxyCommandDeps()).
ProxyRunnerDeps realProxyRunnerDeps();

// Exports every sync to Prometheus. Registered once per registry.
class ProxySyncMetrics : public netfilter::SyncObserver {
 public:
  explicit ProxySyncMetrics(prometheus::Registry& registry);
  ~ProxySyncMetrics() override;
  void onSync(const netfilter::SyncRecord& record) override;

 private:
  struct Families;
  std::unique_ptr<Families> m_;
};

struct ProxyRunnerOptions {
  // Until the node's pods are first handed over (setPods), the first sync waits at most
  // this long, so that a restart does not briefly program "no endpoints" (reject) for
  // every selector Service, as kube-proxy waits for its informers.
  std::chrono::milliseconds podsWait = std::chrono::seconds(10);
  // Reports about the manifests (a bad file, a duplicate object), one line each.
  std::function<void(const std::string&)> onManifestError;
};

// Thread-safety: construct, start(), stop() and destroy on the loop's thread (before or
// while it runs); setPods() from any thread.
class ProxyRunner {
 public:
  ProxyRunner(boost::asio::io_context& loop, const AgentConfig& config,
              prometheus::Registry& registry, ProxyRunnerDeps deps = realProxyRunnerDeps(),
              ProxyRunnerOptions options = {});
  ~ProxyRunner();

  // Nothing with --proxy=false (returns OK). Otherwise: node settings from the flags
  // (kInvalidArgument naming the flag), the writer (kPermissionDenied without
  // CAP_NET_ADMIN), then the manifest source when --pod-manifest-path is set; the first
  // sync (a full rebuild in one transaction) follows once the manifests and pods are read.
  absl::Status start();
  // Stops syncing and watching; the programmed rules stay (established and new
  // connections keep working while the agent restarts). Idempotent.
  void stop();
  bool enabled() const { return config_.proxy; }

  // The node's pods with their current statuses (pod IPs, Ready condition), as the pod
  // workers report them. Any thread; the last call wins.
  void setPods(std::vector<api::Pod> pods);
  // The Services and EndpointSlices (ServiceSource calls this; an API watch would too).
  // On the loop's thread.
  void setManifests(const ServiceSet& set);

  // For tests and /metrics: null before start() or when disabled.
  const netfilter::Proxier* proxier() const { return proxier_.get(); }
  // The slices the runner computed for selector Services at the last update.
  const std::vector<api::EndpointSlice>& computedSlices() const { return computed_; }

 private:
  void drainPods();
  void maybeStartProxier();
  void update();

  boost::asio::io_context& loop_;
  AgentConfig config_;
  ProxyRunnerDeps deps_;
  ProxyRunnerOptions options_;
  std::unique_ptr<ProxySyncMetrics> metrics_;
  std::unique_ptr<netfilter::SyncObserver> observer_;  // metrics_ and the log
  std::unique_ptr<netfilter::TimeSource> ownTime_;
  netfilter::TimeSource* time_ = nullptr;
  std::unique_ptr<netfilter::RuleWriter> writer_;
  std::unique_ptr<netfilter::Conntrack> conntrack_;
  std::unique_ptr<netfilter::Proxier> proxier_;
  std::unique_ptr<ServiceSource> source_;
  std::unique_ptr<netfilter::Timer> podsWaitTimer_;
  bool started_ = false;
  bool proxierStarted_ = false;
  bool manifestsRead_ = false;
  bool podsSeen_ = false;
  bool podsWaitOver_ = false;

  ServiceSet manifests_;
  std::vector<api::Pod> pods_;
  std::vector<api::EndpointSlice> computed_;
  std::optional<std::vector<api::Service>> givenServices_;
  std::optional<std::vector<api::EndpointSlice>> givenSlices_;

  // setPods() from other threads: the newest list waits here for the loop.
  absl::Mutex podsMu_;
  std::optional<std::vector<api::Pod>> pendingPods_ ABSL_GUARDED_BY(podsMu_);
  bool podsPosted_ ABSL_GUARDED_BY(podsMu_) = false;
  // Lets a posted drain see that the runner is gone (checked on the loop's thread).
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace kubenode::agent
