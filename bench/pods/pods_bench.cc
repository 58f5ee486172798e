// kubenode-pods-bench: how fast the kubenode binary starts pods, against the same pods
// started through direct sequential CRI calls on the same private containerd in the same
// run (issue 3, Performance), and what the agent costs once they run: its RSS with the
// pods and its CPU while idle.
//
//   sudo build/rel/bench/pods/kubenode-pods-bench              # 30 pods, one run
//   sudo build/rel/bench/pods/kubenode-pods-bench --runs 3 --pods 30 --idle-seconds 10
//
// Each run:
//   1. raw CRI peer: for every pod, sequentially, RunPodSandbox, CreateContainer and
//      StartContainer with the configs kubenode itself would send (agent/pods'
//      makeSandboxConfig / makeContainerConfig of the same manifest), timed as a whole;
//      then every sandbox stopped and removed.
//   2. kubenode: the binary started with an empty manifest directory; once /healthz
//      answers, N manifests (busybox `sleep 3600`, IfNotPresent) are written and /pods is
//      polled every 20 ms until all N pods are Running with their container running;
//      then the agent's VmRSS and VmHWM, its CPU (utime+stime) and containerd's over an
//      idle interval, its CRI call counts from /metrics; then the manifests are removed
//      and the run waits until the agent and the runtime have no pod left.
// One warm-up pod goes through the raw path first and is not counted, so that neither
// side pays containerd's first-sandbox costs.
//
// Needs root: like the integration tests it enters private network and mount namespaces
// and runs its own containerd there (tests/harness); nothing of the host's is touched.
#include <fmt/format.h>
#include <sys/types.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/pods/container_config.h"
#include "api/manifest.h"
#include "cri/grpc_runtime_service.h"
#include "tests/harness/agent_process.h"
#include "tests/harness/namespaces.h"
#include "tests/harness/private_containerd.h"

namespace kubenode::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kNodeName[] = "bench-node";

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Options {
  int pods = 30;
  int runs = 1;
  double idleSeconds = 10;
  int pollMs = 20;
  double timeoutSeconds = 180;
  std::string kubenode = KUBENODE_BINARY;
  // Extra raw peers with this many CRI callers at once (e.g. 4, 8): what a bounded
  // concurrency in the agent could reach on this machine.
  std::vector<int> parallel{};
  std::string agentLog{};  // copy kubenode's log of run N to AGENTLOG.runN
};

// The manifest of pod i, as an operator would write it: the raw peer decodes the very
// same text, so both sides run identical pods.
std::string manifestText(int i) {
  return fmt::format(R"(apiVersion: v1
kind: Pod
metadata:
  name: bench-{:02d}
spec:
  terminationGracePeriodSeconds: 1  # sleep as PID 1 ignores SIGTERM: do not wait 30 s
  containers:
  - name: sleep
    image: busybox
    imagePullPolicy: IfNotPresent  # busybox is imported, not pulled
    command: ["sleep", "3600"]
)",
                     i);
}

// ---- /proc ---------------------------------------------------------------------------

// Fields of /proc/PID/stat after the command name (which may hold spaces): index 0 is
// field 3 (state), so field n is index n-3.
// `dir` is /proc/PID or /proc/PID/task/TID.
std::vector<std::string> statFields(const std::string& dir) {
  std::string text = harness::readFile(dir + "/stat");
  size_t close = text.rfind(')');
  if (close == std::string::npos)
    return {};
  std::vector<std::string> fields;
  std::string rest = text.substr(close + 2);
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t end = rest.find(' ', pos);
    if (end == std::string::npos)
      end = rest.size();
    fields.push_back(rest.substr(pos, end - pos));
    pos = end + 1;
  }
  return fields;
}
std::string procDir(pid_t pid) {
  return fmt::format("/proc/{}", pid);
}

// utime + stime (fields 14 and 15) in seconds; nullopt when the process is gone.
std::optional<double> cpuSecondsAt(const std::string& dir) {
  std::vector<std::string> f = statFields(dir);
  if (f.size() < 13)
    return std::nullopt;
  double ticks = std::stod(f[11]) + std::stod(f[12]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}
std::optional<double> cpuSeconds(pid_t pid) {
  return cpuSecondsAt(procDir(pid));
}

// The number of a "VmRSS:   12345 kB" line of DIR/status (kB there); -1 when absent.
long statusValueAt(const std::string& dir, const std::string& key) {
  std::string text = harness::readFile(dir + "/status");
  size_t at = text.find("\n" + key + ":");
  if (at == std::string::npos)
    return -1;
  return std::atol(text.c_str() + at + key.size() + 2);
}
long statusKb(pid_t pid, const std::string& key) {
  return statusValueAt(procDir(pid), key);
}

// One thread's CPU and context switches (each switch away is a sleep or a preemption, so
// voluntary ones count its wake-ups).
struct ThreadSample {
  std::string comm;
  double cpu = 0;
  long wakeups = 0;
};
std::map<pid_t, ThreadSample> threadSamples(pid_t pid) {
  std::map<pid_t, ThreadSample> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(procDir(pid) + "/task", ec)) {
    const std::string dir = e.path();
    ThreadSample t;
    t.comm = harness::readFile(dir + "/comm");
    while (!t.comm.empty() && t.comm.back() == '\n')
      t.comm.pop_back();
    t.cpu = cpuSecondsAt(dir).value_or(0);
    t.wakeups = statusValueAt(dir, "voluntary_ctxt_switches");
    out[std::atoi(e.path().filename().c_str())] = t;
  }
  return out;
}

