// kubenode-probes-bench: what kubenode's prober costs and how punctual it is (issue 4,
// Performance). In one run, in a private network namespace:
//   1. kubenode: a real NetworkProber + ProbeLoop (with the kubelet's prober metrics) on one
//      io_context thread, fed N synthetic running pods whose container has a tcpSocket
//      readinessProbe and an httpGet livenessProbe, periodSeconds 1: N tcp + N http
//      probes/s against listeners served by a forked child process (probe_servers.h).
//   2. handlers: the same NetworkProber alone, driven by one steady_timer (DirectSchedule),
//      without ProbeManager, ProbeLoop or metrics: the handlers' share of kubenode's cost.
//   3. floor: FloorLoop (floor_loop.h), a minimal epoll loop doing the same connects and
//      GETs on the same schedule against the same servers, measured the same way.
//   Rounds reverse the order every other time so that a drift of the machine's load hits
//   all three.
//   4. exec: M synthetic pods whose container status points at one of K real busybox
//      containers on a private containerd, exec readinessProbe `true`, period 1 s, through
//      ExecProber.
// Printed: CPU of each loop thread in % of one core (user share, and the whole process),
// probes completed per second, failures, lateness of probe starts against their schedule
// (p50/p99/max), RSS, TIME_WAIT sockets left in the namespace, the ratios to the floor; for
// exec also containerd's and the shims' CPU. The load average is printed with every round.
//
//   sudo build/rel/bench/probes/kubenode-probes-bench
//   sudo build/rel/bench/probes/kubenode-probes-bench --seconds 20 --rounds 3
//   sudo build/rel/bench/probes/kubenode-probes-bench --no-exec     # no containerd needed
//   sudo build/rel/bench/probes/kubenode-probes-bench --exec-only --exec-threads 8
//
// Needs root: like the integration tests it enters private network and mount namespaces
// (tests/harness); nothing of the host's network or containerd is touched.
#include <fmt/format.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/pod.h"
#include "bench/probes/floor_loop.h"
#include "bench/probes/probe_servers.h"
#include "cri/grpc_runtime_service.h"
#include "images/test_images.h"
#include "probes/exec_prober.h"
#include "probes/network_prober.h"
#include "probes/probe_loop.h"
#include "tests/harness/namespaces.h"
#include "tests/harness/private_containerd.h"

