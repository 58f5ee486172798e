// A small HTTP/1.1 server on the agent's asio loop, for the kubelet's read-only port
// (/healthz, /pods, /metrics) and the healthz port. Routes are exact paths mapped to
// handlers that return a response value; the server owns sockets and parsing only.
//
//   HttpServer server(loop);
//   server.route("/healthz", [&](const HttpRequest&) { return HttpResponse{200, "ok"}; });
//   absl::StatusOr<uint16_t> port = server.listen("127.0.0.1", 10255);
//
// Thread-safety: everything runs on the loop's thread; handlers are called there and must
// not block (they read state that other threads publish under their own locks).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kubenode::agent {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string contentType = "text/plain; charset=utf-8";
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit HttpServer(boost::asio::io_context& loop);
  ~HttpServer();

  // Adds a route for GET (and HEAD) on an exact path. Call before listen().
  void route(std::string path, Handler handler);

  // Binds and starts accepting. Port 0 picks a free port; the bound port is returned.
  // kUnavailable when the address is in use, naming it.
  absl::StatusOr<uint16_t> listen(const std::string& address, uint16_t port);

  void close();

 private:
  class Connection;
  void accept();

  using Routes = std::map<std::string, Handler>;

  boost::asio::io_context& loop_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  // Shared with live connections, which may outlive the server by a loop turn.
  std::shared_ptr<Routes> routes_;
};

}  // namespace kubenode::agent