// Threads that ran between two samples, busiest first, grouped by name:
// "grpc_global_tim x2: 30 ms, 41 wake-ups/s".
std::vector<std::string> threadActivity(const std::map<pid_t, ThreadSample>& before,
                                        const std::map<pid_t, ThreadSample>& after,
                                        double seconds) {
  struct Group {
    int threads = 0;
    double cpu = 0;
    long wakeups = 0;
    std::vector<long> each{};  // wake-ups of each thread, to tell unnamed threads apart
  };
  std::map<std::string, Group> groups;
  for (const auto& [tid, a] : after) {
    auto b = before.find(tid);
    if (b == before.end())
      continue;
    double cpu = a.cpu - b->second.cpu;
    long wakeups = a.wakeups - b->second.wakeups;
    if (cpu <= 0 && wakeups <= 0)
      continue;
    Group& g = groups[a.comm];
    ++g.threads;
    g.cpu += cpu;
    g.wakeups += wakeups;
    g.each.push_back(wakeups);
  }
  std::vector<std::pair<std::string, Group>> sorted(groups.begin(), groups.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) {
    return x.second.cpu != y.second.cpu ? x.second.cpu > y.second.cpu
                                        : x.second.wakeups > y.second.wakeups;
  });
  std::vector<std::string> lines;
  for (auto& [comm, g] : sorted) {
    std::string line = fmt::format("{} x{}: {:.0f} ms CPU, {:.1f} wake-ups/s", comm, g.threads,
                                   1000 * g.cpu, g.wakeups / seconds);
    if (g.threads > 1) {
      std::sort(g.each.rbegin(), g.each.rend());
      line += " (busiest threads:";
      for (size_t i = 0; i < g.each.size() && i < 8; ++i)
        line += fmt::format(" {:.1f}", g.each[i] / seconds);
      line += ")";
    }
    lines.push_back(line);
  }
  return lines;
}

// The whole machine's CPU time, busy and total, in ticks (first line of /proc/stat).
struct MachineCpu {
  double busy = 0;
  double total = 0;
};
MachineCpu machineCpu() {
  std::string text = harness::readFile("/proc/stat");
  MachineCpu m;
  std::vector<double> v;
  size_t pos = text.find(' ');
  while (pos < text.size() && text[pos] != '\n') {
    char* end = nullptr;
    double x = std::strtod(text.c_str() + pos, &end);
    if (end == text.c_str() + pos)
      break;
    v.push_back(x);
    pos = end - text.c_str();
  }
  for (size_t i = 0; i < v.size() && i < 8; ++i) {  // user .. steal; guest is in user
    m.total += v[i];
    if (i != 3 && i != 4)  // idle, iowait
      m.busy += v[i];
  }
  return m;
}
// Busy share of all cores since `from`, in percent of the whole machine.
double machineBusySince(const MachineCpu& from) {
  MachineCpu now = machineCpu();
  return now.total > from.total ? 100.0 * (now.busy - from.busy) / (now.total - from.total) : 0;
}

// The kubenode child of this process. AgentProcess keeps its pid to itself, so it is
// found as the child whose comm is "kubenode".
std::optional<pid_t> agentPid() {
  const pid_t self = getpid();
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    pid_t pid = std::atoi(name.c_str());
    std::vector<std::string> f = statFields(procDir(pid));
    if (f.size() < 2 || std::atoi(f[1].c_str()) != self)
      continue;
    std::string comm = harness::readFile(fmt::format("/proc/{}/comm", pid));
    if (comm.rfind("kubenode", 0) == 0)
      return pid;
  }
  return std::nullopt;
}

// ---- raw CRI peer --------------------------------------------------------------------

struct RawResult {
  double total = 0;        // all pods, sandbox to started container
  double sandbox = 0;      // sum of RunPodSandbox
  double create = 0;       // sum of CreateContainer
  double start = 0;        // sum of StartContainer
  double removeAll = 0;    // StopPodSandbox + RemovePodSandbox of all
  double machineBusy = 0;  // % of all cores busy during the start
  double firstDone = 0;    // when the first pod's container had started
};

