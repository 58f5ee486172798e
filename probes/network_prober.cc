// tcp and http probes on one Asio loop. Each probe is a small object owned by the
// handlers pending on it (shared_ptr), with one steady_timer for its whole timeout; the
// first of "finished" and "timer fired" wins and closes the socket with a reset.
#include "probes/network_prober.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace kubenode::probes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// The kubelet's Go client follows at most this many redirects ("stopped after 10
// redirects").
constexpr int kMaxRedirects = 10;

std::chrono::nanoseconds toChrono(absl::Duration timeout) {
  return std::max(absl::ToChronoNanoseconds(timeout), std::chrono::nanoseconds(0));
}

// Go's net.JoinHostPort: IPv6 literals in brackets.
std::string joinHostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

// Go words syscall errors in lower case ("connection refused"); strerror does not.
std::string errorText(const error_code& ec) {
  std::string text = ec.message();
  if (text.size() > 1 && std::isupper(static_cast<unsigned char>(text[0])) &&
      std::islower(static_cast<unsigned char>(text[1]))) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

std::optional<asio::ip::address> ipLiteral(const std::string& host) {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return std::nullopt;
  }
  return address;
}

std::string notAnIpAddress(const std::string& host) {
  return fmt::format(
      "dial tcp: address \"{}\" is not an IP address (probes connect to IP literals only)", host);
}

// A close that sends RST instead of FIN: the socket skips TIME_WAIT, so thousands of probes
// a minute do not exhaust the node's ephemeral ports (the kubelet's probe dialer sets
// SO_LINGER {1, 0} for the same reason).
void closeWithReset(tcp::socket& socket) {
  if (!socket.is_open()) {
    return;
  }
  error_code ignored;
  socket.set_option(tcp::socket::linger(true, 0), ignored);
  socket.close(ignored);
}

// `done` must never run inside probe(): outcomes known at once are posted.
void postOutcome(asio::io_context& loop, ProbeDone done, Outcome result, std::string output) {
  asio::post(loop, [done = std::move(done), result, output = std::move(output)]() mutable {
    done(ProbeOutcome{result, std::move(output)});
  });
}

std::string truncated(std::string text) {
  if (text.size() > kMaxProbeOutputBytes) {
    text.resize(kMaxProbeOutputBytes);
  }
  return text;
}

// ---- tcp ------------------------------------------------------------------------------

class TcpProbe : public std::enable_shared_from_this<TcpProbe> {
 public:
  TcpProbe(asio::io_context& loop, std::string address, ProbeDone done)
      : socket_(loop), timer_(loop), address_(std::move(address)), done_(std::move(done)) {}

  void start(const tcp::endpoint& endpoint, absl::Duration timeout) {
    auto self = shared_from_this();
    error_code ec;
    socket_.open(endpoint.protocol(), ec);
    if (ec) {
      asio::post(socket_.get_executor(), [self, ec] {
        self->finish(Outcome::kFailure,
                     fmt::format("dial tcp {}: socket: {}", self->address_, errorText(ec)));
      });
      return;
    }
    timer_.expires_after(toChrono(timeout));
    timer_.async_wait([self](const error_code& ec) {
      if (!ec) {
        self->finish(Outcome::kFailure, fmt::format("dial tcp {}: i/o timeout", self->address_));
      }
    });
    socket_.async_connect(endpoint, [self](const error_code& ec) {
      if (!ec) {
        self->finish(Outcome::kSuccess, "");
      } else {
        self->finish(Outcome::kFailure,
                     fmt::format("dial tcp {}: connect: {}", self->address_, errorText(ec)));
      }
    });
  }

 private:
  void finish(Outcome result, std::string output) {
    if (finished_) {
      return;
    }
    finished_ = true;
    timer_.cancel();
    closeWithReset(socket_);
    ProbeDone done = std::move(done_);
    done(ProbeOutcome{result, std::move(output)});
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  const std::string address_;  // "10.1.0.5:81", for messages
  ProbeDone done_;
  bool finished_ = false;
};

// ---- http -----------------------------------------------------------------------------

// The parts of a URL a probe needs. `authority` is host[:port] as written (Go's URL.Host:
// the default Host header and the URL in messages); `host` is Go's URL.Hostname().
struct Url {
  std::string scheme;  // lower case
  std::string authority;
  std::string host;
  uint16_t port = 0;
  std::string target;  // path?query, starting with '/'

