// kubenode-proxy-bench: programs N services x M endpoints from scratch with the
// proxier (NetlinkRuleWriter, one transaction), then changes one endpoint, each
// size in a fresh network namespace; in the same run loads the equivalent
// kube-proxy iptables-mode ruleset with iptables-restore and a kube-proxy
// nftables-mode-style ruleset (one anonymous numgen vmap per service) with
// nft -f, each in a fresh namespace with a time cap, and prints times and ratios.
//
//   sudo build/rel/bench/proxy/kubenode-proxy-bench                # 1000 and 10000 x 10
//   sudo build/rel/bench/proxy/kubenode-proxy-bench --sizes 3000 --cap 60
//
// Needs root (it unshares network namespaces; nothing of the host's is touched).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "netfilter/chain_names.h"
#include "netfilter/netlink_rule_writer.h"
#include "netfilter/proxier.h"
#include "netfilter/service_port.h"
#include "netfilter/time_source.h"

namespace kubenode::netfilter {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// This process's CPU time so far, user and system (the kernel's batch
// processing runs inside sendmsg, so it is system time). On the shared 2-core
// machine wall time grows with the load average; CPU time much less.
struct CpuTime {
  double user = 0;
  double system = 0;
  long pageFaults = 0;  // minor faults: first touches of new memory
};
CpuTime cpuNow() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return {s(u.ru_utime), s(u.ru_stime), u.ru_minflt};
}
double loadAverage() {
  double l[1] = {0};
  getloadavg(l, 1);
  return l[0];
}

// The services of one size: ns<i>/svc, cluster IP 172.30.x.y, port 80/TCP,
// endpoints 10.(100+i/250).(i%250).(j+1):80, as kube-proxy's tests name them.
struct Fixture {
  std::vector<api::Service> services;
  std::vector<api::EndpointSlice> slices;
};

std::string clusterIP(int i) {
  return fmt::format("172.30.{}.{}", i / 250, i % 250 + 1);
}
std::string endpointIP(int i, int j) {
  return fmt::format("10.{}.{}.{}", 100 + i / 250, i % 250, j + 1);
}

Fixture makeFixture(int services, int endpoints) {
  Fixture f;
  for (int i = 0; i < services; ++i) {
    api::Service s;
    s.metadata.namespace_ = fmt::format("ns{}", i);
    s.metadata.name = "svc";
    s.spec.type = "ClusterIP";
    s.spec.clusterIP = clusterIP(i);
    api::ServicePort& p = s.spec.ports.emplace_back();
    p.name = "p80";
    p.port = 80;
    p.protocol = "TCP";
    f.services.push_back(std::move(s));

    api::EndpointSlice e;
    e.metadata.namespace_ = fmt::format("ns{}", i);
    e.metadata.name = "svc-abcde";
    e.metadata.labels["kubernetes.io/service-name"] = "svc";
    e.addressType = "IPv4";
    for (int j = 0; j < endpoints; ++j) {
      api::Endpoint& ep = e.endpoints.emplace_back();
      ep.addresses = {endpointIP(i, j)};
      ep.conditions.ready = true;
    }
    api::EndpointPort& ep = e.ports.emplace_back();
    ep.name = "p80";
    ep.port = 80;
    ep.protocol = "TCP";
    f.slices.push_back(std::move(e));
  }
  return f;
}

