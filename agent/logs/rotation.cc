#include "agent/logs/rotation.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "agent/logs/log_files.h"
#include "api/quantity.h"

namespace kubenode::agent::logs {
namespace {

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string dirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string baseOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string errnoText(int err) {
  return std::strerror(err);
}

}  // namespace

absl::StatusOr<RotationPolicy> makeRotationPolicy(std::string_view containerLogMaxSize,
                                                  int containerLogMaxFiles) {
  absl::StatusOr<api::Quantity> size = api::Quantity::parse(containerLogMaxSize);
  if (!size.ok() || size->sign() <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("--container-log-max-size: \"{}\" is not a positive quantity such as 10Mi{}",
                    containerLogMaxSize,
                    size.ok() ? "" : fmt::format(" ({})", std::string(size.status().message()))));
  }
  if (containerLogMaxFiles < 2) {
    return absl::InvalidArgumentError(fmt::format(
        "--container-log-max-files: {} is too small; at least 2 (the live file and one rotated)",
        containerLogMaxFiles));
  }
  return RotationPolicy{.maxSizeBytes = size->value(), .maxFiles = containerLogMaxFiles};
}

std::optional<RotationPlan> planRotation(std::string_view logName, int64_t size,
                                         const std::vector<std::string>& names,
                                         const RotationPolicy& policy, absl::Time now) {
  if (size < policy.maxSizeBytes)
    return std::nullopt;
  RotationPlan plan;
  const std::string prefix = std::string(logName) + ".";
  // Leftovers of an interrupted compression: the .tmp file, or the plain file whose
  // compressed twin was already renamed into place.
  for (const std::string& name : names) {
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
        endsWith(name, kTmpSuffix)) {
      plan.remove.push_back(name);
    }
  }
  std::vector<std::string> rotated = rotatedLogNames(names, logName);
  const std::set<std::string> present(rotated.begin(), rotated.end());
  std::erase_if(rotated, [&](const std::string& name) {
    if (!endsWith(name, kCompressSuffix) && present.contains(name + std::string(kCompressSuffix))) {
      plan.remove.push_back(name);
      return true;
    }
    return false;
  });
  // The live file becomes one more rotated file: keep maxFiles - 2 of the existing ones.
  const size_t keep = static_cast<size_t>(std::max(policy.maxFiles - 2, 0));
  size_t first = rotated.size() > keep ? rotated.size() - keep : 0;
  for (size_t i = 0; i < first; ++i)
    plan.remove.push_back(rotated[i]);
  // The rotated files that stay are compressed; the one about to be rotated stays plain
  // (it is the newest rotated file until the next rotation, and containerd may still be
  // finishing a write into it).
  for (size_t i = first; i < rotated.size(); ++i) {
    if (!endsWith(rotated[i], kCompressSuffix))
      plan.compress.push_back(rotated[i]);
  }
  std::string to = prefix + absl::FormatTime(kRotationTimestampFormat, now, absl::UTCTimeZone());
  // Two rotations within one second would collide: wait for the next check.
  if (std::find(names.begin(), names.end(), to) == names.end() &&
      std::find(names.begin(), names.end(), to + std::string(kCompressSuffix)) == names.end()) {
    plan.rotateTo = std::move(to);
  }
  return plan;
}

absl::StatusOr<std::vector<ContainerLogInfo>> CriRunningContainerLogs::runningContainerLogs() {
  cri::v1::ContainerFilter filter;
  filter.mutable_state()->set_state(cri::v1::CONTAINER_RUNNING);
  absl::StatusOr<std::vector<cri::v1::Container>> containers = runtime_.listContainers(filter);
  if (!containers.ok())
    return containers.status();
  std::vector<ContainerLogInfo> out;
  for (const cri::v1::Container& c : *containers) {
    absl::StatusOr<cri::v1::ContainerStatusResponse> status =
        runtime_.containerStatus(c.id(), false);
    if (!status.ok()) {
      if (absl::IsNotFound(status.status()))
        continue;  // removed meanwhile
      return status.status();
    }
    if (status->status().state() != cri::v1::CONTAINER_RUNNING ||
        status->status().log_path().empty()) {
      continue;
    }
    out.push_back({.containerId = c.id(), .logPath = status->status().log_path()});
  }
  return out;
}

ContainerLogManager::ContainerLogManager(boost::asio::io_context& loop, cri::RuntimeClient& runtime,
                                         RunningContainerLogs& containers, RotationPolicy policy,
                                         Clock clock, std::chrono::steady_clock::duration period)
    : loop_(loop),
      runtime_(runtime),
      containers_(containers),
      policy_(policy),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })),
      period_(period),
      timer_(loop) {}

void ContainerLogManager::start() {
  running_ = true;
  schedule();
}

void ContainerLogManager::stop() {
  running_ = false;
  timer_.cancel();
}

void ContainerLogManager::schedule() {
  timer_.expires_after(period_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_)
      return;
    if (absl::Status s = rotateLogs(); !s.ok())
      spdlog::warn("container log rotation: {}", std::string(s.message()));
    schedule();
  });
}

