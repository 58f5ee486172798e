// The probe handlers: run one probe of one container and report its outcome, the way
// the kubelet's prober does (pkg/probe/{exec,tcp,http}). A Prober is asynchronous: tcp
// and http probes of the whole node share one event loop (an Asio io_context run by
// one thread) with non-blocking sockets and timers; exec probes go to the runtime
// (CRI ExecSync) on a few worker threads and report back on the loop. No thread per
// probe.
//
//   NetworkProber network(io);                       // tcp + http on `io`
//   ExecProber exec(runtime, io, {.threads = 8});    // CRI ExecSync
//   network.probe(TcpTarget{"10.1.0.5", 8080}, absl::Seconds(1),
//                 [](ProbeOutcome o) { ... o.result, o.output ... });
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"

namespace kubenode::probes {

// The User-Agent of http probes unless the probe's headers set one: the kubelet sends
// "kube-probe/<major>.<minor>" of its own version (agent/pod_sync.cc's lifecycle hooks use
// "kube-lifecycle/" with the same version).
inline constexpr char kKubeVersion[] = "1.32";
inline constexpr char kProbeUserAgent[] = "kube-probe/1.32";

// The kubelet's maxRespBodyLength / maxReadLength: at most this much of an http body or of
// an exec command's output is read and reported.
inline constexpr size_t kMaxProbeOutputBytes = 10 * 1024;

// The kubelet's probe.Result without "Unknown": a probe that cannot be run (a named port
// that does not resolve, no pod IP yet) is reported by the caller, not by a Prober.
// kWarning counts as a success (the kubelet's: a redirect to another host).
enum class Outcome { kSuccess, kWarning, kFailure };

struct ProbeOutcome {
  Outcome result = Outcome::kFailure;
  // For events and logs: the reason of a failure ("dial tcp 10.1.0.5:81: connect:
  // connection refused", "HTTP probe failed with statuscode: 500", the exec command's
  // output) or the body of a warning; capped at 10 KiB as the kubelet caps it.
  std::string output{};
};

// tcpSocket: connect within the timeout; success once connected. The socket is closed
// with a reset (SO_LINGER 0) so that thousands of probes leave no TIME_WAIT behind.
struct TcpTarget {
  std::string host{};  // an IPv4/IPv6 literal (the pod IP, or the probe's host field)
  uint16_t port = 0;
};

// httpGet: one GET on a fresh connection (no keep-alive), success for 200-399;
// redirects followed as the kubelet's Go client follows them (same host: followed, up to
// 10; another host: not followed, kWarning with "Probe terminated redirects"); HTTPS
// without certificate verification.
struct HttpTarget {
  std::string scheme = "HTTP";  // "HTTP" or "HTTPS"
  std::string host{};           // address to connect to (IP literal)
  uint16_t port = 0;
  std::string path = "/";
  // In order, as the pod spec gives them. "Host" sets the Host header, "User-Agent"
  // replaces kube-probe/<version>, "Accept" replaces "*/*".
  std::vector<std::pair<std::string, std::string>> headers{};
};

// exec: CRI ExecSync in the container with the probe's timeout; exit 0 is success, a
// timeout is a failure ("command timed out"), the output is stdout+stderr (capped).
struct ExecTarget {
  std::string containerId{};  // the runtime's ID, without "containerd://"
  std::vector<std::string> command{};
};

using ProbeTarget = std::variant<TcpTarget, HttpTarget, ExecTarget>;

// Called exactly once per probe() call, on the event loop's thread, never inline
// inside probe().
using ProbeDone = std::function<void(ProbeOutcome)>;

class Prober {
 public:
  virtual ~Prober() = default;
  // Starts one probe. Thread-safety: call on the event loop's thread. The timeout
  // bounds the whole probe (connect, request, response); on expiry the outcome is a
  // failure, never a hang.
  virtual void probe(const ProbeTarget& target, absl::Duration timeout, ProbeDone done) = 0;
};

// One Prober for the manager: exec targets go to `exec`, tcp and http targets to
// `network`. Both must report on the same event loop. Neither is owned.
//
//   NetworkProber network(io);
//   ExecProber exec(runtime, io);
//   CompositeProber prober(network, exec);   // what the probe manager is given
class CompositeProber final : public Prober {
 public:
  CompositeProber(Prober& network, Prober& exec) : network_(network), exec_(exec) {}
  void probe(const ProbeTarget& target, absl::Duration timeout, ProbeDone done) override {
    Prober& handler = std::holds_alternative<ExecTarget>(target) ? exec_ : network_;
    handler.probe(target, timeout, std::move(done));
  }

 private:
  Prober& network_;
  Prober& exec_;
};

}  // namespace kubenode::probes
