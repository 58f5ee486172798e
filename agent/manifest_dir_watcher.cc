#include "agent/manifest_dir_watcher.h"

#include <fmt/format.h>
#include <sys/inotify.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kubenode::agent {
namespace {

// Inotify events that can change what the directory holds.
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

}  // namespace

absl::StatusOr<std::vector<ManifestFile>> readManifestFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec)
    return absl::NotFoundError(ec.message());
  std::vector<fs::path> paths;
  for (const fs::directory_entry& entry : it) {
    if (entry.path().filename().string().starts_with("."))
      continue;
    if (!entry.is_regular_file(ec))
      continue;
    paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<ManifestFile> files;
  for (const fs::path& path : paths) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    files.push_back({.path = path.string(), .text = in ? text.str() : "", .readable = bool(in)});
  }
  return files;
}

ManifestDirWatcher::ManifestDirWatcher(boost::asio::io_context& loop, std::string dir,
                                       std::chrono::milliseconds settle,
                                       std::chrono::nanoseconds resyncPeriod,
                                       std::function<void()> onChange)
    : dir_(std::move(dir)),
      settle_(settle),
      resyncPeriod_(resyncPeriod),
      onChange_(std::move(onChange)),
      inotify_(loop),
      settleTimer_(loop),
      resyncTimer_(loop),
      buffer_(64 * 1024) {}

ManifestDirWatcher::~ManifestDirWatcher() {
  boost::system::error_code ignored;
  inotify_.close(ignored);
}

absl::Status ManifestDirWatcher::start() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return absl::InternalError(fmt::format("inotify_init1: {}", std::strerror(errno)));
  inotify_.assign(fd);
  reread();
  readEvents();
  return absl::OkStatus();
}

void ManifestDirWatcher::armWatch() {
  if (watch_ >= 0)
    return;
  // A directory that does not exist yet is picked up by the periodic re-read.
  watch_ = inotify_add_watch(inotify_.native_handle(), dir_.c_str(), kWatchMask);
}

void ManifestDirWatcher::readEvents() {
  inotify_.async_read_some(
      boost::asio::buffer(buffer_), [this](const boost::system::error_code& ec, size_t n) {
        if (ec)
          return;  // closed: the watcher is being destroyed
        for (size_t offset = 0; offset + sizeof(inotify_event) <= n;) {
          const auto* event = reinterpret_cast<const inotify_event*>(buffer_.data() + offset);
          if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
            watch_ = -1;
          offset += sizeof(inotify_event) + event->len;
        }
        scheduleReread(settle_);
        readEvents();
      });
}

void ManifestDirWatcher::scheduleReread(std::chrono::nanoseconds after) {
  if (rereadPending_)
    return;
  rereadPending_ = true;
  settleTimer_.expires_after(after);
  settleTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec)
      return;
    rereadPending_ = false;
    reread();
  });
}

void ManifestDirWatcher::reread() {
  armWatch();
  onChange_();
  resyncTimer_.expires_after(resyncPeriod_);
  resyncTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec)
      reread();
  });
}

}  // namespace kubenode::agent
