// Reading a container's log files as `kubectl logs` shows them: rotated and compressed files
// in order, --tail across files, --since, --timestamps, and following a file that grows and
// is rotated under the reader.
#include "agent/logs/log_reader.h"

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/logs/log_files.h"
#include "agent/logs/rotation.h"

namespace kubenode::agent::logs {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

std::string criLine(int second, std::string_view text, char tag = 'F',
                    std::string_view stream = "stdout") {
  return fmt::format("2024-01-01T00:00:{:02}.000000001Z {} {} {}\n", second, stream, tag, text);
}

class LogFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kubenode-logs-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  void writeGz(const std::string& name, const std::string& text) {
    gzFile gz = gzopen((dir_ / name).c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
  }
  std::string print(const LogOptions& options, int restart = 0) {
    std::ostringstream out;
    absl::StatusOr<TailResult> r = printLogs(containerLogFiles(dir_, restart), options, out);
    EXPECT_TRUE(r.ok()) << r.status();
    return out.str();
  }

  fs::path dir_;
};

TEST(RotatedLogNamesTest, OldestFirstWithoutTemporaryOrOtherRestarts) {
  EXPECT_THAT(
      rotatedLogNames({"0.log", "0.log.20240102-000000", "0.log.20240101-000000.gz",
                       "0.log.20240103-000000.gz.tmp", "1.log", "10.log.20240101-000000", "0.logx"},
                      "0.log"),
      ElementsAre("0.log.20240101-000000.gz", "0.log.20240102-000000"));
}

TEST_F(LogFilesTest, ReadsRotatedCompressedAndCurrentFilesInOrder) {
  writeGz("0.log.20240101-000000.gz", criLine(1, "one") + criLine(2, "two"));
  write("0.log.20240101-000010", criLine(3, "three"));
  write("0.log", criLine(4, "four"));
  write("1.log", criLine(5, "other restart"));
  EXPECT_EQ(print({}), "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(print({}, 1), "other restart\n");
  EXPECT_THAT(loggedRestartCounts(dir_), ElementsAre(0, 1));
}

TEST_F(LogFilesTest, TailCountsJoinedLinesAcrossFiles) {
  write("0.log.20240101-000000", criLine(1, "one") + criLine(2, "tw", 'P'));
  write("0.log", criLine(3, "o") + criLine(4, "three") + criLine(5, "four"));
  EXPECT_EQ(print({.tail = 3}), "two\nthree\nfour\n");
  EXPECT_EQ(print({.tail = 0}), "");
  EXPECT_EQ(print({.tail = 100}), "one\ntwo\nthree\nfour\n");
  EXPECT_EQ(print({.tail = 1, .timestamps = true}), "2024-01-01T00:00:05.000000001Z four\n");
}

TEST_F(LogFilesTest, SinceKeepsLaterEntries) {
  write("0.log", criLine(1, "one") + criLine(2, "two") + criLine(3, "three"));
  EXPECT_EQ(print({.since = absl::FromUnixSeconds(1704067202)}), "two\nthree\n");
}

TEST_F(LogFilesTest, TailStopsAtTheLastCompleteLineAndReportsTheOffset) {
  const std::string complete = criLine(1, "one") + criLine(2, "half", 'P');
  write("0.log", complete + "2024-01-01T00:00:03Z stdout F unfini");
  std::ostringstream out;
  absl::StatusOr<TailResult> r = printLogs(containerLogFiles(dir_, 0), {.follow = true}, out);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(out.str(), "one\n");
  EXPECT_EQ(r->currentPath, (dir_ / "0.log").string());
  EXPECT_EQ(r->currentOffset, complete.size());
  ASSERT_EQ(r->unfinished.size(), 1u);
  EXPECT_EQ(r->unfinished[0].text, "half");
  // Without following, the unfinished line is shown as it is (no newline).
  EXPECT_EQ(print({}), "one\nhalf");
}

TEST_F(LogFilesTest, FollowPrintsAppendedLinesAcrossARotation) {
  const fs::path path = dir_ / "0.log";
  write("0.log", criLine(1, "one") + criLine(2, "be", 'P'));
  std::ostringstream head;
  absl::StatusOr<TailResult> r = printLogs(containerLogFiles(dir_, 0), {.follow = true}, head);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(head.str(), "one\n");

  // The printer's stream is read by this thread while the follower writes to it.
  std::mutex mu;
  std::string printed;
  struct Sink : std::stringbuf {
    std::mutex* mu;
    std::string* printed;
    int sync() override {
      std::lock_guard<std::mutex> lock(*mu);
      *printed += str();
      str("");
      return 0;
    }
  } sink;
  sink.mu = &mu;
  sink.printed = &printed;
  std::ostream out(&sink);
  LogPrinter printer(out, false);
  printer.resume(r->unfinished);
  std::atomic<bool> stop = false;
  absl::Status followed;
  std::thread follower([&] {
    followed = followLog(
        r->currentPath, r->currentOffset, printer,
        {.keepFollowing = [&] { return !stop.load(); }, .checkPeriod = absl::Milliseconds(20)});
  });
  auto printedNow = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return printed;
  };
  auto waitFor = [&](const std::string& expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (printedNow() != expected && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(5));
    EXPECT_EQ(printedNow(), expected);
  };
  {
    std::ofstream append(path, std::ios::app);
    append << criLine(3, "fore rotation") << "2024-01-01T00:00:04Z stdout F spl" << std::flush;
    waitFor("before rotation\n");
    append << "it write\n" << std::flush;
    waitFor("before rotation\nsplit write\n");
    // Rotation: the file is renamed, containerd writes one more line to it before it reopens.
    fs::rename(path, dir_ / "0.log.20240101-000005");
    append << criLine(5, "late in old file") << std::flush;
  }
  write("0.log", criLine(6, "new file"));
  waitFor("before rotation\nsplit write\nlate in old file\nnew file\n");
  stop = true;
  follower.join();
  EXPECT_TRUE(followed.ok()) << followed;
}

TEST_F(LogFilesTest, FollowCatchesUpOnRotationsItSleptThrough) {
  const fs::path path = dir_ / "0.log";
  write("0.log", criLine(1, "one"));
  std::mutex mu;
  std::condition_variable cv;
  bool paused = false;
  bool released = false;
  int checks = 0;
  std::ostringstream out;
  LogPrinter printer(out, false);
  absl::Status followed;
  std::thread follower([&] {
    followed = followLog(path.string(), 0, printer,
                         {.keepFollowing =
                              [&] {
                                // The first check holds the follower while the test rotates
                                // twice and compresses, as a slow reader would fall behind;
                                // the second comes after the follower went through all that.
                                std::unique_lock<std::mutex> lock(mu);
                                if (!paused) {
                                  paused = true;
                                  cv.notify_all();
                                  cv.wait(lock, [&] { return released; });
                                }
                                return ++checks < 2;
                              },
                          .checkPeriod = absl::Milliseconds(1)});
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return paused; }));
  }
  const auto t0 = fs::file_time_type::clock::now() - std::chrono::minutes(10);
  {
    std::ofstream a(path, std::ios::app);
    fs::rename(path, dir_ / "0.log.20240101-000001");
    a << criLine(2, "two") << std::flush;  // the old writer's last line, after the rename
  }
  fs::last_write_time(dir_ / "0.log.20240101-000001", t0);
  write("0.log", criLine(3, "three"));
  fs::rename(path, dir_ / "0.log.20240101-000002");
  fs::last_write_time(dir_ / "0.log.20240101-000002", t0 + std::chrono::minutes(1));
  write("0.log", criLine(4, "four"));
  // The file the follower holds is compressed meanwhile: a new inode, same times.
  ASSERT_TRUE(compressLogFile((dir_ / "0.log.20240101-000001").string()).ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  follower.join();
  EXPECT_TRUE(followed.ok()) << followed;
  EXPECT_EQ(out.str(), "one\ntwo\nthree\nfour\n");
}

}  // namespace
}  // namespace kubenode::agent::logs
