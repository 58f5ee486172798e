#include "agent/pod_volumes.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace kubenode::agent {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kEmptyDirPlugin = "kubernetes.io~empty-dir";

std::string errnoText(int err) {
  return std::strerror(err);
}

// A path is a mount point when it sits on another device than its parent.
bool isMountPoint(const fs::path& path) {
  struct stat self {
  }, parent{};
  if (stat(path.c_str(), &self) != 0 || stat(path.parent_path().c_str(), &parent) != 0)
    return false;
  return self.st_dev != parent.st_dev;
}

absl::Status writeFile(const fs::path& path, std::string_view text) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out)
      return absl::InternalError(fmt::format("writing {}: {}", tmp.string(), errnoText(errno)));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::InternalError(fmt::format("renaming {}: {}", tmp.string(), ec.message()));
  return absl::OkStatus();
}

absl::Status checkHostPath(const api::Volume& v, size_t index) {
  const std::string& path = v.hostPath->path;
  const std::string type = v.hostPath->type.value_or("");
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  bool exists = fs::exists(st);
  auto wrong = [&](std::string_view what) {
    return absl::FailedPreconditionError(
        fmt::format("MountVolume.SetUp failed for volume \"{}\" (spec.volumes[{}].hostPath): "
                    "hostPath type check failed: {} is not {}",
                    v.name, index, path, what));
  };
  if (type.empty())
    return absl::OkStatus();
  if (type == "DirectoryOrCreate") {
    if (!exists) {
      fs::create_directories(path, ec);
      if (ec)
        return absl::InternalError(fmt::format("creating hostPath {}: {}", path, ec.message()));
      chmod(path.c_str(), 0755);
      return absl::OkStatus();
    }
    return fs::is_directory(st) ? absl::OkStatus() : wrong("a directory");
  }
  if (type == "FileOrCreate") {
    if (!exists) {
      int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0)
        return absl::InternalError(fmt::format("creating hostPath {}: {}", path, errnoText(errno)));
      close(fd);
      return absl::OkStatus();
    }
    return fs::is_regular_file(st) ? absl::OkStatus() : wrong("a file");
  }
  if (type == "Directory")
    return fs::is_directory(st) ? absl::OkStatus() : wrong("a directory");
  if (type == "File")
    return fs::is_regular_file(st) ? absl::OkStatus() : wrong("a file");
  if (type == "Socket")
    return fs::is_socket(st) ? absl::OkStatus() : wrong("a socket");
  if (type == "CharDevice")
    return fs::is_character_file(st) ? absl::OkStatus() : wrong("a character device");
  if (type == "BlockDevice")
    return fs::is_block_file(st) ? absl::OkStatus() : wrong("a block device");
  return absl::OkStatus();
}

}  // namespace

std::string PodVolumes::podDir(std::string_view uid) const {
  return (fs::path(node_.rootDir) / "pods" / std::string(uid)).string();
}

absl::Status PodVolumes::setUp(const api::Pod& pod) const {
  std::error_code ec;
  fs::path dir = podDir(pod.metadata.uid);
  for (size_t i = 0; i < pod.spec.volumes.size(); ++i) {
    const api::Volume& v = pod.spec.volumes[i];
    if (v.hostPath.has_value()) {
      if (absl::Status s = checkHostPath(v, i); !s.ok())
        return s;
      continue;
    }
    if (!v.emptyDir.has_value())
      continue;
    fs::path path = dir / "volumes" / std::string(kEmptyDirPlugin) / v.name;
    fs::create_directories(path, ec);
    if (ec) {
      return absl::InternalError(
          fmt::format("MountVolume.SetUp failed for volume \"{}\": {}", v.name, ec.message()));
    }
    if (v.emptyDir->medium == "Memory" && !isMountPoint(path)) {
      // The kubelet mounts tmpfs with the size limit, or unbounded (memory-backed volumes
      // then count against the pod's memory limit).
      std::string options = "mode=0777";
      if (v.emptyDir->sizeLimit.has_value() && v.emptyDir->sizeLimit->value() > 0)
        options += fmt::format(",size={}", v.emptyDir->sizeLimit->value());
      if (mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
        return absl::InternalError(
            fmt::format("MountVolume.SetUp failed for volume \"{}\": mount tmpfs on {}: {}", v.name,
                        path.string(), errnoText(errno)));
      }
    }
    // World-writable, as the kubelet makes emptyDirs: any container user may write.
    chmod(path.c_str(), 0777);
  }
  return absl::OkStatus();
}

