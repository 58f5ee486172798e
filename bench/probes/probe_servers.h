// ProbeServers: the targets of kubenode-probes-bench. N tcp listeners and N tiny HTTP/1.1
// servers, all served by one forked child process on one epoll loop, so that their CPU is
// theirs and not counted as the prober's. The listeners are bound to INADDR_ANY in the
// benchmark's private network namespace, so every 127.x.y.z address of `lo` reaches them
// (the benchmark gives kubenode and the floor different addresses to tell their sockets
// apart in /proc/net/tcp).
//
//   absl::StatusOr<std::unique_ptr<ProbeServers>> servers = ProbeServers::start({});
//   (*servers)->tcpPort(3);   // accepts and closes
//   (*servers)->httpPort(3);  // reads a request, answers "200 OK" with body "ok", closes
//   (*servers)->pid();        // for its CPU from /proc/PID/stat
//   // destruction: SIGKILL and reap the child
//
// Thread-safety: start() forks; call it while the process has no other thread that holds a
// lock the child could need (the child only makes system calls and never returns).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace kubenode::bench {

struct ProbeServersOptions {
  int listeners = 20;  // of each kind
  uint16_t tcpBasePort = 20000;
  uint16_t httpBasePort = 21000;
};

class ProbeServers {
 public:
  // Binds and listens in the caller (so a busy port is reported here, naming it), then forks
  // the child that serves them. kFailedPrecondition naming the port that cannot be bound.
  static absl::StatusOr<std::unique_ptr<ProbeServers>> start(const ProbeServersOptions& options);
  ~ProbeServers();
  ProbeServers(const ProbeServers&) = delete;
  ProbeServers& operator=(const ProbeServers&) = delete;

  int listeners() const { return static_cast<int>(tcpPorts_.size()); }
  uint16_t tcpPort(int i) const { return tcpPorts_[i % tcpPorts_.size()]; }
  uint16_t httpPort(int i) const { return httpPorts_[i % httpPorts_.size()]; }
  bool isServerPort(uint16_t port) const;
  pid_t pid() const { return pid_; }

 private:
  ProbeServers() = default;

  std::vector<uint16_t> tcpPorts_;
  std::vector<uint16_t> httpPorts_;
  pid_t pid_ = -1;
};

}  // namespace kubenode::bench