class RawPeer {
 public:
  RawPeer(cri::GrpcRuntimeService& runtime, agent::pods::NodeSettings node)
      : runtime_(runtime), node_(std::move(node)) {}

  // The pod kubenode would make of manifestText(i): decoded and defaulted by api/, with a
  // static pod's identity (name suffixed with the node, namespace default, nodeName).
  absl::StatusOr<api::Pod> pod(int i, const std::string& suffix) {
    absl::StatusOr<api::Manifest> m =
        api::decodeManifest(fmt::format("bench-{:02d}.yaml", i), manifestText(i));
    if (!m.ok())
      return m.status();
    api::Pod pod = std::get<api::Pod>(m->objects.at(0));
    pod.metadata.name += "-" + std::string(kNodeName) + suffix;
    if (pod.metadata.namespace_.empty())
      pod.metadata.namespace_ = "default";
    pod.metadata.uid = fmt::format("00000000-0000-4000-8000-{:012d}", uid_++);
    pod.spec.nodeName = kNodeName;
    return pod;
  }

  // RunPodSandbox, CreateContainer, StartContainer of one pod; adds the call times to `r`.
  absl::Status start(const api::Pod& pod, RawResult& r) {
    namespace pods = agent::pods;
    std::error_code ec;
    // As the agent does: containerd creates the log files, not their directories.
    fs::create_directories(pods::podLogDirectory(pod, node_), ec);
    cri::v1::PodSandboxConfig sandboxConfig = pods::makeSandboxConfig(pod, 0, node_);
    Clock::time_point t0 = Clock::now();
    absl::StatusOr<std::string> sandbox = runtime_.runPodSandbox(sandboxConfig, "");
    r.sandbox += secondsSince(t0);
    if (!sandbox.ok())
      return sandbox.status();
    {
      std::lock_guard lock(mu_);
      sandboxes_.push_back(*sandbox);
    }

    const api::Container& container = pod.spec.containers.at(0);
    pods::ContainerContext ctx;
    ctx.node = node_;
    ctx.imageRef = imageRef_;
    fs::create_directories(fs::path(pods::podLogDirectory(pod, node_)) / container.name, ec);
    absl::StatusOr<cri::v1::ContainerConfig> config =
        pods::makeContainerConfig(pod, container, ctx);
    if (!config.ok())
      return config.status();
    Clock::time_point t1 = Clock::now();
    absl::StatusOr<std::string> id = runtime_.createContainer(*sandbox, *config, sandboxConfig);
    r.create += secondsSince(t1);
    if (!id.ok())
      return id.status();
    Clock::time_point t2 = Clock::now();
    absl::Status started = runtime_.startContainer(*id);
    r.start += secondsSince(t2);
    return started;
  }

  // Stops and removes every sandbox this peer made (containerd removes their containers).
  absl::Status removeAll() {
    absl::Status first;
    std::lock_guard lock(mu_);
    for (const std::string& id : sandboxes_) {
      absl::Status s = runtime_.stopPodSandbox(id);
      if (s.ok())
        s = runtime_.removePodSandbox(id);
      if (!s.ok() && first.ok())
        first = s;
    }
    sandboxes_.clear();
    return first;
  }

  // The image ID the runtime has for busybox, as the agent's ImageStatus answer gives it.
  absl::Status resolveImage() {
    cri::v1::ImageSpec spec;
    spec.set_image("docker.io/library/busybox:latest");
    absl::StatusOr<cri::v1::ImageStatusResponse> s = runtime_.imageStatus(spec, false);
    if (!s.ok())
      return s.status();
    if (!s->has_image())
      return absl::FailedPreconditionError("busybox is not in the private containerd");
    imageRef_ = s->image().id();
    return absl::OkStatus();
  }

 private:
  cri::GrpcRuntimeService& runtime_;
  agent::pods::NodeSettings node_;
  std::string imageRef_;
  std::mutex mu_;
  std::vector<std::string> sandboxes_;  // guarded by mu_
  int uid_ = 1;
};

