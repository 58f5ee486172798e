// Printing a container's logs as `kubectl logs` does: the entries of its log files (rotated
// ones included, oldest first), optionally only the last N lines (--tail) or those since a
// time (--since), with or without timestamps, then optionally following the current file
// (-f) across rotations until told to stop.
//
//   std::vector<LogFile> files = containerLogFiles(dir + "/web", restartCount);
//   absl::StatusOr<TailResult> r = printLogs(files, {.tail = 10}, std::cout);
//   if (r.ok() && follow) {
//     LogPrinter printer(std::cout, /*timestamps=*/false);
//     printer.resume(r->unfinished);
//     followLog(r->currentPath, r->currentOffset, printer, {.keepFollowing = stillRunning});
//   }
//
// Thread-safety: one thread per call; a LogPrinter belongs to one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/logs/cri_log.h"
#include "agent/logs/log_files.h"

namespace kubenode::agent::logs {

struct LogOptions {
  std::optional<int64_t> tail{};      // --tail N (N >= 0); nullopt: everything (kubectl's -1)
  bool timestamps = false;            // --timestamps
  std::optional<absl::Time> since{};  // --since / --since-time: entries at or after
  // Whether the caller will follow: unfinished lines at the end are then not printed but
  // handed back in TailResult::unfinished, to be completed by what follows.
  bool follow = false;
};

struct TailResult {
  // The current (uncompressed, newest) file and the byte offset just after its last complete
  // CRI line: where following goes on. Empty path when there is no current file.
  std::string currentPath{};
  uint64_t currentOffset = 0;
  std::vector<LogEntry> unfinished{};
  size_t malformed = 0;  // CRI lines that could not be parsed (skipped)
};

// Prints the selected entries of `files` (oldest first, the current one last) to `out`.
// Reads only as many of the newest files as --tail needs. A file removed meanwhile by
// rotation is skipped; other read errors are kInternal naming the file.
absl::StatusOr<TailResult> printLogs(const std::vector<LogFile>& files, const LogOptions& options,
                                     std::ostream& out);

// Turns raw CRI log bytes, as they are appended to a file, into printed entries.
class LogPrinter {
 public:
  LogPrinter(std::ostream& out, bool timestamps) : out_(out), timestamps_(timestamps) {}
  // Continues unfinished lines printed by nobody yet (TailResult::unfinished).
  void resume(const std::vector<LogEntry>& unfinished);
  // Appends bytes; prints every entry they complete. A line not yet ended by '\n' waits.
  void feed(std::string_view bytes);
  size_t malformed() const { return malformed_; }

 private:
  std::ostream& out_;
  bool timestamps_;
  LogJoiner joiner_;
  std::string incomplete_;
  size_t malformed_ = 0;
};

struct FollowOptions {
  // Asked every checkPeriod and after each burst of output; false ends following (after
  // printing what is already written). Empty: follow until the process is interrupted.
  std::function<bool()> keepFollowing{};
  absl::Duration checkPeriod = absl::Seconds(1);
};

// Follows `path` from `offset` (inotify on its directory): prints what containerd appends,
// and when the file is rotated (renamed, then reopened by containerd under the same name)
// finishes the renamed file and goes on with the new one from its start.
absl::Status followLog(const std::string& path, uint64_t offset, LogPrinter& printer,
                       const FollowOptions& options);

}  // namespace kubenode::agent::logs
