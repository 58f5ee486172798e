// NetworkProber against real loopback servers written here (Asio, on the same loop as the
// prober, 127.0.0.1/127.0.0.2 port 0): what a pod's tcpSocket and httpGet probes would
// report, worded as the kubelet words it.
#include "probes/network_prober.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kubenode::probes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

std::string response(int status, const std::string& reason, const std::string& body,
                     const std::vector<std::string>& extra_headers = {}) {
  std::string out =
      fmt::format("HTTP/1.1 {} {}\r\nContent-Length: {}\r\n", status, reason, body.size());
  for (const std::string& header : extra_headers) {
    out += header + "\r\n";
  }
  return out + "Connection: close\r\n\r\n" + body;
}

// A self-signed certificate and key made with OpenSSL's API (the openssl CLI may be absent).
void useSelfSignedCertificate(asio::ssl::context& tls) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("probe-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  ASSERT_EQ(SSL_CTX_use_certificate(tls.native_handle(), cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(tls.native_handle(), key), 1);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// An HTTP server on the test's loop: reads each request's head, records it (and the TLS
// SNI), answers with what `respond` returns for it and closes; an empty answer holds the
// connection open without answering.
class TestServer {
 public:
  using Respond = std::function<std::string(const std::string& head)>;

  TestServer(asio::io_context& io, Respond respond, const std::string& address = "127.0.0.1",
             asio::ssl::context* tls = nullptr)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address(address), 0)),
        respond_(std::move(respond)),
        tls_(tls) {
    accept();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::vector<std::string>& requests() const { return requests_; }
  const std::vector<std::string>& serverNames() const { return server_names_; }

 private:
  template <class Stream>
  struct Connection {
    explicit Connection(Stream s) : stream(std::move(s)) {}
    Stream stream;
    asio::streambuf buffer;
    std::string answer;
  };

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        return;
      }
      if (tls_ == nullptr) {
        serve(std::make_shared<Connection<tcp::socket>>(std::move(socket)));
      } else {
        using TlsStream = asio::ssl::stream<tcp::socket>;
        auto connection =
            std::make_shared<Connection<TlsStream>>(TlsStream(std::move(socket), *tls_));
        connection->stream.async_handshake(
            asio::ssl::stream_base::server, [this, connection](const boost::system::error_code& e) {
              if (e) {
                return;
              }
              const char* sni =
                  SSL_get_servername(connection->stream.native_handle(), TLSEXT_NAMETYPE_host_name);
              server_names_.push_back(sni == nullptr ? "" : sni);
              serve(connection);
            });
      }
      accept();
    });
  }

  template <class Stream>
  void serve(std::shared_ptr<Connection<Stream>> connection) {
    asio::async_read_until(connection->stream, connection->buffer, "\r\n\r\n",
                           [this, connection](const boost::system::error_code& ec, size_t n) {
                             if (ec) {
                               return;
                             }
                             std::string head(asio::buffers_begin(connection->buffer.data()),
                                              asio::buffers_begin(connection->buffer.data()) + n);
                             requests_.push_back(head);
                             connection->answer = respond_(head);
                             if (connection->answer.empty()) {
                               held_.push_back(connection);  // never answers
                               return;
                             }
                             asio::async_write(
                                 connection->stream, asio::buffer(connection->answer),
                                 [connection](const boost::system::error_code&, size_t) {
                                   boost::system::error_code ignored;
                                   connection->stream.lowest_layer().close(ignored);
                                 });
                           });
  }

  tcp::acceptor acceptor_;
  Respond respond_;
  asio::ssl::context* tls_;
  std::vector<std::string> requests_;
  std::vector<std::string> server_names_;
  std::vector<std::shared_ptr<void>> held_;
};

// The first line of a request head ("GET / HTTP/1.1").
std::string requestLine(const std::string& head) {
  return head.substr(0, head.find("\r\n"));
}

// The path of a request head's request line.
std::string requestPath(const std::string& head) {
  const std::string line = requestLine(head);
  const size_t start = line.find(' ') + 1;
  return line.substr(start, line.find(' ', start) - start);
}

// A port on 127.0.0.1 where nothing listens (bound once, then released).
uint16_t closedPort(asio::io_context& io) {
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = probe.local_endpoint().port();
  probe.close();
  return port;
}

