// Real traffic through the rules `kubenode proxy apply` programs, in private network
// namespaces, never the host's.
//
// The test process's own network namespace plays the node. Pods are further namespaces,
// each joined to the node by a veth pair and routed point to point (the node side holds
// 10.244.0.1/32 and a /32 route to the pod), so every pod-to-pod packet crosses the node's
// IP stack and its nftables hooks, as on a routed CNI (no bridge, hence no br_netfilter):
//
//   client 10.244.1.20 ─┐                      ┌─ be1 10.244.1.11  (TCP 8080, UDP 5353)
//                       ├─ node (this process) ┼─ be2 10.244.1.12
//   ext 192.168.50.2 ───┘  192.168.50.1       └─ be3 10.244.1.13
//
// Each backend is a small server thread of this process that entered the backend's
// namespace; it answers every TCP connection and UDP datagram with "<name> <peer address>",
// so a test sees both where a connection landed and which source address it arrived with.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "absl/strings/str_split.h"
#include "api/manifest.h"
#include "netfilter/conntrack.h"
#include "netfilter/fake_time_source.h"
#include "netfilter/netlink_rule_writer.h"
#include "netfilter/nftrace.h"
#include "netfilter/proxier.h"
#include "netfilter/render.h"
#include "tests/harness/namespaces.h"
#include "tests/harness/process.h"

namespace kubenode {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

constexpr char kKubenode[] = KUBENODE_BINARY;
constexpr char kNodePodSide[] = "10.244.0.1";  // the node's address towards every pod
constexpr char kNodeExternal[] = "192.168.50.1";
constexpr char kExternalClient[] = "192.168.50.2";
constexpr uint16_t kBackendTcpPort = 8080;
constexpr uint16_t kBackendUdpPort = 5353;

// ---- Commands and namespaces ---------------------------------------------------

absl::StatusOr<std::string> run(const std::vector<std::string>& argv) {
  return harness::runCommand(argv, absl::Seconds(30));
}

template <class T>
absl::Status toStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
absl::Status toStatus(const absl::Status& s) {
  return s;
}

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    absl::Status _status = toStatus(expr);                           \
    ASSERT_TRUE(_status.ok()) << #expr << ": " << _status.message(); \
  } while (0)

// A named network namespace (`ip netns add`), deleted on destruction. Names live on the
// tmpfs main() mounts over /run/netns, so they vanish with this process however it ends.
class Netns {
 public:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  ~Netns() {
    if (fd_ >= 0)
      close(fd_);
    if (created_)
      (void)run({"ip", "netns", "delete", name_});
  }
  absl::Status create() {
    absl::StatusOr<std::string> out = run({"ip", "netns", "add", name_});
    if (!out.ok())
      return out.status();
    created_ = true;
    fd_ = open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      return absl::InternalError("open /run/netns/" + name_ + ": " + std::strerror(errno));
    return run({"ip", "-n", name_, "link", "set", "lo", "up"}).status();
  }
  const std::string& name() const { return name_; }
  int fd() const { return fd_; }

 private:
  std::string name_;
  int fd_ = -1;
  bool created_ = false;
};

// Runs f() on a thread that entered `ns` (a network namespace is per thread), so sockets
// it opens belong to that namespace.
template <class F>
auto inNetns(const Netns& ns, F&& f) -> decltype(f()) {
  std::promise<decltype(f())> result;
  std::thread t([&] {
    if (setns(ns.fd(), CLONE_NEWNET) != 0) {
      ADD_FAILURE() << "setns " << ns.name() << ": " << std::strerror(errno);
      result.set_value({});
      return;
    }
    result.set_value(f());
  });
  t.join();
  return result.get_future().get();
}

// ---- Backends and clients --------------------------------------------------------