  std::string str() const { return fmt::format("{}://{}{}", scheme, authority, target); }
};

uint16_t defaultPort(const std::string& scheme) {
  if (scheme == "http") {
    return 80;
  }
  if (scheme == "https") {
    return 443;
  }
  return 0;
}

std::string lower(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

// Splits "user@host:port" / "[v6]:port" into the Url's authority, host and port.
bool parseAuthority(const std::string& authority_in, Url& url, std::string& error) {
  std::string authority = authority_in;
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
  }
  url.authority = authority;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      error = fmt::format("missing ']' in host \"{}\"", authority);
      return false;
    }
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = fmt::format("invalid port after host \"{}\"", authority);
        return false;
      }
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    url.host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  } else {
    url.host = authority;
  }
  if (port.empty()) {
    url.port = defaultPort(url.scheme);
    return true;
  }
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    error = fmt::format("invalid port \":{}\" after host", port);
    return false;
  }
  const int number = std::stoi(port);
  if (number > 65535) {
    error = fmt::format("invalid port \":{}\" after host", port);
    return false;
  }
  url.port = static_cast<uint16_t>(number);
  return true;
}

// "a/b?x" -> "/a/b?x"; "" -> "/".
std::string requestTarget(const std::string& path) {
  if (path.empty()) {
    return "/";
  }
  return path[0] == '/' ? path : "/" + path;
}

// A Location header resolved against the URL that answered it (RFC 3986 reference
// resolution, without dot-segment removal). `relative` tells whether it named no host
// (Go keeps a custom Host header only for those).
bool resolveLocation(const Url& base, std::string location, Url& next, bool& relative,
                     std::string& error) {
  if (size_t hash = location.find('#'); hash != std::string::npos) {
    location.resize(hash);
  }
  next = Url{};
  relative = false;
  size_t scheme_end = 0;
  while (scheme_end < location.size() &&
         (std::isalnum(static_cast<unsigned char>(location[scheme_end])) ||
          location[scheme_end] == '+' || location[scheme_end] == '-' ||
          location[scheme_end] == '.')) {
    ++scheme_end;
  }
  std::string rest;
  if (scheme_end > 0 && scheme_end < location.size() && location[scheme_end] == ':' &&
      std::isalpha(static_cast<unsigned char>(location[0]))) {
    next.scheme = lower(location.substr(0, scheme_end));
    rest = location.substr(scheme_end + 1);
    if (rest.rfind("//", 0) != 0) {
      // "mailto:x": no host; it cannot be the same host.
      next.target = rest;
      return true;
    }
  } else if (location.rfind("//", 0) == 0) {
    next.scheme = base.scheme;
    rest = location;
  } else {
    relative = true;
    next.scheme = base.scheme;
    next.authority = base.authority;
    next.host = base.host;
    next.port = base.port;
    const std::string base_path = base.target.substr(0, base.target.find('?'));
    if (location.empty()) {
      next.target = base.target;
    } else if (location[0] == '/') {
      next.target = location;
    } else if (location[0] == '?') {
      next.target = base_path + location;
    } else {
      next.target = base_path.substr(0, base_path.rfind('/') + 1) + location;
    }
    return true;
  }
  // rest = "//authority/path?query"
  const size_t path_start = rest.find_first_of("/?", 2);
  const std::string authority =
      rest.substr(2, path_start == std::string::npos ? std::string::npos : path_start - 2);
  const std::string path = path_start == std::string::npos ? "" : rest.substr(path_start);
  if (!parseAuthority(authority, next, error)) {
    return false;
  }
  next.target = requestTarget(path);
  return true;
}

