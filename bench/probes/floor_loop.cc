#include "bench/probes/floor_loop.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace kubenode::bench {

namespace {

constexpr uint64_t kTimerTag = ~uint64_t{0};
constexpr uint64_t kWakeTag = ~uint64_t{0} - 1;
constexpr int64_t kSweepNs = 50'000'000;  // how often timed-out probes are looked for

int64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

absl::Status errnoStatus(const char* what) {
  return absl::InternalError(fmt::format("floor loop: {}: {}", what, strerror(errno)));
}

// Response bytes beyond the status line are read and dropped here.
char scratch[16384];

}  // namespace

struct FloorLoop::Slot {
  sockaddr_in addr{};
  bool http = false;
  std::string request{};  // the whole GET, built once
  int64_t phase = 0;      // offset of its probes within the period, ns
  int fd = -1;            // >= 0 while a probe is in flight
  int64_t deadline = 0;
  bool connected = false;
  bool counted = false;  // started while recording: its outcome counts too
  size_t length = 0;
  char head[32];  // the start of the response: "HTTP/1.1 200 OK"
};

FloorLoop::FloorLoop(FloorOptions options) : options_(std::move(options)) {
  std::mt19937_64 random(options_.seed);
  const int64_t period = absl::ToInt64Nanoseconds(options_.period);
  std::uniform_int_distribution<int64_t> phase(0, period - 1);
  slots_.resize(options_.targets.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const FloorTarget& t = options_.targets[i];
    Slot& s = slots_[i];
    s.addr.sin_family = AF_INET;
    s.addr.sin_port = htons(t.port);
    inet_pton(AF_INET, t.ip.c_str(), &s.addr.sin_addr);
    s.http = t.http;
    // The bytes NetworkProber sends for an httpGet probe with no headers of its own.
    s.request = fmt::format(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: kube-probe/1.32\r\nAccept: "
        "*/*\r\nConnection: close\r\n\r\n",
        options_.path, t.ip, t.port);
    s.phase = phase(random);
    order_.push_back(static_cast<uint32_t>(i));
  }
  std::sort(order_.begin(), order_.end(),
            [this](uint32_t a, uint32_t b) { return slots_[a].phase < slots_[b].phase; });
  lateness_.reserve(slots_.size() * 64);
  wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

FloorLoop::~FloorLoop() {
  for (Slot& s : slots_)
    if (s.fd >= 0)
      close(s.fd);
  for (int fd : {epoll_, timer_, wake_})
    if (fd >= 0)
      close(fd);
}

FloorStats FloorLoop::stats() const {
  return {started_.load(), succeeded_.load(), failed_.load(), skipped_.load()};
}

void FloorLoop::stop() {
  const uint64_t one = 1;
  if (wake_ >= 0)
    (void)!write(wake_, &one, sizeof(one));
}

absl::Status FloorLoop::run() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_ < 0 || timer_ < 0 || wake_ < 0)
    return errnoStatus("epoll_create1/timerfd_create/eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerTag;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, timer_, &ev);
  ev.data.u64 = kWakeTag;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);

  const int64_t period = absl::ToInt64Nanoseconds(options_.period);
  const int64_t grid = absl::ToInt64Nanoseconds(options_.grid);
  int64_t cycle = monotonicNs();
  size_t cursor = 0;
  int64_t lastSweep = cycle;
  int64_t armed = -1;
  epoll_event events[256];
  for (;;) {
    const int64_t now = monotonicNs();
    // Every probe that is due: start it, unless its previous one is still in flight.
    while (!order_.empty()) {
      Slot& s = slots_[order_[cursor]];
      const int64_t due = cycle + s.phase;
      if (due > now)
        break;
      if (s.fd >= 0) {
        if (recording_.load(std::memory_order_relaxed))
          skipped_.fetch_add(1, std::memory_order_relaxed);
      } else {
        if (recording_.load(std::memory_order_relaxed))
          lateness_.push_back(static_cast<double>(now - due) * 1e-9);
        startProbe(s, now);
      }
      if (++cursor == order_.size()) {
        cursor = 0;
        cycle += period;
      }
    }
    if (now - lastSweep >= kSweepNs) {
      lastSweep = now;
      for (Slot& s : slots_)
        if (s.fd >= 0 && s.deadline <= now)
          finish(s, false);
    }
    int64_t next = lastSweep + kSweepNs;
    if (!order_.empty()) {
      int64_t due = cycle + slots_[order_[cursor]].phase;
      if (grid > 0)
        due = (due + grid - 1) / grid * grid;
      next = std::min(next, due);
    }
    if (next != armed) {
      itimerspec spec{};
      spec.it_value.tv_sec = next / 1'000'000'000;
      spec.it_value.tv_nsec = next % 1'000'000'000;
      if (timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0)
        return errnoStatus("timerfd_settime");
      armed = next;
    }
    const int n = epoll_wait(epoll_, events, 256, -1);
    if (n < 0 && errno != EINTR)
      return errnoStatus("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag)
        return absl::OkStatus();
      if (tag == kTimerTag) {
        uint64_t expirations;
        (void)!read(timer_, &expirations, sizeof(expirations));
        armed = -1;
        continue;
      }
      Slot& s = slots_[tag];
      if (s.fd >= 0)
        onEvent(s, events[i].events);
    }
  }
}

