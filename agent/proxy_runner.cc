#include "agent/proxy_runner.h"

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <set>
#include <utility>

#include "agent/proxy_command.h"
#include "controlplane/endpoints/endpoint_slices.h"

namespace kubenode::agent {
namespace {

// kube-proxy's sync histograms: exponential from 1 ms, 15 buckets (about 16 s).
prometheus::Histogram::BucketBoundaries syncBuckets() {
  prometheus::Histogram::BucketBoundaries b;
  double v = 0.001;
  for (int i = 0; i < 15; ++i, v *= 2)
    b.push_back(v);
  return b;
}

}  // namespace

// ---- Metrics ------------------------------------------------------------------

struct ProxySyncMetrics::Families {
  prometheus::Histogram& duration;
  prometheus::Histogram& fullDuration;
  prometheus::Histogram& partialDuration;
  prometheus::Gauge& lastSuccess;
  prometheus::Gauge& rules;
  prometheus::Gauge& chains;
  prometheus::Counter& errors;
};

ProxySyncMetrics::ProxySyncMetrics(prometheus::Registry& registry)
    : m_(new Families{
          prometheus::BuildHistogram()
              .Name("kubeproxy_sync_proxy_rules_duration_seconds")
              .Help("SyncProxyRules latency in seconds")
              .Register(registry)
              .Add({}, syncBuckets()),
          prometheus::BuildHistogram()
              .Name("kubeproxy_sync_full_proxy_rules_duration_seconds")
              .Help("SyncProxyRules latency in seconds for full resyncs")
              .Register(registry)
              .Add({}, syncBuckets()),
          prometheus::BuildHistogram()
              .Name("kubeproxy_sync_partial_proxy_rules_duration_seconds")
              .Help("SyncProxyRules latency in seconds for partial resyncs")
              .Register(registry)
              .Add({}, syncBuckets()),
          prometheus::BuildGauge()
              .Name("kubeproxy_sync_proxy_rules_last_timestamp_seconds")
              .Help("The last time proxy rules were successfully synced")
              .Register(registry)
              .Add({}),
          prometheus::BuildGauge()
              .Name("kubenode_proxy_rules")
              .Help("Rules in kubenode's nftables table after the last successful sync")
              .Register(registry)
              .Add({}),
          prometheus::BuildGauge()
              .Name("kubenode_proxy_chains")
              .Help("Chains in kubenode's nftables table after the last successful sync")
              .Register(registry)
              .Add({}),
          prometheus::BuildCounter()
              .Name("kubenode_proxy_sync_errors_total")
              .Help("Syncs of the service rules that failed (the next one rebuilds the table)")
              .Register(registry)
              .Add({}),
      }) {}

ProxySyncMetrics::~ProxySyncMetrics() = default;

void ProxySyncMetrics::onSync(const netfilter::SyncRecord& r) {
  m_->duration.Observe(r.durationSeconds);
  (r.full ? m_->fullDuration : m_->partialDuration).Observe(r.durationSeconds);
  if (!r.success) {
    m_->errors.Increment();
    return;
  }
  m_->lastSuccess.Set(std::chrono::duration<double>(r.finishedAt.time_since_epoch()).count());
  m_->rules.Set(static_cast<double>(r.rulesProgrammed));
  m_->chains.Set(static_cast<double>(r.chainsProgrammed));
}

namespace {

// Metrics for every sync, and a log line when the outcome changes (not one a second while
// a failure repeats).
class LoggingObserver : public netfilter::SyncObserver {
 public:
  explicit LoggingObserver(ProxySyncMetrics& metrics) : metrics_(metrics) {}
  void onSync(const netfilter::SyncRecord& r) override {
    metrics_.onSync(r);
    if (!r.drift.empty())
      spdlog::warn("proxier: table changed behind kubenode's back ({}); rebuilt", r.drift);
    if (!r.success) {
      if (r.error != lastError_)
        spdlog::error("proxier: programming the service rules failed: {}; retrying", r.error);
      lastError_ = r.error;
      return;
    }
    if (!lastError_.empty() || !synced_) {
      spdlog::info("proxier: service rules programmed ({} chains, {} rules, {:.3f} s)",
                   r.chainsProgrammed, r.rulesProgrammed, r.durationSeconds);
    }
    synced_ = true;
    lastError_.clear();
  }