// Starts `pods` through `callers` threads taking the next pod in turn (1: the sequential
// peer), then removes them all. Call times are summed over all callers.
absl::StatusOr<RawResult> runRaw(RawPeer& raw, const std::vector<api::Pod>& pods, int callers) {
  RawResult total;
  std::mutex mu;
  absl::Status first;
  size_t next = 0;
  Clock::time_point t0;
  auto caller = [&] {
    RawResult mine;
    for (;;) {
      size_t i;
      {
        std::lock_guard lock(mu);
        if (next >= pods.size() || !first.ok())
          break;
        i = next++;
      }
      absl::Status s = raw.start(pods[i], mine);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (first.ok())
          first =
              absl::Status(s.code(), fmt::format("raw CRI start of {}: {}", pods[i].metadata.name,
                                                 std::string(s.message())));
        break;
      }
      std::lock_guard lock(mu);
      if (total.firstDone == 0)
        total.firstDone = secondsSince(t0);
    }
    std::lock_guard lock(mu);
    total.sandbox += mine.sandbox;
    total.create += mine.create;
    total.start += mine.start;
  };
  MachineCpu machine0 = machineCpu();
  t0 = Clock::now();
  if (callers <= 1) {
    caller();
  } else {
    std::vector<std::thread> threads;
    for (int i = 0; i < callers; ++i)
      threads.emplace_back(caller);
    for (std::thread& t : threads)
      t.join();
  }
  total.total = secondsSince(t0);
  total.machineBusy = machineBusySince(machine0);
  Clock::time_point r0 = Clock::now();
  absl::Status removed = raw.removeAll();
  total.removeAll = secondsSince(r0);
  if (!first.ok())
    return first;
  if (!removed.ok())
    return absl::Status(removed.code(),
                        fmt::format("raw CRI removal: {}", std::string(removed.message())));
  return total;
}

// ---- kubenode ------------------------------------------------------------------------

struct AgentResult {
  double total = 0;                 // writes -> all Running in /pods
  std::vector<double> runningAt{};  // per pod, seconds after the first write, sorted
  long rssKb = 0;
  long hwmKb = 0;
  double idleCpuPercent = 0;  // of one core
  double containerdIdlePercent = 0;
  double cleanup = 0;           // manifests removed -> no pod in /pods nor in the runtime
  long rssEmptyKb = 0;          // before the manifests are written
  double idleEmptyPercent = 0;  // after the pods are gone, the same interval
  double startCpu = 0;          // the agent's own CPU seconds from the writes to all Running
  double machineBusy = 0;       // % of all cores busy over the same interval
  // CRI operation -> (count, total seconds), from the agent's /metrics: during the start,
  // and during the idle interval.
  std::map<std::string, std::pair<double, double>> startOps{};
  std::map<std::string, std::pair<double, double>> idleOps{};
  std::map<std::string, std::pair<double, double>> idleEmptyOps{};
  std::vector<std::string> idleThreads{};  // with the pods, busiest first
  double idleWakeups = 0;                  // all of the agent's threads, per second
};

// kubelet_runtime_operations_duration_seconds_{count,sum}{operation_type="X"} from the
// Prometheus text.
std::map<std::string, std::pair<double, double>> criOperations(const std::string& metrics) {
  std::map<std::string, std::pair<double, double>> ops;
  const std::string prefix = "kubelet_runtime_operations_duration_seconds_";
  size_t pos = 0;
  while (pos < metrics.size()) {
    size_t end = metrics.find('\n', pos);
    if (end == std::string::npos)
      end = metrics.size();
    std::string line = metrics.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind(prefix, 0) != 0)
      continue;
    bool count = line.compare(prefix.size(), 5, "count") == 0;
    bool sum = line.compare(prefix.size(), 3, "sum") == 0;
    size_t q = line.find("operation_type=\"");
    if ((!count && !sum) || q == std::string::npos)
      continue;
    q += 16;
    std::string op = line.substr(q, line.find('"', q) - q);
    double value = std::atof(line.c_str() + line.rfind(' ') + 1);
    (count ? ops[op].first : ops[op].second) = value;
  }
  return ops;
}

std::map<std::string, std::pair<double, double>> minus(
    const std::map<std::string, std::pair<double, double>>& a,
    const std::map<std::string, std::pair<double, double>>& b) {
  std::map<std::string, std::pair<double, double>> d;
  for (const auto& [op, v] : a) {
    auto it = b.find(op);
    std::pair<double, double> base = it == b.end() ? std::pair<double, double>{} : it->second;
    if (v.first - base.first > 0)
      d[op] = {v.first - base.first, v.second - base.second};
  }
  return d;
}

// Names of the pods /pods shows Running with every container running, and how many pods
// it shows at all; nullopt when the agent does not answer.
struct PodsView {
  std::vector<std::string> running;
  size_t total = 0;
};
std::optional<PodsView> podsView(uint16_t port) {
  harness::HttpAnswer a = harness::httpGet(port, "/pods");
  if (a.status != 200)
    return std::nullopt;
  nlohmann::json list = nlohmann::json::parse(a.body, nullptr, false);
  if (list.is_discarded())
    return std::nullopt;
  PodsView view;
  for (const nlohmann::json& pod : list.value("items", nlohmann::json::array())) {
    ++view.total;
    const nlohmann::json status = pod.value("status", nlohmann::json::object());
    if (status.value("phase", "") != "Running")
      continue;
    const nlohmann::json containers = status.value("containerStatuses", nlohmann::json::array());
    bool all = !containers.empty();
    for (const nlohmann::json& c : containers)
      all = all && c.contains("state") && c["state"].contains("running");
    if (all)
      view.running.push_back(pod["metadata"].value("name", ""));
  }
  return view;
}