// Sockets in TIME_WAIT (state 06) with `port` at either end, from /proc/net/tcp.
int timeWaitCount(uint16_t port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  int count = 0;
  const std::string hex_port = fmt::format(":{:04X}", port);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "06" && (local.ends_with(hex_port) || remote.ends_with(hex_port))) {
      ++count;
    }
  }
  return count;
}

class NetworkProberTest : public ::testing::Test {
 protected:
  // Runs the loop until `condition` holds; false after 10 s.
  bool runUntil(const std::function<bool()>& condition) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!condition()) {
      if (absl::Now() > deadline) {
        return false;
      }
      if (io_.stopped()) {
        io_.restart();
      }
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // One probe, run to its outcome.
  ProbeOutcome run(const ProbeTarget& target, absl::Duration timeout = absl::Seconds(2)) {
    std::optional<ProbeOutcome> outcome;
    int calls = 0;
    prober_.probe(target, timeout, [&](ProbeOutcome o) {
      ++calls;
      outcome = std::move(o);
    });
    EXPECT_FALSE(outcome.has_value()) << "done ran inside probe()";
    EXPECT_TRUE(runUntil([&] { return outcome.has_value(); })) << "the probe never reported";
    // Anything left queued for this probe would show here as a second call.
    io_.poll();
    EXPECT_EQ(calls, 1);
    return outcome.value_or(ProbeOutcome{Outcome::kFailure, "<no outcome>"});
  }

  HttpTarget http(uint16_t port, const std::string& path = "/") {
    return HttpTarget{.scheme = "HTTP", .host = "127.0.0.1", .port = port, .path = path};
  }

  asio::io_context io_;
  NetworkProber prober_{io_};
};

// ---- tcp ------------------------------------------------------------------------------

TEST_F(NetworkProberTest, TcpOpenPortSucceeds) {
  TestServer server(io_, [](const std::string&) { return ""; });
  ProbeOutcome outcome = run(TcpTarget{"127.0.0.1", server.port()});
  EXPECT_EQ(outcome.result, Outcome::kSuccess) << outcome.output;
  EXPECT_EQ(outcome.output, "");
}

TEST_F(NetworkProberTest, TcpClosedPortFailsWithConnectionRefused) {
  const uint16_t port = closedPort(io_);
  ProbeOutcome outcome = run(TcpTarget{"127.0.0.1", port});
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output,
            fmt::format("dial tcp 127.0.0.1:{}: connect: connection refused", port));
}

TEST_F(NetworkProberTest, TcpIpv6AddressIsBracketedInMessages) {
  tcp::acceptor v6(io_);
  boost::system::error_code ec;
  v6.open(tcp::v6(), ec);
  if (!ec) {
    v6.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
  }
  if (ec) {
    GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  }
  const uint16_t port = v6.local_endpoint().port();
  v6.close();
  ProbeOutcome outcome = run(TcpTarget{"::1", port});
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, fmt::format("dial tcp [::1]:{}: connect: connection refused", port));
}

// A listener whose accept queue is full drops new SYNs (tcp_abort_on_overflow = 0), so a
// connect to it neither succeeds nor fails: the probe's timeout must end it.
TEST_F(NetworkProberTest, TcpConnectThatNeverCompletesFailsAtTheTimeout) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 0), 0);
  socklen_t length = sizeof(address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const uint16_t port = ntohs(address.sin_port);
  // Fill the queue: connect until one connect stays pending for 200 ms.
  std::vector<int> fillers;
  bool full = false;
  for (int i = 0; i < 16 && !full; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    fillers.push_back(fd);
    connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    pollfd writable{fd, POLLOUT, 0};
    full = poll(&writable, 1, 200) == 0;
  }
  ASSERT_TRUE(full) << "could not fill the accept queue of a backlog-0 listener";

  const absl::Time begin = absl::Now();
  ProbeOutcome outcome = run(TcpTarget{"127.0.0.1", port}, absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - begin;
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, fmt::format("dial tcp 127.0.0.1:{}: i/o timeout", port));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));
  for (int fd : fillers) {
    close(fd);
  }
  close(listener);
}

TEST_F(NetworkProberTest, TcpHostNameIsAFailureNamingIt) {
  ProbeOutcome outcome = run(TcpTarget{"web.default.svc", 80});
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output,
            "dial tcp: address \"web.default.svc\" is not an IP address (probes connect to IP "
            "literals only)");
}

