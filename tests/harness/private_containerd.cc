#include "tests/harness/private_containerd.h"

#include <ftw.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "images/test_images.h"
#include "tests/harness/namespaces.h"
#include "tests/harness/process.h"
#include "tests/harness/raw_cri.h"

namespace kubenode::harness {
namespace {

namespace fs = std::filesystem;

constexpr char kTempParent[] = "/var/tmp";
constexpr char kTempName[] = "kubenode-test-";
// sockaddr_un.sun_path holds 108 bytes; the ttrpc socket has the longest name.
constexpr size_t kMaxSocketPath = 107;

std::atomic<int> instance_counter{0};

absl::Status writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string lastLines(const std::string& text, size_t count) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
    absl::StrAppend(&out, "\n  ", lines[i]);
  }
  return out;
}

// Mount points under dir in this mount namespace, deepest first. /proc/self/mountinfo
// escapes spaces and the like as \ooo.
std::vector<std::string> mountsUnder(const std::string& dir) {
  std::vector<std::string> mounts;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  const std::string prefix = dir + "/";
  while (std::getline(mountinfo, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) {
      continue;
    }
    std::string point;
    const std::string& raw = fields[4];
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        point.push_back(static_cast<char>(std::strtol(raw.substr(i + 1, 3).c_str(), nullptr, 8)));
        i += 3;
      } else {
        point.push_back(raw[i]);
      }
    }
    if (point == dir || absl::StartsWith(point, prefix)) {
      mounts.push_back(point);
    }
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return mounts;
}

void unmountAllUnder(const std::string& dir) {
  // Stacked mounts need several rounds; a bound keeps a stubborn one from looping forever.
  for (int round = 0; round < 10; ++round) {
    std::vector<std::string> mounts = mountsUnder(dir);
    if (mounts.empty()) {
      return;
    }
    for (const std::string& point : mounts) {
      if (umount2(point.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
        std::cerr << "kubenode harness: umount " << point << ": " << std::strerror(errno) << "\n";
      }
    }
  }
}

// Removes a tree without ever leaving its file system (FTW_MOUNT): if an unmount failed,
// what is mounted there stays untouched.
int removeEntry(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_DP) {
    rmdir(path);
  } else {
    unlink(path);
  }
  return 0;
}

void removeTree(const std::string& path) {
  nftw(path.c_str(), removeEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void deleteRuncContainers(const std::string& dir) {
  std::error_code error;
  // The runc shim keeps its state in <Root>/<containerd namespace>.
  for (const fs::directory_entry& ns : fs::directory_iterator(dir + "/runc", error)) {
    absl::StatusOr<std::string> ids =
        runCommand({"runc", "--root", ns.path().string(), "list", "-q"}, absl::Seconds(10));
    if (!ids.ok()) {
      continue;
    }
    for (absl::string_view id : absl::StrSplit(*ids, '\n', absl::SkipWhitespace())) {
      absl::StatusOr<std::string> deleted =
          runCommand({"runc", "--root", ns.path().string(), "delete", "--force", std::string(id)},
                     absl::Seconds(10));
      if (!deleted.ok()) {
        std::cerr << "kubenode harness: " << deleted.status().message() << "\n";
      }
    }
  }
}

}  // namespace

std::vector<TestImage> defaultImages() {
  return {{images::kPauseImage, images::kPauseImageTar},
          {images::kBusyboxImage, images::kBusyboxImageTar}};
}

std::string defaultSandboxImage() {
  return images::kPauseImage;
}

void teardownDirectory(const std::string& dir, const std::string& socket_path, bool keep_log) {
  // containerd first, so it does not react to its shims going away.
  for (pid_t pid : findProcessesByCmdline(dir + "/config.toml")) {
    terminateProcess(pid, absl::Seconds(5));
  }
  // Then the containers: killing a shim would leave its container's processes running,
  // re-parented; runc kills every process in the container's cgroup and removes it.
  deleteRuncContainers(dir);
  // Shims daemonize (they are nobody's child here); they carry containerd's address.
  for (pid_t pid : findProcessesByCmdline(socket_path)) {
    kill(pid, SIGKILL);
  }
  for (pid_t pid : findProcessesByCmdline(socket_path)) {
    terminateProcess(pid, absl::Seconds(5));
  }
  unmountAllUnder(dir);
  if (!keep_log) {
    removeTree(dir);
    return;
  }
  // A directory the user chose may hold other things: remove only what an instance makes.
  for (const char* entry : {"owner", "config.toml", "containerd.sock", "containerd.sock.ttrpc",
                            "root", "state", "runc", "opt", "cni", "pods", "testenv.pid"}) {
    removeTree(absl::StrCat(dir, "/", entry));
  }
}

int PrivateContainerd::cleanupStaleRuns(const std::string& parent) {
  int removed = 0;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(parent, error)) {
    const std::string path = entry.path().string();
    if (!absl::StartsWith(entry.path().filename().string(), kTempName) || !entry.is_directory()) {
      continue;
    }
    std::istringstream owner(readFile(path + "/owner"));
    pid_t pid = 0;
    unsigned long long start_time = 0;
    if (owner >> pid >> start_time) {
      if (processStartTime(pid) == start_time) {
        continue;  // Its test is still running.
      }
    } else {
      // No owner yet: the directory may have been created a moment ago by a test that is
      // about to write it. Only an old one is stale.
      struct stat info {};
      if (stat(path.c_str(), &info) != 0 || time(nullptr) - info.st_mtime < 60) {
        continue;
      }
    }
    std::cerr << "kubenode harness: removing leftovers of an earlier run in " << path << "\n";
    teardownDirectory(path, path + "/containerd.sock", /*keep_log=*/false);
    ++removed;
  }
  return removed;
}

