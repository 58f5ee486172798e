#include "agent/logs/cri_log.h"

#include <fmt/format.h>

namespace kubenode::agent::logs {
namespace {

// The next space-separated field of `rest`, removed from it; nullopt when no space follows.
std::optional<std::string_view> nextField(std::string_view& rest) {
  const size_t space = rest.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  std::string_view field = rest.substr(0, space);
  rest.remove_prefix(space + 1);
  return field;
}

}  // namespace

absl::StatusOr<CriLogLine> parseCriLogLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n')
    line.remove_suffix(1);
  std::string_view rest = line;
  CriLogLine out;
  std::optional<std::string_view> timestamp = nextField(rest);
  if (!timestamp) {
    return absl::InvalidArgumentError(
        "CRI log line: expected \"<time> <stream> <tag> <text>\", found no time field");
  }
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(*timestamp), &out.time, &error)) {
    return absl::InvalidArgumentError(
        fmt::format("CRI log line: time \"{}\" is not RFC 3339: {}", *timestamp, error));
  }
  out.timestamp = std::string(*timestamp);
  std::optional<std::string_view> stream = nextField(rest);
  if (!stream) {
    return absl::InvalidArgumentError("CRI log line: expected a stream after the time");
  }
  if (*stream == "stdout") {
    out.stream = LogStream::kStdout;
  } else if (*stream == "stderr") {
    out.stream = LogStream::kStderr;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("CRI log line: stream \"{}\" is neither stdout nor stderr", *stream));
  }
  // The tag is the last field and may end the line when the text is empty ("... stdout F").
  std::string_view tags;
  if (std::optional<std::string_view> t = nextField(rest)) {
    tags = *t;
  } else {
    tags = rest;
    rest = {};
  }
  // Tags are ':'-separated; the first is the only one defined (F or P).
  const std::string_view tag = tags.substr(0, tags.find(':'));
  if (tag == "F") {
    out.partial = false;
  } else if (tag == "P") {
    out.partial = true;
  } else {
    return absl::InvalidArgumentError(
        fmt::format("CRI log line: tag \"{}\" is neither F nor P", tags));
  }
  out.text = std::string(rest);
  return out;
}

std::optional<LogEntry> LogJoiner::add(CriLogLine line) {
  std::optional<LogEntry>& pending = pending_[line.stream == LogStream::kStdout ? 0 : 1];
  if (!pending) {
    pending = LogEntry{.timestamp = std::move(line.timestamp),
                       .time = line.time,
                       .stream = line.stream,
                       .text = std::move(line.text),
                       .complete = false};
  } else {
    pending->text += line.text;
  }
  if (line.partial)
    return std::nullopt;
  LogEntry done = std::move(*pending);
  done.complete = true;
  pending.reset();
  return done;
}

std::vector<LogEntry> LogJoiner::flush() {
  std::vector<LogEntry> out;
  for (auto& pending : pending_) {
    if (pending)
      out.push_back(std::move(*pending));
    pending.reset();
  }
  if (out.size() == 2 && out[1].time < out[0].time)
    std::swap(out[0], out[1]);
  return out;
}

std::string goRfc3339Nano(std::string_view timestamp) {
  // The fraction sits between the seconds' '.' and the zone ('Z', '+' or '-' after it).
  const size_t dot = timestamp.find('.');
  if (dot == std::string_view::npos)
    return std::string(timestamp);
  size_t zone = dot + 1;
  while (zone < timestamp.size() && timestamp[zone] >= '0' && timestamp[zone] <= '9')
    ++zone;
  size_t end = zone;
  while (end > dot + 1 && timestamp[end - 1] == '0')
    --end;
  if (end == dot + 1)
    end = dot;  // all zeros: no fraction at all
  return fmt::format("{}{}", timestamp.substr(0, end), timestamp.substr(zone));
}

std::string formatLogEntry(const LogEntry& entry, bool timestamps) {
  std::string out;
  if (timestamps) {
    out.reserve(entry.timestamp.size() + entry.text.size() + 2);
    out += goRfc3339Nano(entry.timestamp);
    out += ' ';
  }
  out += entry.text;
  if (entry.complete)
    out += '\n';
  return out;
}

std::vector<LogEntry> parseCriLog(std::string_view text, size_t* malformed) {
  std::vector<LogEntry> out;
  LogJoiner joiner;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view raw = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (raw.empty())
      continue;
    absl::StatusOr<CriLogLine> line = parseCriLogLine(raw);
    if (!line.ok()) {
      if (malformed != nullptr)
        ++*malformed;
      continue;
    }
    if (std::optional<LogEntry> entry = joiner.add(std::move(*line)))
      out.push_back(std::move(*entry));
  }
  for (LogEntry& e : joiner.flush())
    out.push_back(std::move(e));
  return out;
}

}  // namespace kubenode::agent::logs