namespace kubenode::bench {
namespace {

namespace fs = std::filesystem;

struct Options {
  int probesPerSecond = 1000;  // of each kind, tcp and http
  double seconds = 15;         // the measured window of each side
  double warmup = 2;           // before it: the first probes are spread over one period
  int rounds = 2;
  int listeners = 20;
  bool noExec = false;
  bool execOnly = false;
  bool noMetrics = false;  // kubenode side without the Prometheus registry
  int execPerSecond = 50;
  int execThreads = probes::ExecProberOptions{}.threads;  // the agent's
  int execContainers = 5;
  absl::Duration grid = absl::Milliseconds(2);  // the peers' wake-up grid, as ProbeLoop's
};

// ---- /proc and clocks ------------------------------------------------------------------

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string loadAverage() {
  std::istringstream in(readFile("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return fmt::format("{} {} {}", a, b, c);
}

// utime+stime and cutime+cstime of a process, in seconds (fields 14-17 of /proc/PID/stat).
struct ProcCpu {
  double self = 0;
  double children = 0;
  double user = 0;  // the part of `self` in user space
};
// `dir`: /proc/PID or /proc/self/task/TID.
std::optional<ProcCpu> procCpuAt(const std::string& dir) {
  const std::string text = readFile(dir + "/stat");
  const size_t close = text.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream in(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; in >> x && f.size() < 15;)
    f.push_back(x);
  if (f.size() < 15)
    return std::nullopt;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  // f[0] is field 3 (state): utime is field 14, f[11].
  return ProcCpu{(std::stod(f[11]) + std::stod(f[12])) / tick,
                 (std::stod(f[13]) + std::stod(f[14])) / tick, std::stod(f[11]) / tick};
}
std::optional<ProcCpu> procCpu(pid_t pid) {
  return procCpuAt(fmt::format("/proc/{}", pid));
}

double threadCpuSeconds(pthread_t thread) {
  clockid_t id;
  timespec ts{};
  if (pthread_getcpuclockid(thread, &id) != 0 || clock_gettime(id, &ts) != 0)
    return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double processCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

long rssKb() {
  const std::string text = readFile("/proc/self/status");
  const size_t at = text.find("\nVmRSS:");
  return at == std::string::npos ? -1 : std::atol(text.c_str() + at + 7);
}

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
void sleepSeconds(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

struct Lateness {
  size_t count = 0;
  double p50 = 0, p99 = 0, max = 0;  // seconds
};
Lateness summarize(std::vector<double> v) {
  Lateness l;
  l.count = v.size();
  if (v.empty())
    return l;
  std::sort(v.begin(), v.end());
  auto at = [&v](double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  };
  l.p50 = at(0.50);
  l.p99 = at(0.99);
  l.max = v.back();
  return l;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// ---- TIME_WAIT ---------------------------------------------------------------------------

// Sockets in TIME_WAIT (state 06 of /proc/net/tcp, this network namespace) between this
// benchmark's prober side and the servers, for the side whose target addresses are
// 127.0.<octet>.x: on the client (prober) end and on the server end.
struct TimeWait {
  int client = 0;
  int server = 0;
};
TimeWait countTimeWait(const ProbeServers& servers, int octet) {
  TimeWait tw;
  std::istringstream in(readFile("/proc/self/net/tcp"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, state;
    f >> sl >> local >> remote >> state;
    if (state != "06" || local.size() != 13 || remote.size() != 13)
      continue;
    // "0101007F:4E20": the address as the kernel's u32 in host order (little endian: the
    // first octet is the low byte), then the port.
    auto addr = [](const std::string& s) { return std::stoul(s.substr(0, 8), nullptr, 16); };
    auto port = [](const std::string& s) {
      return static_cast<uint16_t>(std::stoul(s.substr(9), nullptr, 16));
    };
    auto third = [](unsigned long a) { return static_cast<int>((a >> 16) & 0xff); };
    if (servers.isServerPort(port(remote)) && third(addr(remote)) == octet)
      ++tw.client;
    else if (servers.isServerPort(port(local)) && third(addr(local)) == octet)
      ++tw.server;
  }
  return tw;
}

// ---- synthetic pods ----------------------------------------------------------------------

api::Probe everySecond() {
  api::Probe p;
  p.periodSeconds = 1;
  p.timeoutSeconds = 1;
  p.successThreshold = 1;
  p.failureThreshold = 3;
  return p;
}

// A running pod as the agent's status manager would hand it to the prober: one container
// "app", running for an hour (no initial delay in the way), with the given probes.
api::Pod runningPod(int i, const std::string& prefix, const std::string& ip,
                    const std::string& containerId) {
  api::Pod pod;
  pod.metadata.name = fmt::format("{}-{:04d}", prefix, i);
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = fmt::format("00000000-0000-4000-8000-{}{:06d}", prefix.substr(0, 6), i);
  pod.spec.restartPolicy = "Always";
  api::Container& c = pod.spec.containers.emplace_back();
  c.name = "app";
  c.image = "busybox";
  pod.status.phase = "Running";
  pod.status.podIP = ip;
  pod.status.podIPs = {{.ip = ip}};
  api::ContainerStatus& s = pod.status.containerStatuses.emplace_back();
  s.name = "app";
  s.containerID = "containerd://" + containerId;
  s.state.running =
      api::ContainerStateRunning{.startedAt = api::Time(absl::Now() - absl::Hours(1))};
  s.started = true;
  return pod;
}

// prober_probe_total from the loop's registry: all outcomes and the failed ones.
// prober_probe_duration_seconds too: the probes' mean duration.
struct ProbeCounts {
  double total = 0;
  double failed = 0;
  double durationSum = 0;    // seconds
  double durationCount = 0;  // probes
};
ProbeCounts countProbes(const prometheus::Registry& registry) {
  ProbeCounts c;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name == "prober_probe_duration_seconds") {
      for (const prometheus::ClientMetric& m : family.metric) {
        c.durationSum += m.histogram.sample_sum;
        c.durationCount += static_cast<double>(m.histogram.sample_count);
      }
    }
    if (family.name != "prober_probe_total")
      continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      c.total += m.counter.value;
      for (const prometheus::ClientMetric::Label& l : m.label)
        if (l.name == "result" && l.value == "failed")
          c.failed += m.counter.value;
    }
  }
  return c;
}

// Counts outcomes on their way to the loop: completions when the loop runs without a
// registry (--no-metrics).
class CountingProber final : public probes::Prober {
 public:
  explicit CountingProber(probes::Prober& inner) : inner_(inner) {}
  void probe(const probes::ProbeTarget& target, absl::Duration timeout,
             probes::ProbeDone done) override {
    inner_.probe(target, timeout, [this, done = std::move(done)](probes::ProbeOutcome o) mutable {
      completed.fetch_add(1, std::memory_order_relaxed);
      if (o.result == probes::Outcome::kFailure)
        failed.fetch_add(1, std::memory_order_relaxed);
      done(std::move(o));
    });
  }
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};

 private:
  probes::Prober& inner_;
};

// ---- one measured side -------------------------------------------------------------------

struct SideResult {
  double seconds = 0;
  double loopCpu = 0;     // seconds of the probing thread
  double userShare = 0;   // of loopCpu, in user space (the rest is the kernel's)
  double processCpu = 0;  // seconds of the whole benchmark process
  double serverCpu = 0;   // seconds of the target servers' process
  double completed = 0;   // probes with an outcome in the window
  double failed = 0;
  double skipped = 0;  // floor only: due while the previous one was in flight
  Lateness lateness;
  long rssKb = 0;
  long rssDeltaKb = 0;  // against before the side was set up
  TimeWait timeWait;

  double loopPercent() const { return 100 * loopCpu / seconds; }
  double processPercent() const { return 100 * processCpu / seconds; }
};

// CPU counters read at the start and the end of a window.
struct CpuMark {
  Clock::time_point at;
  double loop = 0, process = 0, server = 0;
  ProcCpu loopTicks;  // the same thread from /proc (10 ms ticks): its user/system split
};
CpuMark mark(pthread_t loop, pid_t tid, pid_t server) {
  return {Clock::now(), threadCpuSeconds(loop), processCpuSeconds(),
          procCpu(server).value_or(ProcCpu{}).self,
          procCpuAt(fmt::format("/proc/self/task/{}", tid)).value_or(ProcCpu{})};
}
void fillCpu(SideResult& r, const CpuMark& a, const CpuMark& b) {
  r.seconds = std::chrono::duration<double>(b.at - a.at).count();
  const double ticks = b.loopTicks.self - a.loopTicks.self;
  r.userShare = ticks > 0 ? (b.loopTicks.user - a.loopTicks.user) / ticks : 0;
  r.loopCpu = b.loop - a.loop;
  r.processCpu = b.process - a.process;
  r.serverCpu = b.server - a.server;
}

std::string ipFor(int octet, int i) {
  return fmt::format("127.0.{}.{}", octet, 1 + i % 250);
}
constexpr int kKubenodeOctet = 1;  // kubenode probes 127.0.1.x, the floor 127.0.2.x
constexpr int kFloorOctet = 2;
constexpr int kHandlersOctet = 4;  // NetworkProber without manager and loop: 127.0.4.x

absl::StatusOr<SideResult> runKubenode(const Options& o, const ProbeServers& servers) {
  const long rss0 = rssKb();
  std::vector<api::Pod> pods;
  pods.reserve(o.probesPerSecond);
  for (int i = 0; i < o.probesPerSecond; ++i) {
    api::Pod pod =
        runningPod(i, "kubenode", ipFor(kKubenodeOctet, i), fmt::format("{:064x}", i + 1));
    api::Container& c = pod.spec.containers[0];
    c.readinessProbe = everySecond();
    c.readinessProbe->tcpSocket =
        api::TCPSocketAction{.port = api::IntOrString::fromInt(servers.tcpPort(i))};
    c.livenessProbe = everySecond();
    c.livenessProbe->httpGet =
        api::HTTPGetAction{.path = "/healthz",
                           .port = api::IntOrString::fromInt(servers.httpPort(i)),
                           .scheme = "HTTP"};
    pods.push_back(std::move(pod));
  }

  boost::asio::io_context io;
  prometheus::Registry registry;
  probes::NetworkProber network(io);
  CountingProber counting(network);
  std::atomic<bool> recording{false};
  std::vector<double> lateness;  // written by the loop thread while recording
  lateness.reserve(static_cast<size_t>(2.5 * o.probesPerSecond * (o.seconds + 1)));
  probes::ProbeLoopOptions loopOptions;
  // As the agent runs it: the kubelet's prober metrics (and the counts come from them).
  loopOptions.registry = o.noMetrics ? nullptr : &registry;
  loopOptions.onProbeStart = [&](const probes::ProbeRequest&, absl::Duration late) {
    if (recording.load(std::memory_order_relaxed))
      lateness.push_back(absl::ToDoubleSeconds(late));
  };
  probes::Prober& prober = o.noMetrics ? static_cast<probes::Prober&>(counting) : network;
  auto loop = std::make_unique<probes::ProbeLoop>(io, prober, std::move(loopOptions));
  auto work = boost::asio::make_work_guard(io);
  std::atomic<pid_t> tid{0};
  std::thread thread([&io, &tid] {
    tid = gettid();
    io.run();
  });
  pthread_setname_np(thread.native_handle(), "probe-loop");

  loop->updatePods(pods);
  sleepSeconds(o.warmup);
  auto counts = [&] {
    return o.noMetrics ? ProbeCounts{.total = static_cast<double>(counting.completed.load()),
                                     .failed = static_cast<double>(counting.failed.load())}
                       : countProbes(registry);
  };
  const ProbeCounts c0 = counts();
  const CpuMark m0 = mark(thread.native_handle(), tid, servers.pid());
  recording = true;
  sleepSeconds(o.seconds);
  const CpuMark m1 = mark(thread.native_handle(), tid, servers.pid());
  recording = false;
  SideResult r;
  r.rssKb = rssKb();
  io.stop();
  thread.join();
  const ProbeCounts c1 = counts();
  fillCpu(r, m0, m1);
  r.completed = c1.total - c0.total;
  r.failed = c1.failed - c0.failed;
  r.lateness = summarize(std::move(lateness));
  r.rssDeltaKb = r.rssKb - rss0;
  loop.reset();
  r.timeWait = countTimeWait(servers, kKubenodeOctet);
  return r;
}

// NetworkProber alone, without ProbeManager and ProbeLoop: the same targets on the same kind
// of schedule (a random phase per target within the period), driven by one steady_timer on
// the loop, counting outcomes in the callback. Its CPU against kubenode's tells the
// handlers' share from the manager's and the loop's (metrics, scheduling).
class DirectSchedule {
 public:
  DirectSchedule(boost::asio::io_context& io, probes::Prober& prober,
                 std::vector<probes::ProbeTarget> targets, uint64_t seed,
                 std::chrono::nanoseconds grid)
      : prober_(prober),
        timer_(io),
        targets_(std::move(targets)),
        inFlight_(targets_.size()),
        grid_(grid) {
    std::mt19937_64 random(seed);
    std::uniform_int_distribution<int64_t> phase(0, 999'999'999);
    for (size_t i = 0; i < targets_.size(); ++i)
      order_.emplace_back(std::chrono::nanoseconds(phase(random)), i);
    std::sort(order_.begin(), order_.end());
    lateness_.reserve(targets_.size() * 64);
  }
  // On the loop.
  void start() {
    cycle_ = std::chrono::steady_clock::now();
    arm();
  }
  void setRecording(bool on) { recording_ = on; }
  double completed() const { return completed_; }
  double failed() const { return failed_; }
  const std::vector<double>& lateness() const { return lateness_; }

 private:
  std::chrono::steady_clock::time_point due() const { return cycle_ + order_[cursor_].first; }
  void arm() {
    auto at = due();
    if (grid_.count() > 0) {  // the same grid as ProbeLoop's wake-ups
      const auto steps = (at.time_since_epoch() + grid_ - std::chrono::nanoseconds(1)) / grid_;
      at = std::chrono::steady_clock::time_point(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(steps * grid_));
    }
    timer_.expires_at(at);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec)
        fire();
    });
  }
  void fire() {
    const auto now = std::chrono::steady_clock::now();
    while (due() <= now) {
      const size_t i = order_[cursor_].second;
      if (!inFlight_[i]) {
        inFlight_[i] = true;
        const bool counted = recording_.load(std::memory_order_relaxed);
        if (counted)
          lateness_.push_back(std::chrono::duration<double>(now - due()).count());
        prober_.probe(targets_[i], absl::Seconds(1), [this, i, counted](probes::ProbeOutcome o) {
          inFlight_[i] = false;
          if (!counted)
            return;
          completed_ += 1;
          if (o.result == probes::Outcome::kFailure)
            failed_ += 1;
        });
      }
      if (++cursor_ == order_.size()) {
        cursor_ = 0;
        cycle_ += std::chrono::seconds(1);
      }
    }
    arm();
  }

