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

#include "absl/time/clock.h"

namespace kubenode::probes {

namespace {

// The kubelet's probe duration buckets are Prometheus' defaults; lateness is finer.
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const prometheus::Histogram::BucketBoundaries kLatenessBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                                  0.025,  0.05,  0.1,   0.25,  1};

std::string resultLabel(Outcome o) {
  return o == Outcome::kFailure ? "failed" : "successful";
}

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
      const uint64_t id = r.id;
      const absl::Time started = now;
      // Labels for metrics are built only when the outcome arrives.
      auto request = std::make_shared<ProbeRequest>(std::move(r));
      std::weak_ptr<State> weak = weak_from_this();
      prober.probe(request->target, request->timeout,
                   [weak, id, started, request](ProbeOutcome outcome) {
                     if (auto self = weak.lock())
                       self->completed(*request, id, started, outcome);
                   });
    }
    publish();
    arm();
  }

  void completed(const ProbeRequest& r, uint64_t id, absl::Time started,
                 const ProbeOutcome& outcome) {
    const absl::Time now = absl::Now();
    if (total != nullptr) {
      const std::string type = std::string(toString(r.type));
      prometheus::Counter& c = total->Add({{"probe_type", type},
                                           {"result", resultLabel(outcome.result)},
                                           {"container", r.containerName},
                                           {"pod", r.podName},
                                           {"namespace", r.podNamespace},
                                           {"pod_uid", r.podUid}});
      c.Increment();
      prometheus::Histogram& h = duration->Add({{"probe_type", type},
                                                {"container", r.containerName},
                                                {"pod", r.podName},
                                                {"namespace", r.podNamespace}},
                                               kDurationBuckets);
      h.Observe(absl::ToDoubleSeconds(now - started));
      metricsByPod[r.podUid].insert(&c);
      histogramsByPod[r.podUid].insert(&h);
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
    const absl::Time next = manager.nextDue();
    if (next == absl::InfiniteFuture()) {
      timer.cancel();
      armedFor = absl::InfiniteFuture();
      return;
    }
    if (next == armedFor)
      return;
    armedFor = next;
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
    for (auto it = metricsByPod.begin(); it != metricsByPod.end();) {
      if (uids.count(it->first) != 0) {
        ++it;
        continue;
      }
      for (prometheus::Counter* c : it->second)
        total->Remove(c);
      it = metricsByPod.erase(it);
    }
    for (auto it = histogramsByPod.begin(); it != histogramsByPod.end();) {
      if (uids.count(it->first) != 0) {
        ++it;
        continue;
      }
      for (prometheus::Histogram* h : it->second)
        duration->Remove(h);
      it = histogramsByPod.erase(it);
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
  std::map<std::string, std::set<prometheus::Counter*>> metricsByPod;
  std::map<std::string, std::set<prometheus::Histogram*>> histogramsByPod;
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