 private:
  ProxySyncMetrics& metrics_;
  std::string lastError_;
  bool synced_ = false;
};

}  // namespace

// ---- Real side effects ----------------------------------------------------------

ProxyRunnerDeps realProxyRunnerDeps() {
  ProxyCommandDeps command = realProxyCommandDeps();
  ProxyRunnerDeps deps;
  deps.makeWriter = command.makeWriter;
  deps.localAddresses = command.localAddresses;
  deps.hostname = command.hostname;
  deps.makeConntrack = []() -> absl::StatusOr<std::unique_ptr<netfilter::Conntrack>> {
    absl::StatusOr<std::unique_ptr<netfilter::NetlinkConntrack>> ct =
        netfilter::NetlinkConntrack::open();
    if (!ct.ok())
      return ct.status();
    return std::unique_ptr<netfilter::Conntrack>(std::move(*ct));
  };
  return deps;
}

// ---- The runner -----------------------------------------------------------------

ProxyRunner::ProxyRunner(boost::asio::io_context& loop, const AgentConfig& config,
                         prometheus::Registry& registry, ProxyRunnerDeps deps,
                         ProxyRunnerOptions options)
    : loop_(loop), config_(config), deps_(std::move(deps)), options_(std::move(options)) {
  if (config_.proxy)
    metrics_ = std::make_unique<ProxySyncMetrics>(registry);
}

ProxyRunner::~ProxyRunner() {
  stop();
}

absl::Status ProxyRunner::start() {
  if (!config_.proxy) {
    spdlog::info("proxier: off (--proxy=false): another kube-proxy programs this node");
    return absl::OkStatus();
  }
  if (started_)
    return absl::OkStatus();
  absl::StatusOr<netfilter::NodeSettings> node =
      proxyNodeSettings(config_, deps_.hostname(), deps_.localAddresses());
  if (!node.ok())
    return node.status();
  absl::StatusOr<std::unique_ptr<netfilter::RuleWriter>> writer = deps_.makeWriter(node->tableName);
  if (!writer.ok()) {
    return absl::Status(writer.status().code(),
                        fmt::format("proxier: table ip {}: {}", node->tableName,
                                    std::string(writer.status().message())));
  }
  writer_ = std::move(*writer);
  if (deps_.makeConntrack) {
    absl::StatusOr<std::unique_ptr<netfilter::Conntrack>> ct = deps_.makeConntrack();
    if (ct.ok()) {
      conntrack_ = std::move(*ct);
    } else {
      spdlog::warn(
          "proxier: no conntrack access ({}); UDP clients of removed endpoints keep their "
          "stale entries until they expire",
          std::string(ct.status().message()));
    }
  }
  if (deps_.time != nullptr) {
    time_ = deps_.time;
  } else {
    ownTime_ = std::make_unique<netfilter::AsioTimeSource>(loop_);
    time_ = ownTime_.get();
  }
  observer_ = std::make_unique<LoggingObserver>(*metrics_);
  netfilter::ProxierOptions proxierOptions{
      .node = *node,
      .minSyncPeriod = std::chrono::duration_cast<netfilter::Duration>(config_.minSyncPeriod),
      .syncPeriod = std::chrono::duration_cast<netfilter::Duration>(config_.syncPeriod)};
  proxier_ = std::make_unique<netfilter::Proxier>(proxierOptions, *writer_, conntrack_.get(),
                                                  *time_, observer_.get());
  started_ = true;
  spdlog::info("proxier: node {}, table ip {}{}", node->nodeName, node->tableName,
               config_.podManifestPath.empty()
                   ? ""
                   : fmt::format(", Services and EndpointSlices from {}", config_.podManifestPath));

  podsWaitTimer_ = time_->createTimer([this] {
    podsWaitOver_ = true;
    maybeStartProxier();
  });
  podsWaitTimer_->enableAt(time_->now() +
                           std::chrono::duration_cast<netfilter::Duration>(options_.podsWait));

  if (config_.podManifestPath.empty()) {
    manifestsRead_ = true;  // no standalone source: nothing to wait for
    update();
  } else {
    source_ = std::make_unique<ServiceSource>(
        loop_,
        ServiceSourceOptions{.dir = config_.podManifestPath,
                             .resyncPeriod = config_.fileCheckFrequency},
        [this](const ServiceSet& set) { setManifests(set); },
        [this](const std::string& error) {
          if (options_.onManifestError)
            options_.onManifestError(error);
          else
            spdlog::error("{}", error);
        });
    if (absl::Status s = source_->start(); !s.ok()) {
      return absl::Status(s.code(),
                          fmt::format("--pod-manifest-path: {}", std::string(s.message())));
    }
  }
  drainPods();  // pods handed over before start()
  return absl::OkStatus();
}

void ProxyRunner::stop() {
  // Order: nothing may call into the proxier once it is gone.
  source_.reset();
  podsWaitTimer_.reset();
  proxier_.reset();
  observer_.reset();
  conntrack_.reset();
  writer_.reset();
  started_ = false;
  proxierStarted_ = false;
}

void ProxyRunner::setPods(std::vector<api::Pod> pods) {
  {
    absl::MutexLock lock(&podsMu_);
    pendingPods_ = std::move(pods);
    if (podsPosted_)
      return;
    podsPosted_ = true;
  }
  boost::asio::post(loop_, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired())
      return;
    drainPods();
  });
}