void FloorLoop::startProbe(Slot& s, int64_t now) {
  s.counted = recording_.load(std::memory_order_relaxed);
  if (s.counted)
    started_.fetch_add(1, std::memory_order_relaxed);
  s.deadline = now + absl::ToInt64Nanoseconds(options_.timeout);
  s.connected = false;
  s.length = 0;
  s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) {
    finish(s, false);
    return;
  }
  epoll_event ev{};
  ev.data.u64 = static_cast<uint64_t>(&s - slots_.data());
  if (connect(s.fd, reinterpret_cast<const sockaddr*>(&s.addr), sizeof(s.addr)) == 0) {
    // Loopback may complete the handshake inside connect().
    s.connected = true;
    if (!s.http) {
      finish(s, true);
      return;
    }
    if (send(s.fd, s.request.data(), s.request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(s.request.size())) {
      finish(s, false);
      return;
    }
    ev.events = EPOLLIN;
  } else if (errno == EINPROGRESS) {
    ev.events = EPOLLOUT;
  } else {
    finish(s, false);
    return;
  }
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, s.fd, &ev) != 0)
    finish(s, false);
}

void FloorLoop::onEvent(Slot& s, uint32_t events) {
  if (!s.connected)
    onWritable(s);
  else
    onReadable(s);
}

void FloorLoop::onWritable(Slot& s) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    finish(s, false);
    return;
  }
  s.connected = true;
  if (!s.http) {
    finish(s, true);
    return;
  }
  if (send(s.fd, s.request.data(), s.request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(s.request.size())) {
    finish(s, false);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(&s - slots_.data());
  if (epoll_ctl(epoll_, EPOLL_CTL_MOD, s.fd, &ev) != 0)
    finish(s, false);
}

// Reads to the end of the response (the server closes after it), keeping the status line.
void FloorLoop::onReadable(Slot& s) {
  for (;;) {
    ssize_t n;
    if (s.length < sizeof(s.head)) {
      n = recv(s.fd, s.head + s.length, sizeof(s.head) - s.length, 0);
      if (n > 0)
        s.length += static_cast<size_t>(n);
    } else {
      n = recv(s.fd, scratch, sizeof(scratch), 0);
    }
    if (n > 0)
      continue;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n < 0) {
      finish(s, false);
      return;
    }
    // EOF: "HTTP/1.1 200 ..." -> the status code at offset 9.
    int code = 0;
    if (s.length >= 12 && std::memcmp(s.head, "HTTP/1.", 7) == 0)
      code = (s.head[9] - '0') * 100 + (s.head[10] - '0') * 10 + (s.head[11] - '0');
    finish(s, code >= 200 && code < 400);
    return;
  }
}

void FloorLoop::finish(Slot& s, bool ok) {
  if (s.fd >= 0) {
    // As the prober: a reset instead of a FIN, so no TIME_WAIT stays behind.
    linger reset{1, 0};
    setsockopt(s.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(s.fd);
    s.fd = -1;
  }
  if (s.counted)
    (ok ? succeeded_ : failed_).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace kubenode::bench