  probes::Prober& prober_;
  boost::asio::steady_timer timer_;
  std::vector<probes::ProbeTarget> targets_;
  std::vector<std::pair<std::chrono::nanoseconds, size_t>> order_;
  std::vector<bool> inFlight_;
  std::chrono::nanoseconds grid_;
  std::chrono::steady_clock::time_point cycle_{};
  size_t cursor_ = 0;
  std::atomic<bool> recording_{false};
  double completed_ = 0, failed_ = 0;
  std::vector<double> lateness_;
};

absl::StatusOr<SideResult> runHandlersOnly(const Options& o, const ProbeServers& servers,
                                           int round) {
  const long rss0 = rssKb();
  std::vector<probes::ProbeTarget> targets;
  for (int i = 0; i < o.probesPerSecond; ++i) {
    targets.push_back(probes::TcpTarget{ipFor(kHandlersOctet, i), servers.tcpPort(i)});
    targets.push_back(probes::HttpTarget{
        .host = ipFor(kHandlersOctet, i), .port = servers.httpPort(i), .path = "/healthz"});
  }
  boost::asio::io_context io;
  probes::NetworkProber network(io);
  DirectSchedule schedule(io, network, std::move(targets), static_cast<uint64_t>(round) + 100,
                          std::chrono::nanoseconds(absl::ToInt64Nanoseconds(o.grid)));
  boost::asio::post(io, [&schedule] { schedule.start(); });
  auto work = boost::asio::make_work_guard(io);
  std::atomic<pid_t> tid{0};
  std::thread thread([&io, &tid] {
    tid = gettid();
    io.run();
  });
  pthread_setname_np(thread.native_handle(), "handlers-loop");
  sleepSeconds(o.warmup);
  const CpuMark m0 = mark(thread.native_handle(), tid, servers.pid());
  schedule.setRecording(true);
  sleepSeconds(o.seconds);
  const CpuMark m1 = mark(thread.native_handle(), tid, servers.pid());
  schedule.setRecording(false);
  SideResult r;
  r.rssKb = rssKb();
  io.stop();
  thread.join();
  fillCpu(r, m0, m1);
  r.completed = schedule.completed();
  r.failed = schedule.failed();
  r.lateness = summarize(schedule.lateness());
  r.rssDeltaKb = r.rssKb - rss0;
  r.timeWait = countTimeWait(servers, kHandlersOctet);
  return r;
}

absl::StatusOr<SideResult> runFloor(const Options& o, const ProbeServers& servers, int round) {
  const long rss0 = rssKb();
  FloorOptions fo;
  fo.seed = static_cast<uint64_t>(round) + 1;
  fo.grid = o.grid;
  for (int i = 0; i < o.probesPerSecond; ++i) {
    fo.targets.push_back({ipFor(kFloorOctet, i), servers.tcpPort(i), false});
    fo.targets.push_back({ipFor(kFloorOctet, i), servers.httpPort(i), true});
  }
  FloorLoop floor(std::move(fo));
  absl::Status status;
  std::atomic<pid_t> tid{0};
  std::thread thread([&] {
    tid = gettid();
    status = floor.run();
  });
  pthread_setname_np(thread.native_handle(), "floor-loop");
  sleepSeconds(o.warmup);
  const CpuMark m0 = mark(thread.native_handle(), tid, servers.pid());
  floor.setRecording(true);
  sleepSeconds(o.seconds);
  const CpuMark m1 = mark(thread.native_handle(), tid, servers.pid());
  floor.setRecording(false);
  SideResult r;
  r.rssKb = rssKb();
  const FloorStats stats = floor.stats();
  floor.stop();
  thread.join();
  if (!status.ok())
    return status;
  fillCpu(r, m0, m1);
  r.completed = static_cast<double>(stats.succeeded + stats.failed);
  r.failed = static_cast<double>(stats.failed);
  r.skipped = static_cast<double>(stats.skipped);
  r.lateness = summarize(floor.lateness());
  r.rssDeltaKb = r.rssKb - rss0;
  r.timeWait = countTimeWait(servers, kFloorOctet);
  return r;
}

void printSide(const char* name, const SideResult& r) {
  fmt::print(
      "  {:<8} loop thread {:5.2f} % of a core ({:.0f} % of it in user space; process {:5.2f} "
      "%), {:7.1f} probes/s, {} "
      "failed{}, lateness p50 {:.2f} ms p99 {:.2f} ms max {:.1f} ms ({:.1f} starts/s), RSS {:.1f} "
      "MB "
      "({:+.1f}), TIME_WAIT {} (server side {}), targets' CPU {:.1f} %\n",
      name, r.loopPercent(), 100 * r.userShare, r.processPercent(), r.completed / r.seconds,
      r.failed, r.skipped > 0 ? fmt::format(", {} skipped (still in flight)", r.skipped) : "",
      1e3 * r.lateness.p50, 1e3 * r.lateness.p99, 1e3 * r.lateness.max,
      r.lateness.count / r.seconds, r.rssKb / 1024.0, r.rssDeltaKb / 1024.0, r.timeWait.client,
      r.timeWait.server, 100 * r.serverCpu / r.seconds);
}

// ---- exec ----------------------------------------------------------------------------------

struct ExecResult {
  double seconds = 0;
  double completed = 0;
  double failed = 0;
  double meanDuration = 0;  // seconds, of the probes completed in the window
  Lateness lateness;
  double processCpu = 0;     // the benchmark process (loop, exec pool, gRPC threads)
  double containerdCpu = 0;  // containerd itself
  double shimCpu = 0;        // the shims' own CPU
  double shimChildCpu = 0;   // what the shims reaped: runc exec and the probe commands
  int shims = 0;
  std::string load;
};

// containerd-shim processes of this containerd (their command line names its socket).
std::vector<pid_t> shimsOf(const harness::PrivateContainerd& containerd) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string cmdline = readFile(e.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find("containerd-shim") != std::string::npos &&
        cmdline.find(containerd.socketPath()) != std::string::npos)
      pids.push_back(std::atoi(name.c_str()));
  }
  return pids;
}