TEST_F(NetworkProberTest, TcpProbesLeaveNoTimeWaitBehind) {
  TestServer server(io_, [](const std::string&) { return ""; });
  // Half of them at once, half one after another.
  int done = 0;
  for (int i = 0; i < 100; ++i) {
    prober_.probe(TcpTarget{"127.0.0.1", server.port()}, absl::Seconds(2), [&](ProbeOutcome o) {
      EXPECT_EQ(o.result, Outcome::kSuccess) << o.output;
      ++done;
    });
  }
  ASSERT_TRUE(runUntil([&] { return done == 100; }));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(run(TcpTarget{"127.0.0.1", server.port()}).result, Outcome::kSuccess);
  }
  io_.poll();
  EXPECT_EQ(timeWaitCount(server.port()), 0);

  // The count can see one: an ordinary close by the client leaves its side in TIME_WAIT.
  tcp::socket plain(io_);
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  plain.shutdown(tcp::socket::shutdown_both);
  plain.close();
  EXPECT_TRUE(runUntil([&] { return timeWaitCount(server.port()) > 0; }))
      << "the TIME_WAIT count does not see a plain close";
}

// ---- http -----------------------------------------------------------------------------

TEST_F(NetworkProberTest, HttpOkSucceedsWithTheBody) {
  TestServer server(io_, [](const std::string&) { return response(200, "OK", "healthy\n"); });
  ProbeOutcome outcome = run(http(server.port(), "/healthz"));
  EXPECT_EQ(outcome.result, Outcome::kSuccess);
  EXPECT_EQ(outcome.output, "healthy\n");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(requestLine(server.requests()[0]), "GET /healthz HTTP/1.1");
}

TEST_F(NetworkProberTest, HttpEmptyPathAsksForSlashAndQueryIsKept) {
  TestServer server(io_, [](const std::string&) { return response(204, "No Content", ""); });
  EXPECT_EQ(run(http(server.port(), "")).result, Outcome::kSuccess);
  EXPECT_EQ(run(http(server.port(), "/ready?verbose=1")).result, Outcome::kSuccess);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(requestLine(server.requests()[0]), "GET / HTTP/1.1");
  EXPECT_EQ(requestLine(server.requests()[1]), "GET /ready?verbose=1 HTTP/1.1");
}

TEST_F(NetworkProberTest, HttpErrorStatusesFailWithTheStatusCode) {
  TestServer server(io_, [](const std::string& head) {
    return requestPath(head) == "/missing" ? response(404, "Not Found", "no such page")
                                           : response(500, "Internal Server Error", "boom");
  });
  ProbeOutcome missing = run(http(server.port(), "/missing"));
  EXPECT_EQ(missing.result, Outcome::kFailure);
  EXPECT_EQ(missing.output, "HTTP probe failed with statuscode: 404");
  ProbeOutcome broken = run(http(server.port(), "/broken"));
  EXPECT_EQ(broken.result, Outcome::kFailure);
  EXPECT_EQ(broken.output, "HTTP probe failed with statuscode: 500");
}

TEST_F(NetworkProberTest, HttpStatus399IsAWarningAnd400AFailure) {
  TestServer server(io_, [](const std::string& head) {
    return requestPath(head) == "/304" ? response(304, "Not Modified", "")
                                       : response(400, "Bad Request", "");
  });
  ProbeOutcome not_modified = run(http(server.port(), "/304"));
  EXPECT_EQ(not_modified.result, Outcome::kWarning);
  EXPECT_EQ(not_modified.output, "Probe terminated redirects, Response body: ");
  EXPECT_EQ(run(http(server.port(), "/400")).output, "HTTP probe failed with statuscode: 400");
}

TEST_F(NetworkProberTest, HttpConnectionRefusedIsWordedAsTheGoClientWordsIt) {
  const uint16_t port = closedPort(io_);
  ProbeOutcome outcome = run(http(port, "/healthz"));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output,
            fmt::format("Get \"http://127.0.0.1:{0}/healthz\": dial tcp 127.0.0.1:{0}: connect: "
                        "connection refused",
                        port));
}

