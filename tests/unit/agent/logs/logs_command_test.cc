// `kubenode logs` end to end over a log directory on disk, without an agent
// (--read-only-port 0): what the user sees on stdout and stderr, and the exit code.
#include "agent/logs_command.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "api/json_codec.h"

namespace kubenode::agent {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LogsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kubenode-logs-command-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeLog(const std::string& relative, const std::vector<std::string>& lines) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream out(dir_ / relative, std::ios::app);
    int second = 0;
    for (const std::string& line : lines)
      out << fmt::format("2024-01-01T00:00:{:02}Z stdout F {}\n", second++, line);
  }

  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "logs");
    args.push_back("--read-only-port=0");
    args.push_back("--pod-logs-dir=" + dir_.string());
    std::vector<const char*> argv;
    for (const std::string& a : args)
      argv.push_back(a.c_str());
    out_.str("");
    err_.str("");
    return runLogsCommand(static_cast<int>(argv.size()), argv.data(), out_, err_);
  }

  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(LogsCommandTest, PrintsTheNewestPodsOnlyContainerWithTail) {
  writeLog("default_web_old/app/0.log", {"old pod"});
  fs::last_write_time(dir_ / "default_web_old",
                      fs::file_time_type::clock::now() - std::chrono::hours(1));
  writeLog("default_web_new/app/0.log", {"first run"});
  writeLog("default_web_new/app/1.log", {"a", "b", "c"});
  EXPECT_EQ(run({"web"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "a\nb\nc\n");
  EXPECT_EQ(run({"web", "--tail", "2", "--timestamps"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "2024-01-01T00:00:01Z b\n2024-01-01T00:00:02Z c\n");
  EXPECT_EQ(run({"web", "-p"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "first run\n");
  EXPECT_EQ(run({"web", "-c", "app", "--previous", "--tail=0"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
}

TEST_F(LogsCommandTest, ErrorsAreOneKubectlLikeLineAndExitOne) {
  writeLog("default_web_u1/app/0.log", {"x"});
  writeLog("default_web_u1/sidecar/0.log", {"y"});
  EXPECT_EQ(run({"nope"}), 1);
  EXPECT_EQ(err_.str(), "error: pods \"nope\" not found\n");
  EXPECT_EQ(run({"web", "-n", "kube-system"}), 1);
  EXPECT_EQ(err_.str(), "error: pods \"web\" not found\n");
  EXPECT_EQ(run({"web"}), 1);
  EXPECT_EQ(err_.str(),
            "error: a container name must be specified for pod web, choose one of: [app "
            "sidecar]\n");
  EXPECT_EQ(run({"web", "-c", "app", "--previous"}), 1);
  EXPECT_EQ(err_.str(), "error: previous terminated container \"app\" in pod \"web\" not found\n");
  EXPECT_EQ(run({"web", "-c", "sidecar"}), 0);
  EXPECT_EQ(out_.str(), "y\n");
}

TEST_F(LogsCommandTest, BadFlagsNameTheFlag) {
  EXPECT_EQ(run({"web", "--tail", "-5"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--tail -5: must be -1 (everything) or a count of lines"));
  EXPECT_EQ(run({"web", "--since", "soon"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--since soon: expected a positive duration"));
  EXPECT_EQ(run({"web", "--since-time", "yesterday"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--since-time yesterday: expected an RFC 3339 time"));
  EXPECT_EQ(run({"web", "--since", "1s", "--since-time", "2024-01-01T00:00:00Z"}), 2);
  EXPECT_EQ(run({}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("POD is required"));
}

TEST_F(LogsCommandTest, SinceTimeFiltersAndConfigFileGivesTheDirectory) {
  writeLog("default_web_u1/app/0.log", {"zero", "one", "two"});
  EXPECT_EQ(run({"web", "--since-time", "2024-01-01T00:00:01Z"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "one\ntwo\n");
  const fs::path config = dir_ / "config.yaml";
  std::ofstream(config) << "apiVersion: kubenode.io/v1alpha1\nkind: KubenodeConfiguration\n"
                           "podLogsDir: "
                        << dir_.string() << "\nreadOnlyPort: 0\n";
  std::vector<const char*> argv = {"logs", "web", "--config", config.c_str()};
  out_.str("");
  err_.str("");
  EXPECT_EQ(runLogsCommand(4, argv.data(), out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "zero\none\ntwo\n");
}

}  // namespace
}  // namespace kubenode::agent

namespace kubenode::agent {
namespace {

// A stand-in for the agent's read-only endpoint: answers every request with the current
// PodList, one connection at a time, on 127.0.0.1 and a port of the kernel's choice.
class FakeAgent {
 public:
  FakeAgent() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAgent() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  void setPods(const std::vector<api::Pod>& pods) {
    api::PodList list;
    list.items = pods;
    std::lock_guard<std::mutex> lock(mu_);
    body_ = api::encodeJson(list);
  }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_)
        continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec)
        continue;
      ++requests_;
      http::response<http::string_body> response(http::status::ok, 11);
      {
        std::lock_guard<std::mutex> lock(mu_);
        response.body() = body_;
      }
      response.prepare_payload();
      http::write(socket, response, ec);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> requests_ = 0;
  std::mutex mu_;
  std::string body_ = "{}";
};

api::Pod agentPod(bool running) {
  api::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  pod.metadata.uid = "u2";
  // Spec order, not alphabetical.
  pod.spec.containers = {api::Container{.name = "web"}, api::Container{.name = "app"}};
  for (const char* name : {"web", "app"}) {
    api::ContainerStatus& s = pod.status.containerStatuses.emplace_back();
    s.name = name;
    s.restartCount = 1;
    if (running)
      s.state.running = api::ContainerStateRunning{};
    else
      s.state.terminated = api::ContainerStateTerminated{.exitCode = 0};
  }
  return pod;
}

class LogsCommandWithAgentTest : public LogsCommandTest {
 protected:
  int runWithAgent(std::vector<std::string> args, std::ostream& out) {
    args.insert(args.begin(), "logs");
    args.push_back(fmt::format("--read-only-port={}", agent_.port()));
    args.push_back("--pod-logs-dir=" + dir_.string());
    std::vector<const char*> argv;
    for (const std::string& a : args)
      argv.push_back(a.c_str());
    err_.str("");
    return runLogsCommand(static_cast<int>(argv.size()), argv.data(), out, err_);
  }
  FakeAgent agent_;
};

TEST_F(LogsCommandWithAgentTest, TheAgentsUidSpecOrderAndRestartCountWin) {
  writeLog("default_web_u2/web/0.log", {"u2 web run 0"});
  writeLog("default_web_u2/web/1.log", {"u2 web run 1"});
  writeLog("default_web_u2/web/2.log", {"u2 web stale run 2"});
  // A newer directory of an older pod of the same name: the agent knows better.
  fs::last_write_time(dir_ / "default_web_u2",
                      fs::file_time_type::clock::now() - std::chrono::hours(1));
  writeLog("default_web_u9/web/0.log", {"u9"});
  agent_.setPods({agentPod(true)});
  std::ostringstream out;
  EXPECT_EQ(runWithAgent({"web"}, out), 1);
  EXPECT_EQ(err_.str(),
            "error: a container name must be specified for pod web, choose one of: [web app]\n");
  EXPECT_EQ(runWithAgent({"web", "-c", "web", "-p"}, out), 0) << err_.str();
  EXPECT_EQ(out.str(), "u2 web run 0\n");
  // -f of a container the agent shows terminated prints and ends.
  agent_.setPods({agentPod(false)});
  std::ostringstream followed;
  EXPECT_EQ(runWithAgent({"web", "-c", "web", "-f"}, followed), 0) << err_.str();
  EXPECT_EQ(followed.str(), "u2 web run 1\n");
}

TEST_F(LogsCommandWithAgentTest, FollowEndsWhenTheAgentShowsTheContainerStopped) {
  writeLog("default_web_u2/app/1.log", {"before"});
  agent_.setPods({agentPod(true)});
  // The command's output, read by this thread while the command writes it.
  std::mutex mu;
  std::string printed;
  struct Sink : std::stringbuf {
    std::mutex* mu;
    std::string* text;
    int sync() override {
      std::lock_guard<std::mutex> lock(*mu);
      *text += str();
      str("");
      return 0;
    }
  } sink;
  sink.mu = &mu;
  sink.text = &printed;
  std::ostream out(&sink);
  std::atomic<bool> done = false;
  int code = -1;
  std::thread command([&] {
    code = runWithAgent({"web", "-c", "app", "-f"}, out);
    done = true;
  });
  auto printedNow = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return printed;
  };
  auto waitFor = [&](const std::function<bool()>& condition) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!condition() && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(10));
    return condition();
  };
  EXPECT_TRUE(waitFor([&] { return printedNow() == "before\n"; })) << printedNow();
  writeLog("default_web_u2/app/1.log", {"after"});
  EXPECT_TRUE(waitFor([&] { return printedNow() == "before\nafter\n"; })) << printedNow();
  EXPECT_FALSE(done.load());
  agent_.setPods({agentPod(false)});
  EXPECT_TRUE(waitFor([&] { return done.load(); }));
  command.join();
  EXPECT_EQ(code, 0) << err_.str();
  EXPECT_GE(agent_.requests(), 2);
}

}  // namespace
}  // namespace kubenode::agent
