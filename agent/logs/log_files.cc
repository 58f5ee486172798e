#include "agent/logs/log_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>

#include <fmt/format.h>

namespace kubenode::agent::logs {
namespace {

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "12.log" -> 12; nullopt for anything else.
std::optional<int> restartOf(std::string_view name) {
  const size_t dot = name.find(".log");
  if (dot == 0 || dot == std::string_view::npos)
    return std::nullopt;
  int n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + dot, n);
  if (ec != std::errc() || end != name.data() + dot || n < 0)
    return std::nullopt;
  std::string_view rest = name.substr(dot + 4);
  if (!rest.empty() && rest.front() != '.')
    return std::nullopt;
  if (endsWith(rest, kTmpSuffix))
    return std::nullopt;
  return n;
}

}  // namespace

std::vector<std::string> rotatedLogNames(const std::vector<std::string>& names,
                                         std::string_view logName) {
  const std::string prefix = std::string(logName) + ".";
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
        !endsWith(name, kTmpSuffix)) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> listDirectory(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return names;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name != "." && name != "..")
      names.emplace_back(name);
  }
  ::closedir(d);
  return names;
}

std::vector<LogFile> containerLogFiles(const std::string& containerDir, int restartCount) {
  const std::vector<std::string> names = listDirectory(containerDir);
  const std::string logName = fmt::format("{}.log", restartCount);
  std::vector<LogFile> files;
  for (const std::string& name : rotatedLogNames(names, logName)) {
    files.push_back({.path = containerDir + "/" + name,
                     .compressed = endsWith(name, kCompressSuffix),
                     .current = false});
  }
  if (std::find(names.begin(), names.end(), logName) != names.end())
    files.push_back({.path = containerDir + "/" + logName, .compressed = false, .current = true});
  return files;
}

std::vector<int> loggedRestartCounts(const std::string& containerDir) {
  std::set<int> counts;
  for (const std::string& name : listDirectory(containerDir)) {
    if (std::optional<int> n = restartOf(name))
      counts.insert(*n);
  }
  return {counts.begin(), counts.end()};
}

absl::StatusOr<std::string> readLogFile(const LogFile& file) {
  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string what = fmt::format("reading {}: {}", file.path, std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(what) : absl::InternalError(what);
  }
  std::string text;
  if (file.compressed) {
    // gzdopen takes the descriptor over; gzread also passes plain text through, which keeps
    // a file that was renamed to .gz but never compressed readable.
    gzFile gz = ::gzdopen(fd, "rb");
    if (gz == nullptr) {
      ::close(fd);
      return absl::InternalError(fmt::format("reading {}: cannot start gzip", file.path));
    }
    char buffer[64 * 1024];
    for (;;) {
      const int n = ::gzread(gz, buffer, sizeof(buffer));
      if (n < 0) {
        int code = 0;
        const std::string what = ::gzerror(gz, &code);
        ::gzclose(gz);
        return absl::InternalError(fmt::format("reading {}: {}", file.path, what));
      }
      if (n == 0)
        break;
      text.append(buffer, static_cast<size_t>(n));
    }
    ::gzclose(gz);
    return text;
  }
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::InternalError(fmt::format("reading {}: {}", file.path, std::strerror(err)));
    }
    if (n == 0)
      break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace kubenode::agent::logs
