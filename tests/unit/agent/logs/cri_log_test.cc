// The CRI log format: lines parsed field by field, partial lines joined per stream, entries
// printed as kubectl logs prints them.
#include "agent/logs/cri_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kubenode::agent::logs {
namespace {

using ::testing::HasSubstr;

TEST(ParseCriLogLineTest, ReadsEveryField) {
  absl::StatusOr<CriLogLine> line =
      parseCriLogLine("2016-10-06T00:17:09.669794202Z stderr F hello  world \n");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->timestamp, "2016-10-06T00:17:09.669794202Z");
  EXPECT_EQ(line->time, absl::FromUnixNanos(1475713029669794202));
  EXPECT_EQ(line->stream, LogStream::kStderr);
  EXPECT_FALSE(line->partial);
  EXPECT_EQ(line->text, "hello  world ");  // spaces inside and at the end are the program's
}

TEST(ParseCriLogLineTest, ReadsOffsetsPartialTagsAndEmptyText) {
  absl::StatusOr<CriLogLine> line = parseCriLogLine("2024-03-01T10:00:00.5+02:00 stdout P ");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->time, absl::FromUnixMillis(1709280000500));
  EXPECT_TRUE(line->partial);
  EXPECT_EQ(line->text, "");
  // An empty line may lose the space after the tag.
  line = parseCriLogLine("2024-03-01T08:00:00Z stdout F");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->text, "");
  // Tags after the first (':'-separated) are tolerated.
  line = parseCriLogLine("2024-03-01T08:00:00Z stdout F:x text");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->text, "text");
}

TEST(ParseCriLogLineTest, MalformedLinesSayWhatIsWrong) {
  EXPECT_THAT(std::string(parseCriLogLine("garbage").status().message()),
              HasSubstr("no time field"));
  EXPECT_THAT(std::string(parseCriLogLine("yesterday stdout F x").status().message()),
              HasSubstr("time \"yesterday\" is not RFC 3339"));
  EXPECT_THAT(std::string(parseCriLogLine("2024-03-01T08:00:00Z stdin F x").status().message()),
              HasSubstr("stream \"stdin\""));
  EXPECT_THAT(std::string(parseCriLogLine("2024-03-01T08:00:00Z stdout X x").status().message()),
              HasSubstr("tag \"X\""));
  EXPECT_FALSE(parseCriLogLine("2024-03-01T08:00:00Z stdout").ok());
}

TEST(LogJoinerTest, JoinsPartialPiecesPerStreamWithTheFirstPiecesTime) {
  const std::string log =
      "2024-01-01T00:00:01Z stdout P abc\n"
      "2024-01-01T00:00:02Z stderr F err line\n"
      "2024-01-01T00:00:03Z stdout P def\n"
      "2024-01-01T00:00:04Z stdout F ghi\n"
      "2024-01-01T00:00:05Z stdout F next\n";
  std::vector<LogEntry> entries = parseCriLog(log);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].text, "err line");
  EXPECT_EQ(entries[0].stream, LogStream::kStderr);
  EXPECT_EQ(entries[1].text, "abcdefghi");
  EXPECT_EQ(entries[1].timestamp, "2024-01-01T00:00:01Z");
  EXPECT_EQ(entries[1].stream, LogStream::kStdout);
  EXPECT_EQ(entries[2].text, "next");
}

TEST(LogJoinerTest, UnfinishedLineAtTheEndIsKeptWithoutNewline) {
  size_t malformed = 0;
  std::vector<LogEntry> entries = parseCriLog(
      "2024-01-01T00:00:01Z stdout F one\nnot a log line\n2024-01-01T00:00:02Z stdout P tw",
      &malformed);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(malformed, 1u);
  EXPECT_FALSE(entries[1].complete);
  EXPECT_EQ(formatLogEntry(entries[0], false), "one\n");
  EXPECT_EQ(formatLogEntry(entries[1], false), "tw");
  EXPECT_EQ(formatLogEntry(entries[0], true), "2024-01-01T00:00:01Z one\n");
}

TEST(GoRfc3339NanoTest, TrimsTheFractionAsGoDoes) {
  EXPECT_EQ(goRfc3339Nano("2024-03-01T12:30:05.120000000Z"), "2024-03-01T12:30:05.12Z");
  EXPECT_EQ(goRfc3339Nano("2024-03-01T12:30:05.000000000+02:00"), "2024-03-01T12:30:05+02:00");
  EXPECT_EQ(goRfc3339Nano("2024-03-01T12:30:05.123456789-07:00"),
            "2024-03-01T12:30:05.123456789-07:00");
  EXPECT_EQ(goRfc3339Nano("2024-03-01T12:30:05Z"), "2024-03-01T12:30:05Z");
}

}  // namespace
}  // namespace kubenode::agent::logs