// kube-proxy's iptables mode for these services (nat table), iptables-save format.
std::string iptablesShape(int services, int endpoints) {
  std::string chains, rules;
  chains += ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  chains += ":POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n";
  chains += ":KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n";
  rules += "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n";
  rules += "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n";
  rules +=
      "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n";
  rules += "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n";
  rules += "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n";
  rules += "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n";
  rules +=
      "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j "
      "MASQUERADE --random-fully\n";
  for (int i = 0; i < services; ++i) {
    const std::string name = fmt::format("ns{}/svc:p80", i);
    const std::string svc = serviceChainName(name, "tcp");
    chains += fmt::format(":{} - [0:0]\n", svc);
    rules += fmt::format(
        "-A KUBE-SERVICES -d {}/32 -p tcp -m comment --comment \"{} cluster IP\" -m tcp --dport 80 "
        "-j {}\n",
        clusterIP(i), name, svc);
    rules += fmt::format(
        "-A {} ! -s 10.0.0.0/8 -d {}/32 -p tcp -m comment --comment \"{} cluster IP\" -m tcp "
        "--dport 80 -j KUBE-MARK-MASQ\n",
        svc, clusterIP(i), name);
    for (int j = 0; j < endpoints; ++j) {
      const std::string ep = fmt::format("{}:80", endpointIP(i, j));
      const std::string sep = endpointChainName(name, "tcp", ep);
      chains += fmt::format(":{} - [0:0]\n", sep);
      std::string statistic;
      if (j < endpoints - 1)
        statistic =
            fmt::format(" -m statistic --mode random --probability {:.11f}", 1.0 / (endpoints - j));
      rules += fmt::format("-A {} -m comment --comment \"{} -> {}\"{} -j {}\n", svc, name, ep,
                           statistic, sep);
      rules += fmt::format("-A {} -s {}/32 -m comment --comment \"{}\" -j KUBE-MARK-MASQ\n", sep,
                           endpointIP(i, j), name);
      rules += fmt::format(
          "-A {} -p tcp -m comment --comment \"{}\" -m tcp -j DNAT --to-destination {}\n", sep,
          name, ep);
    }
  }
  rules +=
      "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be "
      "the "
      "last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n";
  return "*nat\n" + chains + rules + "COMMIT\n";
}

// kube-proxy's nftables mode, in the shape that matters for its cost: a dispatch
// map, and per service one anonymous `numgen random mod N vmap { ... }`.
std::string nftKubeProxyShape(int services, int endpoints) {
  std::string out = "table ip kube-proxy {\n";
  out += "\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n";
  std::string elements;
  std::string chains;
  for (int i = 0; i < services; ++i) {
    const std::string name = fmt::format("ns{}/svc:p80", i);
    const std::string svc = "service-" + chainNameHash(name, "tcp");
    elements += fmt::format("{}{} . tcp . 80 : goto {}", elements.empty() ? "" : ",\n\t\t\t",
                            clusterIP(i), svc);
    std::string vmap;
    for (int j = 0; j < endpoints; ++j) {
      const std::string ep = fmt::format("{}:80", endpointIP(i, j));
      const std::string sep = "endpoint-" + chainNameHash(name, "tcp", ep);
      vmap += fmt::format("{}{} : goto {}", j == 0 ? "" : ", ", j, sep);
      chains += fmt::format(
          "\tchain {} {{\n\t\tip saddr {} jump mark-for-masquerade\n\t\tmeta l4proto tcp dnat to "
          "{}\n\t}}\n",
          sep, endpointIP(i, j), ep);
    }
    chains += fmt::format(
        "\tchain {} {{\n\t\tip daddr {} tcp dport 80 ip saddr != 10.0.0.0/8 jump "
        "mark-for-masquerade\n\t\tnumgen random mod {} vmap {{ {} }}\n\t}}\n",
        svc, clusterIP(i), endpoints, vmap);
  }
  if (!elements.empty())
    out += "\t\telements = { " + elements + " }\n";
  out += "\t}\n";
  out += "\tchain mark-for-masquerade {\n\t\tmeta mark set meta mark | 0x4000\n\t}\n";
  out +=
      "\tchain masquerading {\n\t\tmeta mark & 0x4000 == 0 return\n\t\tmeta mark set meta mark ^ "
      "0x4000\n\t\tmasquerade fully-random\n\t}\n";
  out += "\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap @service-ips\n\t}\n";
  out +=
      "\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
      "\t\tjump services\n\t}\n";
  out +=
      "\tchain nat-output {\n\t\ttype nat hook output priority -100; policy accept;\n"
      "\t\tjump services\n\t}\n";
  out +=
      "\tchain nat-postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
      "\t\tjump masquerading\n\t}\n";
  return out + chains + "}\n";
}