struct UniqueFd {
  int fd = -1;
  explicit UniqueFd(int f = -1) : fd(f) {}
  UniqueFd(UniqueFd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~UniqueFd() {
    if (fd >= 0)
      close(fd);
  }
};

std::string addressText(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  return text;
}

sockaddr_in makeAddress(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// Answers every TCP connection on 8080 and every UDP datagram on 5353 with
// "<name> <peer address>" until destroyed.
class Backend {
 public:
  Backend(std::string name, const Netns& ns) : name_(std::move(name)), ns_(ns) {}
  ~Backend() {
    if (thread_.joinable()) {
      uint64_t one = 1;
      (void)!write(stop_.fd, &one, sizeof(one));
      thread_.join();
    }
  }
  // Returns once both sockets listen.
  absl::Status start() {
    stop_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
    std::promise<absl::Status> ready;
    std::future<absl::Status> listening = ready.get_future();
    thread_ = std::thread([this, &ready] { serve(ready); });
    return listening.get();
  }

 private:
  void serve(std::promise<absl::Status>& ready) {
    if (setns(ns_.fd(), CLONE_NEWNET) != 0) {
      ready.set_value(absl::InternalError("setns"));
      return;
    }
    UniqueFd tcp(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int on = 1;
    setsockopt(tcp.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in any = makeAddress("0.0.0.0", kBackendTcpPort);
    sockaddr_in anyUdp = makeAddress("0.0.0.0", kBackendUdpPort);
    if (bind(tcp.fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0 ||
        listen(tcp.fd, 128) != 0 ||
        bind(udp.fd, reinterpret_cast<sockaddr*>(&anyUdp), sizeof(anyUdp)) != 0) {
      ready.set_value(absl::InternalError(std::string("listen: ") + std::strerror(errno)));
      return;
    }
    ready.set_value(absl::OkStatus());
    while (true) {
      pollfd fds[3] = {{tcp.fd, POLLIN, 0}, {udp.fd, POLLIN, 0}, {stop_.fd, POLLIN, 0}};
      if (poll(fds, 3, -1) < 0)
        continue;
      if (fds[2].revents & POLLIN)
        return;
      if (fds[0].revents & POLLIN) {
        sockaddr_in peer{};
        socklen_t len = sizeof(peer);
        UniqueFd conn(accept4(tcp.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
        if (conn.fd >= 0) {
          std::string reply = name_ + " " + addressText(peer) + "\n";
          (void)!send(conn.fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
      if (fds[1].revents & POLLIN) {
        char buffer[512];
        sockaddr_in peer{};
        socklen_t len = sizeof(peer);
        if (recvfrom(udp.fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&peer), &len) >=
            0) {
          std::string reply = name_ + " " + addressText(peer) + "\n";
          sendto(udp.fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
        }
      }
    }
  }

  std::string name_;
  const Netns& ns_;
  UniqueFd stop_;
  std::thread thread_;
};

struct Reply {
  std::string backend;  // "be1"; empty when no answer
  std::string peer;     // the source address the backend saw
  int error = 0;        // errno of a failed connect, ETIMEDOUT without an answer
  std::chrono::milliseconds elapsed{};
};

Reply parseReply(const std::string& text, Reply r) {
  std::vector<std::string> words = absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  if (words.size() == 2) {
    r.backend = words[0];
    r.peer = words[1];
  }
  return r;
}

// One TCP connection from the calling thread's namespace; reads the answer.
Reply tcpRequest(const std::string& ip, uint16_t port,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  Reply r;
  auto start = Clock::now();
  auto left = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(start + timeout - Clock::now())
               .count()));
  };
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_in to = makeAddress(ip, port);
  int rc = connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  if (rc != 0 && errno != EINPROGRESS) {
    r.error = errno;
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return r;
  }
  pollfd pfd{s.fd, POLLOUT, 0};
  if (poll(&pfd, 1, left()) <= 0) {
    r.error = ETIMEDOUT;
    r.elapsed = timeout;
    return r;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    r.error = err;
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return r;
  }
  std::string text;
  while (true) {
    pollfd in{s.fd, POLLIN, 0};
    if (poll(&in, 1, left()) <= 0) {
      r.error = ETIMEDOUT;
      break;
    }
    char buffer[256];
    ssize_t n = recv(s.fd, buffer, sizeof(buffer), 0);
    if (n <= 0)
      break;
    text.append(buffer, n);
  }
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return parseReply(text, r);
}

// One UDP datagram from the calling thread's namespace, from a fixed source port when
// given (so that it is one conntrack entry), and its answer.
Reply udpRequest(const std::string& ip, uint16_t port, uint16_t sourcePort = 0,
                 std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  Reply r;
  UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sourcePort != 0) {
    sockaddr_in from = makeAddress("0.0.0.0", sourcePort);
    int on = 1;
    setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    bind(s.fd, reinterpret_cast<sockaddr*>(&from), sizeof(from));
  }
  sockaddr_in to = makeAddress(ip, port);
  auto start = Clock::now();
  sendto(s.fd, "?", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd in{s.fd, POLLIN, 0};
  if (poll(&in, 1, static_cast<int>(timeout.count())) <= 0) {
    r.error = ETIMEDOUT;
    return r;
  }
  char buffer[256];
  ssize_t n = recv(s.fd, buffer, sizeof(buffer), 0);
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (n < 0) {
    r.error = errno;
    return r;
  }
  return parseReply(std::string(buffer, n), r);
}

// ---- Services ------------------------------------------------------------------

std::string service(const std::string& name, const std::string& clusterIP, int port,
                    const std::string& extra = "", const std::string& protocol = "TCP") {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
         "\n  namespace: default\nspec:\n  clusterIP: " + clusterIP +
         "\n  selector:\n    app: " + name + "\n" + extra +
         "  ports:\n  - name: p\n    port: " + std::to_string(port) +
         "\n    protocol: " + protocol + "\n";
}

std::string nodePortService(const std::string& name, const std::string& clusterIP, int nodePort,
                            const std::string& policy) {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
         "\n  namespace: default\nspec:\n  type: NodePort\n  clusterIP: " + clusterIP +
         "\n  externalTrafficPolicy: " + policy +
         "\n  ports:\n  - name: p\n    port: 80\n    nodePort: " + std::to_string(nodePort) +
         "\n    protocol: TCP\n";
}

std::string slice(const std::string& service, const std::vector<std::string>& ips, int port,
                  const std::string& protocol = "TCP") {
  std::string text =
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + service +
      "-1\n  namespace: default\n  labels:\n    "
      "kubernetes.io/service-name: " +
      service + "\naddressType: IPv4\nendpoints:\n";
  for (const std::string& ip : ips)
    text += "- addresses:\n  - " + ip + "\n  nodeName: node-a\n";
  return text + "ports:\n- name: p\n  port: " + std::to_string(port) + "\n  protocol: " + protocol +
         "\n";
}

const std::vector<std::string> kBackends = {"10.244.1.11", "10.244.1.12", "10.244.1.13"};

std::string allManifests() {
  std::vector<std::string> docs = {
      service("web", "10.96.0.10", 80),
      slice("web", kBackends, kBackendTcpPort),
      nodePortService("np", "10.96.0.11", 30080, "Cluster"),
      slice("np", kBackends, kBackendTcpPort),
      nodePortService("local", "10.96.0.12", 30081, "Local"),
      slice("local", {"10.244.1.11"}, kBackendTcpPort),
      service("empty", "10.96.0.13", 80),  // a selector and no slice: no endpoints
      service("sticky", "10.96.0.14", 80, "  sessionAffinity: ClientIP\n"),
      slice("sticky", kBackends, kBackendTcpPort),
      service("dns", "10.96.0.15", 53, "", "UDP"),
      slice("dns", kBackends, kBackendUdpPort, "UDP"),
      service("self", "10.96.0.16", 80),
      slice("self", {"10.244.1.11"}, kBackendTcpPort),
      // Only for the read-back of every rule form: external IPs, a load balancer with
      // source ranges on and off byte boundaries, internalTrafficPolicy Local.
      service("lb", "10.96.0.17", 80,
              "  type: LoadBalancer\n  externalIPs:\n  - 192.0.2.7\n"
              "  loadBalancerSourceRanges:\n  - 203.0.113.0/25\n  - 198.51.0.0/16\n"
              "  internalTrafficPolicy: Local\n") +
          "status:\n  loadBalancer:\n    ingress:\n    - ip: 192.0.2.100\n",
      slice("lb", kBackends, kBackendTcpPort),
  };
  std::string out;
  for (const std::string& d : docs)
    out += (out.empty() ? "" : "---\n") + d;
  return out;
}

// ---- The fixture -----------------------------------------------------------------

class ProxyTrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(harness::inPrivateNetworkNamespace());
    char pattern[] = "/tmp/kubenode-proxy-it-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ + "/services.yaml") << allManifests();
    ASSERT_OK(writeFile("/proc/sys/net/ipv4/ip_forward", "1"));

    const std::vector<std::pair<std::string, std::string>> pods = {{"be1", kBackends[0]},
                                                                   {"be2", kBackends[1]},
                                                                   {"be3", kBackends[2]},
                                                                   {"client", "10.244.1.20"}};
    for (const auto& [name, ip] : pods) {
      auto& ns = namespaces_[name] = std::make_unique<Netns>(name);
      ASSERT_OK(ns->create());
      std::string host = "h-" + name;
      links_.push_back(host);
      ASSERT_OK(
          run({"ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", name}));
      ASSERT_OK(run({"ip", "addr", "add", std::string(kNodePodSide) + "/32", "dev", host}));
      ASSERT_OK(run({"ip", "link", "set", host, "up"}));
      ASSERT_OK(run({"ip", "route", "add", ip + "/32", "dev", host}));
      ASSERT_OK(run({"ip", "-n", name, "addr", "add", ip + "/32", "dev", "eth0"}));
      ASSERT_OK(run({"ip", "-n", name, "link", "set", "eth0", "up"}));
      ASSERT_OK(run({"ip", "-n", name, "route", "add", kNodePodSide, "dev", "eth0"}));
      ASSERT_OK(run({"ip", "-n", name, "route", "add", "default", "via", kNodePodSide}));
    }
    auto& ext = namespaces_["ext"] = std::make_unique<Netns>("ext");
    ASSERT_OK(ext->create());
    ASSERT_OK(run(
        {"ip", "link", "add", "h-ext", "type", "veth", "peer", "name", "eth0", "netns", "ext"}));
    ASSERT_OK(run({"ip", "addr", "add", std::string(kNodeExternal) + "/24", "dev", "h-ext"}));
    ASSERT_OK(run({"ip", "link", "set", "h-ext", "up"}));
    ASSERT_OK(run(
        {"ip", "-n", "ext", "addr", "add", std::string(kExternalClient) + "/24", "dev", "eth0"}));
    ASSERT_OK(run({"ip", "-n", "ext", "link", "set", "eth0", "up"}));
    ASSERT_OK(run({"ip", "-n", "ext", "route", "add", "default", "via", kNodeExternal}));
    // A node has a default route; without one its own connections to a cluster IP would
    // fail in routing before the output hook could translate them.
    ASSERT_OK(run({"ip", "route", "add", "default", "via", kExternalClient}));

    for (const std::string name : {"be1", "be2", "be3"}) {
      backends_.push_back(std::make_unique<Backend>(name, *namespaces_[name]));
      ASSERT_OK(backends_.back()->start());
    }
    ASSERT_OK(apply());
  }

  void TearDown() override {
    backends_.clear();  // stop the servers before their namespaces go
    (void)run({"nft", "delete", "table", "ip", "kubenode"});
    // The node is this process's namespace, shared by the tests of one run: no test may
    // find another's conntrack entries.
    (void)run({"conntrack", "-F"});
    // Deleting one end of a veth pair removes both at once; a namespace's own links go
    // only when the kernel's deferred netns cleanup runs, too late for the next test.
    for (const std::string& link : links_)
      (void)run({"ip", "link", "delete", link});
    namespaces_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static absl::Status writeFile(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value;
    out.close();
    return out ? absl::OkStatus() : absl::InternalError("cannot write " + path);
  }

  absl::StatusOr<std::string> apply() {
    return run({kKubenode, "proxy", "apply", "-f", dir_, "--cluster-cidr", "10.244.0.0/16",
                "--hostname-override", "node-a"});
  }

  const Netns& ns(const std::string& name) { return *namespaces_.at(name); }

  std::string dir_;
  std::map<std::string, std::unique_ptr<Netns>> namespaces_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<std::string> links_;
};

// What `nft list` prints, with the counters' numbers dropped and the elements of each
// `elements = { ... }` block sorted, so it compares with renderNft's text.
std::string normalizeListing(std::string text) {
  text = std::regex_replace(text, std::regex(R"(counter packets \d+ bytes \d+)"), "counter");
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t start = text.find("elements = { ", pos);
    if (start == std::string::npos)
      break;
    start += 13;
    size_t end = text.find(" }", start);
    std::vector<std::string> entries =
        absl::StrSplit(text.substr(start, end - start), ",\n", absl::SkipEmpty());
    for (std::string& e : entries)
      e.erase(0, e.find_first_not_of(" \t\n"));
    std::sort(entries.begin(), entries.end());
    out += text.substr(pos, start - pos);
    for (const std::string& e : entries)
      out += e + ";";
    pos = end;
  }
  return out + text.substr(pos);
}

TEST_F(ProxyTrafficTest, TheKernelHoldsExactlyWhatRenderPrints) {
  absl::StatusOr<std::string> rendered =
      run({kKubenode, "proxy", "render", "-f", dir_, "--cluster-cidr", "10.244.0.0/16",
           "--hostname-override", "node-a"});
  ASSERT_OK(rendered);
  absl::StatusOr<std::string> listed = run({"nft", "list", "table", "ip", "kubenode"});
  ASSERT_OK(listed);
  EXPECT_EQ(normalizeListing(*listed), normalizeListing(*rendered));
}

TEST_F(ProxyTrafficTest, AClusterIPSpreadsConnectionsOverItsThreeBackends) {
  std::map<std::string, int> counts;
  std::vector<Reply> replies = inNetns(ns("client"), [] {
    std::vector<Reply> out;
    for (int i = 0; i < 300; ++i)
      out.push_back(tcpRequest("10.96.0.10", 80));
    return out;
  });
  for (const Reply& r : replies) {
    ASSERT_EQ(r.error, 0) << std::strerror(r.error);
    EXPECT_EQ(r.peer, "10.244.1.20");  // from a pod: no masquerade, the client is seen
    ++counts[r.backend];
  }
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [backend, n] : counts) {
    EXPECT_GE(n, 60) << backend;
    EXPECT_LE(n, 140) << backend;
  }
}

TEST_F(ProxyTrafficTest, HairpinLandsOnItselfWithTheSourceMasqueraded) {
  Reply r = inNetns(ns("be1"), [] { return tcpRequest("10.96.0.16", 80); });
  ASSERT_EQ(r.error, 0) << std::strerror(r.error);
  EXPECT_EQ(r.backend, "be1");
  // Without masquerade be1 would answer itself directly and the connection would fail.
  EXPECT_EQ(r.peer, kNodePodSide);
}

TEST_F(ProxyTrafficTest, NodePortFromAnotherNamespaceIsMasqueradedToTheNode) {
  std::vector<Reply> replies = inNetns(ns("ext"), [] {
    std::vector<Reply> out;
    for (int i = 0; i < 20; ++i)
      out.push_back(tcpRequest(kNodeExternal, 30080));
    return out;
  });
  std::set<std::string> seen;
  for (const Reply& r : replies) {
    ASSERT_EQ(r.error, 0) << std::strerror(r.error);
    EXPECT_EQ(r.peer, kNodePodSide);  // the node's address, not 192.168.50.2
    seen.insert(r.backend);
  }
  EXPECT_GE(seen.size(), 2u);  // 20 connections over 3 backends: all on one is ~1e-9
}

TEST_F(ProxyTrafficTest, ExternalTrafficPolicyLocalKeepsTheClientAddress) {
  Reply r = inNetns(ns("ext"), [] { return tcpRequest(kNodeExternal, 30081); });
  ASSERT_EQ(r.error, 0) << std::strerror(r.error);
  EXPECT_EQ(r.backend, "be1");
  EXPECT_EQ(r.peer, kExternalClient);
}

TEST_F(ProxyTrafficTest, AServiceWithoutEndpointsRefusesConnectionsQuickly) {
  Reply r = inNetns(ns("client"), [] { return tcpRequest("10.96.0.13", 80); });
  EXPECT_EQ(r.error, ECONNREFUSED) << std::strerror(r.error);
  EXPECT_LT(r.elapsed, std::chrono::seconds(1));  // rejected, not blackholed until a timeout
  // From the node itself (output hook) too.
  Reply local = tcpRequest("10.96.0.13", 80);
  EXPECT_EQ(local.error, ECONNREFUSED) << std::strerror(local.error);
}

TEST_F(ProxyTrafficTest, ClientIPAffinityKeepsAClientOnOneBackend) {
  std::vector<Reply> replies = inNetns(ns("client"), [] {
    std::vector<Reply> out;
    for (int i = 0; i < 30; ++i)
      out.push_back(tcpRequest("10.96.0.14", 80));
    return out;
  });
  ASSERT_EQ(replies.front().error, 0);
  for (const Reply& r : replies) {
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.backend, replies.front().backend);
  }
}

TEST_F(ProxyTrafficTest, UdpReachesTheBackendsThroughTheClusterIP) {
  std::set<std::string> seen;
  std::vector<Reply> replies = inNetns(ns("client"), [] {
    std::vector<Reply> out;
    for (int i = 0; i < 30; ++i)
      out.push_back(udpRequest("10.96.0.15", 53));
    return out;
  });
  for (const Reply& r : replies) {
    ASSERT_EQ(r.error, 0) << std::strerror(r.error);
    EXPECT_EQ(r.peer, "10.244.1.20");
    seen.insert(r.backend);
  }
  EXPECT_GE(seen.size(), 2u);
}

TEST_F(ProxyTrafficTest, CleanupRemovesTheTableAndTrafficStopsBeingTranslated) {
  ASSERT_OK(run({kKubenode, "proxy", "cleanup"}));
  absl::StatusOr<std::string> tables = run({"nft", "list", "tables"});
  ASSERT_OK(tables);
  EXPECT_THAT(*tables, Not(HasSubstr("kubenode")));
  Reply r = inNetns(ns("client"),
                    [] { return tcpRequest("10.96.0.10", 80, std::chrono::milliseconds(300)); });
  EXPECT_NE(r.error, 0);  // nothing answers for the cluster IP any more
  // Running it again is no error.
  ASSERT_OK(run({kKubenode, "proxy", "cleanup"}));
}

// ---- Through the Proxier, as the daemon programs them ----------------------------

struct Objects {
  std::vector<api::Service> services;
  std::vector<api::EndpointSlice> slices;
};

Objects decode(const std::string& yaml) {
  Objects out;
  absl::StatusOr<api::Manifest> m = api::decodeManifest("test.yaml", yaml);
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok())
    return out;
  for (const api::Object& o : m->objects) {
    if (const auto* s = std::get_if<api::Service>(&o))
      out.services.push_back(*s);
    if (const auto* s = std::get_if<api::EndpointSlice>(&o))
      out.slices.push_back(*s);
  }
  return out;
}

netfilter::NodeSettings testNode() {
  netfilter::NodeSettings node;
  node.nodeName = "node-a";
  node.clusterCIDR = netfilter::parseCidr("10.244.0.0/16").value();
  return node;
}

// One UDP socket of the client pod with a fixed source port, so that every datagram
// belongs to one conntrack entry.
class UdpFlow {
 public:
  UdpFlow(const Netns& client, uint16_t sourcePort) {
    fd_.fd = inNetns(client, [sourcePort] {
      int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in from = makeAddress("0.0.0.0", sourcePort);
      bind(s, reinterpret_cast<sockaddr*>(&from), sizeof(from));
      return s;
    });
  }
  Reply ask(const std::string& ip, uint16_t port,
            std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    Reply r;
    sockaddr_in to = makeAddress(ip, port);
    sendto(fd_.fd, "?", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    pollfd in{fd_.fd, POLLIN, 0};
    if (poll(&in, 1, static_cast<int>(timeout.count())) <= 0) {
      r.error = ETIMEDOUT;
      return r;
    }
    char buffer[256];
    ssize_t n = recv(fd_.fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      r.error = errno;
      return r;
    }
    return parseReply(std::string(buffer, n), r);
  }

 private:
  UniqueFd fd_;
};

TEST_F(ProxyTrafficTest, UdpConntrackEntriesOfARemovedEndpointAreDeleted) {
  absl::StatusOr<std::unique_ptr<netfilter::NetlinkRuleWriter>> writer =
      netfilter::NetlinkRuleWriter::open();
  ASSERT_OK(writer);
  absl::StatusOr<std::unique_ptr<netfilter::NetlinkConntrack>> conntrack =
      netfilter::NetlinkConntrack::open();
  ASSERT_OK(conntrack);
  netfilter::FakeTimeSource time;  // syncs run directly below
  netfilter::Proxier proxier({.node = testNode()}, **writer, conntrack->get(), time);
  Objects all = decode(service("dns", "10.96.0.15", 53, "", "UDP") + "---\n" +
                       slice("dns", kBackends, kBackendUdpPort, "UDP"));
  proxier.setServices(all.services);
  proxier.setEndpointSlices(all.slices);
  netfilter::SyncRecord first = proxier.syncProxyRules();
  ASSERT_TRUE(first.success) << first.error;

  UdpFlow flow(ns("client"), 40001);
  Reply before = flow.ask("10.96.0.15", 53);
  ASSERT_EQ(before.error, 0) << std::strerror(before.error);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(flow.ask("10.96.0.15", 53).backend, before.backend);  // one conntrack entry

  // The backend that answered leaves the slice. Its server keeps running, so a stale
  // entry would keep sending the flow there.
  std::vector<std::string> rest;
  for (size_t i = 0; i < kBackends.size(); ++i) {
    if ("be" + std::to_string(i + 1) != before.backend)
      rest.push_back(kBackends[i]);
  }
  ASSERT_EQ(rest.size(), 2u);
  proxier.setEndpointSlices(decode(slice("dns", rest, kBackendUdpPort, "UDP")).slices);
  netfilter::SyncRecord second = proxier.syncProxyRules();
  ASSERT_TRUE(second.success) << second.error;
  EXPECT_GE(second.conntrackEntriesDeleted, 1u);

  Reply after = flow.ask("10.96.0.15", 53);
  ASSERT_EQ(after.error, 0) << std::strerror(after.error);
  EXPECT_NE(after.backend, before.backend);
  EXPECT_EQ(after.peer, "10.244.1.20");
}

TEST_F(ProxyTrafficTest, AUdpServiceGainingEndpointsFlushesTheFlowsThatMissedIt) {
  absl::StatusOr<std::unique_ptr<netfilter::NetlinkRuleWriter>> writer =
      netfilter::NetlinkRuleWriter::open();
  ASSERT_OK(writer);
  absl::StatusOr<std::unique_ptr<netfilter::NetlinkConntrack>> conntrack =
      netfilter::NetlinkConntrack::open();
  ASSERT_OK(conntrack);
  netfilter::FakeTimeSource time;
  netfilter::Proxier proxier({.node = testNode()}, **writer, conntrack->get(), time);
  netfilter::SyncRecord empty = proxier.syncProxyRules();  // no services yet
  ASSERT_TRUE(empty.success) << empty.error;

  // Before the service exists the flow is routed on untranslated (to the node's default
  // gateway, which does not answer) and conntrack remembers it that way.
  UdpFlow flow(ns("client"), 40002);
  Reply missed = flow.ask("10.96.0.15", 53, std::chrono::milliseconds(300));
  EXPECT_EQ(missed.error, ETIMEDOUT);

  Objects all = decode(service("dns", "10.96.0.15", 53, "", "UDP") + "---\n" +
                       slice("dns", kBackends, kBackendUdpPort, "UDP"));
  proxier.setServices(all.services);
  proxier.setEndpointSlices(all.slices);
  netfilter::SyncRecord gained = proxier.syncProxyRules();
  ASSERT_TRUE(gained.success) << gained.error;
  EXPECT_GE(gained.conntrackEntriesDeleted, 1u);
  // The same flow now reaches a backend: its stale entry is gone.
  Reply reached = flow.ask("10.96.0.15", 53);
  ASSERT_EQ(reached.error, 0) << std::strerror(reached.error);
  EXPECT_THAT(reached.backend, ::testing::StartsWith("be"));
}

// Records every sync; written on the io thread, read after it stopped.
struct Syncs : netfilter::SyncObserver {
  void onSync(const netfilter::SyncRecord& r) override { records.push_back(r); }
  std::vector<netfilter::SyncRecord> records;
};

// Polls a TCP request from the client pod until it is answered or the deadline passes.
bool answeredWithin(const Netns& client, const std::string& ip, uint16_t port,
                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    Reply r = inNetns(client, [&] { return tcpRequest(ip, port, std::chrono::milliseconds(200)); });
    if (r.error == 0 && !r.backend.empty())
      return true;
  }
  return false;
}

TEST_F(ProxyTrafficTest, TheProxierRepairsATableFlushedBehindItsBack) {
  ASSERT_OK(run({kKubenode, "proxy", "cleanup"}));  // the proxier alone programs this test
  absl::StatusOr<std::unique_ptr<netfilter::NetlinkRuleWriter>> writer =
      netfilter::NetlinkRuleWriter::open();
  ASSERT_OK(writer);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  netfilter::AsioTimeSource time(io);
  Syncs syncs;
  Objects all =
      decode(service("web", "10.96.0.10", 80) + "---\n" + slice("web", kBackends, kBackendTcpPort));
  auto proxier = std::make_unique<netfilter::Proxier>(
      netfilter::ProxierOptions{.node = testNode(),
                                .minSyncPeriod = std::chrono::milliseconds(100),
                                .syncPeriod = std::chrono::milliseconds(500)},
      **writer, nullptr, time, &syncs);
  boost::asio::post(io, [&] {
    proxier->setServices(all.services);
    proxier->setEndpointSlices(all.slices);
    proxier->start();
  });
  std::thread loop([&] { io.run(); });
  struct Stop {
    boost::asio::io_context& io;
    std::thread& loop;
    ~Stop() {
      io.stop();
      if (loop.joinable())
        loop.join();
    }
  } stop{io, loop};

  ASSERT_TRUE(answeredWithin(ns("client"), "10.96.0.10", 80, std::chrono::seconds(10)));
  ASSERT_OK(run({"nft", "flush", "table", "ip", "kubenode"}));
  Reply broken = inNetns(
      ns("client"), [] { return tcpRequest("10.96.0.10", 80, std::chrono::milliseconds(300)); });
  EXPECT_NE(broken.error, 0);  // the flush did break the service
  // The periodic sync reads the table back, sees the drift and rebuilds it.
  EXPECT_TRUE(answeredWithin(ns("client"), "10.96.0.10", 80, std::chrono::seconds(10)));

  io.stop();
  loop.join();  // the records are read below, on this thread
  bool repaired = false;
  for (const netfilter::SyncRecord& r : syncs.records)
    repaired = repaired || (!r.drift.empty() && r.full && r.success);
  EXPECT_TRUE(repaired);
  proxier.reset();
}

// The trace names rules by decoding the kernel's expressions; for every rule kubenode
// programs, that text is the one render prints.
TEST_F(ProxyTrafficTest, TheTraceReadsEveryProgrammedRuleBackAsRenderPrintsIt) {
  Objects all = decode(allManifests());
  netfilter::Ruleset desired = netfilter::buildRuleset(
      netfilter::buildServicePorts(all.services, all.slices, "node-a").ports, testNode());
  absl::StatusOr<std::vector<netfilter::ListedRule>> listed = netfilter::listRuleTexts();
  ASSERT_OK(listed);
  std::map<std::string, std::vector<std::string>> programmed;
  for (const netfilter::ListedRule& r : *listed) {
    if (r.family == "ip" && r.table == "kubenode")
      programmed[r.chain].push_back(r.text);
  }
  ASSERT_EQ(programmed.size(), desired.chains.size());
  for (const netfilter::Chain& chain : desired.chains) {
    std::vector<std::string> rendered;
    for (const netfilter::Rule& rule : chain.rules)
      rendered.push_back(netfilter::renderRule(rule));
    if (rendered.empty())
      continue;  // an empty chain has no rules to list
    EXPECT_EQ(programmed[chain.name], rendered) << chain.name;
  }
}

// Reads a file that a child process appends to.
std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls until the file contains `needle` or the deadline passes.
bool waitForText(const std::string& path, const std::string& needle,
                 std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (readAll(path).find(needle) != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval
  }
  return readAll(path).find(needle) != std::string::npos;
}

TEST_F(ProxyTrafficTest, TraceShowsTheChainsAPacketPassesAndLeavesNothingBehind) {
  std::string log = dir_ + "/trace.log";
  absl::StatusOr<pid_t> pid =
      harness::startChild({kKubenode, "proxy", "trace", "10.96.0.16:80", "--duration", "60s"}, log);
  ASSERT_OK(pid);
  ASSERT_TRUE(waitForText(log, "tracing for", std::chrono::seconds(10))) << readAll(log);
  absl::StatusOr<std::string> tables = run({"nft", "list", "tables"});
  ASSERT_OK(tables);
  EXPECT_THAT(*tables, HasSubstr("table ip kubenode-trace"));
  // The trace table holds exactly the rules the command announced, in both base chains.
  absl::StatusOr<std::vector<netfilter::ListedRule>> listed = netfilter::listRuleTexts();
  ASSERT_OK(listed);
  std::vector<std::string> traceRules;
  for (const netfilter::ListedRule& rule : *listed) {
    if (rule.table == "kubenode-trace")
      traceRules.push_back(rule.chain + ": " + rule.text);
  }
  const std::string comment = " comment \"kubenode proxy trace\"";
  EXPECT_THAT(traceRules,
              ::testing::ElementsAre(
                  "trace-prerouting: ip daddr 10.96.0.16 tcp dport 80 meta nftrace set 1" + comment,
                  "trace-prerouting: ip daddr 10.96.0.16 udp dport 80 meta nftrace set 1" + comment,
                  "trace-output: ip daddr 10.96.0.16 tcp dport 80 meta nftrace set 1" + comment,
                  "trace-output: ip daddr 10.96.0.16 udp dport 80 meta nftrace set 1" + comment));

  Reply r = inNetns(ns("client"), [] { return tcpRequest("10.96.0.16", 80); });
  ASSERT_EQ(r.error, 0) << std::strerror(r.error);
  // The last report of the first packet: its DNAT in the endpoint chain.
  ASSERT_TRUE(waitForText(log, "dnat to 10.244.1.11:8080", std::chrono::seconds(10)))
      << readAll(log);

  kill(*pid, SIGINT);
  ASSERT_TRUE(harness::waitChild(*pid, absl::Seconds(10)));
  std::string out = readAll(log);
  // The packet's way, as an operator reads it: the trace table, kubenode's prerouting
  // chain, the dispatch, the service and the endpoint chain, with kube-proxy's comments.
  EXPECT_THAT(out, HasSubstr("packet: iif \"h-client\" ip saddr 10.244.1.20 ip daddr 10.96.0.16 "
                             "ip protocol tcp"));
  EXPECT_THAT(out, HasSubstr("ip kubenode nat-prerouting rule"));
  EXPECT_THAT(out, HasSubstr("ip kubenode KUBE-SERVICES rule"));
  EXPECT_THAT(out, HasSubstr("(verdict jump KUBE-SVC-"));
  EXPECT_THAT(out, HasSubstr("(verdict goto KUBE-SEP-"));
  // Rules are shown as nft shows them, comments included.
  EXPECT_THAT(out, HasSubstr("counter jump KUBE-SERVICES (verdict jump KUBE-SERVICES)"));
  EXPECT_THAT(out, HasSubstr("rule handle"));
  EXPECT_THAT(out, HasSubstr(": meta l4proto tcp counter dnat to 10.244.1.11:8080 comment "
                             "\"default/self:p\" (verdict accept)"));
  EXPECT_THAT(out, HasSubstr("table ip kubenode-trace removed"));
  tables = run({"nft", "list", "tables"});
  ASSERT_OK(tables);
  EXPECT_THAT(*tables, Not(HasSubstr("kubenode-trace")));
}

}  // namespace
}  // namespace kubenode

// Private network and mount namespaces for the whole process (no containerd: the proxy
// needs none), and a private /run/netns so that `ip netns add` names never reach the host.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  absl::Status isolated = kubenode::harness::enterPrivateNamespaces();
  if (!isolated.ok()) {
    fprintf(stderr, "cannot isolate the test: %s\n", std::string(isolated.message()).c_str());
    return 1;
  }
  mkdir("/run/netns", 0755);
  if (mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755") != 0) {
    perror("mount tmpfs on /run/netns");
    return 1;
  }
  return RUN_ALL_TESTS();
}
