#include "bench/probes/probe_servers.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace kubenode::bench {

namespace {

// What every HTTP server answers, whatever the request: a small body and the end of the
// connection, as a minimal health endpoint does.
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    "Connection: close\r\n\r\nok";

enum Kind : uint32_t { kTcpListener = 1, kHttpListener = 2, kHttpConnection = 3 };

uint64_t tag(Kind kind, int fd) {
  return (static_cast<uint64_t>(kind) << 32) | static_cast<uint32_t>(fd);
}

// One HTTP connection's request bytes until the blank line; indexed by fd so that serving
// allocates nothing per connection.
struct Connection {
  char buffer[2048];
  size_t length = 0;
};

void closeConnection(std::vector<Connection>& connections, int fd) {
  connections[fd].length = 0;
  close(fd);  // also leaves the epoll set
}

// Reads what the client sent; answers once the request's head is complete.
void onReadable(std::vector<Connection>& connections, int fd) {
  Connection& c = connections[fd];
  for (;;) {
    ssize_t n = recv(fd, c.buffer + c.length, sizeof(c.buffer) - c.length, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;  // wait for more
    if (n <= 0) {
      closeConnection(connections, fd);
      return;
    }
    c.length += static_cast<size_t>(n);
    if (std::string_view(c.buffer, c.length).find("\r\n\r\n") != std::string_view::npos) {
      // A few dozen bytes into an empty socket buffer: one send is enough.
      (void)send(fd, kResponse.data(), kResponse.size(), MSG_NOSIGNAL);
      closeConnection(connections, fd);
      return;
    }
    if (c.length == sizeof(c.buffer)) {  // no request of ours is that long
      closeConnection(connections, fd);
      return;
    }
  }
}

[[noreturn]] void serve(int epoll) {
  std::vector<Connection> connections(4096);
  epoll_event events[512];
  for (;;) {
    int n = epoll_wait(epoll, events, 512, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      _exit(1);
    }
    for (int i = 0; i < n; ++i) {
      const Kind kind = static_cast<Kind>(events[i].data.u64 >> 32);
      const int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
      if (kind == kHttpConnection) {
        onReadable(connections, fd);
        continue;
      }
      // A listener: accept everything pending.
      for (;;) {
        int conn = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn < 0)
          break;  // EAGAIN, or an aborted connection: nothing more now
        if (kind == kTcpListener) {
          close(conn);  // a tcp probe only needs the handshake
          continue;
        }
        if (static_cast<size_t>(conn) >= connections.size())
          connections.resize(static_cast<size_t>(conn) * 2);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag(kHttpConnection, conn);
        if (epoll_ctl(epoll, EPOLL_CTL_ADD, conn, &ev) != 0) {
          close(conn);
          continue;
        }
        // The request usually arrived with the handshake: answer without another wake-up.
        onReadable(connections, conn);
      }
    }
  }
}

absl::StatusOr<int> listenOn(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return absl::InternalError(fmt::format("socket: {}", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
    const int err = errno;
    close(fd);
    return absl::FailedPreconditionError(
        fmt::format("probe target server: cannot listen on port {}: {}", port, strerror(err)));
  }
  return fd;
}

}  // namespace

bool ProbeServers::isServerPort(uint16_t port) const {
  return std::find(tcpPorts_.begin(), tcpPorts_.end(), port) != tcpPorts_.end() ||
         std::find(httpPorts_.begin(), httpPorts_.end(), port) != httpPorts_.end();
}

absl::StatusOr<std::unique_ptr<ProbeServers>> ProbeServers::start(
    const ProbeServersOptions& options) {
  std::unique_ptr<ProbeServers> servers(new ProbeServers());
  std::vector<int> fds;
  auto closeAll = [&fds] {
    for (int fd : fds)
      close(fd);
  };
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0)
    return absl::InternalError(fmt::format("epoll_create1: {}", strerror(errno)));
  for (int i = 0; i < options.listeners; ++i) {
    for (Kind kind : {kTcpListener, kHttpListener}) {
      const uint16_t port = static_cast<uint16_t>(
          (kind == kTcpListener ? options.tcpBasePort : options.httpBasePort) + i);
      absl::StatusOr<int> fd = listenOn(port);
      if (!fd.ok()) {
        closeAll();
        close(epoll);
        return fd.status();
      }
      fds.push_back(*fd);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = tag(kind, *fd);
      epoll_ctl(epoll, EPOLL_CTL_ADD, *fd, &ev);
      (kind == kTcpListener ? servers->tcpPorts_ : servers->httpPorts_).push_back(port);
    }
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    closeAll();
    close(epoll);
    return absl::InternalError(fmt::format("fork: {}", strerror(errno)));
  }
  if (pid == 0) {
    // Dies with the benchmark, however it ends.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(0);
    prctl(PR_SET_NAME, "probe-targets");
    serve(epoll);
  }
  // The child has its own copies; the parent only needs the pid.
  closeAll();
  close(epoll);
  servers->pid_ = pid;
  return servers;
}

ProbeServers::~ProbeServers() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

}  // namespace kubenode::bench