absl::StatusOr<AgentResult> runAgent(const Options& o, harness::PrivateContainerd& containerd,
                                     cri::GrpcRuntimeService& runtime, int run) {
  AgentResult r;
  harness::AgentProcess agent(o.kubenode, fmt::format("{}/agent-run{}", containerd.dir(), run),
                              containerd.endpoint(), kNodeName);
  if (absl::Status s = agent.start(); !s.ok())
    return s;
  // The agent's log lives in the private containerd's directory, which goes away with
  // it: keep a copy where the user can read it.
  const std::string keptLog = o.agentLog.empty()
                                  ? fmt::format("/var/tmp/kubenode-pods-bench-run{}.log", run)
                                  : fmt::format("{}.run{}", o.agentLog, run);
  auto keepLog = [&] {
    std::error_code ec;
    fs::copy_file(agent.logPath(), keptLog, fs::copy_options::overwrite_existing, ec);
    return ec ? fmt::format("{} (could not copy: {})", agent.logPath(), ec.message()) : keptLog;
  };
  auto failure = [&](const std::string& what) {
    return absl::DeadlineExceededError(fmt::format("{}; kubenode's log: {}", what, keepLog()));
  };
  if (!harness::eventually([&] { return harness::httpGet(agent.port(), "/healthz").status == 200; },
                           absl::Seconds(30)))
    return failure("kubenode's /healthz did not answer 200 within 30 s");
  std::optional<pid_t> pid = agentPid();
  if (!pid)
    return absl::InternalError("cannot find the kubenode child process in /proc");
  const auto opsBefore = criOperations(harness::httpGet(agent.port(), "/metrics").body);

  // The clock starts before the first write: the agent may react to a write while the
  // next one is made, and that is part of its time.
  r.rssEmptyKb = statusKb(*pid, "VmRSS");
  std::optional<double> startCpu0 = cpuSeconds(*pid);
  MachineCpu machine0 = machineCpu();
  Clock::time_point t0 = Clock::now();
  for (int i = 0; i < o.pods; ++i)
    agent.writeManifest(fmt::format("bench-{:02d}.yaml", i), manifestText(i));
  std::map<std::string, double> seen;
  const Clock::time_point deadline =
      t0 + std::chrono::milliseconds(static_cast<int64_t>(o.timeoutSeconds * 1000));
  while (static_cast<int>(seen.size()) < o.pods) {
    if (Clock::now() > deadline)
      return failure(fmt::format("only {} of {} pods Running after {} s", seen.size(), o.pods,
                                 o.timeoutSeconds));
    std::optional<PodsView> view = podsView(agent.port());
    const double now = secondsSince(t0);
    if (view) {
      for (const std::string& name : view->running)
        seen.emplace(name, now);
    }
    if (static_cast<int>(seen.size()) < o.pods)
      std::this_thread::sleep_for(std::chrono::milliseconds(o.pollMs));
  }
  for (const auto& [name, at] : seen)
    r.runningAt.push_back(at);
  std::sort(r.runningAt.begin(), r.runningAt.end());
  r.total = r.runningAt.back();
  r.machineBusy = machineBusySince(machine0);
  if (std::optional<double> cpu = cpuSeconds(*pid); cpu && startCpu0)
    r.startCpu = *cpu - *startCpu0;
  const auto opsStarted = criOperations(harness::httpGet(agent.port(), "/metrics").body);
  r.startOps = minus(opsStarted, opsBefore);

  // Settle (status updates right after the last start), then measure without touching the
  // agent: any /pods poll would be CPU charged to it.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  r.rssKb = statusKb(*pid, "VmRSS");
  r.hwmKb = statusKb(*pid, "VmHWM");
  // The agent's and containerd's CPU (% of one core) and the agent's CRI calls over an
  // interval in which nothing but the agent's own timers happens.
  auto measureIdle = [&](double& agentPercent, double* containerdPercent,
                         std::map<std::string, std::pair<double, double>>& ops,
                         std::vector<std::string>* threads) {
    const auto ops0 = criOperations(harness::httpGet(agent.port(), "/metrics").body);
    const std::map<pid_t, ThreadSample> threads0 = threadSamples(*pid);
    std::optional<double> cpu0 = cpuSeconds(*pid);
    std::optional<double> ctr0 = cpuSeconds(containerd.containerdPid());
    Clock::time_point idle0 = Clock::now();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(o.idleSeconds * 1000)));
    std::optional<double> cpu1 = cpuSeconds(*pid);
    std::optional<double> ctr1 = cpuSeconds(containerd.containerdPid());
    const std::map<pid_t, ThreadSample> threads1 = threadSamples(*pid);
    const double idle = secondsSince(idle0);
    if (threads != nullptr) {
      *threads = threadActivity(threads0, threads1, idle);
      long wakeups = 0;
      for (const auto& [tid, t] : threads1) {
        auto b = threads0.find(tid);
        wakeups += t.wakeups - (b == threads0.end() ? 0 : b->second.wakeups);
      }
      r.idleWakeups = wakeups / idle;
    }
    ops = minus(criOperations(harness::httpGet(agent.port(), "/metrics").body), ops0);
    if (!cpu0 || !cpu1)
      return false;
    agentPercent = 100.0 * (*cpu1 - *cpu0) / idle;
    if (containerdPercent != nullptr && ctr0 && ctr1)
      *containerdPercent = 100.0 * (*ctr1 - *ctr0) / idle;
    return true;
  };
  if (!measureIdle(r.idleCpuPercent, &r.containerdIdlePercent, r.idleOps, &r.idleThreads))
    return failure("kubenode exited during the idle interval");

  Clock::time_point c0 = Clock::now();
  for (int i = 0; i < o.pods; ++i)
    agent.removeManifest(fmt::format("bench-{:02d}.yaml", i));
  bool clean = harness::eventually(
      [&] {
        std::optional<PodsView> view = podsView(agent.port());
        if (!view || view->total != 0)
          return false;
        absl::StatusOr<std::vector<cri::v1::PodSandbox>> left =
            runtime.listPodSandbox(cri::v1::PodSandboxFilter());
        return left.ok() && left->empty();
      },
      absl::Seconds(o.timeoutSeconds));
  r.cleanup = secondsSince(c0);
  if (!clean)
    return failure("pods left behind after the manifests were removed");
  // The same idle interval with no pod: what the agent costs by itself.
  if (!measureIdle(r.idleEmptyPercent, nullptr, r.idleEmptyOps, nullptr))
    return failure("kubenode exited during the idle interval");
  agent.stop();
  if (!o.agentLog.empty())
    keepLog();
  return r;
}