TEST_F(NetworkProberTest, HttpServerClosingWithoutAnswerIsEof) {
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<tcp::socket> peer;
  acceptor.async_accept([&](const boost::system::error_code&, tcp::socket s) {
    peer.emplace(std::move(s));
    // Read the request first so that the close is a FIN, not a reset.
    auto buffer = std::make_shared<asio::streambuf>();
    asio::async_read_until(*peer, *buffer, "\r\n\r\n",
                           [&, buffer](const boost::system::error_code&, size_t) {
                             peer->shutdown(tcp::socket::shutdown_send);
                           });
  });
  ProbeOutcome outcome = run(http(acceptor.local_endpoint().port()));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output,
            fmt::format("Get \"http://127.0.0.1:{}/\": EOF", acceptor.local_endpoint().port()));
}

TEST_F(NetworkProberTest, HttpRedirectOnTheSameHostIsFollowed) {
  TestServer server(io_, [](const std::string& head) {
    const std::string path = requestPath(head);
    if (path == "/start") {
      return response(302, "Found", "moved", {"Location: /next/step"});
    }
    if (path == "/next/step") {
      return response(301, "Moved Permanently", "", {"Location: final"});  // relative
    }
    return response(200, "OK", "arrived at " + path);
  });
  ProbeOutcome outcome = run(http(server.port(), "/start"));
  EXPECT_EQ(outcome.result, Outcome::kSuccess) << outcome.output;
  EXPECT_EQ(outcome.output, "arrived at /next/final");
  EXPECT_EQ(server.requests().size(), 3u);
}

// The kubelet's redirect checker compares host names, not ports: another port on the same
// address is the same host.
TEST_F(NetworkProberTest, HttpAbsoluteRedirectToAnotherPortOfTheSameAddressIsFollowed) {
  TestServer target(io_, [](const std::string&) { return response(200, "OK", "other port"); });
  const std::string location =
      fmt::format("Location: http://127.0.0.1:{}/there#fragment", target.port());
  TestServer server(
      io_, [&](const std::string&) { return response(307, "Temporary Redirect", "", {location}); });
  ProbeOutcome outcome = run(http(server.port(), "/here"));
  EXPECT_EQ(outcome.result, Outcome::kSuccess) << outcome.output;
  EXPECT_EQ(outcome.output, "other port");
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(requestLine(target.requests()[0]), "GET /there HTTP/1.1");
}

TEST_F(NetworkProberTest, HttpRedirectToAnotherHostIsAWarningAndNotFollowed) {
  TestServer elsewhere(
      io_, [](const std::string&) { return response(200, "OK", "elsewhere"); }, "127.0.0.2");
  const std::string location = fmt::format("Location: http://127.0.0.2:{}/", elsewhere.port());
  TestServer server(io_, [&](const std::string&) {
    return response(302, "Found", "see other host", {location});
  });
  ProbeOutcome outcome = run(http(server.port(), "/"));
  EXPECT_EQ(outcome.result, Outcome::kWarning);
  EXPECT_EQ(outcome.output, "Probe terminated redirects, Response body: see other host");
  EXPECT_THAT(elsewhere.requests(), IsEmpty());
}

TEST_F(NetworkProberTest, HttpRedirectLoopFailsAfterTenRedirects) {
  TestServer server(
      io_, [](const std::string& head) { return response(302, "Found", "", {"Location: /loop"}); });
  ProbeOutcome outcome = run(http(server.port(), "/loop"));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, fmt::format("Get \"http://127.0.0.1:{}/loop\": stopped after 10 "
                                        "redirects",
                                        server.port()));
  EXPECT_EQ(server.requests().size(), 11u) << "the first request and 10 redirects";
}