struct ExecMark {
  double process = 0, containerd = 0, shim = 0, shimChildren = 0;
};
ExecMark execMark(const harness::PrivateContainerd& containerd, const std::vector<pid_t>& shims) {
  ExecMark m;
  m.process = processCpuSeconds();
  m.containerd = procCpu(containerd.containerdPid()).value_or(ProcCpu{}).self;
  for (pid_t p : shims) {
    ProcCpu c = procCpu(p).value_or(ProcCpu{});
    m.shim += c.self;
    m.shimChildren += c.children;
  }
  return m;
}

// Sandbox `index` with one busybox `sleep` container on `runtime`: the container's ID. (The
// sandboxes go with the private containerd's stop().)
absl::StatusOr<std::string> startTarget(cri::RuntimeClient& runtime,
                                        const harness::PrivateContainerd& containerd, int index) {
  namespace v1 = cri::v1;
  const std::string name = fmt::format("exec-target-{}", index);
  const std::string uid = fmt::format("00000000-0000-4000-8000-execbench{:03d}", index);
  v1::PodSandboxConfig sandbox;
  sandbox.mutable_metadata()->set_name(name);
  sandbox.mutable_metadata()->set_namespace_("default");
  sandbox.mutable_metadata()->set_uid(uid);
  sandbox.set_hostname(name);
  sandbox.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  const std::string logDir = fmt::format("{}/pods/default_{}_{}", containerd.dir(), name, uid);
  std::error_code ec;
  fs::create_directories(logDir + "/app", ec);
  sandbox.set_log_directory(logDir);
  (*sandbox.mutable_labels())["io.kubernetes.pod.name"] = name;
  (*sandbox.mutable_labels())["io.kubernetes.pod.namespace"] = "default";
  (*sandbox.mutable_labels())["io.kubernetes.pod.uid"] = uid;
  absl::StatusOr<std::string> sandboxId = runtime.runPodSandbox(sandbox, "");
  if (!sandboxId.ok())
    return sandboxId.status();

  v1::ContainerConfig container;
  container.mutable_metadata()->set_name("app");
  container.mutable_image()->set_image(images::kBusyboxImage);
  container.add_command("sleep");
  container.add_command("3600");
  container.set_log_path("app/0.log");
  container.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  (*container.mutable_labels())["io.kubernetes.container.name"] = "app";
  absl::StatusOr<std::string> id = runtime.createContainer(*sandboxId, container, sandbox);
  if (!id.ok())
    return id.status();
  if (absl::Status s = runtime.startContainer(*id); !s.ok())
    return s;
  return *id;
}

