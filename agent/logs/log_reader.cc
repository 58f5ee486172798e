#include "agent/logs/log_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>

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

// The rotated files of `logName`, oldest first, and the index of the first one rotated after
// `followed`: the one after it when it is found by its inode, else (compressed meanwhile, so
// a new inode) the first one last written after it (compression keeps the times).
std::pair<std::vector<std::string>, size_t> rotatedAfter(const std::string& dir,
                                                         const std::string& logName,
                                                         const struct stat& followed) {
  std::vector<std::string> rotated = rotatedLogNames(listDirectory(dir), logName);
  std::vector<struct stat> stats(rotated.size());
  for (size_t i = 0; i < rotated.size(); ++i) {
    if (::stat((dir + "/" + rotated[i]).c_str(), &stats[i]) != 0)
      stats[i] = {};
    if (stats[i].st_ino == followed.st_ino && stats[i].st_dev == followed.st_dev)
      return {std::move(rotated), i + 1};
  }
  auto later = [](const timespec& a, const timespec& b) {
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
  };
  for (size_t i = 0; i < rotated.size(); ++i) {
    if (later(stats[i].st_mtim, followed.st_mtim))
      return {std::move(rotated), i};
  }
  const size_t none = rotated.size();
  return {std::move(rotated), none};
}

// The name the followed file has now among the rotated files; empty when it is not there.
std::string rotatedName(const std::string& dir, const std::string& logName,
                        const struct stat& followed) {
  for (const std::string& name : rotatedLogNames(listDirectory(dir), logName)) {
    struct stat st {};
    if (::stat((dir + "/" + name).c_str(), &st) == 0 && st.st_ino == followed.st_ino &&
        st.st_dev == followed.st_dev) {
      return name;
    }
  }
  return "";
}

// Prints whole rotated files: those rotated after the followed one when rotations came
// faster than we woke up.
void printRotated(const std::string& dir, const std::vector<std::string>& names, size_t from,
                  LogPrinter& printer) {
  for (size_t i = from; i < names.size(); ++i) {
    const std::string path = dir + "/" + names[i];
    const bool compressed = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    absl::StatusOr<std::string> text = readLogFile({.path = path, .compressed = compressed});
    if (!text.ok() && !compressed) {
      // Compressed meanwhile.
      text = readLogFile({.path = path + std::string(kCompressSuffix), .compressed = true});
    }
    if (text.ok())
      printer.feed(*text);
  }
}

}  // namespace

