// Container logs and Localhost seccomp profiles on a real containerd 1.6 (a private one per
// test process, tests/harness), checked as a user would: every line a container printed is
// found exactly once, in order, across rotated, compressed and live files; `kubenode logs`
// prints the tail across them; a follower sees every line across rotations; mkdir fails with
// EPERM in a container whose Localhost profile denies it.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/logs/log_files.h"
#include "agent/logs/log_reader.h"
#include "agent/logs/rotation.h"
#include "agent/logs_command.h"
#include "agent/seccomp/localhost_profile.h"
#include "cri/grpc_runtime_service.h"
#include "images/test_images.h"
#include "tests/harness/containerd_environment.h"

namespace kubenode {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

bool eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (condition())
      return true;
    if (absl::Now() >= deadline)
      return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string randomSuffix() {
  std::random_device device;
  return fmt::format("{:08x}", device());
}

// The numbers of "line <n>" lines of a printed log, in order.
std::vector<long> lineNumbers(const std::string& printed) {
  std::vector<long> numbers;
  std::istringstream in(printed);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("line ", 0) == 0)
      numbers.push_back(std::stol(line.substr(5)));
  }
  return numbers;
}

// Whether `numbers` is first, first+1, ...: nothing lost, nothing repeated.
::testing::AssertionResult consecutive(const std::vector<long>& numbers) {
  for (size_t i = 1; i < numbers.size(); ++i) {
    if (numbers[i] != numbers[i - 1] + 1) {
      return ::testing::AssertionFailure()
             << "line " << numbers[i - 1] << " is followed by line " << numbers[i] << " (entry "
             << i << " of " << numbers.size() << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

class LogsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    containerd_ = &harness::ContainerdEnvironment::containerd();
    absl::StatusOr<std::unique_ptr<cri::GrpcRuntimeService>> client =
        cri::GrpcRuntimeService::create(containerd_->endpoint());
    ASSERT_TRUE(client.ok()) << client.status();
    runtime_ = std::move(*client);
    run_ = randomSuffix();
    podLogsDir_ = containerd_->dir() + "/pods";
  }

  void TearDown() override {
    for (const std::string& id : sandboxes_) {
      EXPECT_TRUE(runtime_->stopPodSandbox(id).ok());
      EXPECT_TRUE(runtime_->removePodSandbox(id).ok());
    }
  }

  // Runs the sandbox of pod default/<name> as the kubelet would, with its log directory.
  std::string runSandbox(const std::string& name) {
    sandboxConfig_ = cri::v1::PodSandboxConfig();
    uid_ = fmt::format("{}-{}", name, run_);
    sandboxConfig_.mutable_metadata()->set_name(name);
    sandboxConfig_.mutable_metadata()->set_namespace_("default");
    sandboxConfig_.mutable_metadata()->set_uid(uid_);
    sandboxConfig_.set_hostname(name);
    logDir_ = fmt::format("{}/default_{}_{}", podLogsDir_, name, uid_);
    fs::create_directories(logDir_);
    sandboxConfig_.set_log_directory(logDir_);
    (*sandboxConfig_.mutable_labels())["io.kubernetes.pod.name"] = name;
    (*sandboxConfig_.mutable_labels())["io.kubernetes.pod.namespace"] = "default";
    (*sandboxConfig_.mutable_labels())["io.kubernetes.pod.uid"] = uid_;
    absl::StatusOr<std::string> id = runtime_->runPodSandbox(sandboxConfig_, "");
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok())
      return "";
    sandboxes_.push_back(*id);
    return *id;
  }

  cri::v1::ContainerConfig containerConfig(const std::string& name, const std::string& script) {
    cri::v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(images::kBusyboxImage);
    config.add_command("sh");
    config.add_command("-c");
    config.add_command(script);
    config.set_log_path(name + "/0.log");
    (*config.mutable_labels())["io.kubernetes.container.name"] = name;
    return config;
  }

  std::string startContainer(const std::string& sandbox, const cri::v1::ContainerConfig& config) {
    absl::StatusOr<std::string> id = runtime_->createContainer(sandbox, config, sandboxConfig_);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok())
      return "";
    absl::Status started = runtime_->startContainer(*id);
    EXPECT_TRUE(started.ok()) << started;
    return started.ok() ? *id : "";
  }

  std::string fileText(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // `kubenode logs` as a user runs it (without an agent: the directories only).
  int kubenodeLogs(std::vector<std::string> args, std::string* out, std::string* err) {
    args.insert(args.begin(), "logs");
    args.push_back("--read-only-port=0");
    args.push_back("--pod-logs-dir=" + podLogsDir_);
    std::vector<const char*> argv;
    for (const std::string& a : args)
      argv.push_back(a.c_str());
    std::ostringstream o, e;
    const int code = agent::runLogsCommand(static_cast<int>(argv.size()), argv.data(), o, e);
    *out = o.str();
    *err = e.str();
    return code;
  }

  harness::PrivateContainerd* containerd_ = nullptr;
  std::unique_ptr<cri::GrpcRuntimeService> runtime_;
  std::string run_;
  std::string podLogsDir_;
  std::string logDir_;
  std::string uid_;
  cri::v1::PodSandboxConfig sandboxConfig_;
  std::vector<std::string> sandboxes_;
};