PrivateContainerd::PrivateContainerd(PrivateContainerdOptions options)
    : options_(std::move(options)) {
  const int n = static_cast<int>(
      (static_cast<unsigned>(getpid()) * 4u + static_cast<unsigned>(instance_counter++)) %
      (64u * 256u));
  // 10.128.0.0/10 carved into /24s: distinct per process and per instance, so two test
  // processes (ctest -j2) never share a subnet even if they shared a network.
  pod_subnet_ = absl::StrFormat("10.%d.%d.0/24", 128 + n / 256, n % 256);
  gateway_ = absl::StrFormat("10.%d.%d.1", 128 + n / 256, n % 256);
  bridge_ = absl::StrFormat("knb%04x", n);
}

PrivateContainerd::~PrivateContainerd() {
  absl::Status status = stop();
  if (!status.ok()) {
    std::cerr << "kubenode harness: " << status.message() << "\n";
  }
}

absl::Status PrivateContainerd::withLogHint(absl::Status status) const {
  return absl::Status(status.code(), absl::StrCat(status.message(), "; last lines of ", logPath(),
                                                  ":", lastLines(readFile(logPath()), 15)));
}

absl::Status PrivateContainerd::prepareDirectory() {
  if (options_.dir.empty()) {
    std::string templ = absl::StrCat(kTempParent, "/", kTempName, "XXXXXX");
    if (mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
    }
    dir_ = templ;
    own_dir_ = true;
  } else {
    dir_ = fs::absolute(options_.dir).lexically_normal().string();
    while (dir_.size() > 1 && dir_.back() == '/') {
      dir_.pop_back();
    }
    own_dir_ = false;
  }
  if (socketPath().size() + std::strlen(".ttrpc") > kMaxSocketPath) {
    return absl::InvalidArgumentError(absl::StrCat(
        "directory ", dir_, " is too long: its socket path must stay under 108 bytes"));
  }
  std::error_code error;
  for (const char* sub : {"root", "state", "runc", "opt", "cni/net.d", "cni/ipam"}) {
    fs::create_directories(absl::StrCat(dir_, "/", sub), error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", dir_, "/", sub, ": ", error.message()));
    }
  }
  return writeFile(dir_ + "/owner", absl::StrCat(getpid(), " ", processStartTime(getpid()), "\n"));
}

