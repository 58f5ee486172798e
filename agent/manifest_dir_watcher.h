// Watches a manifest directory and says when to read it again: at start, a settle
// interval after inotify reports changes (editors and tools write a file in several
// steps), and every resync period besides (--file-check-frequency: catches what inotify
// cannot, e.g. a directory that appears later). The static pod source and the service
// source each hold one and re-read the directory in `onChange`.
//
//   ManifestDirWatcher watcher(loop, "/etc/kubenode/manifests", 100ms, 20s, [&] { rescan(); });
//   if (absl::Status s = watcher.start(); !s.ok()) ...   // calls onChange once, now
//
// Thread-safety: lives on its io_context; use and destroy it there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kubenode::agent {

// One file of a manifest directory, read whole.
struct ManifestFile {
  std::string path{};
  std::string text{};
  bool readable = true;  // false: the file could not be read (text is empty)
};

// The directory's regular files that are not hidden (editors' and tools' temporary files
// start with '.'), in name order, with their text: what both sources read on each change.
// An error carrying the system's reason when the directory cannot be listed.
absl::StatusOr<std::vector<ManifestFile>> readManifestFiles(const std::string& dir);

class ManifestDirWatcher {
 public:
  ManifestDirWatcher(boost::asio::io_context& loop, std::string dir,
                     std::chrono::milliseconds settle, std::chrono::nanoseconds resyncPeriod,
                     std::function<void()> onChange);
  ~ManifestDirWatcher();
  ManifestDirWatcher(const ManifestDirWatcher&) = delete;
  ManifestDirWatcher& operator=(const ManifestDirWatcher&) = delete;

  absl::Status start();

 private:
  void reread();
  void scheduleReread(std::chrono::nanoseconds after);
  void readEvents();
  void armWatch();

  const std::string dir_;
  const std::chrono::milliseconds settle_;
  const std::chrono::nanoseconds resyncPeriod_;
  std::function<void()> onChange_;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer settleTimer_;
  boost::asio::steady_timer resyncTimer_;
  int watch_ = -1;
  bool rereadPending_ = false;
  std::vector<char> buffer_;
};

}  // namespace kubenode::agent
