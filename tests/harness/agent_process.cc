#include "tests/harness/agent_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "api/json_codec.h"
#include "tests/harness/process.h"

namespace kubenode::harness {

HttpAnswer httpGet(uint16_t port, const std::string& path, const std::string& host,
                   absl::Duration timeout) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  HttpAnswer answer;
  std::string out;
  // Async operations on a private io_context so that a deadline bounds the whole GET.
  socket.async_connect({asio::ip::make_address(host, ec), port}, [&](boost::system::error_code e) {
    if (e)
      return;
    auto request = std::make_shared<std::string>("GET " + path + " HTTP/1.1\r\nHost: " + host +
                                                 "\r\nConnection: close\r\n\r\n");
    asio::async_write(socket, asio::buffer(*request),
                      [&, request](boost::system::error_code e2, size_t) {
                        if (e2)
                          return;
                        asio::async_read(socket, asio::dynamic_buffer(out),
                                         [](boost::system::error_code, size_t) {});
                      });
  });
  io.run_for(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  if (out.size() < 12)
    return answer;
  answer.status = std::atoi(out.substr(9, 3).c_str());
  size_t body = out.find("\r\n\r\n");
  if (body != std::string::npos)
    answer.body = out.substr(body + 4);
  return answer;
}

uint16_t freePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

bool eventually(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline)
      return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

AgentProcess::AgentProcess(std::string binary, std::string dir, std::string endpoint,
                           std::string nodeName)
    : binary_(std::move(binary)),
      dir_(std::move(dir)),
      endpoint_(std::move(endpoint)),
      nodeName_(std::move(nodeName)) {
  std::filesystem::create_directories(manifestDir());
  port_ = freePort();
}

AgentProcess::~AgentProcess() {
  stop();
}

absl::Status AgentProcess::start(const std::vector<std::string>& extraArgs) {
  std::vector<std::string> argv = {binary_,
                                   "--container-runtime-endpoint",
                                   endpoint_,
                                   "--pod-manifest-path",
                                   manifestDir(),
                                   "--root-dir",
                                   rootDir(),
                                   "--pod-logs-dir",
                                   logsDir(),
                                   "--hostname-override",
                                   nodeName_,
                                   "--read-only-port",
                                   std::to_string(port_),
                                   "--healthz-port",
                                   "0"};
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  absl::StatusOr<pid_t> pid = startChild(argv, logPath());
  if (!pid.ok())
    return pid.status();
  pid_ = *pid;
  return absl::OkStatus();
}

void AgentProcess::stop() {
  if (pid_ > 0)
    terminateProcess(pid_, absl::Seconds(10));
  pid_ = -1;
}

void AgentProcess::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void AgentProcess::writeManifest(const std::string& file, const std::string& text) const {
  // Written aside and renamed in, as an operator's tools (or kubeadm) do, so that the
  // agent never reads half a file.
  std::string tmp = dir_ + "/." + file + ".tmp";
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, manifestDir() + "/" + file);
}

void AgentProcess::removeManifest(const std::string& file) const {
  std::filesystem::remove(manifestDir() + "/" + file);
}

std::vector<api::Pod> AgentProcess::pods() const {
  HttpAnswer a = httpGet(port_, "/pods");
  if (a.status != 200)
    return {};
  auto list = api::decodeJson<api::PodList>(a.body);
  return list.ok() ? list->object.items : std::vector<api::Pod>{};
}

std::optional<api::Pod> AgentProcess::pod(const std::string& name) const {
  for (api::Pod& p : pods()) {
    if (p.metadata.name == name)
      return p;
  }
  return std::nullopt;
}

std::vector<api::Event> AgentProcess::events() const {
  HttpAnswer a = httpGet(port_, "/events");
  if (a.status != 200)
    return {};
  auto list = api::decodeJson<api::EventList>(a.body);
  return list.ok() ? list->object.items : std::vector<api::Event>{};
}

}  // namespace kubenode::harness