// Moves this (single-threaded) process into a fresh network namespace; the
// previous one vanishes with its tables.
void freshNetns() {
  if (unshare(CLONE_NEWNET) != 0) {
    perror("unshare(CLONE_NEWNET) (run as root)");
    std::exit(1);
  }
}

// Runs `command` (a shell line) with a time cap; seconds taken, or nullopt past the cap.
std::optional<double> timed(const std::string& command, int capSeconds) {
  const auto t = Clock::now();
  const std::string line = fmt::format(
      "timeout -s KILL {} sh -c '{}' >/tmp/kubenode-bench-peer.log 2>&1", capSeconds, command);
  int rc = std::system(line.c_str());
  const double s = since(t);
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 0)
    return s;
  if (s >= capSeconds - 0.5)
    return std::nullopt;
  std::ifstream log("/tmp/kubenode-bench-peer.log");
  std::string first;
  std::getline(log, first);
  fmt::print(stderr, "peer failed ({}): {}\n", command, first);
  return std::nullopt;
}

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/kubenode-bench-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    perror("temp file");
    std::exit(1);
  }
  close(fd);
  return path;
}

// VmRSS or VmHWM of this process, in MB.
double memoryMb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return 0;
}
void resetPeak() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

std::string seconds(std::optional<double> s, int cap) {
  return s ? fmt::format("{:.3f} s", *s) : fmt::format("> {} s (cap)", cap);
}
// Median time of a TCP connect through service 0's cluster IP (DNAT to one of its
// endpoints, all on lo in this netns), over `count` connections: the per-packet
// cost of the dispatch map, which should not grow with the number of services.
std::optional<double> connectCost(int endpoints, int count) {
  std::string setup = "ip link set lo up && ip route add 172.30.0.0/16 dev lo";
  for (int j = 0; j < endpoints; ++j)
    setup += fmt::format(" && ip addr add {}/32 dev lo", endpointIP(0, j));
  if (std::system(setup.c_str()) != 0)
    return std::nullopt;
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(80);
  if (bind(listener, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
      listen(listener, 16) != 0) {
    close(listener);
    return std::nullopt;
  }
  sockaddr_in service{};
  service.sin_family = AF_INET;
  service.sin_port = htons(80);
  inet_pton(AF_INET, clusterIP(0).c_str(), &service.sin_addr);
  std::vector<double> times;
  // The first connections of a run can cost several times the rest (cold caches,
  // conntrack's first allocations): not timed.
  constexpr int kWarmUp = 50;
  for (int i = -kWarmUp; i < count; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM, 0);
    const auto t = Clock::now();
    const int rc = connect(c, reinterpret_cast<sockaddr*>(&service), sizeof(service));
    if (i >= 0)
      times.push_back(since(t));
    const int a = rc == 0 ? accept(listener, nullptr, nullptr) : -1;
    // The server side must see an endpoint's address: the connection was DNATed.
    sockaddr_in local{};
    socklen_t length = sizeof(local);
    const bool dnat = a >= 0 && getsockname(a, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
                      (ntohl(local.sin_addr.s_addr) >> 8) == ((10u << 16) | (100u << 8));
    close(c);
    if (a >= 0)
      close(a);
    if (rc != 0 || !dnat) {
      close(listener);
      return std::nullopt;
    }
  }
  close(listener);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int run(const std::vector<int>& sizes, int endpoints, int cap, bool peers, int changes) {
  for (int n : sizes) {
    fmt::print("== {} services x {} endpoints ==\n", n, endpoints);
    double full = 0;
    {
      Fixture f = makeFixture(n, endpoints);
      freshNetns();
      auto writer = NetlinkRuleWriter::open();
      if (!writer.ok()) {
        fmt::print(stderr, "{}\n", writer.status().ToString());
        return 1;
      }
      // The benchmark's own copy of the inputs stays; the proxier's state is what
      // the process grows by from here.
      const double before = memoryMb("VmRSS");
      boost::asio::io_context io;
      AsioTimeSource time(io);
      NodeSettings node;
      node.nodeName = "node-a";
      node.clusterCIDR = parseCidr("10.0.0.0/8").value();
      Proxier proxier({.node = node}, **writer, nullptr, time);
      proxier.setServices(f.services);
      proxier.setEndpointSlices(f.slices);
      resetPeak();
      const double loadBefore = loadAverage();
      const CpuTime cpu0 = cpuNow();
      auto t = Clock::now();
      SyncRecord r = proxier.syncProxyRules();
      full = since(t);
      const CpuTime cpu1 = cpuNow();
      if (!r.success) {
        fmt::print(stderr, "full sync failed: {}\n", r.error);
        return 1;
      }
      const ApplyStats full_stats = (*writer)->lastApplyStats();
      fmt::print("kubenode table:            {} chains, {} rules\n", r.chainsProgrammed,
                 r.rulesProgrammed);
      fmt::print(
          "kubenode full sync:        {:.3f} s (service ports {:.3f} s, rules streamed into the "
          "batch {:.3f} s, kernel {:.3f} s; {} messages, {:.1f} MB, one transaction)\n",
          full, full - full_stats.buildSeconds - full_stats.kernelSeconds, full_stats.buildSeconds,
          full_stats.kernelSeconds, full_stats.messages, full_stats.bytes / 1e6);
      fmt::print(
          "  cpu time:                {:.3f} s user, {:.3f} s system, {} page faults (load "
          "average {:.1f})\n",
          cpu1.user - cpu0.user, cpu1.system - cpu0.system, cpu1.pageFaults - cpu0.pageFaults,
          loadBefore);
      fmt::print(
          "proxier memory:            {:.0f} MB at rest after the sync: the benchmark's inputs "
          "{:.0f} MB, the proxier {:.0f} MB (its copy of the objects, service ports, table "
          "summary); peak {:.0f} MB during the sync (process RSS)\n",
          memoryMb("VmRSS"), before, memoryMb("VmRSS") - before, memoryMb("VmHWM"));
      // One endpoint changes address, back and forth.
      std::vector<double> times, kernel, cpu, userCpu;
      for (int k = 0; k < changes; ++k) {
        f.slices[n / 2].endpoints[0].addresses = {
            k % 2 == 0 ? fmt::format("10.250.0.{}", k % 200 + 1) : endpointIP(n / 2, 0)};
        proxier.setEndpointSlices(f.slices);
        const CpuTime c0 = cpuNow();
        t = Clock::now();
        r = proxier.syncProxyRules();
        times.push_back(since(t));
        const CpuTime c1 = cpuNow();
        cpu.push_back(c1.user - c0.user + c1.system - c0.system);
        userCpu.push_back(c1.user - c0.user);
        kernel.push_back((*writer)->lastApplyStats().kernelSeconds);
        if (!r.success || r.full) {
          fmt::print(stderr, "change failed: {}\n", r.error);
          return 1;
        }
      }
      std::sort(times.begin(), times.end());
      std::sort(kernel.begin(), kernel.end());
      std::sort(cpu.begin(), cpu.end());
      std::sort(userCpu.begin(), userCpu.end());
      fmt::print(
          "kubenode one-endpoint change: {:.1f} ms median of {} (kernel {:.1f} ms; the rest is "
          "service ports from every service, then rules for the changed ones; cpu {:.1f} ms, "
          "of it user {:.1f} ms; load average {:.1f})\n",
          times[times.size() / 2] * 1e3, times.size(), kernel[kernel.size() / 2] * 1e3,
          cpu[cpu.size() / 2] * 1e3, userCpu[userCpu.size() / 2] * 1e3, loadAverage());
      // The kernel's share that no shape of the service chains can avoid: a batch
      // of one new chain with one rule. With a jump in it the kernel validates the
      // table's whole jump graph at commit (once per hook that reaches it); with
      // only a counter it does not.
      auto probe = [&](bool withJump) {
        Chain c;
        c.name = "KUBE-SVC-BENCHPROBE00000";
        Rule rule;
        if (withJump)
          rule.verdict = JumpVerdict{std::string(kMarkMasqChain)};
        c.rules.push_back(rule);
        RulesetDiff add;
        add.chainsToAdd.push_back(c);
        RulesetDiff remove;
        remove.chainsToFlush.push_back(c.name);
        remove.chainsToDelete.push_back(c.name);
        Ruleset table;
        std::vector<double> kernelTimes;
        for (int k = 0; k < 3; ++k) {
          if (!(*writer)->apply(table, &add).ok())
            return -1.0;
          kernelTimes.push_back((*writer)->lastApplyStats().kernelSeconds);
          if (!(*writer)->apply(table, &remove).ok())
            return -1.0;
        }
        std::sort(kernelTimes.begin(), kernelTimes.end());
        return kernelTimes[1];
      };
      const double withJump = probe(true), withoutJump = probe(false);
      // What every sync recomputes in user space before it can diff anything.
      std::vector<double> portTimes;
      for (int k = 0; k < 5; ++k) {
        auto t0 = Clock::now();
        ServicePorts sp = buildServicePorts(f.services, f.slices, node.nodeName);
        portTimes.push_back(since(t0));
      }
      std::sort(portTimes.begin(), portTimes.end());
      fmt::print("service ports from every service and slice (each sync): {:.1f} ms\n",
                 portTimes[2] * 1e3);
      fmt::print(
          "kernel floor of any change: {:.1f} ms for a batch adding one rule with a jump (the "
          "kernel re-validates the whole jump graph), {:.1f} ms for the same rule without one\n",
          withJump * 1e3, withoutJump * 1e3);
      std::optional<double> connect = connectCost(endpoints, 300);
      fmt::print("connect to a cluster IP:   {}\n",
                 connect ? fmt::format("{:.1f} us median of 300 (TCP handshake over lo, DNAT "
                                       "through the dispatch map)",
                                       *connect * 1e6)
                         : std::string("failed"));
    }
    if (!peers)
      continue;
    {
      const std::string file = writeTemp(iptablesShape(n, endpoints));
      freshNetns();
      std::optional<double> s = timed("iptables-nft-restore < " + file, cap);
      std::remove(file.c_str());
      fmt::print("iptables-restore (kube-proxy iptables shape): {}  ratio {}\n", seconds(s, cap),
                 s ? fmt::format("{:.1f}x", *s / full) : fmt::format("> {:.0f}x", cap / full));
    }
    {
      const std::string file = writeTemp(nftKubeProxyShape(n, endpoints));
      freshNetns();
      std::optional<double> s = timed("nft -f " + file, cap);
      std::remove(file.c_str());
      fmt::print("nft -f (kube-proxy nftables shape):           {}  ratio {}\n", seconds(s, cap),
                 s ? fmt::format("{:.1f}x", *s / full) : fmt::format("> {:.0f}x", cap / full));
    }
  }
  return 0;
}

}  // namespace
}  // namespace kubenode::netfilter

int main(int argc, char** argv) {
  CLI::App app{"kubenode proxier benchmark: full sync and one-endpoint change vs peers"};
  std::vector<int> sizes = {10, 1000, 10000};
  int endpoints = 10;
  int cap = 120;
  int changes = 5;
  bool noPeers = false;
  app.add_option("--sizes", sizes, "numbers of services")->delimiter(',');
  app.add_option("--endpoints", endpoints, "endpoints per service")->check(CLI::Range(1, 250));
  app.add_option("--cap", cap, "time cap per peer, seconds")->check(CLI::PositiveNumber);
  app.add_option("--changes", changes, "one-endpoint changes to time")->check(CLI::Range(1, 100));
  app.add_flag("--no-peers", noPeers, "skip iptables-restore and nft");
  CLI11_PARSE(app, argc, argv);
  for (int n : sizes) {
    if (n < 1 || n > 60000) {
      fmt::print(stderr, "--sizes: {} is outside 1-60000\n", n);
      return 2;
    }
  }
  return kubenode::netfilter::run(sizes, endpoints, cap, !noPeers, changes);
}