TEST_F(NetworkProberTest, HttpServerThatNeverAnswersFailsAtTheTimeout) {
  TestServer server(io_, [](const std::string&) { return ""; });
  const absl::Time begin = absl::Now();
  ProbeOutcome outcome = run(http(server.port(), "/slow"), absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - begin;
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output,
            fmt::format("Get \"http://127.0.0.1:{}/slow\": context deadline exceeded "
                        "(Client.Timeout exceeded while awaiting headers)",
                        server.port()));
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(NetworkProberTest, HttpTimeoutWhileReadingTheBodyIsAFailure) {
  // Headers and part of the body, then nothing more.
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<tcp::socket> peer;
  const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf";
  acceptor.async_accept([&](const boost::system::error_code&, tcp::socket s) {
    peer.emplace(std::move(s));
    asio::async_write(*peer, asio::buffer(partial),
                      [](const boost::system::error_code&, size_t) {});
  });
  ProbeOutcome outcome = run(http(acceptor.local_endpoint().port()), absl::Milliseconds(300));
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_THAT(outcome.output,
              HasSubstr("context deadline exceeded (Client.Timeout or context cancellation while "
                        "reading body)"));
}

TEST_F(NetworkProberTest, HttpSendsTheKubeletsDefaultHeaders) {
  TestServer server(io_, [](const std::string&) { return response(200, "OK", ""); });
  ASSERT_EQ(run(http(server.port())).result, Outcome::kSuccess);
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string& head = server.requests()[0];
  EXPECT_THAT(head, HasSubstr(fmt::format("\r\nHost: 127.0.0.1:{}\r\n", server.port())));
  EXPECT_THAT(head, HasSubstr("\r\nUser-Agent: kube-probe/1.32\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nAccept: */*\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nConnection: close\r\n"));
}

TEST_F(NetworkProberTest, HttpHeadersFromTheSpecOverrideAndRepeat) {
  TestServer server(io_, [](const std::string&) { return response(200, "OK", ""); });
  HttpTarget target = http(server.port());
  target.headers = {{"host", "web.example"},
                    {"User-Agent", "my-checker/2"},
                    {"accept", "application/json"},
                    {"X-Custom", "one"},
                    {"x-custom", "two"}};
  ASSERT_EQ(run(target).result, Outcome::kSuccess);
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string& head = server.requests()[0];
  EXPECT_THAT(head, HasSubstr("\r\nHost: web.example\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nUser-Agent: my-checker/2\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("kube-probe")));
  EXPECT_THAT(head, HasSubstr("\r\nAccept: application/json\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("*/*")));
  EXPECT_THAT(head, HasSubstr("\r\nX-Custom: one\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nX-Custom: two\r\n"));
}

TEST_F(NetworkProberTest, HttpEmptyAcceptOrUserAgentRemovesTheHeader) {
  TestServer server(io_, [](const std::string&) { return response(200, "OK", ""); });
  HttpTarget target = http(server.port());
  target.headers = {{"Accept", ""}, {"User-Agent", ""}};
  ASSERT_EQ(run(target).result, Outcome::kSuccess);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(server.requests()[0], Not(HasSubstr("Accept")));
  EXPECT_THAT(server.requests()[0], Not(HasSubstr("User-Agent")));
}

TEST_F(NetworkProberTest, HttpRelativeRedirectKeepsTheCustomHostHeader) {
  TestServer server(io_, [](const std::string& head) {
    return requestPath(head) == "/a" ? response(302, "Found", "", {"Location: /b"})
                                     : response(200, "OK", "b");
  });
  HttpTarget target = http(server.port(), "/a");
  target.headers = {{"Host", "web.example"}};
  ASSERT_EQ(run(target).result, Outcome::kSuccess);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_THAT(server.requests()[1], HasSubstr("\r\nHost: web.example\r\n"));
}

TEST_F(NetworkProberTest, HttpBodyIsCappedAtTenKibibytes) {
  const std::string big(20000, 'x');
  TestServer server(io_, [&](const std::string&) { return response(200, "OK", big); });
  ProbeOutcome outcome = run(http(server.port()));
  EXPECT_EQ(outcome.result, Outcome::kSuccess);
  EXPECT_EQ(outcome.output.size(), 10u * 1024);
  EXPECT_EQ(outcome.output, big.substr(0, 10 * 1024));
}

TEST_F(NetworkProberTest, HttpBodyUntilCloseWithoutLength) {
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<tcp::socket> peer;
  auto buffer = std::make_shared<asio::streambuf>();
  const std::string answer = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close";
  acceptor.async_accept([&](const boost::system::error_code&, tcp::socket s) {
    peer.emplace(std::move(s));
    asio::async_read_until(*peer, *buffer, "\r\n\r\n",
                           [&](const boost::system::error_code&, size_t) {
                             asio::async_write(*peer, asio::buffer(answer),
                                               [&](const boost::system::error_code&, size_t) {
                                                 peer->shutdown(tcp::socket::shutdown_send);
                                               });
                           });
  });
  ProbeOutcome outcome = run(http(acceptor.local_endpoint().port()));
  EXPECT_EQ(outcome.result, Outcome::kSuccess) << outcome.output;
  EXPECT_EQ(outcome.output, "until close");
}

TEST_F(NetworkProberTest, HttpsWithASelfSignedCertificateSucceedsWithoutVerification) {
  asio::ssl::context tls(asio::ssl::context::tls_server);
  useSelfSignedCertificate(tls);
  TestServer server(
      io_, [](const std::string&) { return response(200, "OK", "secure"); }, "127.0.0.1", &tls);
  HttpTarget target = http(server.port(), "/tls");
  target.scheme = "HTTPS";
  ProbeOutcome outcome = run(target);
  EXPECT_EQ(outcome.result, Outcome::kSuccess) << outcome.output;
  EXPECT_EQ(outcome.output, "secure");

  // SNI: none for an IP literal, the custom Host's name otherwise.
  target.headers = {{"Host", "secure.example:8443"}};
  EXPECT_EQ(run(target).result, Outcome::kSuccess);
  EXPECT_THAT(server.serverNames(), ::testing::ElementsAre("", "secure.example"));
}

TEST_F(NetworkProberTest, HttpsAgainstAPlainServerFailsClearly) {
  // A plain HTTP server answers the ClientHello with a 400 and closes.
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::optional<tcp::socket> peer;
  const std::string answer = response(400, "Bad Request", "plain");
  acceptor.async_accept([&](const boost::system::error_code&, tcp::socket s) {
    peer.emplace(std::move(s));
    asio::async_write(*peer, asio::buffer(answer), [&](const boost::system::error_code&, size_t) {
      peer->shutdown(tcp::socket::shutdown_send);
    });
  });
  const uint16_t port = acceptor.local_endpoint().port();
  HttpTarget target = http(port);
  target.scheme = "HTTPS";
  ProbeOutcome outcome = run(target);
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_THAT(outcome.output,
              StartsWith(fmt::format("Get \"https://127.0.0.1:{}/\": tls handshake: ", port)));
}

TEST_F(NetworkProberTest, HttpUnknownSchemeAndHostNameFail) {
  HttpTarget target = http(80);
  target.scheme = "FTP";
  EXPECT_EQ(run(target).output, "Get \"ftp://127.0.0.1:80/\": unsupported protocol scheme \"ftp\"");
  target = http(80);
  target.host = "localhost";
  EXPECT_EQ(run(target).output,
            "Get \"http://localhost:80/\": dial tcp: address \"localhost\" is not an IP address "
            "(probes connect to IP literals only)");
}

TEST_F(NetworkProberTest, HttpProbesLeaveNoTimeWaitBehind) {
  TestServer server(io_, [](const std::string&) { return response(200, "OK", "ok"); });
  int done = 0;
  for (int i = 0; i < 50; ++i) {
    prober_.probe(http(server.port()), absl::Seconds(2), [&](ProbeOutcome o) {
      EXPECT_EQ(o.result, Outcome::kSuccess) << o.output;
      ++done;
    });
  }
  ASSERT_TRUE(runUntil([&] { return done == 50; }));
  io_.poll();
  EXPECT_EQ(timeWaitCount(server.port()), 0);
}

// In-flight probes own their state: the manager may drop its NetworkProber while probes
// run, and each still reports once, at its timeout at the latest.
TEST_F(NetworkProberTest, ProbesOutliveTheirProber) {
  asio::ssl::context tls(asio::ssl::context::tls_server);
  useSelfSignedCertificate(tls);
  TestServer silent(
      io_, [](const std::string&) { return ""; }, "127.0.0.1", &tls);
  int reported = 0;
  {
    NetworkProber prober(io_);
    HttpTarget target = http(silent.port());
    target.scheme = "HTTPS";
    for (int i = 0; i < 3; ++i) {
      prober.probe(target, absl::Milliseconds(200), [&](ProbeOutcome o) {
        EXPECT_EQ(o.result, Outcome::kFailure);
        EXPECT_THAT(o.output, HasSubstr("context deadline exceeded"));
        ++reported;
      });
    }
    prober.probe(TcpTarget{"127.0.0.1", silent.port()}, absl::Seconds(1),
                 [&](ProbeOutcome o) { ++reported; });
  }
  ASSERT_TRUE(runUntil([&] { return reported == 4; }));
  io_.poll();
  EXPECT_EQ(reported, 4);
}

TEST_F(NetworkProberTest, ExecTargetIsAFailureNotACrash) {
  ProbeOutcome outcome = run(ExecTarget{"abc", {"true"}});
  EXPECT_EQ(outcome.result, Outcome::kFailure);
  EXPECT_EQ(outcome.output, "exec probes need an ExecProber, not the NetworkProber");
}

}  // namespace
}  // namespace kubenode::probes
