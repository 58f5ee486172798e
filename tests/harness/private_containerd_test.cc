// Integration tests of the harness itself: the private containerd is isolated, answers CRI,
// has the test images, survives restart() and freeze()/thaw(), and leaves nothing behind,
// including after a crashed run.
#include "tests/harness/private_containerd.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "images/test_images.h"
#include "tests/harness/containerd_environment.h"
#include "tests/harness/process.h"
#include "tests/harness/raw_cri.h"

namespace kubenode::harness {
namespace {

namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

ino_t netnsInode(pid_t pid) {
  struct stat info {};
  stat(absl::StrCat("/proc/", pid, "/ns/net").c_str(), &info);
  return info.st_ino;
}

bool mountedUnder(const std::string& dir) {
  return absl::StrContains(readFile("/proc/self/mountinfo"), " " + dir + "/");
}

TEST(PrivateContainerdTest, RunsIsolatedInTheTestsNetworkNamespace) {
  PrivateContainerd& containerd = ContainerdEnvironment::containerd();
  ASSERT_TRUE(containerd.running());
  EXPECT_TRUE(absl::StartsWith(containerd.dir(), "/var/tmp/kubenode-test-"));
  EXPECT_EQ(containerd.endpoint(), "unix://" + containerd.dir() + "/containerd.sock");
  // containerd (and so the CNI bridge and pod veths) share our namespace, not PID 1's.
  EXPECT_EQ(netnsInode(containerd.containerdPid()), netnsInode(getpid()));
  // Only our own interfaces are visible: lo, and once pods run, the bridge and veths.
  std::istringstream devices(readFile("/proc/self/net/dev"));
  std::string line;
  std::getline(devices, line);  // Two header lines.
  std::getline(devices, line);
  while (std::getline(devices, line)) {
    const std::string name(absl::StripAsciiWhitespace(line.substr(0, line.find(':'))));
    EXPECT_TRUE(name == "lo" || absl::StartsWith(name, "knb") || absl::StartsWith(name, "veth"))
        << "interface " << name << " belongs to the host's network namespace";
  }

  const std::string config = readFile(containerd.dir() + "/config.toml");
  EXPECT_TRUE(absl::StrContains(config, "restrict_oom_score_adj = true"));
  EXPECT_TRUE(absl::StrContains(config, absl::StrCat("sandbox_image = \"", images::kPauseImage)));
  const std::string conflist = readFile(containerd.dir() + "/cni/net.d/10-kubenode-test.conflist");
  EXPECT_TRUE(absl::StrContains(conflist, containerd.podSubnet()));
  EXPECT_TRUE(absl::StrContains(conflist, containerd.bridgeName()));
}

TEST(PrivateContainerdTest, HasTheTestImagesForCriAndCtr) {
  PrivateContainerd& containerd = ContainerdEnvironment::containerd();
  RawCri cri(containerd.socketPath());
  EXPECT_TRUE(cri.hasImage(images::kPauseImage, absl::Seconds(5)).ok());
  EXPECT_TRUE(cri.hasImage(images::kBusyboxImage, absl::Seconds(5)).ok());
  EXPECT_TRUE(absl::IsNotFound(cri.hasImage("docker.io/library/nothere:1", absl::Seconds(5))));

  absl::StatusOr<std::string> listed = runCommand(
      {"ctr", "--address", containerd.socketPath(), "-n", "k8s.io", "images", "ls", "-q"},
      absl::Seconds(10));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(absl::StrContains(*listed, images::kPauseImage));
  EXPECT_TRUE(absl::StrContains(*listed, images::kBusyboxImage));
}

TEST(PrivateContainerdTest, RestartStartsANewContainerdOnTheSameDirectories) {
  PrivateContainerd& containerd = ContainerdEnvironment::containerd();
  const pid_t before = containerd.containerdPid();
  const std::string dir = containerd.dir();

  ASSERT_TRUE(containerd.kill().ok());
  EXPECT_FALSE(RawCri(containerd.socketPath()).ready(absl::Milliseconds(500)).ok())
      << "containerd answers while killed";
  EXPECT_FALSE(processAlive(before));

  ASSERT_TRUE(containerd.startAgain().ok());
  std::cerr << "[ harness  ] ready again " << containerd.readyDuration() << " after restart\n";
  EXPECT_NE(containerd.containerdPid(), before);
  EXPECT_EQ(containerd.dir(), dir);
  // A new connection (see RawCri: an old one may sit in reconnect back-off for seconds).
  RawCri cri(containerd.socketPath());
  EXPECT_TRUE(cri.ready(absl::Seconds(5)).ok());
  // The images live in root/, which survived.
  EXPECT_TRUE(cri.hasImage(images::kBusyboxImage, absl::Seconds(5)).ok());

  ASSERT_TRUE(containerd.restart().ok());
  EXPECT_TRUE(RawCri(containerd.socketPath()).ready(absl::Seconds(5)).ok());
}

TEST(PrivateContainerdTest, FrozenContainerdDoesNotAnswerUntilThawed) {
  PrivateContainerd& containerd = ContainerdEnvironment::containerd();
  RawCri cri(containerd.socketPath());
  ASSERT_TRUE(cri.ready(absl::Seconds(5)).ok());

  ASSERT_TRUE(containerd.freeze().ok());
  const absl::Time begin = absl::Now();
  absl::Status frozen = cri.ready(absl::Milliseconds(300));
  EXPECT_TRUE(absl::IsDeadlineExceeded(frozen)) << frozen;
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));