absl::Status PrivateContainerd::writeConfig() {
  // Disabled plugins: snapshotters this host lacks, each probed and logged at start.
  const std::string config = absl::StrFormat(R"(# Written by kubenode's test harness.
version = 2
root = "%1$s/root"
state = "%1$s/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "%1$s/containerd.sock"
[ttrpc]
  address = "%1$s/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "%1$s/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%2$s"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Lowering oom_score_adj is refused on these machines.
  restrict_oom_score_adj = true
  # Pod network namespaces under state/, not the host's /var/run/netns.
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # runc's state beside ours, so a crashed run's containers can be found and deleted.
        Root = "%1$s/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "%1$s/cni/net.d"
    max_conf_num = 1
)",
                                             dir_, options_.sandbox_image);
  // portmap (hostPort) programs iptables (Debian's is iptables-nft) in the test process's
  // own network namespace, where containerd and its CNI plugins run: never the host's
  // tables. Without portMappings in a sandbox's config it does nothing. ipMasq stays off:
  // the test reaches pods from the bridge's gateway side, nothing leaves the namespace.
  const std::string conflist = absl::StrFormat(R"({
  "cniVersion": "1.0.0",
  "name": "kubenode-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "%s",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "%s/cni/ipam",
        "ranges": [[{"subnet": "%s", "gateway": "%s"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
)",
                                               bridge_, dir_, pod_subnet_, gateway_);
  if (absl::Status status = writeFile(dir_ + "/config.toml", config); !status.ok()) {
    return status;
  }
  return writeFile(dir_ + "/cni/net.d/10-kubenode-test.conflist", conflist);
}

absl::Status PrivateContainerd::launch() {
  absl::StatusOr<pid_t> pid =
      startChild({"containerd", "--config", dir_ + "/config.toml"}, logPath());
  if (!pid.ok()) {
    return pid.status();
  }
  pid_ = *pid;
  return absl::OkStatus();
}

absl::Status PrivateContainerd::waitReady() {
  const absl::Time begin = absl::Now();
  const absl::Time deadline = begin + options_.ready_timeout;
  absl::Status last = absl::UnavailableError("the socket does not exist yet");
  while (absl::Now() < deadline) {
    if (waitChild(pid_, absl::ZeroDuration())) {
      pid_ = -1;
      return withLogHint(absl::UnavailableError("containerd exited while starting"));
    }
    if (access(socketPath().c_str(), F_OK) == 0) {
      // A fresh channel each time: one that saw the socket refuse (a stale socket file, or
      // containerd not listening yet) stays in reconnect back-off for seconds.
      last = RawCri(socketPath()).ready(absl::Seconds(1));
      if (last.ok()) {
        ready_duration_ = absl::Now() - begin;
        return absl::OkStatus();
      }
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return withLogHint(absl::DeadlineExceededError(
      absl::StrCat("containerd at ", socketPath(), " not ready after ",
                   absl::FormatDuration(options_.ready_timeout), ": ", last.message())));
}

absl::Status PrivateContainerd::importImages() {
  const absl::Time begin = absl::Now();
  for (const TestImage& image : options_.images) {
    if (access(image.tar.c_str(), R_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "test image ", image.tar, " is missing: build the kubenode_images target first"));
    }
    absl::StatusOr<std::string> imported = runCommand(
        {"ctr", "--address", socketPath(), "-n", "k8s.io", "images", "import", image.tar},
        absl::Seconds(60));
    if (!imported.ok()) {
      return withLogHint(imported.status());
    }
  }
  // CRI learns about imported images from containerd's events: wait until it has.
  RawCri cri(socketPath());
  for (const TestImage& image : options_.images) {
    absl::Status known;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!(known = cri.hasImage(image.name, absl::Seconds(2))).ok() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (!known.ok()) {
      return withLogHint(known);
    }
  }
  import_duration_ = absl::Now() - begin;
  return absl::OkStatus();
}

absl::Status PrivateContainerd::start() {
  if (started_) {
    return absl::FailedPreconditionError("PrivateContainerd::start: already started");
  }
  if (!inPrivateNetworkNamespace()) {
    return absl::FailedPreconditionError(
        "PrivateContainerd::start: this process is in the host's network namespace; call "
        "kubenode::harness::enterPrivateNamespaces() first thing in main() (the CNI bridge "
        "and pod interfaces must not land on the host)");
  }
  cleanupStaleRuns();
  started_ = true;  // From here on, stop() has something to clean up.
  absl::Status status = prepareDirectory();
  if (status.ok()) {
    status = writeConfig();
  }
  if (status.ok()) {
    status = launch();
  }
  if (status.ok()) {
    status = waitReady();
  }
  if (status.ok()) {
    status = importImages();
  }
  if (!status.ok()) {
    absl::Status stopped = stop();
    (void)stopped;
    return absl::Status(status.code(),
                        absl::StrCat("starting a private containerd: ", status.message()));
  }
  return absl::OkStatus();
}

void PrivateContainerd::removeAllSandboxes() {
  if (pid_ <= 0) {
    return;
  }
  RawCri cri(socketPath());
  absl::StatusOr<std::vector<std::string>> ids = cri.listSandboxIds(absl::Seconds(5));
  if (!ids.ok()) {
    std::cerr << "kubenode harness: " << ids.status().message() << "\n";
    return;
  }
  for (const std::string& id : *ids) {
    absl::Status status = cri.stopSandbox(id, absl::Seconds(30));
    if (status.ok()) {
      status = cri.removeSandbox(id, absl::Seconds(30));
    }
    if (!status.ok()) {
      std::cerr << "kubenode harness: " << status.message() << "\n";
    }
  }
}

absl::Status PrivateContainerd::stop() {
  if (!started_) {
    return absl::OkStatus();
  }
  if (frozen_) {
    (void)thaw();
  }
  // Through CRI first, so that CNI DEL runs and the sandboxes end as a kubelet would end
  // them; what is left after that is torn down by force.
  removeAllSandboxes();
  if (pid_ > 0) {
    terminateProcess(pid_, absl::Seconds(5));
    pid_ = -1;
  }
  if (!dir_.empty()) {
    teardownDirectory(dir_, socketPath(), /*keep_log=*/!own_dir_);
  }
  started_ = false;
  if (own_dir_ && access(dir_.c_str(), F_OK) == 0) {
    return absl::InternalError(absl::StrCat("could not remove ", dir_, " completely"));
  }
  return absl::OkStatus();
}

absl::Status PrivateContainerd::kill() {
  if (pid_ <= 0) {
    return absl::FailedPreconditionError("PrivateContainerd::kill: containerd is not running");
  }
  ::kill(pid_, SIGKILL);
  waitChild(pid_, absl::Seconds(10));
  pid_ = -1;
  frozen_ = false;
  return absl::OkStatus();
}

absl::Status PrivateContainerd::startAgain() {
  if (!started_ || pid_ > 0) {
    return absl::FailedPreconditionError(
        "PrivateContainerd::startAgain: needs a started instance whose containerd was killed");
  }
  absl::Status status = launch();
  if (status.ok()) {
    status = waitReady();
  }
  return status;
}

absl::Status PrivateContainerd::restart() {
  if (absl::Status status = kill(); !status.ok()) {
    return status;
  }
  return startAgain();
}

namespace {

// True if every thread of pid is stopped (state 'T'), or if none is.
bool allThreadsStopped(pid_t pid, bool stopped) {
  std::error_code error;
  for (const fs::directory_entry& task :
       fs::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    std::ifstream stat(task.path().string() + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) {
      continue;  // The thread just ended.
    }
    if ((line[paren + 2] == 'T') != stopped) {
      return false;
    }
  }
  return !error;
}

// kill() returns before the signal has taken effect on every thread; a request arriving in
// between would still be answered. Wait until the kernel reports them all (not) stopped.
bool waitStopped(pid_t pid, bool stopped) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!allThreadsStopped(pid, stopped)) {
    if (absl::Now() >= deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

}  // namespace

absl::Status PrivateContainerd::freeze() {
  if (pid_ <= 0 || ::kill(pid_, SIGSTOP) != 0) {
    return absl::FailedPreconditionError("PrivateContainerd::freeze: containerd is not running");
  }
  frozen_ = true;
  if (!waitStopped(pid_, true)) {
    return absl::InternalError("PrivateContainerd::freeze: containerd did not stop within 5s");
  }
  return absl::OkStatus();
}

absl::Status PrivateContainerd::thaw() {
  if (pid_ <= 0 || ::kill(pid_, SIGCONT) != 0) {
    return absl::FailedPreconditionError("PrivateContainerd::thaw: containerd is not running");
  }
  frozen_ = false;
  if (!waitStopped(pid_, false)) {
    return absl::InternalError("PrivateContainerd::thaw: containerd did not resume within 5s");
  }
  return absl::OkStatus();
}

}  // namespace kubenode::harness
