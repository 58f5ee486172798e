// PrivateContainerd: one containerd 1.6 of a test's own, with its own root, state, socket,
// CNI configuration and IPAM data under one directory, the project's test images imported,
// and everything it started torn down again however the test ends.
//
//   kubenode::harness::PrivateContainerd containerd;
//   ASSERT_TRUE(containerd.start().ok());                 // ready: CRI Status answers
//   auto client = makeClient(containerd.endpoint());     //
//   "unix:///var/tmp/kubenode-test-.../containerd.sock"
//   ...
//   ASSERT_TRUE(containerd.restart().ok());               // containerd killed and started again;
//   pods survive
//   // ~PrivateContainerd (or stop()): pods removed, containerd and its shims killed,
//   // mounts undone, directory removed.
//
// The process must have called enterPrivateNamespaces() (tests/harness/namespaces.h) first:
// start() refuses to run containerd in the host's network namespace, because the CNI bridge
// and the pods' interfaces would land there.
//
// Layout of dir() (see tests/harness/README.md): config.toml, containerd.sock(.ttrpc),
// containerd.log, owner (pid and start time of the owning process), root/, state/ (pod
// network namespaces are mounted under state/io.containerd.grpc.v1.cri/netns/), runc/ (runc's
// state), opt/, cni/net.d/ (one bridge conflist), cni/ipam/ (host-local leases).
//
// Thread-safety: not thread-safe; one thread owns an instance (the gtest main thread). The
// thread that calls start() or restart() must outlive containerd (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kubenode::harness {

// One image to import: its name (as CRI reports it) and its OCI tarball.
struct TestImage {
  std::string name;
  std::string tar;
};

// The project's pause and busybox images, built by images/.
std::vector<TestImage> defaultImages();
// The project's pause image.
std::string defaultSandboxImage();

struct PrivateContainerdOptions {
  // Where everything lives. Empty: a fresh /var/tmp/kubenode-test-XXXXXX, removed by stop().
  // Set: this directory (created if missing); stop() removes what start() made in it
  // (config, sockets, root/, state/, runc/, opt/, cni/, pods/) and keeps the *.log files
  // and anything else that was there.
  std::string dir;
  // Imported into the k8s.io namespace by start(). Default: pause and busybox
  // (images/test_images.h).
  std::vector<TestImage> images = defaultImages();
  // CRI's sandbox_image. Default: the project's pause image.
  std::string sandbox_image = defaultSandboxImage();
  // How long start() waits for the socket and for CRI Status to report ready.
  absl::Duration ready_timeout = absl::Seconds(30);
};

class PrivateContainerd {
 public:
  explicit PrivateContainerd(PrivateContainerdOptions options = {});
  ~PrivateContainerd();
  PrivateContainerd(const PrivateContainerd&) = delete;
  PrivateContainerd& operator=(const PrivateContainerd&) = delete;

  // Creates the directory and config, removes leftovers of crashed earlier runs, starts
  // containerd, waits until CRI Status reports RuntimeReady and NetworkReady, imports the
  // images. On failure everything started so far is torn down and the message names the
  // step and points at containerd.log.
  absl::Status start();

  // Removes every sandbox through CRI (so CNI releases addresses), stops containerd, deletes
  // leftover runc containers, kills the shims, unmounts everything under dir() and removes
  // what start() created. Safe to call twice and after a failed start().
  absl::Status stop();

  // Kills containerd only (SIGKILL, as a crash would), keeping shims and pods, and starts it
  // again on the same directories; returns when CRI is ready again.
  absl::Status restart();
  // Kills containerd only and does not start it again (until startAgain()).
  absl::Status kill();
  // Starts containerd again after kill(), waits until ready.
  absl::Status startAgain();

  // SIGSTOP / SIGCONT containerd: it stops answering but keeps its connections.
  absl::Status freeze();
  absl::Status thaw();

  const std::string& dir() const { return dir_; }
  std::string socketPath() const { return dir_ + "/containerd.sock"; }
  std::string endpoint() const { return "unix://" + socketPath(); }
  std::string rootDir() const { return dir_ + "/root"; }
  std::string stateDir() const { return dir_ + "/state"; }
  std::string logPath() const { return dir_ + "/containerd.log"; }
  // The bridge network's subnet, e.g. "10.142.17.0/24"; the bridge itself is .1.
  const std::string& podSubnet() const { return pod_subnet_; }
  const std::string& gatewayAddress() const { return gateway_; }
  const std::string& bridgeName() const { return bridge_; }
  pid_t containerdPid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // How long the last start() took until ready, and the image import after it.
  absl::Duration readyDuration() const { return ready_duration_; }
  absl::Duration importDuration() const { return import_duration_; }

  // Removes <parent>/kubenode-test-* directories whose owning process is gone, with what
  // runs or is mounted there. Returns how many it removed. start() calls it on /var/tmp.
  static int cleanupStaleRuns(const std::string& parent = "/var/tmp");

 private:
  absl::Status prepareDirectory();
  absl::Status writeConfig();
  absl::Status launch();
  absl::Status waitReady();
  absl::Status importImages();
  void removeAllSandboxes();
  absl::Status withLogHint(absl::Status status) const;

  PrivateContainerdOptions options_;
  std::string dir_;
  bool own_dir_ = false;
  bool started_ = false;
  std::string pod_subnet_;
  std::string gateway_;
  std::string bridge_;
  pid_t pid_ = -1;
  bool frozen_ = false;
  absl::Duration ready_duration_;
  absl::Duration import_duration_;
};

// Tears down everything a run rooted at `dir` may have left: processes whose command line
// names it, runc containers in dir/runc, mounts under it, then the directory itself
// (keep_log: only what an instance creates there, keeping the logs). Used by stop() and
// cleanupStaleRuns().
void teardownDirectory(const std::string& dir, const std::string& socket_path, bool keep_log);

}  // namespace kubenode::harness