  ASSERT_TRUE(containerd.thaw().ok());
  EXPECT_TRUE(cri.ready(absl::Seconds(5)).ok());
}

TEST(PrivateContainerdTest, SecondInstanceGetsItsOwnNetworkAndLeavesNothingBehind) {
  PrivateContainerd& first = ContainerdEnvironment::containerd();
  std::string dir;
  std::string socket;
  {
    PrivateContainerd second;
    absl::Status started = second.start();
    ASSERT_TRUE(started.ok()) << started;
    dir = second.dir();
    socket = second.socketPath();
    EXPECT_NE(dir, first.dir());
    EXPECT_NE(second.podSubnet(), first.podSubnet());
    EXPECT_NE(second.bridgeName(), first.bridgeName());
    EXPECT_FALSE(findProcessesByCmdline(dir).empty());
    absl::Status stopped = second.stop();
    EXPECT_TRUE(stopped.ok()) << stopped;
  }
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(findProcessesByCmdline(dir).empty());
  EXPECT_FALSE(mountedUnder(dir));
  // The first instance is untouched.
  EXPECT_TRUE(RawCri(first.socketPath()).ready(absl::Seconds(5)).ok());
}

TEST(PrivateContainerdTest, LeftoversOfACrashedRunAreRemoved) {
  // A crashed run: its owner is gone, a process still names its directory and something is
  // still mounted in it. It lives in a parent of its own: the test processes ctest runs
  // beside this one clean /var/tmp and would otherwise remove it first.
  std::string parent = "/var/tmp/kubenode-harness-selftest-XXXXXX";
  ASSERT_NE(mkdtemp(parent.data()), nullptr);
  std::string dir = parent + "/kubenode-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const pid_t dead = fork();
  if (dead == 0) {
    _exit(0);
  }
  const unsigned long long dead_start = processStartTime(dead);
  ASSERT_TRUE(waitChild(dead, absl::Seconds(5)));
  {
    std::ofstream owner(dir + "/owner");
    owner << dead << " " << dead_start << "\n";
    std::ofstream config(dir + "/config.toml");
    config << "# stands for a crashed run's containerd config\n";
  }
  absl::StatusOr<pid_t> straggler = startChild({"tail", "-f", dir + "/config.toml"}, "/dev/null");
  ASSERT_TRUE(straggler.ok()) << straggler.status();
  // Until it has exec'd, its command line is ours.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (findProcessesByCmdline(dir + "/config.toml").empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_FALSE(findProcessesByCmdline(dir + "/config.toml").empty());
  fs::create_directories(dir + "/state/mnt");
  ASSERT_EQ(mount("tmpfs", (dir + "/state/mnt").c_str(), "tmpfs", 0, nullptr), 0);
  ASSERT_TRUE(mountedUnder(dir));

  EXPECT_EQ(PrivateContainerd::cleanupStaleRuns(parent), 1);

  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(mountedUnder(dir));
  EXPECT_TRUE(waitChild(*straggler, absl::Seconds(5)));
  fs::remove(parent);
  // The running instance of this process is not a leftover.
  PrivateContainerd::cleanupStaleRuns("/var/tmp");
  EXPECT_TRUE(fs::exists(ContainerdEnvironment::containerd().dir()));
}