// ---- report --------------------------------------------------------------------------

struct RunResult {
  RawResult raw;
  std::map<int, RawResult> parallel;  // by number of callers
  std::string loadAverage;            // /proc/loadavg's 1, 5, 15 minute figures at the start
  AgentResult agent;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void printOps(const char* title, const std::map<std::string, std::pair<double, double>>& ops,
              double seconds) {
  std::string line;
  for (const auto& [op, v] : ops) {
    line += fmt::format("  {} {:.0f}", op, v.first);
    if (seconds <= 0)
      line += fmt::format(" (mean {:.0f} ms)", 1000 * v.second / v.first);
  }
  if (seconds > 0)
    fmt::print("  {} over {:.1f} s:{}\n", title, seconds, line.empty() ? " none" : line);
  else
    fmt::print("  {}:{}\n", title, line.empty() ? " none" : line);
}

void printRun(const Options& o, int run, const RunResult& r) {
  const RawResult& raw = r.raw;
  const AgentResult& a = r.agent;
  fmt::print("run {}/{} (load average when it began: {})\n", run + 1, o.runs, r.loadAverage);
  fmt::print(
      "  raw CRI: {:.2f} s for {} pods; per pod RunPodSandbox {:.0f} ms, CreateContainer {:.0f} "
      "ms, StartContainer {:.0f} ms; removal {:.2f} s\n",
      raw.total, o.pods, 1000 * raw.sandbox / o.pods, 1000 * raw.create / o.pods,
      1000 * raw.start / o.pods, raw.removeAll);
  fmt::print("           machine CPU busy {:.0f} % (all cores)\n", raw.machineBusy);
  for (const auto& [callers, p] : r.parallel) {
    fmt::print(
        "  raw CRI, {} callers at once: {:.2f} s ({:.2f}x the sequential throughput), first pod "
        "started at {:.2f} s; per pod RunPodSandbox {:.0f} ms, CreateContainer {:.0f} ms, "
        "StartContainer {:.0f} ms; machine CPU busy {:.0f} %\n",
        callers, p.total, raw.total / p.total, p.firstDone, 1000 * p.sandbox / o.pods,
        1000 * p.create / o.pods, 1000 * p.start / o.pods, p.machineBusy);
  }
  fmt::print(
      "  kubenode: {:.2f} s; first pod Running at {:.2f} s, half at {:.2f} s, last at {:.2f} s; "
      "cleanup {:.2f} s\n",
      a.total, a.runningAt.front(), a.runningAt[a.runningAt.size() / 2], a.runningAt.back(),
      a.cleanup);
  fmt::print("           machine CPU busy {:.0f} % (all cores); the agent's own CPU {:.2f} s\n",
             a.machineBusy, a.startCpu);
  printOps("agent's CRI calls during the start (count, mean latency)", a.startOps, 0);
  printOps("agent's CRI calls while idle", a.idleOps, o.idleSeconds);
  fmt::print("  agent's threads while idle ({:.1f} wake-ups/s in all):\n", a.idleWakeups);
  for (const std::string& line : a.idleThreads)
    fmt::print("    {}\n", line);
  fmt::print("  containerd's CPU while the agent idles: {:.2f} % of a core\n",
             a.containerdIdlePercent);
  fmt::print(
      "  agent with no pod: RSS {:.1f} MB before the writes, idle CPU {:.2f} % after the "
      "cleanup\n",
      a.rssEmptyKb / 1024.0, a.idleEmptyPercent);
  printOps("agent's CRI calls idle with no pod", a.idleEmptyOps, o.idleSeconds);
}

void printTable(const Options& o, const std::vector<RunResult>& runs) {
  std::vector<double> raw, agent, rss, hwm, cpu;
  for (const RunResult& r : runs) {
    raw.push_back(r.raw.total);
    agent.push_back(r.agent.total);
    rss.push_back(r.agent.rssKb / 1024.0);
    hwm.push_back(r.agent.hwmKb / 1024.0);
    cpu.push_back(r.agent.idleCpuPercent);
  }
  auto each = [](const std::vector<double>& v, const char* format) {
    std::string s;
    for (double x : v)
      s += (s.empty() ? "" : " ") + fmt::format(fmt::runtime(format), x);
    return s;
  };
  std::vector<double> ratio;
  for (size_t i = 0; i < runs.size(); ++i)
    ratio.push_back(agent[i] / raw[i]);
  const double m = median(ratio);
  fmt::print(
      "\nkubenode-pods-bench: {} pods (sandbox + busybox sleep 3600), {} run(s), "
      "median [each run]\n",
      o.pods, runs.size());
  fmt::print("  {:<44} {:>8.2f} s   [{}]\n", "raw CRI, sequential, total", median(raw),
             each(raw, "{:.2f}"));
  fmt::print("  {:<44} {:>8.2f} s   [{}]\n", "kubenode, manifests written -> all Running",
             median(agent), each(agent, "{:.2f}"));
  fmt::print("  {:<44} {:>8.2f}     [{}]  goal <= 1.0  {}\n", "ratio kubenode / raw", m,
             each(ratio, "{:.2f}"), m <= 1.0 ? "met" : "MISSED");
  std::vector<double> throughput;
  for (double x : ratio)
    throughput.push_back(1 / x);
  fmt::print("  {:<44} {:>8.2f}x    [{}]  aim >= 2x    {}\n", "throughput kubenode / raw", 1 / m,
             each(throughput, "{:.2f}"), 1 / m >= 2.0 ? "met" : "missed");
  fmt::print("  {:<44} {:>8.1f} MB  [{}]  goal <= 30 MB {}\n",
             fmt::format("agent RSS with {} pods (VmRSS)", o.pods), median(rss),
             each(rss, "{:.1f}"), median(rss) <= 30 ? "met" : "MISSED");
  fmt::print("  {:<44} {:>8.1f} MB  [{}]\n", "agent peak RSS (VmHWM)", median(hwm),
             each(hwm, "{:.1f}"));
  fmt::print("  {:<44} {:>8.2f} %   [{}]  goal < 1 %    {}\n",
             fmt::format("agent CPU idle over {:.0f} s, of one core", o.idleSeconds), median(cpu),
             each(cpu, "{:.2f}"), median(cpu) < 1.0 ? "met" : "MISSED");
}

int benchMain(int argc, char** argv) {
  Options o;
  CLI::App app{
      "kubenode-pods-bench: N pods started by kubenode from static manifests against the same "
      "pods through sequential raw CRI calls, on a private containerd; then the agent's RSS and "
      "idle CPU. Needs root."};
  app.add_option("--pods", o.pods, "Pods per run")->check(CLI::Range(1, 200));
  app.add_option("--runs", o.runs, "Runs (each: raw peer, then kubenode)")
      ->check(CLI::Range(1, 20));
  app.add_option("--idle-seconds", o.idleSeconds, "Idle interval for the agent's CPU")
      ->check(CLI::Range(1.0, 600.0));
  app.add_option("--poll-ms", o.pollMs, "How often /pods is polled during the start")
      ->check(CLI::Range(1, 1000));
  app.add_option("--timeout", o.timeoutSeconds, "Seconds to wait for all pods Running")
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--parallel", o.parallel,
                 "Also run the raw peer with this many concurrent callers (e.g. 4 8 30)")
      ->check(CLI::Range(2, 200));
  app.add_option("--agent-log", o.agentLog,
                 "Keep kubenode's log of run N as FILE.runN (failed runs always keep theirs, by "
                 "default as /var/tmp/kubenode-pods-bench-runN.log)");
  app.add_option("--kubenode", o.kubenode, "The kubenode binary")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  // First, while single-threaded: unshare(CLONE_NEWNS) refuses threaded callers.
  if (absl::Status s = harness::enterPrivateNamespaces(); !s.ok()) {
    fmt::print(stderr, "kubenode-pods-bench: cannot enter private namespaces (run as root): {}\n",
               std::string(s.message()));
    return 1;
  }
  harness::PrivateContainerd containerd;
  if (absl::Status s = containerd.start(); !s.ok()) {
    fmt::print(stderr, "kubenode-pods-bench: private containerd: {}\n", std::string(s.message()));
    return 1;
  }
  fmt::print("private containerd at {} (ready in {} ms), kubenode {}\n", containerd.endpoint(),
             absl::ToInt64Milliseconds(containerd.readyDuration()), o.kubenode);
  absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> runtime =
      cri::GrpcRuntimeService::create(containerd.endpoint());
  if (!runtime.ok()) {
    fmt::print(stderr, "kubenode-pods-bench: {}\n", std::string(runtime.status().message()));
    return 1;
  }