absl::StatusOr<ExecResult> runExec(const Options& o) {
  harness::PrivateContainerd containerd;
  if (absl::Status s = containerd.start(); !s.ok())
    return absl::Status(s.code(), fmt::format("private containerd: {}", std::string(s.message())));
  absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> runtime =
      cri::GrpcRuntimeService::create(containerd.endpoint());
  if (!runtime.ok())
    return runtime.status();
  std::vector<std::string> containers;
  for (int i = 0; i < o.execContainers; ++i) {
    absl::StatusOr<std::string> id = startTarget(**runtime, containerd, i);
    if (!id.ok())
      return absl::Status(id.status().code(), fmt::format("exec target container {}: {}", i,
                                                          std::string(id.status().message())));
    containers.push_back(*id);
  }

  std::vector<api::Pod> pods;
  for (int i = 0; i < o.execPerSecond; ++i) {
    api::Pod pod = runningPod(i, "execpod", "127.0.3.1", containers[i % containers.size()]);
    api::Probe& p = pod.spec.containers[0].readinessProbe.emplace(everySecond());
    p.exec = api::ExecAction{.command = {"true"}};
    pods.push_back(std::move(pod));
  }

  ExecResult r;
  {
    boost::asio::io_context io;
    prometheus::Registry registry;
    auto network = std::make_unique<probes::NetworkProber>(io);
    auto exec = std::make_unique<probes::ExecProber>(
        **runtime, io, probes::ExecProberOptions{.threads = o.execThreads});
    probes::CompositeProber prober(*network, *exec);
    std::atomic<bool> recording{false};
    std::vector<double> lateness;
    lateness.reserve(static_cast<size_t>(2.0 * o.execPerSecond * (o.seconds + 1)));
    probes::ProbeLoopOptions loopOptions;
    loopOptions.registry = &registry;
    loopOptions.onProbeStart = [&](const probes::ProbeRequest&, absl::Duration late) {
      if (recording.load(std::memory_order_relaxed))
        lateness.push_back(absl::ToDoubleSeconds(late));
    };
    auto loop = std::make_unique<probes::ProbeLoop>(io, prober, std::move(loopOptions));
    auto work = boost::asio::make_work_guard(io);
    std::thread thread([&io] { io.run(); });
    pthread_setname_np(thread.native_handle(), "probe-loop");

    loop->updatePods(pods);
    sleepSeconds(o.warmup);
    const std::vector<pid_t> shims = shimsOf(containerd);
    r.shims = static_cast<int>(shims.size());
    r.load = loadAverage();
    const ProbeCounts c0 = countProbes(registry);
    const ExecMark m0 = execMark(containerd, shims);
    const Clock::time_point t0 = Clock::now();
    recording = true;
    sleepSeconds(o.seconds);
    const ExecMark m1 = execMark(containerd, shims);
    r.seconds = secondsSince(t0);
    recording = false;
    io.stop();
    thread.join();
    const ProbeCounts c1 = countProbes(registry);
    r.completed = c1.total - c0.total;
    r.failed = c1.failed - c0.failed;
    r.meanDuration =
        (c1.durationSum - c0.durationSum) / std::max(1.0, c1.durationCount - c0.durationCount);
    r.lateness = summarize(std::move(lateness));
    r.processCpu = m1.process - m0.process;
    r.containerdCpu = m1.containerd - m0.containerd;
    r.shimCpu = m1.shim - m0.shim;
    r.shimChildCpu = m1.shimChildren - m0.shimChildren;
    loop.reset();
    exec.reset();  // waits for the ExecSync calls still running
    network.reset();
  }
  runtime->reset();
  if (absl::Status s = containerd.stop(); !s.ok())
    fmt::print(stderr, "warning: stopping the private containerd: {}\n", std::string(s.message()));
  return r;
}