void ProxyRunner::drainPods() {
  std::optional<std::vector<api::Pod>> pods;
  {
    absl::MutexLock lock(&podsMu_);
    pods.swap(pendingPods_);
    podsPosted_ = false;
  }
  if (!pods)
    return;
  pods_ = std::move(*pods);
  podsSeen_ = true;
  update();
}

void ProxyRunner::setManifests(const ServiceSet& set) {
  manifests_ = set;
  manifestsRead_ = true;
  update();
}

void ProxyRunner::update() {
  if (!started_ || proxier_ == nullptr)
    return;
  // Services whose slices the user wrote keep exactly those: the controller would not
  // manage them either (its slices carry the managed-by label; the user's replace them).
  std::set<std::pair<std::string, std::string>> owned;
  for (const api::EndpointSlice& s : manifests_.slices) {
    auto it = s.metadata.labels.find(std::string(controlplane::endpoints::kServiceNameLabel));
    if (it != s.metadata.labels.end())
      owned.emplace(s.metadata.namespace_, it->second);
  }
  std::vector<api::EndpointSlice> computed;
  for (const api::Service& svc : manifests_.services) {
    if (!controlplane::endpoints::managesSlices(svc) ||
        owned.contains({svc.metadata.namespace_, svc.metadata.name}))
      continue;
    std::vector<api::EndpointSlice> slices =
        controlplane::endpoints::endpointSlicesForService(svc, pods_);
    computed.insert(computed.end(), std::make_move_iterator(slices.begin()),
                    std::make_move_iterator(slices.end()));
  }
  computed_ = computed;
  std::vector<api::EndpointSlice> slices = manifests_.slices;
  slices.insert(slices.end(), computed.begin(), computed.end());

  // Pods' statuses change every relist (times, restarts) while their endpoints rarely do:
  // hand the proxier only real changes, so it does not sync for nothing.
  if (!givenServices_ || *givenServices_ != manifests_.services) {
    givenServices_ = manifests_.services;
    proxier_->setServices(manifests_.services);
  }
  if (!givenSlices_ || *givenSlices_ != slices) {
    givenSlices_ = slices;
    proxier_->setEndpointSlices(std::move(slices));
  }
  maybeStartProxier();
}

void ProxyRunner::maybeStartProxier() {
  if (proxierStarted_ || proxier_ == nullptr || !manifestsRead_ || !(podsSeen_ || podsWaitOver_))
    return;
  proxierStarted_ = true;
  podsWaitTimer_->disable();
  if (!podsSeen_)
    spdlog::warn("proxier: no pods handed over after {} ms; programming the rules without them",
                 options_.podsWait.count());
  proxier_->start();
}

}  // namespace kubenode::agent