TEST_F(LogsIntegrationTest, RotationKeepsEveryLineAndKubenodeLogsReadsAcrossFiles) {
  const std::string sandbox = runSandbox("chatty");
  ASSERT_FALSE(sandbox.empty());
  // About 50 bytes a line in bursts of 200 lines, a burst every 20 ms at most: up to about
  // 500 KiB a second, far more than a 64 KiB file a check, yet a follower under the
  // sanitizers keeps up (one that fell more than max-files rotations behind would lose files,
  // as the kubelet's does).
  const std::string id = startContainer(
      sandbox, containerConfig("talk",
                               "i=0; while true; do j=0; while [ $j -lt 200 ]; do echo \"line $i "
                               "0123456789012345678901234567890123456789\"; i=$((i+1)); "
                               "j=$((j+1)); done; sleep 0.02; done"));
  ASSERT_FALSE(id.empty());
  const std::string containerDir = logDir_ + "/talk";
  const std::string logPath = containerDir + "/0.log";

  // A follower from the start, as `kubenode logs -f` would run, across every rotation.
  std::mutex mu;
  std::string followed;
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
  sink.text = &followed;
  std::ostream followOut(&sink);
  agent::logs::LogPrinter printer(followOut, false);
  std::atomic<bool> stopFollowing = false;
  absl::Status followStatus;
  ASSERT_TRUE(eventually([&] { return fs::exists(logPath); }, absl::Seconds(10)));
  std::thread follower([&] {
    followStatus = agent::logs::followLog(logPath, 0, printer,
                                          {.keepFollowing = [&] { return !stopFollowing.load(); },
                                           .checkPeriod = absl::Milliseconds(50)});
  });

  // Rotation by the manager against the real runtime; the clock moves a second a check so
  // that every rotation gets its own name without waiting.
  agent::logs::CriRunningContainerLogs running(*runtime_);
  boost::asio::io_context loop;
  absl::Time now = absl::Now();
  agent::logs::ContainerLogManager manager(
      loop, *runtime_, running, {.maxSizeBytes = 64 * 1024, .maxFiles = 3}, [&] { return now; });
  // Each rotation leaves a file named by its own second; the names seen count them.
  std::set<std::string> rotatedNames;
  for (int check = 0; check < 400 && rotatedNames.size() < 6; ++check) {
    absl::Status rotated = manager.rotateLogs();
    ASSERT_TRUE(rotated.ok()) << rotated;
    now += absl::Seconds(1);
    std::vector<std::string> names = agent::logs::listDirectory(containerDir);
    for (const std::string& n : agent::logs::rotatedLogNames(names, "0.log"))
      rotatedNames.insert(n.substr(0, std::string("0.log.YYYYMMDD-HHMMSS").size()));
    // Never more than max-files: the live file and two rotated ones.
    EXPECT_LE(names.size(), 3u) << ::testing::PrintToString(names);
    // Checks far more often than the kubelet's 10 s.
    absl::SleepFor(absl::Milliseconds(250));
  }
  const int rotations = static_cast<int>(rotatedNames.size());
  ASSERT_GE(rotations, 6) << "the container did not write enough to rotate";
  // containerd writes to the fresh file ReopenContainerLog made it open.
  ASSERT_TRUE(eventually([&] { return fs::exists(logPath) && fs::file_size(logPath) > 0; },
                         absl::Seconds(5)));

  // Stop it, so that the files hold the final output.
  ASSERT_TRUE(runtime_->stopContainer(id, 0).ok());
  std::vector<std::string> names = agent::logs::listDirectory(containerDir);
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names.size(), 3u) << ::testing::PrintToString(names);
  EXPECT_EQ(names[0], "0.log");
  EXPECT_THAT(names[1], ::testing::EndsWith(".gz"));
  EXPECT_THAT(names[2], Not(::testing::EndsWith(".gz")));

  // Everything kept is there once, in order: no line lost or doubled at a rotation.
  std::string all, err;
  ASSERT_EQ(kubenodeLogs({"chatty"}, &all, &err), 0) << err;
  const std::vector<long> numbers = lineNumbers(all);
  ASSERT_GT(numbers.size(), 1000u);
  EXPECT_TRUE(consecutive(numbers));
  const size_t liveLines = lineNumbers(fileText(logPath)).size();

  // --tail reaching back over the live file into the rotated ones.
  const size_t tail = liveLines + 500;
  std::string tailed;
  ASSERT_EQ(kubenodeLogs({"chatty", "-c", "talk", "--tail", std::to_string(tail)}, &tailed, &err),
            0)
      << err;
  std::vector<long> tailNumbers = lineNumbers(tailed);
  ASSERT_EQ(tailNumbers.size(), tail);
  EXPECT_EQ(tailNumbers.back(), numbers.back());
  EXPECT_TRUE(consecutive(tailNumbers));

  // The follower saw every line, across all six rotations, including those now deleted.
  stopFollowing = true;
  follower.join();
  EXPECT_TRUE(followStatus.ok()) << followStatus;
  std::vector<long> followedNumbers;
  {
    std::lock_guard<std::mutex> lock(mu);
    followedNumbers = lineNumbers(followed);
  }
  ASSERT_FALSE(followedNumbers.empty());
  EXPECT_EQ(followedNumbers.front(), 0);
  EXPECT_EQ(followedNumbers.back(), numbers.back());
  EXPECT_TRUE(consecutive(followedNumbers));
  std::cerr << fmt::format("[ measured ] {} rotations, {} lines printed, {} kept, {} followed\n",
                           rotations, numbers.back() + 1, numbers.size(), followedNumbers.size());
}

