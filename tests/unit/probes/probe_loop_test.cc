// The probe loop on a real Asio loop with a scripted Prober: probes run when due, their
// outcomes turn into result changes and events on the loop, and the kubelet's prober
// metrics appear (and go with the pod).
#include "probes/probe_loop.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <sstream>

namespace kubenode::probes {
namespace {

// Answers every probe with a fixed outcome, asynchronously, as a real prober must.
class ScriptedProber : public Prober {
 public:
  explicit ScriptedProber(boost::asio::io_context& io) : io_(io) {}
  void probe(const ProbeTarget& target, absl::Duration, ProbeDone done) override {
    ++calls;
    lastTarget = target;
    boost::asio::post(io_, [this, done = std::move(done)] { done(outcome); });
  }
  ProbeOutcome outcome{.result = Outcome::kFailure, .output = "connection refused"};
  int calls = 0;
  ProbeTarget lastTarget;

 private:
  boost::asio::io_context& io_;
};

api::Pod podWithLiveness() {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "uid-1";
  pod.spec.restartPolicy = "Always";
  api::Container c;
  c.name = "app";
  api::Probe p;
  p.tcpSocket = api::TCPSocketAction{.port = api::IntOrString::fromInt(8080)};
  p.periodSeconds = 1;
  p.timeoutSeconds = 1;
  p.successThreshold = 1;
  p.failureThreshold = 2;
  c.livenessProbe = p;
  pod.spec.containers.push_back(c);
  pod.status.phase = "Running";
  pod.status.podIP = "127.0.0.1";
  api::ContainerStatus s;
  s.name = "app";
  s.containerID = "containerd://c1";
  s.state.running = api::ContainerStateRunning{.startedAt = api::Time(absl::Now())};
  pod.status.containerStatuses.push_back(s);
  return pod;
}

std::string exposition(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

TEST(ProbeLoopTest, FailuresAtTheThresholdBecomeAResultEventsAndMetrics) {
  boost::asio::io_context io;
  ScriptedProber prober(io);
  prometheus::Registry registry;
  std::vector<ResultChange> results;
  std::vector<ProbeEvent> events;
  ProbeLoop loop(
      io, prober,
      {.onResults =
           [&](std::vector<ResultChange> c) {
             results.insert(results.end(), c.begin(), c.end());
             if (results.back().result == Result::kFailure)
               io.stop();
           },
       .onEvents =
           [&](std::vector<ProbeEvent> e) { events.insert(events.end(), e.begin(), e.end()); },
       .registry = &registry,
       .random = [] { return 0.0; }});
  loop.updatePods({podWithLiveness()});
  // Two failures one period apart: about a second; bounded, not timed.
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, Result::kSuccess) << "liveness starts as Success";
  EXPECT_EQ(results[1].result, Result::kFailure);
  EXPECT_EQ(results[1].containerId, "c1");
  EXPECT_EQ(prober.calls, 2);
  EXPECT_EQ(std::get<TcpTarget>(prober.lastTarget).host, "127.0.0.1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].message, "Liveness probe failed: connection refused");

  const std::string text = exposition(registry);
  EXPECT_NE(text.find("prober_probe_total{container=\"app\",namespace=\"default\",pod=\"web\","
                      "pod_uid=\"uid-1\",probe_type=\"Liveness\",result=\"failed\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("prober_probe_duration_seconds_count{container=\"app\""), std::string::npos);
  EXPECT_NE(text.find("kubenode_prober_probe_lateness_seconds_count 2"), std::string::npos);

  // The pod goes: its per-pod series go with it.
  io.restart();
  loop.updatePods({});
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(exposition(registry).find("pod_uid=\"uid-1\""), std::string::npos);
}

}  // namespace
}  // namespace kubenode::probes
