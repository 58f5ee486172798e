#include "tests/harness/namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace kubenode::harness {
namespace {

bool entered = false;
// The network namespace the process started in. PID 1's cannot be used as the reference:
// /proc/1/ns/net may be unreadable even for root (it is on these machines).
ino_t original_netns = 0;

ino_t currentNetns() {
  struct stat info {};
  return stat("/proc/self/ns/net", &info) == 0 ? info.st_ino : 0;
}

absl::Status errnoStatus(const std::string& what) {
  const int err = errno;
  if (err == EPERM) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": operation not permitted (integration tests must run as root)"));
  }
  return absl::FailedPreconditionError(absl::StrCat(what, ": ", std::strerror(err)));
}

absl::Status bringLoopbackUp() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return errnoStatus("socket for lo");
  }
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  absl::Status status;
  if (ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
    status = errnoStatus("SIOCGIFFLAGS lo");
  } else {
    request.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) {
      status = errnoStatus("SIOCSIFFLAGS lo up");
    }
  }
  close(fd);
  return status;
}

// Mount namespace part shared by both entry points.
absl::Status privatizeMounts() {
  if (unshare(CLONE_NEWNS) != 0) {
    return errnoStatus("unshare(CLONE_NEWNS)");
  }
  // The host's / is usually a shared mount: without this every mount below would show up
  // on the host too.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return errnoStatus("mount --make-rprivate /");
  }
  // containerd 1.6 puts shim sockets under /run/containerd/s whatever its config says, and
  // libcni caches results under /var/lib/cni: give both a tmpfs that dies with us. The
  // mountpoints are created on the host if missing (empty directories, nothing else).
  for (const char* path : {"/run/containerd", "/var/lib/cni"}) {
    std::error_code ignored;
    std::filesystem::create_directories(path, ignored);
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0711") != 0) {
      return errnoStatus(absl::StrCat("mount tmpfs on ", path));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status enterPrivateNamespaces() {
  if (entered) {
    return absl::OkStatus();
  }
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(
        "integration tests must run as root (they start containerd in a private network "
        "namespace)");
  }
  original_netns = currentNetns();
  if (unshare(CLONE_NEWNET) != 0) {
    return errnoStatus("unshare(CLONE_NEWNET)");
  }
  if (absl::Status status = privatizeMounts(); !status.ok()) {
    return status;
  }
  if (absl::Status status = bringLoopbackUp(); !status.ok()) {
    return status;
  }
  entered = true;
  return absl::OkStatus();
}

absl::Status enterNamedNetworkNamespace(const char* name) {
  original_netns = currentNetns();
  const std::string path = absl::StrCat("/run/netns/", name);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errnoStatus(absl::StrCat("open ", path));
  }
  const int rc = setns(fd, CLONE_NEWNET);
  close(fd);
  if (rc != 0) {
    return errnoStatus(absl::StrCat("setns ", path));
  }
  if (absl::Status status = privatizeMounts(); !status.ok()) {
    return status;
  }
  if (absl::Status status = bringLoopbackUp(); !status.ok()) {
    return status;
  }
  entered = true;
  return absl::OkStatus();
}

bool inPrivateNetworkNamespace() {
  return entered && original_netns != 0 && currentNetns() != original_netns;
}

}  // namespace kubenode::harness