constexpr const char* kDenyMkdir = R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
})";

TEST_F(LogsIntegrationTest, LocalhostSeccompProfileDeniesMkdirInTheContainer) {
  const std::string rootDir = containerd_->dir() + "/kubenode-root";
  fs::create_directories(rootDir + "/seccomp/profiles");
  std::ofstream(rootDir + "/seccomp/profiles/deny-mkdir.json") << kDenyMkdir;
  absl::StatusOr<std::string> ref =
      agent::seccomp::loadLocalhostProfile(rootDir, "profiles/deny-mkdir.json");
  ASSERT_TRUE(ref.ok()) << ref.status();

  const std::string sandbox = runSandbox("confined");
  ASSERT_FALSE(sandbox.empty());
  const std::string script =
      "if mkdir /tmp/made 2>/tmp/why; then echo made; else echo \"refused: $(cat /tmp/why)\"; "
      "fi; touch /tmp/file && echo touched; sleep 3600";
  cri::v1::ContainerConfig confined = containerConfig("confined", script);
  auto* seccomp = confined.mutable_linux()->mutable_security_context()->mutable_seccomp();
  seccomp->set_profile_type(cri::v1::SecurityProfile::Localhost);
  seccomp->set_localhost_ref(*ref);
  ASSERT_FALSE(startContainer(sandbox, confined).empty());
  // The same script without the profile, beside it.
  cri::v1::ContainerConfig free = containerConfig("free", script);
  ASSERT_FALSE(startContainer(sandbox, free).empty());

  std::string out, err;
  ASSERT_TRUE(eventually(
      [&] {
        return kubenodeLogs({"confined", "-c", "confined"}, &out, &err) == 0 &&
               out.find("touched") != std::string::npos;
      },
      absl::Seconds(10)))
      << out << err;
  EXPECT_THAT(out, HasSubstr("refused: mkdir: can't create directory '/tmp/made': Operation not "
                             "permitted"));
  ASSERT_TRUE(eventually(
      [&] {
        return kubenodeLogs({"confined", "-c", "free"}, &out, &err) == 0 &&
               out.find("touched") != std::string::npos;
      },
      absl::Seconds(10)))
      << out << err;
  EXPECT_EQ(out, "made\ntouched\n");
}

TEST_F(LogsIntegrationTest, KubenodeLogsPreviousReadsTheEarlierRestart) {
  const std::string sandbox = runSandbox("restarts");
  ASSERT_FALSE(sandbox.empty());
  cri::v1::ContainerConfig first = containerConfig("c", "echo first run; exit 1");
  const std::string firstId = startContainer(sandbox, first);
  ASSERT_FALSE(firstId.empty());
  ASSERT_TRUE(eventually(
      [&] {
        auto s = runtime_->containerStatus(firstId, false);
        return s.ok() && s->status().state() == cri::v1::CONTAINER_EXITED;
      },
      absl::Seconds(10)));
  cri::v1::ContainerConfig second = containerConfig("c", "echo second run; sleep 3600");
  second.mutable_metadata()->set_attempt(1);
  second.set_log_path("c/1.log");
  ASSERT_FALSE(startContainer(sandbox, second).empty());
  std::string out, err;
  ASSERT_TRUE(eventually(
      [&] { return kubenodeLogs({"restarts"}, &out, &err) == 0 && out == "second run\n"; },
      absl::Seconds(10)))
      << out << err;
  EXPECT_EQ(kubenodeLogs({"restarts", "--previous"}, &out, &err), 0) << err;
  EXPECT_EQ(out, "first run\n");
  // --timestamps: containerd's time of the line, as the kubelet prints it (RFC 3339, UTC here).
  EXPECT_EQ(kubenodeLogs({"restarts", "--previous", "--timestamps"}, &out, &err), 0) << err;
  EXPECT_THAT(out, ::testing::MatchesRegex(
                       "20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
                       "(\\.[0-9]*[1-9])?(Z|[+-][0-9][0-9]:[0-9][0-9]) first run\n"));
  EXPECT_EQ(kubenodeLogs({"restarts", "-c", "nope"}, &out, &err), 1);
  EXPECT_EQ(err, "error: container nope is not valid for pod restarts\n");
}

}  // namespace
}  // namespace kubenode