absl::StatusOr<TailResult> printLogs(const std::vector<LogFile>& files, const LogOptions& options,
                                     std::ostream& out) {
  TailResult result;
  // Reads a file; for the live one stops at its last complete line (containerd may be in
  // the middle of writing one; following goes on from there). nullopt: removed by rotation
  // since it was listed.
  auto read = [&](size_t i) -> absl::StatusOr<std::optional<std::string>> {
    absl::StatusOr<std::string> text = readLogFile(files[i]);
    if (!text.ok()) {
      if (absl::IsNotFound(text.status()))
        return std::nullopt;
      return text.status();
    }
    if (files[i].current && i + 1 == files.size()) {
      const size_t end = text->rfind('\n');
      const size_t keep = end == std::string::npos ? 0 : end + 1;
      text->resize(keep);
      result.currentPath = files[i].path;
      result.currentOffset = keep;
    }
    return std::optional<std::string>(std::move(*text));
  };
  auto parseInto = [&](std::string_view rest, LogJoiner& joiner, auto&& emit) {
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
        emit(std::move(*entry));
    }
  };
  auto selected = [&](const LogEntry& e) { return !options.since || e.time >= *options.since; };

  if (!options.tail) {
    // Everything: one file in memory at a time, entries printed as they complete.
    LogJoiner joiner;
    auto emit = [&](LogEntry e) {
      if (selected(e))
        out << formatLogEntry(e, options.timestamps);
    };
    for (size_t i = 0; i < files.size(); ++i) {
      absl::StatusOr<std::optional<std::string>> text = read(i);
      if (!text.ok())
        return text.status();
      if (*text)
        parseInto(**text, joiner, emit);
    }
    std::vector<LogEntry> unfinished = joiner.flush();
    if (options.follow) {
      result.unfinished = std::move(unfinished);
    } else {
      for (LogEntry& e : unfinished)
        emit(std::move(e));
    }
    out.flush();
    return result;
  }
  // Newest first, as far back as --tail needs; one more complete line than asked keeps the
  // first selected entry's earlier pieces (a partial line split across files) in view.
  std::vector<std::string> texts;
  size_t fullLines = 0;
  for (size_t i = files.size(); i-- > 0;) {
    absl::StatusOr<std::optional<std::string>> text = read(i);
    if (!text.ok())
      return text.status();
    if (!*text)
      continue;
    fullLines += countFullLines(**text);
    texts.push_back(std::move(**text));
    if (fullLines > static_cast<size_t>(*options.tail))
      break;
  }
  std::reverse(texts.begin(), texts.end());

  std::vector<LogEntry> entries;
  LogJoiner joiner;
  for (const std::string& text : texts)
    parseInto(text, joiner, [&](LogEntry e) { entries.push_back(std::move(e)); });
  std::vector<LogEntry> unfinished = joiner.flush();
  if (options.follow) {
    result.unfinished = std::move(unfinished);
  } else {
    for (LogEntry& e : unfinished)
      entries.push_back(std::move(e));
  }
  std::erase_if(entries, [&](const LogEntry& e) { return !selected(e); });
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
  const std::string logName = slash == std::string::npos ? path : path.substr(slash + 1);
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
  // Names of files closed after writing, since the last switch of files.
  std::set<std::string> closed;
  auto waitForEvents = [&](int timeoutMs) -> absl::Status {
    pollfd p{.fd = inotify.fd, .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, timeoutMs);
    if (ready < 0 && errno != EINTR)
      return absl::InternalError(fmt::format("waiting for {}: {}", path, std::strerror(errno)));
    alignas(inotify_event) char events[8192];
    ssize_t n;
    while ((n = ::read(inotify.fd, events, sizeof(events))) > 0) {
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(events + at);
        if ((event->mask & IN_CLOSE_WRITE) != 0 && event->len > 0 && closed.size() < 1024)
          closed.insert(event->name);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return absl::OkStatus();
  };

  Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd >= 0 && ::lseek(file.fd, static_cast<off_t>(offset), SEEK_SET) < 0)
    return absl::InternalError(fmt::format("seeking in {}: {}", path, std::strerror(errno)));

  const int periodMs =
      static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options.checkPeriod)));
  absl::Time lastCheck = absl::Now();
  for (;;) {
    if (absl::Status s = drain(file.fd, printer, path); !s.ok())
      return s;
    // Rotated: the name now holds another file.
    struct stat named {};
    struct stat opened {};
    if (::stat(path.c_str(), &named) == 0 &&
        (file.fd < 0 || ::fstat(file.fd, &opened) != 0 || opened.st_ino != named.st_ino ||
         opened.st_dev != named.st_dev)) {
      if (file.fd >= 0) {
        // containerd's old log writer may still append the last lines it had read from the
        // container to the renamed file after ReopenContainerLog returned and the new file
        // exists: finish the old file only once containerd closed it (bounded, in case the
        // close was missed), so that no line is lost and none comes out of order.
        const std::string oldName = rotatedName(dir, logName, opened);
        if (!oldName.empty()) {
          const absl::Time deadline = absl::Now() + absl::Seconds(2);
          while (!closed.contains(oldName) && absl::Now() < deadline) {
            if (absl::Status s = drain(file.fd, printer, path); !s.ok())
              return s;
            if (absl::Status s = waitForEvents(20); !s.ok())
              return s;
          }
        }
        if (absl::Status s = drain(file.fd, printer, path); !s.ok())
          return s;
        // Files rotated after ours before we woke up come next (unless already removed: a
        // follower that falls more than max-files rotations behind loses those, as the
        // kubelet's does).
        struct stat done {};
        if (::fstat(file.fd, &done) == 0) {
          auto [rotated, next] = rotatedAfter(dir, logName, done);
          printRotated(dir, rotated, next, printer);
        }
      }
      closed.clear();
      file.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      continue;
    }
    if (options.keepFollowing && absl::Now() - lastCheck >= options.checkPeriod) {
      lastCheck = absl::Now();
      if (!options.keepFollowing())
        return drain(file.fd, printer, path);
    }
    if (absl::Status s = waitForEvents(periodMs); !s.ok())
      return s;
  }
}

}  // namespace kubenode::agent::logs