bool isFollowedRedirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Go's textproto.CanonicalMIMEHeaderKey: "x-custom-header" -> "X-Custom-Header" (the
// kubelet's header map canonicalises names, so "accept" overrides the default Accept).
std::string canonicalHeaderName(const std::string& name) {
  for (char c : name) {
    if (c == ' ' || c <= 0x20 || c >= 0x7f) {
      return name;
    }
  }
  std::string out = name;
  bool upper = true;
  for (char& c : out) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

// The request headers as the kubelet's newProbeRequest and Go's request writer make them
// from the probe's httpHeaders.
struct RequestHeaders {
  std::string host;                                         // custom Host, or empty
  std::optional<std::string> user_agent;                    // none: not sent
  std::vector<std::pair<std::string, std::string>> others;  // in order, Accept included
};

RequestHeaders requestHeaders(const std::vector<std::pair<std::string, std::string>>& given) {
  RequestHeaders out;
  bool has_host = false;
  bool has_user_agent = false;
  std::optional<bool> accept_first_empty;
  std::vector<std::pair<std::string, std::string>> others;
  for (const auto& [raw_name, value] : given) {
    const std::string name = canonicalHeaderName(raw_name);
    if (name == "Host") {
      if (!has_host) {
        out.host = value;
        has_host = true;
      }
    } else if (name == "User-Agent") {
      if (!has_user_agent) {
        // An empty User-Agent suppresses the header (Go writes none).
        out.user_agent = value.empty() ? std::nullopt : std::optional<std::string>(value);
        has_user_agent = true;
      }
    } else if (name == "Connection" || name == "Content-Length" || name == "Transfer-Encoding" ||
               name == "Trailer") {
      // Go's request writer owns these (and a probe always sends Connection: close).
    } else {
      if (name == "Accept" && !accept_first_empty) {
        accept_first_empty = value.empty();
      }
      others.emplace_back(name, value);
    }
  }
  if (!has_user_agent) {
    out.user_agent = kProbeUserAgent;
  }
  if (!accept_first_empty) {
    out.others.emplace_back("Accept", "*/*");
  }
  for (auto& header : others) {
    // "Accept" given with an empty first value removes Accept altogether (request.go).
    if (header.first == "Accept" && *accept_first_empty) {
      continue;
    }
    out.others.push_back(std::move(header));
  }
  return out;
}

class HttpProbe : public std::enable_shared_from_this<HttpProbe> {
 public:
  HttpProbe(asio::io_context& loop, std::shared_ptr<asio::ssl::context> tls, Url url,
            RequestHeaders headers, ProbeDone done)
      : loop_(loop),
        tls_(std::move(tls)),
        timer_(loop),
        original_host_(url.host),
        url_(std::move(url)),
        headers_(std::move(headers)),
        done_(std::move(done)) {
    custom_host_ = !headers_.host.empty();
  }

  void start(absl::Duration timeout) {
    auto self = shared_from_this();
    timer_.expires_after(toChrono(timeout));
    timer_.async_wait([self](const error_code& ec) {
      if (ec) {
        return;
      }
      const char* where = self->reading_body_
                              ? "Client.Timeout or context cancellation while reading body"
                              : "Client.Timeout exceeded while awaiting headers";
      self->fail(fmt::format("context deadline exceeded ({})", where));
    });
    // Everything, even an immediate failure, happens from the loop, never inside probe().
    asio::post(loop_, [self] { self->connect(); });
  }

 private:
  void connect() {
    if (finished_) {
      return;
    }
    if (url_.scheme != "http" && url_.scheme != "https") {
      fail(fmt::format("unsupported protocol scheme \"{}\"", url_.scheme));
      return;
    }
    std::optional<asio::ip::address> address = ipLiteral(url_.host);
    if (!address) {
      fail(notAnIpAddress(url_.host));
      return;
    }
    tls_stream_.reset();
    socket_.emplace(loop_);
    reading_body_ = false;
    const tcp::endpoint endpoint(*address, url_.port);
    auto self = shared_from_this();
    socket_->async_connect(endpoint, [self](const error_code& ec) { self->onConnect(ec); });
  }

  void onConnect(const error_code& ec) {
    if (finished_) {
      return;
    }
    if (ec) {
      fail(fmt::format("dial tcp {}: connect: {}", joinHostPort(url_.host, url_.port),
                       errorText(ec)));
      return;
    }
    if (url_.scheme == "http") {
      sendRequest(*socket_);
      return;
    }
    tls_stream_.emplace(std::move(*socket_), *tls_);
    socket_.reset();
    // No SNI for an IP literal (RFC 6066); a custom Host names the virtual host.
    if (custom_host_) {
      Url host_only;
      std::string ignored;
      if (parseAuthority(headers_.host, host_only, ignored) && !host_only.host.empty() &&
          !ipLiteral(host_only.host)) {
        SSL_set_tlsext_host_name(tls_stream_->native_handle(), host_only.host.c_str());
      }
    }
    auto self = shared_from_this();
    tls_stream_->async_handshake(asio::ssl::stream_base::client, [self](const error_code& ec) {
      if (self->finished_) {
        return;
      }
      if (ec) {
        self->fail(fmt::format("tls handshake: {}", errorText(ec)));
        return;
      }
      self->sendRequest(*self->tls_stream_);
    });
  }

  template <class Stream>
  void sendRequest(Stream& stream) {
    request_ = {};
    request_.method(http::verb::get);
    request_.target(url_.target);
    request_.version(11);
    request_.set(http::field::host, custom_host_ ? headers_.host : url_.authority);
    if (headers_.user_agent) {
      request_.set(http::field::user_agent, *headers_.user_agent);
    }
    for (const auto& [name, value] : headers_.others) {
      request_.insert(name, value);
    }
    // One connection per probe, no keep-alive (the kubelet's DisableKeepAlives).
    request_.set(http::field::connection, "close");
    auto self = shared_from_this();
    http::async_write(stream, request_, [self, &stream](const error_code& ec, size_t) {
      if (self->finished_) {
        return;
      }
      if (ec) {
        self->fail(fmt::format("write: {}", errorText(ec)));
        return;
      }
      self->readHeader(stream);
    });
  }

  template <class Stream>
  void readHeader(Stream& stream) {
    parser_.emplace();
    parser_->header_limit(1 << 20);
    // We stop reading at kMaxProbeOutputBytes ourselves. Not boost::none: Boost 1.74
    // compares the Content-Length with the optional itself, and "n > none" is always true.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    buffer_.clear();
    body_.assign(kMaxProbeOutputBytes, '\0');
    body_size_ = 0;
    auto self = shared_from_this();
    http::async_read_header(stream, buffer_, *parser_,
                            [self, &stream](const error_code& ec, size_t) {
                              if (self->finished_) {
                                return;
                              }
                              if (ec) {
                                self->fail(self->readError(ec));
                                return;
                              }
                              self->onHeader(stream);
                            });
  }

  template <class Stream>
  void onHeader(Stream& stream) {
    const unsigned status = parser_->get().result_int();
    const auto location = parser_->get().find(http::field::location);
    if (isFollowedRedirect(status) && location != parser_->get().end() &&
        !location->value().empty()) {
      Url next;
      bool relative = false;
      std::string error;
      const std::string text(location->value());
      if (!resolveLocation(url_, text, next, relative, error)) {
        fail(fmt::format("failed to parse Location header \"{}\": {}", text, error));
        return;
      }
      // Go's client asks the kubelet's redirect checker: another host name ends the chain
      // and this 3xx is the answer; on the same host at most 10 redirects are followed.
      if (next.host == original_host_) {
        if (redirects_ >= kMaxRedirects) {
          fail(fmt::format("stopped after {} redirects", kMaxRedirects));
          return;
        }
        ++redirects_;
        closeConnection();
        custom_host_ = !headers_.host.empty() && relative;
        url_ = std::move(next);
        connect();
        return;
      }
    }
    readBody(stream);
  }

  template <class Stream>
  void readBody(Stream& stream) {
    reading_body_ = true;
    if (parser_->is_done() || body_size_ >= kMaxProbeOutputBytes) {
      onResponse();
      return;
    }
    auto& body = parser_->get().body();
    body.data = body_.data() + body_size_;
    body.size = kMaxProbeOutputBytes - body_size_;
    auto self = shared_from_this();
    http::async_read(stream, buffer_, *parser_, [self, &stream](error_code ec, size_t) {
      if (self->finished_) {
        return;
      }
      self->body_size_ = kMaxProbeOutputBytes - self->parser_->get().body().size;
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      if (ec) {
        self->fail(self->readError(ec));
        return;
      }
      self->readBody(stream);
    });
  }

  void onResponse() {
    const unsigned status = parser_->get().result_int();
    std::string body = body_.substr(0, body_size_);
    if (status >= 200 && status < 300) {
      finish(Outcome::kSuccess, std::move(body));
    } else if (status >= 300 && status < 400) {
      finish(Outcome::kWarning,
             truncated(fmt::format("Probe terminated redirects, Response body: {}", body)));
    } else {
      finish(Outcome::kFailure, fmt::format("HTTP probe failed with statuscode: {}", status));
    }
  }

  std::string readError(const error_code& ec) const {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated) {
      return reading_body_ ? "unexpected EOF" : "EOF";
    }
    return fmt::format("read: {}", errorText(ec));
  }

  tcp::socket* activeSocket() {
    if (tls_stream_) {
      return &tls_stream_->next_layer();
    }
    return socket_ ? &*socket_ : nullptr;
  }

  void closeConnection() {
    if (tcp::socket* socket = activeSocket()) {
      closeWithReset(*socket);
    }
  }

  // Failures are worded as Go's client error: Get "<url>": <reason>.
  void fail(const std::string& reason) {
    finish(Outcome::kFailure, truncated(fmt::format("Get \"{}\": {}", url_.str(), reason)));
  }

  void finish(Outcome result, std::string output) {
    if (finished_) {
      return;
    }
    finished_ = true;
    timer_.cancel();
    closeConnection();
    ProbeDone done = std::move(done_);
    done(ProbeOutcome{result, std::move(output)});
  }

  asio::io_context& loop_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::steady_timer timer_;
  const std::string original_host_;  // Go's via[0].URL.Hostname()
  Url url_;                          // the URL being fetched now
  const RequestHeaders headers_;
  ProbeDone done_;
  bool custom_host_ = false;  // send headers_.host on this request
  int redirects_ = 0;
  bool finished_ = false;
  bool reading_body_ = false;

  // The connection of the current request: a plain socket, or a TLS stream over one.
  std::optional<tcp::socket> socket_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::string body_;
  size_t body_size_ = 0;
};

}  // namespace

