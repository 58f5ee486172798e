// kubenode-testenv: a private containerd for running kubenode by hand, without touching the
// host's containerd or network.
//
//   kubenode-testenv up --dir /var/tmp/kn1     # prints unix:///var/tmp/kn1/containerd.sock
//   kubenode --container-runtime-endpoint unix:///var/tmp/kn1/containerd.sock ...
//   kubenode-testenv down --dir /var/tmp/kn1
//
// `up` creates the network namespace kubenode-<name> (`ip netns add`), starts a background
// process that joins it, takes a private mount namespace and runs a PrivateContainerd
// (tests/harness/private_containerd.h) on DIR with the test images imported, and returns
// once CRI is ready. Pods get addresses on a bridge inside that namespace; reach them with
// `ip netns exec kubenode-<name> ...`. `down` stops it all and deletes the namespace.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/harness/namespaces.h"
#include "tests/harness/private_containerd.h"
#include "tests/harness/process.h"

namespace {

namespace fs = std::filesystem;
using kubenode::harness::PrivateContainerd;
using kubenode::harness::PrivateContainerdOptions;

struct Record {
  pid_t pid = 0;
  unsigned long long start_time = 0;
  std::string netns;
};

std::string recordPath(const std::string& dir) {
  return dir + "/testenv.pid";
}

bool readRecord(const std::string& dir, Record* record) {
  std::ifstream in(recordPath(dir));
  return static_cast<bool>(in >> record->pid >> record->start_time >> record->netns);
}

bool recordAlive(const Record& record) {
  return record.pid > 0 && kubenode::harness::processStartTime(record.pid) == record.start_time;
}

// kubenode-<name>, where name comes from --name or DIR's last component; interface and
// namespace names stay short and plain.
std::string netnsName(const std::string& dir, const std::string& name) {
  std::string base = name.empty() ? fs::path(dir).filename().string() : name;
  std::string clean;
  for (char c : base) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      clean.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (clean.empty()) {
    clean = "env";
  }
  return "kubenode-" + clean.substr(0, 32);
}

// The background process: joins the namespace, runs containerd until SIGTERM/SIGINT.
[[noreturn]] void serve(const std::string& dir, const std::string& netns, int ready_fd) {
  auto report = [ready_fd](const std::string& line) {
    const std::string text = line + "\n";
    (void)!write(ready_fd, text.data(), text.size());
    close(ready_fd);
  };
  setsid();
  const int log_fd = open((dir + "/testenv.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int null_fd = open("/dev/null", O_RDWR);
  dup2(null_fd, STDIN_FILENO);
  dup2(log_fd >= 0 ? log_fd : null_fd, STDOUT_FILENO);
  dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);

  // Block the stop signals before any thread exists, so sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::Status joined = kubenode::harness::enterNamedNetworkNamespace(netns.c_str());
  if (!joined.ok()) {
    report("ERR " + std::string(joined.message()));
    _exit(1);
  }
  PrivateContainerdOptions options;
  options.dir = dir;
  PrivateContainerd containerd(options);
  absl::Status started = containerd.start();
  if (!started.ok()) {
    report("ERR " + std::string(started.message()));
    _exit(1);
  }
  {
    std::ofstream record(recordPath(dir), std::ios::trunc);
    record << getpid() << " " << kubenode::harness::processStartTime(getpid()) << " " << netns
           << "\n";
  }
  report(absl::StrCat("OK ", containerd.endpoint(), " ", containerd.podSubnet()));
  int signo = 0;
  sigwait(&stop_signals, &signo);
  std::cerr << "kubenode-testenv: signal " << signo << ", stopping\n";
  absl::Status stopped = containerd.stop();
  if (!stopped.ok()) {
    std::cerr << "kubenode-testenv: " << stopped.message() << "\n";
  }
  std::error_code ignored;
  fs::remove(recordPath(dir), ignored);
  _exit(stopped.ok() ? 0 : 1);
}

int up(const std::string& dir, const std::string& name) {
  Record record;
  if (readRecord(dir, &record) && recordAlive(record)) {
    std::cerr << "kubenode-testenv up: --dir " << dir << " is already up (pid " << record.pid
              << ", network namespace " << record.netns << "); run `kubenode-testenv down --dir "
              << dir << "` first\n";
    return 1;
  }
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    std::cerr << "kubenode-testenv up: --dir " << dir << ": cannot create: " << error.message()
              << "\n";
    return 1;
  }
  const std::string netns = netnsName(dir, name);
  if (fs::exists("/run/netns/" + netns)) {
    // A leftover of an `up` whose process is gone: start from a fresh namespace.
    (void)kubenode::harness::runCommand({"ip", "netns", "del", netns}, absl::Seconds(10));
  }
  absl::StatusOr<std::string> added =
      kubenode::harness::runCommand({"ip", "netns", "add", netns}, absl::Seconds(10));
  if (!added.ok()) {
    std::cerr << "kubenode-testenv up: " << added.status().message() << "\n";
    return 1;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {  // containerd must not inherit the write end
    std::cerr << "kubenode-testenv up: pipe: " << std::strerror(errno) << "\n";
    return 1;
  }
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    serve(dir, netns, fds[1]);
  }
  close(fds[1]);
  std::string line;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
    line.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (line.rfind("OK ", 0) != 0) {
    std::cerr << "kubenode-testenv up: "
              << (line.empty() ? "the background process died; see " + dir + "/testenv.log"
                               : line.substr(3))
              << "\n";
    (void)kubenode::harness::runCommand({"ip", "netns", "del", netns}, absl::Seconds(10));
    return 1;
  }
  std::istringstream fields(line.substr(3));
  std::string endpoint, subnet;
  fields >> endpoint >> subnet;
  std::cout << endpoint << "\n";
  std::cerr << "kubenode-testenv: containerd runs in network namespace " << netns << " (pods on "
            << subnet << "); stop it with `kubenode-testenv down --dir " << dir << "`\n";
  return 0;
}

int down(const std::string& dir) {
  Record record;
  if (!readRecord(dir, &record)) {
    std::cerr << "kubenode-testenv down: --dir " << dir << " has no " << recordPath(dir)
              << "; was it started with `kubenode-testenv up --dir " << dir << "`?\n";
    return 1;
  }
  if (recordAlive(record)) {
    kill(record.pid, SIGTERM);
    const absl::Time deadline = absl::Now() + absl::Seconds(90);
    while (kubenode::harness::processAlive(record.pid) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (kubenode::harness::processAlive(record.pid)) {
      std::cerr << "kubenode-testenv down: pid " << record.pid
                << " did not stop within 90s; killing it\n";
      kill(record.pid, SIGKILL);
    }
  }
  // Whatever the background process could not remove (it crashed, or was killed above).
  kubenode::harness::teardownDirectory(dir, dir + "/containerd.sock", /*keep_log=*/true);
  if (fs::exists("/run/netns/" + record.netns)) {
    absl::StatusOr<std::string> deleted =
        kubenode::harness::runCommand({"ip", "netns", "del", record.netns}, absl::Seconds(10));
    if (!deleted.ok()) {
      std::cerr << "kubenode-testenv down: " << deleted.status().message() << "\n";
      return 1;
    }
  }
  std::error_code ignored;
  fs::remove(recordPath(dir), ignored);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Private containerd instances for running kubenode by hand"};
  app.require_subcommand(1);
  std::string dir;
  std::string name;
  CLI::App* up_command = app.add_subcommand("up", "start a private containerd; print its endpoint");
  up_command->add_option("--dir", dir, "directory for its root, state, socket and CNI config")
      ->required();
  up_command->add_option("--name", name,
                         "network namespace suffix (kubenode-NAME); default: DIR's last part");
  CLI::App* down_command = app.add_subcommand("down", "stop it and remove what it created");
  down_command->add_option("--dir", dir, "the directory given to up")->required();
  CLI11_PARSE(app, argc, argv);

  if (geteuid() != 0) {
    std::cerr << "kubenode-testenv: must run as root (network namespaces, mounts)\n";
    return 1;
  }
  dir = fs::absolute(dir).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  if (up_command->parsed()) {
    return up(dir, name);
  }
  return down(dir);
}