std::string podHostsFile(const api::Pod& pod, const std::vector<std::string>& podIps) {
  std::string out =
      "# Kubernetes-managed hosts file.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  std::string hostname = pods::podHostname(pod);
  for (const std::string& ip : podIps) {
    if (!pod.spec.subdomain.empty()) {
      out += fmt::format("{}\t{}.{}.{}.svc\t{}\n", ip, hostname, pod.spec.subdomain,
                         pod.metadata.namespace_, hostname);
    } else {
      out += fmt::format("{}\t{}\n", ip, hostname);
    }
  }
  if (!pod.spec.hostAliases.empty()) {
    out += "\n# Entries added by HostAliases.\n";
    for (const api::HostAlias& a : pod.spec.hostAliases) {
      out += a.ip;
      for (const std::string& h : a.hostnames)
        out += "\t" + h;
      out += "\n";
    }
  }
  return out;
}

absl::StatusOr<std::string> PodVolumes::writeEtcHosts(
    const api::Pod& pod, const std::vector<std::string>& podIps) const {
  fs::path dir = podDir(pod.metadata.uid);
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string text;
  if (pod.spec.hostNetwork) {
    std::ifstream in("/etc/hosts");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    if (!pod.spec.hostAliases.empty()) {
      text += "\n# Entries added by HostAliases.\n";
      for (const api::HostAlias& a : pod.spec.hostAliases) {
        text += a.ip;
        for (const std::string& h : a.hostnames)
          text += "\t" + h;
        text += "\n";
      }
    }
  } else {
    text = podHostsFile(pod, podIps);
  }
  fs::path path = dir / "etc-hosts";
  if (absl::Status s = writeFile(path, text); !s.ok())
    return s;
  chmod(path.c_str(), 0644);
  return path.string();
}

absl::StatusOr<std::string> PodVolumes::newTerminationMessageFile(
    const api::Pod& pod, std::string_view containerName) const {
  fs::path dir = fs::path(podDir(pod.metadata.uid)) / "containers" / std::string(containerName);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(fmt::format("creating {}: {}", dir.string(), ec.message()));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  fs::path path = dir / fmt::format("{:08x}", static_cast<uint32_t>(rng()));
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    return absl::InternalError(fmt::format("creating {}: {}", path.string(), errnoText(errno)));
  fchmod(fd, 0666);
  close(fd);
  return path.string();
}

absl::Status PodVolumes::tearDownUid(std::string_view uid) const {
  fs::path dir = podDir(uid);
  std::error_code ec;
  fs::path emptyDirs = dir / "volumes" / std::string(kEmptyDirPlugin);
  if (fs::is_directory(emptyDirs, ec)) {
    for (const fs::directory_entry& e : fs::directory_iterator(emptyDirs, ec)) {
      if (isMountPoint(e.path()) && umount2(e.path().c_str(), MNT_DETACH) != 0) {
        return absl::InternalError(
            fmt::format("unmounting {}: {}", e.path().string(), errnoText(errno)));
      }
    }
  }
  fs::remove_all(dir, ec);
  if (ec)
    return absl::InternalError(fmt::format("removing {}: {}", dir.string(), ec.message()));
  return absl::OkStatus();
}

absl::Status PodVolumes::tearDown(const api::Pod& pod) const {
  absl::Status status = tearDownUid(pod.metadata.uid);
  std::error_code ec;
  fs::remove_all(pods::podLogDirectory(pod, node_), ec);
  if (ec && status.ok())
    status = absl::InternalError(fmt::format("removing the pod's logs: {}", ec.message()));
  return status;
}

std::vector<std::string> PodVolumes::podDirs() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry& e :
       fs::directory_iterator(fs::path(node_.rootDir) / "pods", ec)) {
    if (e.is_directory())
      out.push_back(e.path().filename().string());
  }
  return out;
}

}  // namespace kubenode::agent