// ---- main -------------------------------------------------------------------------------

int run(const Options& o) {
  // First, while single-threaded: unshare(CLONE_NEWNS) refuses threaded callers.
  if (absl::Status s = harness::enterPrivateNamespaces(); !s.ok()) {
    fmt::print(stderr, "kubenode-probes-bench: {} (run it as root)\n", std::string(s.message()));
    return 2;
  }
  // Thousands of sockets at once, and a margin.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);

  absl::StatusOr<std::unique_ptr<ProbeServers>> servers =
      ProbeServers::start({.listeners = o.listeners});
  if (!servers.ok()) {
    fmt::print(stderr, "kubenode-probes-bench: {}\n", std::string(servers.status().message()));
    return 1;
  }
  fmt::print(
      "{} tcp + {} http probes/s (period 1 s), {} s windows after {} s of warm-up, {} "
      "listeners of each kind in a child process, {} round(s); {} CPUs\n",
      o.probesPerSecond, o.probesPerSecond, o.seconds, o.warmup, o.listeners, o.rounds,
      std::thread::hardware_concurrency());

  if (o.noMetrics)
    fmt::print("kubenode's ProbeLoop runs without a metrics registry (--no-metrics)\n");
  std::vector<SideResult> kube, floor, handlers;
  bool failed = false;
  for (int round = 1; round <= o.rounds && !o.execOnly; ++round) {
    fmt::print("round {} (load average {})\n", round, loadAverage());
    std::fflush(stdout);
    // Alternate the order so that a drift of the machine's load does not favour one side.
    static constexpr const char* kSides[] = {"kubenode", "handlers", "floor"};
    for (int k = 0; k < 3; ++k) {
      const int side = round % 2 == 1 ? k : 2 - k;
      absl::StatusOr<SideResult> r = side == 0   ? runKubenode(o, **servers)
                                     : side == 1 ? runHandlersOnly(o, **servers, round)
                                                 : runFloor(o, **servers, round);
      if (!r.ok()) {
        fmt::print(stderr, "kubenode-probes-bench: {}\n", std::string(r.status().message()));
        return 1;
      }
      printSide(kSides[side], *r);
      std::fflush(stdout);
      failed = failed || r->failed > 0;
      (side == 0 ? kube : side == 1 ? handlers : floor).push_back(*r);
    }
    fmt::print(
        "  ratio kubenode / floor (loop thread CPU): {:.2f}, handlers / floor {:.2f}  (load "
        "average now {})\n",
        kube.back().loopCpu / std::max(1e-9, floor.back().loopCpu),
        handlers.back().loopCpu / std::max(1e-9, floor.back().loopCpu), loadAverage());
  }

  auto medianOf = [](const std::vector<SideResult>& v, auto f) {
    std::vector<double> x;
    for (const SideResult& r : v)
      x.push_back(f(r));
    return median(x);
  };
  const double kubeCpu = medianOf(kube, [](const SideResult& r) { return r.loopPercent(); });
  const double floorCpu = medianOf(floor, [](const SideResult& r) { return r.loopPercent(); });
  const double p99 = medianOf(kube, [](const SideResult& r) { return 1e3 * r.lateness.p99; });
  const double ratio = kubeCpu / std::max(1e-9, floorCpu);
  if (!o.execOnly)
    fmt::print("summary (median of {} round(s)):\n", o.rounds);
  if (!o.execOnly) {
    fmt::print("  kubenode prober CPU   {:6.2f} % of a core  (goal < 10 %)   {}\n", kubeCpu,
               kubeCpu < 10 ? "met" : "NOT met");
    fmt::print("  floor CPU             {:6.2f} % of a core\n", floorCpu);
    fmt::print("  NetworkProber alone   {:6.2f} % of a core  (no manager, loop or metrics)\n",
               medianOf(handlers, [](const SideResult& r) { return r.loopPercent(); }));
    fmt::print("  ratio kubenode/floor  {:6.2f}               (goal <= 1.5)   {}\n", ratio,
               ratio <= 1.5 ? "met" : "NOT met");
    fmt::print("  lateness p99          {:6.2f} ms            (goal < 10 ms)  {}\n", p99,
               p99 < 10 ? "met" : "NOT met");
  }

  if (!o.noExec) {
    fmt::print(
        "exec: {} probes/s (`true`, period 1 s) through ExecProber ({} threads), spread over {} "
        "busybox container(s) on a private containerd\n",
        o.execPerSecond, o.execThreads, o.execContainers);
    std::fflush(stdout);
    absl::StatusOr<ExecResult> e = runExec(o);
    if (!e.ok()) {
      fmt::print(stderr, "kubenode-probes-bench: exec: {} (--no-exec skips this part)\n",
                 std::string(e.status().message()));
      return 1;
    }
    auto pct = [&e](double cpu) { return 100 * cpu / e->seconds; };
    fmt::print(
        "  {:.1f} probes/s ({:.1f} started/s), mean probe time {:.0f} ms (queue + ExecSync), {} "
        "failed, lateness p50 "
        "{:.2f} ms p99 {:.2f} ms max {:.1f} ms; CPU "
        "in % of a core: kubenode process {:.1f} %, containerd {:.1f} %, shims ({}) {:.1f} % "
        "+ reaped runc/commands {:.1f} %  (load average {})\n",
        e->completed / e->seconds, e->lateness.count / e->seconds, 1e3 * e->meanDuration, e->failed,
        1e3 * e->lateness.p50, 1e3 * e->lateness.p99, 1e3 * e->lateness.max, pct(e->processCpu),
        pct(e->containerdCpu), e->shims, pct(e->shimCpu), pct(e->shimChildCpu), e->load);
    failed = failed || e->failed > 0 || e->completed / e->seconds < 0.95 * o.execPerSecond;
  }
  if (failed)
    fmt::print("FAILED: some probes failed or the exec rate was not sustained (see above)\n");
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace kubenode::bench

int main(int argc, char** argv) {
  kubenode::bench::Options o;
  CLI::App app{"kubenode-probes-bench: the prober's CPU and punctuality against a minimal loop"};
  app.add_option("--probes-per-second", o.probesPerSecond,
                 "tcp probes/s and as many http probes/s (pods with periodSeconds 1)")
      ->check(CLI::Range(1, 20000));
  app.add_option("--seconds", o.seconds, "measured window of each side")
      ->check(CLI::Range(1.0, 600.0));
  app.add_option("--warmup", o.warmup, "seconds before each window")->check(CLI::Range(1.0, 60.0));
  app.add_option("--rounds", o.rounds, "kubenode and floor windows, order alternating")
      ->check(CLI::Range(1, 20));
  app.add_option("--listeners", o.listeners, "tcp listeners and http servers, of each kind")
      ->check(CLI::Range(1, 500));
  app.add_flag("--no-exec", o.noExec, "skip the exec part (no containerd needed)");
  double gridMs = 2;
  app.add_option("--grid-ms", gridMs,
                 "the handlers' and the floor's wake-up grid (ProbeLoop's: 2 ms; 0: each probe "
                 "at its own time)")
      ->check(CLI::Range(0.0, 100.0));
  app.add_flag("--no-metrics", o.noMetrics,
               "kubenode's loop without the Prometheus registry (to see what the metrics cost)");
  app.add_flag("--exec-only", o.execOnly, "only the exec part");
  app.add_option("--exec-per-second", o.execPerSecond, "exec probes/s (pods with periodSeconds 1)")
      ->check(CLI::Range(1, 2000));
  app.add_option("--exec-containers", o.execContainers,
                 "real containers the exec probes are spread over (each its own sandbox and shim)")
      ->check(CLI::Range(1, 50));
  app.add_option("--exec-threads", o.execThreads, "ExecProber's threads")
      ->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);
  o.grid = absl::Milliseconds(gridMs);
  return kubenode::bench::run(o);
}
