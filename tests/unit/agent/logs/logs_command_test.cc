// `kubenode logs` end to end over a log directory on disk, without an agent
// (--read-only-port 0): what the user sees on stdout and stderr, and the exit code.
#include "agent/logs_command.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
