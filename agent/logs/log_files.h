// A container's log files on disk, as containerd writes them and the log manager rotates
// them: `<dir>/<n>.log` is the file containerd writes for restart n; rotated files are
// `<n>.log.<YYYYMMDD-HHMMSS>` and, compressed, `<n>.log.<YYYYMMDD-HHMMSS>.gz` (the kubelet's
// names, so its tools and an operator's habits still apply).
//
//   std::vector<LogFile> files = containerLogFiles("/var/log/pods/default_web_u1/web", 0);
//   for (const LogFile& f : files) absl::StatusOr<std::string> text = readLogFile(f);
//
// Thread-safety: reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubenode::agent::logs {

inline constexpr std::string_view kCompressSuffix = ".gz";
inline constexpr std::string_view kTmpSuffix = ".tmp";
// The rotated file's suffix, as Go's "20060102-150405" layout in UTC.
inline constexpr const char* kRotationTimestampFormat = "%Y%m%d-%H%M%S";

struct LogFile {
  std::string path{};
  bool compressed = false;
  bool current = false;  // the file containerd writes (`<n>.log`), not a rotated one
};

// Pure: of the names in a container's directory, the rotated files of `logName` ("0.log")
// oldest first (the timestamps sort as strings), without temporary files. Names only.
std::vector<std::string> rotatedLogNames(const std::vector<std::string>& names,
                                         std::string_view logName);

// The files of restart `restartCount` in `containerDir`: rotated ones oldest first, then the
// current one if it exists. Empty when there are none.
std::vector<LogFile> containerLogFiles(const std::string& containerDir, int restartCount);

// The restart counts that have a log file (current or rotated) in `containerDir`, ascending.
std::vector<int> loggedRestartCounts(const std::string& containerDir);

// The whole text of a log file, decompressed when it is gzip. kNotFound when it vanished
// (rotation removed it meanwhile), kInternal for other read errors.
absl::StatusOr<std::string> readLogFile(const LogFile& file);

// The names of the entries of a directory (no "." and ".."); empty when unreadable.
std::vector<std::string> listDirectory(const std::string& dir);

}  // namespace kubenode::agent::logs
