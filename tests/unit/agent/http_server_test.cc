#include "agent/http/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace kubenode::agent {
namespace {

using boost::asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The server on its own loop thread, on a free loopback port.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.route("/healthz", [](const HttpRequest&) { return HttpResponse{200, "ok\n"}; });
    server_.route("/query", [](const HttpRequest& r) {
      return HttpResponse{200, "q=" + r.query, "application/json"};
    });
    server_.route("/sick", [](const HttpRequest&) { return HttpResponse{500, "runtime down\n"}; });
    absl::StatusOr<uint16_t> port = server_.listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    boost::asio::post(loop_, [this] { server_.close(); });
    work_.reset();
    loop_.stop();
    thread_.join();
  }

  // Sends raw bytes, returns everything the server answers until it closes.
  std::string exchange(const std::string& raw) {
    boost::asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
    boost::asio::write(socket, boost::asio::buffer(raw));
    std::string out;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::dynamic_buffer(out), ec);
    return out;
  }

  boost::asio::io_context loop_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      loop_.get_executor()};
  HttpServer server_{loop_};
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(HttpServerTest, AnswersRoutesWithStatusAndContentType) {
  std::string out = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("Content-Length: 3\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\n\r\nok\n"));

  out = exchange("GET /query?labelSelector=app%3Dweb HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("Content-Type: application/json"));
  EXPECT_THAT(out, HasSubstr("q=labelSelector=app%3Dweb"));

  out = exchange("GET /sick HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, StartsWith("HTTP/1.1 500 Internal Server Error"));
}

TEST_F(HttpServerTest, UnknownPathsAndMethodsAreRefused) {
  EXPECT_THAT(exchange("GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 404 Not Found"));
  EXPECT_THAT(exchange("POST /healthz HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 405 Method Not Allowed"));
  std::string head = exchange("HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(head, ::testing::EndsWith("\r\n\r\n")) << "HEAD has no body";
}

TEST_F(HttpServerTest, KeepsAliveForSeveralRequestsAndDropsGarbage) {
  std::string out = exchange(
      "GET /healthz HTTP/1.1\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  size_t first = out.find("HTTP/1.1 200 OK");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(out.find("HTTP/1.1 200 OK", first + 1), std::string::npos);

  EXPECT_EQ(exchange("\x01\x02 not http\r\n\r\n"), "") << "closed without an answer";
  // The server still serves after garbage.
  EXPECT_THAT(exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK"));
}

TEST(HttpServerListen, ABusyPortOrBadAddressIsAClearError) {
  boost::asio::io_context loop;
  HttpServer first(loop);
  absl::StatusOr<uint16_t> port = first.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  HttpServer second(loop);
  absl::StatusOr<uint16_t> again = second.listen("127.0.0.1", *port);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(again.status().message()),
              HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(*port)));
  absl::StatusOr<uint16_t> bad = second.listen("localhost:80", 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("invalid listen address \"localhost:80\""));
}

}  // namespace
}  // namespace kubenode::agent