TEST(KubenodeTestenvTest, UpStartsAReachableContainerdAndDownRemovesIt) {
  std::string parent = "/var/tmp/kubenode-testenv-selftest-XXXXXX";
  ASSERT_NE(mkdtemp(parent.data()), nullptr);
  const std::string dir = parent + "/env1";
  const std::string netns = "/run/netns/kubenode-env1";

  absl::StatusOr<std::string> up =
      runCommand({KUBENODE_TESTENV_BINARY, "up", "--dir", dir}, absl::Seconds(60));
  ASSERT_TRUE(up.ok()) << up.status();
  // stdout and stderr interleave here: the endpoint is the first line.
  EXPECT_TRUE(absl::StartsWith(*up, "unix://" + dir + "/containerd.sock\n")) << *up;
  EXPECT_TRUE(fs::exists(netns));
  EXPECT_TRUE(RawCri(dir + "/containerd.sock").ready(absl::Seconds(5)).ok());
  EXPECT_TRUE(
      RawCri(dir + "/containerd.sock").hasImage(images::kBusyboxImage, absl::Seconds(5)).ok());

  absl::StatusOr<std::string> twice =
      runCommand({KUBENODE_TESTENV_BINARY, "up", "--dir", dir}, absl::Seconds(60));
  EXPECT_FALSE(twice.ok());
  EXPECT_TRUE(absl::StrContains(twice.status().message(), "is already up")) << twice.status();

  absl::StatusOr<std::string> down =
      runCommand({KUBENODE_TESTENV_BINARY, "down", "--dir", dir}, absl::Seconds(120));
  EXPECT_TRUE(down.ok()) << down.status();
  EXPECT_FALSE(fs::exists(netns));
  EXPECT_TRUE(findProcessesByCmdline(dir + "/").empty());
  EXPECT_FALSE(mountedUnder(dir));
  std::vector<std::string> left;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    left.push_back(entry.path().filename().string());
  }
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"containerd.log", "testenv.log"}));
  fs::remove_all(parent);
}

// True once pid has a handler for signo (/proc/PID/status SigCgt), i.e. pause has set up.
bool catches(pid_t pid, int signo) {
  std::istringstream status(readFile(absl::StrCat("/proc/", pid, "/status")));
  for (std::string line; std::getline(status, line);) {
    if (absl::StartsWith(line, "SigCgt:")) {
      const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return (mask >> (signo - 1)) & 1u;
    }
  }
  return false;
}

class PauseProgramTest : public ::testing::TestWithParam<int> {};

TEST_P(PauseProgramTest, ExitsZeroOnTheStopSignal) {
  absl::StatusOr<pid_t> pause = startChild({images::kPauseBinary}, "/dev/null");
  ASSERT_TRUE(pause.ok()) << pause.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!catches(*pause, GetParam()) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_TRUE(catches(*pause, GetParam())) << "pause installed no handler";
  // Still sleeping after a SIGCHLD-free moment, not exiting on its own.
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(waitpid(*pause, nullptr, WNOHANG), 0) << "pause exited on its own";

  ASSERT_EQ(::kill(*pause, GetParam()), 0);
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(*pause, &status, WNOHANG)) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ASSERT_EQ(done, *pause) << "pause did not exit";
  EXPECT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

INSTANTIATE_TEST_SUITE_P(StopSignals, PauseProgramTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == SIGTERM ? std::string("SIGTERM")
                                                        : std::string("SIGINT");
                         });

}  // namespace
}  // namespace kubenode::harness