absl::Status ContainerLogManager::rotateLogs() {
  absl::StatusOr<std::vector<ContainerLogInfo>> containers = containers_.runningContainerLogs();
  if (!containers.ok())
    return containers.status();
  absl::Status first = absl::OkStatus();
  for (const ContainerLogInfo& c : *containers) {
    absl::Status s = rotateLog(c);
    if (!s.ok() && first.ok())
      first = s;
  }
  return first;
}

absl::Status ContainerLogManager::rotateLog(const ContainerLogInfo& container) {
  struct stat st {};
  if (::stat(container.logPath.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::InternalError(fmt::format("container {}: {}: {}", container.containerId,
                                             container.logPath, errnoText(errno)));
    }
    // Renamed, but the runtime never reopened it (e.g. the agent died in between): have it
    // create the file again.
    absl::Status reopened = runtime_.reopenContainerLog(container.containerId);
    if (reopened.ok() || absl::IsNotFound(reopened) || absl::IsFailedPrecondition(reopened))
      return absl::OkStatus();
    return reopened;
  }
  const std::string dir = dirOf(container.logPath);
  std::optional<RotationPlan> plan =
      planRotation(baseOf(container.logPath), static_cast<int64_t>(st.st_size), listDirectory(dir),
                   policy_, clock_());
  if (!plan)
    return absl::OkStatus();
  absl::Status first = absl::OkStatus();
  for (const std::string& name : plan->remove) {
    const std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && first.ok())
      first = absl::InternalError(fmt::format("removing {}: {}", path, errnoText(errno)));
  }
  for (const std::string& name : plan->compress) {
    absl::Status s = compressLogFile(dir + "/" + name);
    if (!s.ok() && first.ok())
      first = s;
  }
  if (plan->rotateTo.empty())
    return first;
  const std::string rotated = dir + "/" + plan->rotateTo;
  if (::rename(container.logPath.c_str(), rotated.c_str()) != 0) {
    return absl::InternalError(
        fmt::format("rotating {} to {}: {}", container.logPath, rotated, errnoText(errno)));
  }
  absl::Status reopened = runtime_.reopenContainerLog(container.containerId);
  if (!reopened.ok()) {
    // containerd still writes the renamed file: give it its name back so that nothing is
    // lost and `kubenode logs` keeps finding the live file.
    if (::rename(rotated.c_str(), container.logPath.c_str()) != 0) {
      spdlog::error("container {}: renaming {} back to {} after a failed reopen: {}",
                    container.containerId, rotated, container.logPath, errnoText(errno));
    }
    if (absl::IsNotFound(reopened) || absl::IsFailedPrecondition(reopened))
      return first;  // the container stopped meanwhile; its log is final
    return absl::Status(reopened.code(),
                        fmt::format("container {}: rotating {}: {}", container.containerId,
                                    container.logPath, std::string(reopened.message())));
  }
  spdlog::debug("container {}: rotated {} ({} bytes) to {}", container.containerId,
                container.logPath, st.st_size, rotated);
  return first;
}

absl::Status compressLogFile(const std::string& path) {
  const std::string target = path + std::string(kCompressSuffix);
  const std::string tmp = target + std::string(kTmpSuffix);
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return absl::InternalError(fmt::format("compressing {}: {}", path, errnoText(errno)));
  gzFile out = ::gzopen(tmp.c_str(), "wb");
  if (out == nullptr) {
    ::close(in);
    return absl::InternalError(fmt::format("compressing {}: cannot create {}", path, tmp));
  }
  char buffer[64 * 1024];
  absl::Status status = absl::OkStatus();
  for (;;) {
    const ssize_t n = ::read(in, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      status = absl::InternalError(fmt::format("compressing {}: {}", path, errnoText(errno)));
      break;
    }
    if (n == 0)
      break;
    if (::gzwrite(out, buffer, static_cast<unsigned>(n)) != static_cast<int>(n)) {
      int code = 0;
      status = absl::InternalError(
          fmt::format("compressing {} into {}: {}", path, tmp, ::gzerror(out, &code)));
      break;
    }
  }
  // Keep the file's times, as gzip does: a follower that lost track of a rotated file finds
  // the ones written after it by their modification times.
  struct stat times {};
  const bool haveTimes = ::fstat(in, &times) == 0;
  ::close(in);
  if (::gzclose(out) != Z_OK && status.ok())
    status = absl::InternalError(fmt::format("compressing {}: closing {} failed", path, tmp));
  if (status.ok() && haveTimes) {
    const timespec keep[2] = {times.st_atim, times.st_mtim};
    ::utimensat(AT_FDCWD, tmp.c_str(), keep, 0);
  }
  if (status.ok() && ::rename(tmp.c_str(), target.c_str()) != 0)
    status = absl::InternalError(fmt::format("renaming {}: {}", tmp, errnoText(errno)));
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return absl::InternalError(fmt::format("removing {}: {}", path, errnoText(errno)));
  return absl::OkStatus();
}

}  // namespace kubenode::agent::logs