  // The raw peer's node settings: the agent's defaults under this run's directory.
  agent::pods::NodeSettings node;
  node.nodeName = kNodeName;
  node.rootDir = containerd.dir() + "/raw/root";
  node.podLogsDir = containerd.dir() + "/raw/logs";
  node.hostResolvConf = agent::pods::parseResolvConf(harness::readFile("/etc/resolv.conf"));
  RawPeer raw(**runtime, node);
  auto fail = [&](const std::string& what, const absl::Status& s) {
    fmt::print(stderr, "kubenode-pods-bench: {}: {}\n", what, std::string(s.message()));
    (void)raw.removeAll();
    return 1;
  };
  if (absl::Status s = raw.resolveImage(); !s.ok())
    return fail("busybox image", s);

  {  // Warm-up, not counted.
    RawResult ignored;
    absl::StatusOr<api::Pod> pod = raw.pod(0, "-warmup");
    absl::Status s = pod.ok() ? raw.start(*pod, ignored) : pod.status();
    if (!s.ok())
      return fail("warm-up pod", s);
    if (absl::Status r = raw.removeAll(); !r.ok())
      return fail("warm-up pod removal", r);
  }

  std::vector<RunResult> results;
  for (int run = 0; run < o.runs; ++run) {
    RunResult result;
    {
      std::string load = harness::readFile("/proc/loadavg");
      size_t third = load.find(' ', load.find(' ', load.find(' ') + 1) + 1);
      result.loadAverage = load.substr(0, third);
    }
    std::vector<api::Pod> pods;
    for (int i = 0; i < o.pods; ++i) {
      absl::StatusOr<api::Pod> pod = raw.pod(i, fmt::format("-raw{}", run));
      if (!pod.ok())
        return fail("manifest", pod.status());
      pods.push_back(*pod);
    }
    absl::StatusOr<RawResult> sequential = runRaw(raw, pods, 1);
    if (!sequential.ok())
      return fail("raw CRI, sequential", sequential.status());
    result.raw = *sequential;
    for (int callers : o.parallel) {
      std::vector<api::Pod> more;
      for (int i = 0; i < o.pods; ++i) {
        absl::StatusOr<api::Pod> pod = raw.pod(i, fmt::format("-raw{}x{}", run, callers));
        if (!pod.ok())
          return fail("manifest", pod.status());
        more.push_back(*pod);
      }
      absl::StatusOr<RawResult> parallel = runRaw(raw, more, callers);
      if (!parallel.ok())
        return fail(fmt::format("raw CRI, {} callers", callers), parallel.status());
      result.parallel[callers] = *parallel;
    }

    absl::StatusOr<AgentResult> agent = runAgent(o, containerd, **runtime, run);
    if (!agent.ok())
      return fail("kubenode", agent.status());
    result.agent = std::move(*agent);
    printRun(o, run, result);
    results.push_back(std::move(result));
  }
  printTable(o, results);
  runtime->reset();
  if (absl::Status s = containerd.stop(); !s.ok())
    fmt::print(stderr, "kubenode-pods-bench: stopping containerd: {}\n", std::string(s.message()));
  return 0;
}

}  // namespace
}  // namespace kubenode::bench

int main(int argc, char** argv) {
  return kubenode::bench::benchMain(argc, argv);
}
