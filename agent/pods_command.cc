#include "agent/pods_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "agent/pods/status_word.h"
#include "api/json_codec.h"

namespace kubenode::agent {
namespace {

// GET http://address:port/path; the body, or why there is none.
absl::StatusOr<std::string> httpGet(const std::string& address, int port, const std::string& path) {
  namespace beast = boost::beast;
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  boost::asio::ip::address ip = boost::asio::ip::make_address(address, ec);
  if (!ec)
    socket.connect({ip, static_cast<uint16_t>(port)}, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format(
        "cannot reach the agent's read-only endpoint at http://{}:{}: {} (is kubenode running "
        "with --read-only-port {}?)",
        address, port, ec.message(), port));
  }
  http::request<http::empty_body> request(http::verb::get, path, 11);
  request.set(http::field::host, address);
  http::write(socket, request, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  if (!ec)
    http::read(socket, buffer, parser, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("reading http://{}:{}{}: {}", address, port, path, ec.message()));
  }
  if (parser.get().result_int() != 200) {
    return absl::UnavailableError(
        fmt::format("http://{}:{}{} answered {}", address, port, path, parser.get().result_int()));
  }
  return parser.release().body();
}

}  // namespace

std::string formatPodTable(const std::vector<api::Pod>& pods, absl::Time now, bool withNamespace) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"};
  if (withNamespace)
    header.insert(header.begin(), "NAMESPACE");
  rows.push_back(header);
  for (const api::Pod& pod : pods) {
    pods::PodDisplay d = pods::displayPod(pod, now);
    std::vector<std::string> row = {d.name, d.ready, d.status, d.restarts, d.age, d.ip, d.node};
    if (withNamespace)
      row.insert(row.begin(), pod.metadata.namespace_);
    rows.push_back(std::move(row));
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

int runPodsCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"List the pods of this node as `kubectl get pods -o wide` does", "kubenode pods"};
  std::string address = "127.0.0.1";
  int port = 10255;
  std::string ns = "default";
  bool all = false;
  app.add_option("--address", address, "Address of the agent's read-only endpoint")
      ->capture_default_str();
  app.add_option("--read-only-port", port, "Port of the agent's read-only endpoint")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("-n,--namespace", ns, "Only pods of this namespace")->capture_default_str();
  app.add_flag("-A,--all-namespaces", all, "Pods of every namespace");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "kubenode pods: " << e.what() << " (see kubenode pods --help)\n";
    return 2;
  }

  absl::StatusOr<std::string> body = httpGet(address, port, "/pods");
  if (!body.ok()) {
    err << "kubenode pods: " << body.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<api::Decoded<api::PodList>> list = api::decodeJson<api::PodList>(*body);
  if (!list.ok()) {
    err << "kubenode pods: the agent's /pods answer is not a PodList: " << list.status().message()
        << "\n";
    return 1;
  }
  std::vector<api::Pod> pods;
  for (const api::Pod& pod : list->object.items) {
    if (all || pod.metadata.namespace_ == ns)
      pods.push_back(pod);
  }
  if (pods.empty()) {
    err << (all ? std::string("No resources found\n")
                : fmt::format("No resources found in {} namespace.\n", ns));
    return 0;
  }
  std::sort(pods.begin(), pods.end(), [](const api::Pod& a, const api::Pod& b) {
    return std::tie(a.metadata.namespace_, a.metadata.name) <
           std::tie(b.metadata.namespace_, b.metadata.name);
  });
  out << formatPodTable(pods, absl::Now(), all);
  return 0;
}

}  // namespace kubenode::agent
