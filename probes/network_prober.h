// NetworkProber: the tcpSocket and httpGet probe handlers of the whole node on one Asio
// event loop, with the kubelet's semantics (pkg/probe/tcp, pkg/probe/http): non-blocking
// connects, one deadline timer per probe bounding everything (connect, TLS handshake,
// request, response, redirects), sockets closed with a reset so that no TIME_WAIT is left
// on the node. No thread of its own, no name resolution (targets are IP literals).
//
//   boost::asio::io_context io;
//   NetworkProber prober(io);
//   prober.probe(HttpTarget{.host = "10.1.0.5", .port = 8080, .path = "/healthz"},
//                absl::Seconds(1), [](ProbeOutcome o) {
//                  // o.result: kSuccess (200-299), kWarning (3xx not followed),
//                  // kFailure ("HTTP probe failed with statuscode: 500", "Get ...: ...")
//                });
//   io.run();
//
// Outcome strings (as the kubelet words them; <url> is e.g. http://10.1.0.5:8080/healthz):
//   tcp   success: ""
//         "dial tcp 10.1.0.5:81: connect: connection refused"   (any errno, lower case)
//         "dial tcp 10.1.0.5:81: i/o timeout"                   (the timeout passed)
//   http  success: the body (at most kMaxProbeOutputBytes)
//         "HTTP probe failed with statuscode: 404"
//         "Probe terminated redirects, Response body: <body>"  (kWarning: a 3xx that is
//              not followed: another host, no Location, 300/304)
//         "Get \"<url>\": dial tcp 10.1.0.5:81: connect: connection refused"
//         "Get \"<url>\": context deadline exceeded (Client.Timeout exceeded while awaiting
//              headers)"            (or "... while reading body)")
//         "Get \"<url>\": stopped after 10 redirects"
//         "Get \"<url>\": EOF"    (the server closed without answering)
//   both  a host that is not an IP literal: "dial tcp: address \"name\" is not an IP
//         address (probes connect to IP literals only)"
//
// Redirects are followed as the kubelet's Go client follows them: 301/302/303/307/308 with
// a Location whose host name (not port) equals the original target's host name are
// followed on a fresh connection, at most 10 in all; a Location on another host stops and
// the 3xx itself is the result (kWarning). A relative Location keeps a custom Host header.
//
// HTTPS: TLS without certificate verification (the kubelet's InsecureSkipVerify). SNI is
// the custom Host header's name when one is given and is not an IP literal; none otherwise.
//
// Thread-safety: probe() must be called on the loop's thread (the thread running `io`);
// `done` runs there too, never inside probe(). The io_context must outlive every probe
// started (in-flight probes keep their own state alive, not the NetworkProber's).
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "probes/prober.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace kubenode::probes {

class NetworkProber final : public Prober {
 public:
  explicit NetworkProber(boost::asio::io_context& loop);
  ~NetworkProber() override;
  NetworkProber(const NetworkProber&) = delete;
  NetworkProber& operator=(const NetworkProber&) = delete;

  // tcp and http targets; an exec target is a failure ("exec probes need an ExecProber").
  void probe(const ProbeTarget& target, absl::Duration timeout, ProbeDone done) override;

  void probeTcp(const TcpTarget& target, absl::Duration timeout, ProbeDone done);
  void probeHttp(const HttpTarget& target, absl::Duration timeout, ProbeDone done);

 private:
  boost::asio::io_context& loop_;
  // One client TLS context (verify none) shared by every HTTPS probe; in-flight probes
  // hold a reference so it outlives this object if they do.
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace kubenode::probes
