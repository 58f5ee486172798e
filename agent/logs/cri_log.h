// The CRI container log format, as containerd writes it for every container (one line per
// write, or per 16 KiB piece of a long one):
//
//   2016-10-06T00:17:09.669794202Z stdout F a whole line
//   2016-10-06T00:17:09.669794203Z stderr P the first part of a long line
//   2016-10-06T00:17:09.669794204Z stderr F  and its end
//
// time (RFC 3339 with nanoseconds), stream, tag (F: the line ends here, P: partial, more of
// the same line follows on the same stream), then one space and the text without its newline.
//
//   LogJoiner joiner;
//   for (std::string_view raw : lines) {
//     absl::StatusOr<CriLogLine> line = parseCriLogLine(raw);
//     if (line.ok())
//       if (std::optional<LogEntry> e = joiner.add(*line)) out << formatLogEntry(*e, false);
//   }
//
// Thread-safety: functions are reentrant; a LogJoiner belongs to one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubenode::agent::logs {

enum class LogStream { kStdout, kStderr };

struct CriLogLine {
  std::string timestamp{};  // as written, e.g. "2016-10-06T00:17:09.669794202Z"
  absl::Time time{};
  LogStream stream = LogStream::kStdout;
  bool partial = false;  // tag P
  std::string text{};
};

// kInvalidArgument saying which part is malformed.
absl::StatusOr<CriLogLine> parseCriLogLine(std::string_view line);

// A line as `kubectl logs` shows it: the pieces of a partial line joined, with the time and
// stream of its first piece. `complete` is false only for the unfinished end of a log.
struct LogEntry {
  std::string timestamp{};
  absl::Time time{};
  LogStream stream = LogStream::kStdout;
  std::string text{};
  bool complete = true;
};

// Joins partial lines per stream (stdout and stderr pieces may interleave).
class LogJoiner {
 public:
  // The finished entry when `line` completes one.
  std::optional<LogEntry> add(CriLogLine line);
  // Unfinished lines (at the end of a log), oldest first; the joiner is empty afterwards.
  std::vector<LogEntry> flush();
  bool empty() const { return !pending_[0] && !pending_[1]; }

 private:
  std::optional<LogEntry> pending_[2];
};

// The timestamp as the kubelet prints it for --timestamps (Go's RFC3339Nano): trailing
// zeros of the fraction dropped, no fraction when it is zero, the zone as written.
// "2024-03-01T12:30:05.120000000Z" -> "2024-03-01T12:30:05.12Z".
std::string goRfc3339Nano(std::string_view timestamp);

// What `kubectl logs` prints for an entry: the text and a newline (none for an unfinished
// line), prefixed by the timestamp (goRfc3339Nano) and a space with `timestamps`.
std::string formatLogEntry(const LogEntry& entry, bool timestamps);

// Every entry of a whole log text (several CRI lines), with unfinished lines at the end;
// malformed lines are skipped and counted in `malformed` when given.
std::vector<LogEntry> parseCriLog(std::string_view text, size_t* malformed = nullptr);

}  // namespace kubenode::agent::logs