NetworkProber::NetworkProber(asio::io_context& loop)
    : loop_(loop), tls_(std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client)) {
  // The kubelet's InsecureSkipVerify: pods serve self-signed certificates.
  tls_->set_verify_mode(asio::ssl::verify_none);
}

NetworkProber::~NetworkProber() = default;

void NetworkProber::probe(const ProbeTarget& target, absl::Duration timeout, ProbeDone done) {
  if (const auto* tcp_target = std::get_if<TcpTarget>(&target)) {
    probeTcp(*tcp_target, timeout, std::move(done));
  } else if (const auto* http_target = std::get_if<HttpTarget>(&target)) {
    probeHttp(*http_target, timeout, std::move(done));
  } else {
    postOutcome(loop_, std::move(done), Outcome::kFailure,
                "exec probes need an ExecProber, not the NetworkProber");
  }
}

void NetworkProber::probeTcp(const TcpTarget& target, absl::Duration timeout, ProbeDone done) {
  std::optional<asio::ip::address> address = ipLiteral(target.host);
  if (!address) {
    postOutcome(loop_, std::move(done), Outcome::kFailure, notAnIpAddress(target.host));
    return;
  }
  auto probe =
      std::make_shared<TcpProbe>(loop_, joinHostPort(target.host, target.port), std::move(done));
  probe->start(tcp::endpoint(*address, target.port), timeout);
}

void NetworkProber::probeHttp(const HttpTarget& target, absl::Duration timeout, ProbeDone done) {
  Url url;
  url.scheme = lower(target.scheme.empty() ? "http" : target.scheme);
  url.host = target.host;
  url.port = target.port;
  url.authority = joinHostPort(target.host, target.port);
  url.target = requestTarget(target.path);
  auto probe = std::make_shared<HttpProbe>(loop_, tls_, std::move(url),
                                           requestHeaders(target.headers), std::move(done));
  probe->start(timeout);
}

}  // namespace kubenode::probes
