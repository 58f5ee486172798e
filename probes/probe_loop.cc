#include "probes/probe_loop.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>
#include <set>
#include <unordered_map>

#include "absl/time/clock.h"

namespace kubenode::probes {

namespace {

// The kubelet's probe duration buckets are Prometheus' defaults; lateness is finer.
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const prometheus::Histogram::BucketBoundaries kLatenessBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                                  0.025,  0.05,  0.1,   0.25,  1};

constexpr int64_t kGridNanos = 2'000'000;  // 2 ms

}  // namespace

struct ProbeLoop::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, Prober& prober, ProbeLoopOptions options)
      : io(io),
        prober(prober),
        options(std::move(options)),
        manager({.start = absl::Now(), .random = this->options.random}),
        timer(io) {
    if (this->options.registry == nullptr)
      return;
    total = &prometheus::BuildCounter()
                 .Name("prober_probe_total")
                 .Help(
                     "Cumulative number of a liveness, readiness or startup probe for a "
                     "container by result.")
                 .Register(*this->options.registry);
    duration = &prometheus::BuildHistogram()
                    .Name("prober_probe_duration_seconds")
                    .Help("Duration in seconds for a probe response.")
                    .Register(*this->options.registry);
    lateness = &prometheus::BuildHistogram()
                    .Name("kubenode_prober_probe_lateness_seconds")
                    .Help("How late a probe started against its schedule, in seconds.")
                    .Register(*this->options.registry)
                    .Add({}, kLatenessBuckets);
  }

  // On the loop.
  void apply(std::vector<api::Pod> pods) {
    std::set<std::string> uids;
    for (const api::Pod& p : pods)
      uids.insert(p.metadata.uid);
    manager.updatePods(pods, absl::Now());
    dropMetricsOfPodsNotIn(uids);
    runDue();
  }

  void runDue() {
    const absl::Time now = absl::Now();
    for (ProbeRequest& r : manager.takeDue(now)) {
      if (lateness != nullptr)
        lateness->Observe(absl::ToDoubleSeconds(now - r.scheduled));
      if (options.onProbeStart)
        options.onProbeStart(r, now - r.scheduled);
      WorkerMetrics* m = metricsFor(r);
      std::weak_ptr<State> weak = weak_from_this();
      prober.probe(r.target, r.timeout, [weak, id = r.id, started = now, m](ProbeOutcome outcome) {
        if (auto self = weak.lock())
          self->completed(id, started, m, outcome);
      });
    }
    publish();
    arm();
  }

  // The worker's series, looked up once per worker rather than per probe (building label
  // maps and hashing them in the registry was a third of the loop's own cost at 2,000
  // probes/s, measured by bench/probes).
  struct WorkerMetrics {
    prometheus::Counter* successful = nullptr;
    prometheus::Counter* failed = nullptr;
    prometheus::Histogram* duration = nullptr;
  };
  WorkerMetrics* metricsFor(const ProbeRequest& r) {
    if (total == nullptr)
      return nullptr;
    auto [it, added] = metricsByWorker.try_emplace(r.worker);
    if (!added)
      return &it->second;
    const std::string type = std::string(toString(r.type));
    auto counter = [&](const char* result) {
      return &total->Add({{"probe_type", type},
                          {"result", result},
                          {"container", r.containerName},
                          {"pod", r.podName},
                          {"namespace", r.podNamespace},
                          {"pod_uid", r.podUid}});
    };
    it->second.successful = counter("successful");
    it->second.failed = counter("failed");
    it->second.duration = &duration->Add({{"probe_type", type},
                                          {"container", r.containerName},
                                          {"pod", r.podName},
                                          {"namespace", r.podNamespace}},
                                         kDurationBuckets);
    ++histogramUsers[it->second.duration];
    workersByPod[r.podUid].push_back(r.worker);
    return &it->second;
  }

  void completed(uint64_t id, absl::Time started, WorkerMetrics* m, const ProbeOutcome& outcome) {
    const absl::Time now = absl::Now();
    if (m != nullptr) {
      (outcome.result == Outcome::kFailure ? m->failed : m->successful)->Increment();
      m->duration->Observe(absl::ToDoubleSeconds(now - started));
    }
    manager.complete(id, outcome, now);
    publish();
    arm();
  }

  void publish() {
    std::vector<ResultChange> changes = manager.takeResultChanges();
    if (!changes.empty() && options.onResults)
      options.onResults(std::move(changes));
    std::vector<ProbeEvent> events = manager.takeEvents();
    if (!events.empty() && options.onEvents)
      options.onEvents(std::move(events));
  }

  void arm() {
    absl::Time next = manager.nextDue();
    if (next == absl::InfiniteFuture()) {
      timer.cancel();
      armedFor = absl::InfiniteFuture();
      return;
    }
    // Wake on a grid: probes due within one grid step start together, so 2,000 probes a
    // second with random phases cost at most 1,000 timer wake-ups, for at most kGrid of
    // lateness (probes never start early).
    const absl::Time wake =
        absl::FromUnixNanos((absl::ToUnixNanos(next) + kGridNanos - 1) / kGridNanos * kGridNanos);
    if (wake == armedFor)
      return;
    armedFor = wake;
    next = wake;
    timer.expires_after(
        absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), next - absl::Now())));
    std::weak_ptr<State> weak = weak_from_this();
    timer.async_wait([weak](const boost::system::error_code& ec) {
      if (ec)
        return;  // cancelled or re-armed
      if (auto self = weak.lock()) {
        self->armedFor = absl::InfiniteFuture();
        self->runDue();
      }
    });
  }

  void dropMetricsOfPodsNotIn(const std::set<std::string>& uids) {
    for (auto it = workersByPod.begin(); it != workersByPod.end();) {
      if (uids.count(it->first) != 0) {
        ++it;
        continue;
      }
      for (uint64_t worker : it->second) {
        auto m = metricsByWorker.find(worker);
        if (m == metricsByWorker.end())
          continue;
        total->Remove(m->second.successful);
        total->Remove(m->second.failed);
        // Without a pod_uid label, a pod recreated under the same name (an edited static
        // pod) shares the histogram with its predecessor: it goes with its last user.
        if (--histogramUsers[m->second.duration] == 0) {
          histogramUsers.erase(m->second.duration);
          duration->Remove(m->second.duration);
        }
        metricsByWorker.erase(m);
      }
      it = workersByPod.erase(it);
    }
  }

  boost::asio::io_context& io;
  Prober& prober;
  ProbeLoopOptions options;
  ProbeManager manager;
  boost::asio::steady_timer timer;
  absl::Time armedFor = absl::InfiniteFuture();

  prometheus::Family<prometheus::Counter>* total = nullptr;
  prometheus::Family<prometheus::Histogram>* duration = nullptr;
  prometheus::Histogram* lateness = nullptr;
  std::unordered_map<uint64_t, WorkerMetrics> metricsByWorker;
  std::map<std::string, std::vector<uint64_t>> workersByPod;
  std::unordered_map<prometheus::Histogram*, int> histogramUsers;
};

ProbeLoop::ProbeLoop(boost::asio::io_context& io, Prober& prober, ProbeLoopOptions options) {
  if (!options.random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    options.random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
  state_ = std::make_shared<State>(io, prober, std::move(options));
}

ProbeLoop::~ProbeLoop() = default;

void ProbeLoop::updatePods(std::vector<api::Pod> pods) {
  std::weak_ptr<State> weak = state_;
  boost::asio::post(state_->io, [weak, pods = std::move(pods)]() mutable {
    if (auto self = weak.lock())
      self->apply(std::move(pods));
  });
}

}  // namespace kubenode::probes
