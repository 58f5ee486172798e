#include "agent/http/http_server.h"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

namespace kubenode::agent {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::asio::ip::tcp;

// One connection: read requests, answer each, until the peer closes, an error, or idle
// for 30 s. Owned by itself through the shared_ptr its pending operations hold.
class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const Routes> routes)
      : socket_(std::move(socket)), routes_(std::move(routes)), idle_(socket_.get_executor()) {}

  void start() { read(); }

 private:
  void read() {
    // Requests are small GETs: a big one is a client error, not a reason to buffer.
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    parser_->header_limit(16 * 1024);
    idle_.expires_after(std::chrono::seconds(30));
    idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->idle_.cancel();
                       if (ec)
                         return;  // closed or malformed: drop the connection
                       self->answer(self->parser_->release());
                     });
  }

  void answer(http::request<http::string_body> request) {
    HttpRequest req;
    req.method = std::string(request.method_string());
    std::string target(request.target());
    if (size_t q = target.find('?'); q != std::string::npos) {
      req.query = target.substr(q + 1);
      target.resize(q);
    }
    req.path = target;

    HttpResponse response;
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response = {405, "method not allowed: only GET and HEAD are served\n"};
    } else if (auto it = routes_->find(req.path); it != routes_->end()) {
      response = it->second(req);
    } else {
      response = {404, fmt::format("404 page not found: {}\n", req.path)};
    }

    auto reply = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), request.version());
    reply->set(http::field::content_type, response.contentType);
    reply->keep_alive(request.keep_alive());
    if (request.method() != http::verb::head)
      reply->body() = std::move(response.body);
    reply->prepare_payload();
    http::async_write(socket_, *reply,
                      [self = shared_from_this(), reply](beast::error_code ec, size_t) {
                        if (ec || !reply->keep_alive()) {
                          boost::system::error_code ignored;
                          self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  tcp::socket socket_;
  std::shared_ptr<const Routes> routes_;
  boost::asio::steady_timer idle_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

HttpServer::HttpServer(boost::asio::io_context& loop)
    : loop_(loop), acceptor_(loop), retry_(loop), routes_(std::make_shared<Routes>()) {}

HttpServer::~HttpServer() {
  close();
}

void HttpServer::route(std::string path, Handler handler) {
  (*routes_)[std::move(path)] = std::move(handler);
}

absl::StatusOr<uint16_t> HttpServer::listen(const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  boost::asio::ip::address ip = boost::asio::ip::make_address(address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("invalid listen address \"{}\": expected an IP address", address));
  }
  tcp::endpoint endpoint(ip, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec)
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    acceptor_.bind(endpoint, ec);
  if (!ec)
    acceptor_.listen(tcp::socket::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{}: {}", address, port, ec.message()));
  }
  accept();
  return acceptor_.local_endpoint().port();
}

void HttpServer::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

void HttpServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted)
      return;  // closed
    if (!ec) {
      std::make_shared<Connection>(std::move(socket), routes_)->start();
      accept();
      return;
    }
    // Out of file descriptors or similar: try again shortly instead of spinning.
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([this](const boost::system::error_code& e) {
      if (!e)
        accept();
    });
  });
}

}  // namespace kubenode::agent
