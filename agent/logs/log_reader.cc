#include "agent/logs/log_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kubenode::agent::logs {
namespace {

// How many CRI lines of `text` end a line (tag F): an upper bound of the entries it holds.
size_t countFullLines(std::string_view text) {
  size_t count = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    // time SP stream SP tag ...
    const size_t a = line.find(' ');
    const size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b != std::string_view::npos && b + 1 < line.size() && line[b + 1] == 'F')
      ++count;
  }
  return count;
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0)
      ::close(fd);
    fd = f;
  }
};

// Everything readable from `fd` now, fed to the printer.
absl::Status drain(int fd, LogPrinter& printer, const std::string& path) {
  if (fd < 0)
    return absl::OkStatus();
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return absl::InternalError(fmt::format("reading {}: {}", path, std::strerror(errno)));
    if (n == 0)
      return absl::OkStatus();
    printer.feed(std::string_view(buffer, static_cast<size_t>(n)));
  }
}

}  // namespace

absl::StatusOr<TailResult> printLogs(const std::vector<LogFile>& files, const LogOptions& options,
                                     std::ostream& out) {
  TailResult result;
  // Newest first, as far back as --tail needs; one more complete line than asked keeps the
  // first selected entry's earlier pieces (a partial line split across files) in view.
  std::vector<std::string> texts;
  size_t fullLines = 0;
  for (size_t i = files.size(); i-- > 0;) {
    absl::StatusOr<std::string> text = readLogFile(files[i]);
    if (!text.ok()) {
      if (absl::IsNotFound(text.status()))
        continue;  // removed by rotation since we listed it
      return text.status();
    }
    if (files[i].current && i + 1 == files.size()) {
      // containerd may be in the middle of writing a line: stop at the last complete one,
      // following goes on from there.
      const size_t end = text->rfind('\n');
      const size_t keep = end == std::string::npos ? 0 : end + 1;
      text->resize(keep);
      result.currentPath = files[i].path;
      result.currentOffset = keep;
    }
    fullLines += countFullLines(*text);
    texts.push_back(std::move(*text));
    if (options.tail && fullLines > static_cast<size_t>(*options.tail))
      break;
  }
  std::reverse(texts.begin(), texts.end());

  std::vector<LogEntry> entries;
  LogJoiner joiner;
  for (const std::string& text : texts) {
    std::string_view rest = text;
    while (!rest.empty()) {
      const size_t newline = rest.find('\n');
      std::string_view raw = rest.substr(0, newline);
      rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
      if (raw.empty())
        continue;
      absl::StatusOr<CriLogLine> line = parseCriLogLine(raw);
      if (!line.ok()) {
        ++result.malformed;
        continue;
      }
      if (std::optional<LogEntry> entry = joiner.add(std::move(*line)))
        entries.push_back(std::move(*entry));
    }
  }
  std::vector<LogEntry> unfinished = joiner.flush();
  if (options.follow) {
    result.unfinished = std::move(unfinished);
  } else {
    for (LogEntry& e : unfinished)
      entries.push_back(std::move(e));
  }
  if (options.since) {
    std::erase_if(entries, [&](const LogEntry& e) { return e.time < *options.since; });
  }
  size_t first = 0;
  if (options.tail && entries.size() > static_cast<size_t>(*options.tail))
    first = entries.size() - static_cast<size_t>(*options.tail);
  for (size_t i = first; i < entries.size(); ++i)
    out << formatLogEntry(entries[i], options.timestamps);
  out.flush();
  return result;
}

void LogPrinter::resume(const std::vector<LogEntry>& unfinished) {
  for (const LogEntry& e : unfinished) {
    joiner_.add(CriLogLine{.timestamp = e.timestamp,
                           .time = e.time,
                           .stream = e.stream,
                           .partial = true,
                           .text = e.text});
  }
}

void LogPrinter::feed(std::string_view bytes) {
  incomplete_.append(bytes);
  std::string_view rest = incomplete_;
  bool printed = false;
  for (;;) {
    const size_t newline = rest.find('\n');
    if (newline == std::string_view::npos)
      break;
    std::string_view raw = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    if (raw.empty())
      continue;
    absl::StatusOr<CriLogLine> line = parseCriLogLine(raw);
    if (!line.ok()) {
      ++malformed_;
      continue;
    }
    if (std::optional<LogEntry> entry = joiner_.add(std::move(*line))) {
      out_ << formatLogEntry(*entry, timestamps_);
      printed = true;
    }
  }
  incomplete_.erase(0, incomplete_.size() - rest.size());
  if (printed)
    out_.flush();
}

absl::Status followLog(const std::string& path, uint64_t offset, LogPrinter& printer,
                       const FollowOptions& options) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  Fd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (inotify.fd < 0)
    return absl::InternalError(fmt::format("inotify: {}", std::strerror(errno)));
  // The directory, not the file: the file is renamed away by rotation and a new one appears
  // under its name when containerd reopens it.
  if (::inotify_add_watch(
          inotify.fd, dir.c_str(),
          IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) < 0) {
    return absl::InternalError(fmt::format("watching {}: {}", dir, std::strerror(errno)));
  }
  Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd >= 0 && ::lseek(file.fd, static_cast<off_t>(offset), SEEK_SET) < 0)
    return absl::InternalError(fmt::format("seeking in {}: {}", path, std::strerror(errno)));

  const int periodMs =
      static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options.checkPeriod)));
  absl::Time lastCheck = absl::Now();
  for (;;) {
    if (absl::Status s = drain(file.fd, printer, path); !s.ok())
      return s;
    // Rotated: the name now holds another file. Finish the old one, then switch.
    struct stat named {};
    struct stat open {};
    if (::stat(path.c_str(), &named) == 0 &&
        (file.fd < 0 || ::fstat(file.fd, &open) != 0 || open.st_ino != named.st_ino ||
         open.st_dev != named.st_dev)) {
      if (absl::Status s = drain(file.fd, printer, path); !s.ok())
        return s;
      file.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      continue;
    }
    if (options.keepFollowing && absl::Now() - lastCheck >= options.checkPeriod) {
      lastCheck = absl::Now();
      if (!options.keepFollowing())
        return drain(file.fd, printer, path);
    }
    pollfd p{.fd = inotify.fd, .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, periodMs);
    if (ready < 0 && errno != EINTR)
      return absl::InternalError(fmt::format("waiting for {}: {}", path, std::strerror(errno)));
    if (ready > 0) {
      char events[4096];
      while (::read(inotify.fd, events, sizeof(events)) > 0) {
      }
    }
  }
}

}  // namespace kubenode::agent::logs
