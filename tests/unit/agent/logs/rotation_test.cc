// The container log manager: which files a rotation removes, compresses and renames (table
// of cases), and the manager carrying a plan out on a real directory against the fake
// runtime (ReopenContainerLog called, undone when it fails, periodic checks on a loop).
#include "agent/logs/rotation.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/logs/log_files.h"
#include "agent/logs/log_reader.h"
#include "cri/fake_runtime_service.h"

namespace kubenode::agent::logs {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2024, 3, 1, 12, 30, 5), absl::UTCTimeZone());

TEST(MakeRotationPolicyTest, ParsesQuantitiesAndRefusesBadValuesNamingTheFlag) {
  absl::StatusOr<RotationPolicy> p = makeRotationPolicy("10Mi", 5);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->maxSizeBytes, 10 * 1024 * 1024);
  EXPECT_EQ(p->maxFiles, 5);
  EXPECT_EQ(makeRotationPolicy("1k", 2)->maxSizeBytes, 1000);
  EXPECT_THAT(std::string(makeRotationPolicy("ten", 5).status().message()),
              HasSubstr("--container-log-max-size: \"ten\" is not a positive quantity"));
  EXPECT_THAT(std::string(makeRotationPolicy("0", 5).status().message()),
              HasSubstr("--container-log-max-size"));
  EXPECT_THAT(std::string(makeRotationPolicy("10Mi", 1).status().message()),
              HasSubstr("--container-log-max-files: 1 is too small"));
}

struct PlanCase {
  std::string name;
  int64_t size;
  int maxFiles;
  std::vector<std::string> names;
  bool rotates;
  std::vector<std::string> remove;
  std::vector<std::string> compress;
  std::string rotateTo;
};

class PlanRotationTest : public ::testing::TestWithParam<PlanCase> {};

TEST_P(PlanRotationTest, Plans) {
  const PlanCase& c = GetParam();
  std::optional<RotationPlan> plan =
      planRotation("0.log", c.size, c.names, {.maxSizeBytes = 100, .maxFiles = c.maxFiles}, kNow);
  ASSERT_EQ(plan.has_value(), c.rotates);
  if (!plan)
    return;
  EXPECT_THAT(plan->remove, ::testing::ContainerEq(c.remove));
  EXPECT_THAT(plan->compress, ::testing::ContainerEq(c.compress));
  EXPECT_EQ(plan->rotateTo, c.rotateTo);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanRotationTest,
    ::testing::Values(
        PlanCase{"BelowMaxSizeNothing", 99, 5, {"0.log", "0.log.x.tmp"}, false, {}, {}, ""},
        PlanCase{"FirstRotation", 100, 5, {"0.log"}, true, {}, {}, "0.log.20240301-123005"},
        PlanCase{"SecondRotationCompressesTheFirst",
                 150,
                 5,
                 {"0.log", "0.log.20240301-120000"},
                 true,
                 {},
                 {"0.log.20240301-120000"},
                 "0.log.20240301-123005"},
        PlanCase{"EveryKeptRotatedFileIsCompressed",
                 150,
                 5,
                 {"0.log", "0.log.20240301-120000", "0.log.20240301-121000"},
                 true,
                 {},
                 {"0.log.20240301-120000", "0.log.20240301-121000"},
                 "0.log.20240301-123005"},
        PlanCase{"MaxFilesKeepsMaxMinusTwoOldOnes",
                 150,
                 3,
                 {"0.log", "0.log.20240301-110000.gz", "0.log.20240301-120000.gz",
                  "0.log.20240301-121000"},
                 true,
                 {"0.log.20240301-110000.gz", "0.log.20240301-120000.gz"},
                 {"0.log.20240301-121000"},
                 "0.log.20240301-123005"},
        PlanCase{"MaxFilesTwoKeepsNoOldRotated",
                 150,
                 2,
                 {"0.log", "0.log.20240301-120000.gz", "0.log.20240301-121000"},
                 true,
                 {"0.log.20240301-120000.gz", "0.log.20240301-121000"},
                 {},
                 "0.log.20240301-123005"},
        PlanCase{"LeftoversOfAnInterruptedCompressionAreRemoved",
                 150,
                 5,
                 {"0.log", "0.log.20240301-110000", "0.log.20240301-110000.gz",
                  "0.log.20240301-111000.gz.tmp", "0.log.20240301-111000", "0.log.20240301-120000"},
                 true,
                 {"0.log.20240301-111000.gz.tmp", "0.log.20240301-110000"},
                 {"0.log.20240301-111000", "0.log.20240301-120000"},
                 "0.log.20240301-123005"},
        PlanCase{"OtherRestartsFilesAreLeftAlone",
                 150,
                 2,
                 {"0.log", "1.log", "1.log.20240301-100000", "10.log.20240301-100000"},
                 true,
                 {},
                 {},
                 "0.log.20240301-123005"},
        PlanCase{"SameSecondTwiceWaits",
                 150,
                 5,
                 {"0.log", "0.log.20240301-123005"},
                 true,
                 {},
                 {"0.log.20240301-123005"},
                 ""}),
    [](const ::testing::TestParamInfo<PlanCase>& info) { return info.param.name; });

class ContainerLogManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kubenode-rotation-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    runtime_.addImage("busybox:latest");
    cri::v1::PodSandboxConfig sandbox;
    sandbox.mutable_metadata()->set_name("p");
    sandbox.mutable_metadata()->set_namespace_("default");
    sandbox.mutable_metadata()->set_uid("u1");
    sandbox.set_log_directory(dir_.string());
    absl::StatusOr<std::string> sandboxId = runtime_.runPodSandbox(sandbox, "");
    ASSERT_TRUE(sandboxId.ok()) << sandboxId.status();
    cri::v1::ContainerConfig config;
    config.mutable_metadata()->set_name("c");
    config.mutable_image()->set_image("busybox:latest");
    config.set_log_path("c/0.log");
    absl::StatusOr<std::string> id = runtime_.createContainer(*sandboxId, config, sandbox);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_TRUE(runtime_.startContainer(*id).ok());
    id_ = *id;
    fs::create_directories(dir_ / "c");
    logPath_ = (dir_ / "c/0.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeLines(const std::string& path, int from, int count) {
    std::ofstream out(path, std::ios::app);
    for (int i = from; i < from + count; ++i)
      out << "2024-03-01T12:00:00.000000000Z stdout F line " << i << "\n";
  }
  std::vector<std::string> files() {
    std::vector<std::string> names = listDirectory((dir_ / "c").string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  std::string logPath_;
  std::string id_;
  cri::FakeRuntimeService runtime_;
  boost::asio::io_context loop_;
  absl::Time now_ = kNow;
};

TEST_F(ContainerLogManagerTest, RotatesCompressesAndKeepsMaxFilesWithEveryLineReadable) {
  CriRunningContainerLogs running(runtime_);
  ContainerLogManager manager(loop_, runtime_, running, {.maxSizeBytes = 200, .maxFiles = 3},
                              [this] { return now_; });
  int line = 0;
  for (int round = 0; round < 4; ++round) {
    writeLines(logPath_, line, 5);  // 5 lines of ~45 bytes: over 200
    line += 5;
    ASSERT_TRUE(manager.rotateLogs().ok());
    // The fake does not create the file containerd would create on reopen.
    std::ofstream(logPath_, std::ios::app).flush();
    now_ += absl::Seconds(1);
  }
  EXPECT_EQ(runtime_.callCount("ReopenContainerLog"), 4);
  EXPECT_THAT(files(), ElementsAre("0.log", "0.log.20240301-123007.gz", "0.log.20240301-123008"));
  // The two kept rotated files hold rounds 3 and 4 (lines 10..19), in order, readable.
  std::ostringstream out;
  ASSERT_TRUE(printLogs(containerLogFiles((dir_ / "c").string(), 0), {}, out).ok());
  std::string expected;
  for (int i = 10; i < 20; ++i)
    expected += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(out.str(), expected);
}

TEST_F(ContainerLogManagerTest, SmallFileIsLeftAlone) {
  CriRunningContainerLogs running(runtime_);
  ContainerLogManager manager(loop_, runtime_, running, {.maxSizeBytes = 1 << 20, .maxFiles = 3},
                              [this] { return now_; });
  writeLines(logPath_, 0, 5);
  ASSERT_TRUE(manager.rotateLogs().ok());
  EXPECT_EQ(runtime_.callCount("ReopenContainerLog"), 0);
  EXPECT_THAT(files(), ElementsAre("0.log"));
}

TEST_F(ContainerLogManagerTest, FailedReopenUndoesTheRename) {
  CriRunningContainerLogs running(runtime_);
  ContainerLogManager manager(loop_, runtime_, running, {.maxSizeBytes = 10, .maxFiles = 3},
                              [this] { return now_; });
  writeLines(logPath_, 0, 1);
  runtime_.failNext("ReopenContainerLog", absl::UnavailableError("containerd is restarting"));
  absl::Status s = manager.rotateLogs();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(id_));
  EXPECT_THAT(files(), ElementsAre("0.log"));
  // Next time it works.
  ASSERT_TRUE(manager.rotateLogs().ok());
  EXPECT_THAT(files(), ElementsAre("0.log.20240301-123005"));
}

TEST_F(ContainerLogManagerTest, StoppedContainersAreNotRotated) {
  CriRunningContainerLogs running(runtime_);
  ContainerLogManager manager(loop_, runtime_, running, {.maxSizeBytes = 10, .maxFiles = 3},
                              [this] { return now_; });
  writeLines(logPath_, 0, 1);
  ASSERT_TRUE(runtime_.exitContainer(id_, 0).ok());
  ASSERT_TRUE(manager.rotateLogs().ok());
  EXPECT_THAT(files(), ElementsAre("0.log"));
}

TEST_F(ContainerLogManagerTest, ChecksPeriodicallyOnTheLoop) {
  CriRunningContainerLogs running(runtime_);
  ContainerLogManager manager(
      loop_, runtime_, running, {.maxSizeBytes = 10, .maxFiles = 3}, [this] { return now_; },
      std::chrono::milliseconds(10));
  writeLines(logPath_, 0, 1);
  manager.start();
  // Runs the loop until the first check has rotated the file (or a deadline).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (runtime_.callCount("ReopenContainerLog") == 0 && absl::Now() < deadline)
    loop_.run_one_for(std::chrono::milliseconds(50));
  manager.stop();
  loop_.run();  // the cancelled timer's handler; returns since nothing else is pending
  EXPECT_EQ(runtime_.callCount("ReopenContainerLog"), 1);
  EXPECT_THAT(files(), ElementsAre("0.log.20240301-123005"));
}

TEST(CompressLogFileTest, ReplacesTheFileByItsGzipAndReadsBack) {
  char pattern[] = "/tmp/kubenode-gz-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const fs::path dir = pattern;
  const std::string path = (dir / "0.log.20240301-120000").string();
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += "2024-03-01T12:00:00Z stdout F the same line again\n";
  std::ofstream(path) << text;
  ASSERT_TRUE(compressLogFile(path).ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_LT(fs::file_size(path + ".gz"), text.size() / 10);
  absl::StatusOr<std::string> back = readLogFile({.path = path + ".gz", .compressed = true});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
  EXPECT_EQ(compressLogFile((dir / "missing").string()).code(), absl::StatusCode::kInternal);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kubenode::agent::logs
