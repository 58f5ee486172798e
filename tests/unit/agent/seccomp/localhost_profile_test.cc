// Localhost seccomp profiles: good profiles compile, and every kind of broken profile is
// refused with a message naming the file, the field and what is wrong.
#include "agent/seccomp/localhost_profile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kubenode::agent::seccomp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kDenyMkdir = R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
})";

class LocalhostProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kubenode-seccomp-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "seccomp" / "profiles");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(root_ / "seccomp" / name) << text;
  }

  fs::path root_;
};

TEST(LocalhostProfilePathTest, IsUnderTheSeccompDirectoryOfTheRootDir) {
  EXPECT_EQ(localhostProfilePath("/var/lib/kubenode", "profiles/x.json"),
            "/var/lib/kubenode/seccomp/profiles/x.json");
  EXPECT_EQ(localhostProfilePath("/var/lib/kubenode/", "x.json"),
            "/var/lib/kubenode/seccomp/x.json");
}

TEST_F(LocalhostProfileTest, ValidProfileGivesTheAbsolutePathForCri) {
  write("profiles/deny-mkdir.json", kDenyMkdir);
  absl::StatusOr<std::string> ref =
      loadLocalhostProfile(root_.string(), "profiles/deny-mkdir.json");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(*ref, (root_ / "seccomp/profiles/deny-mkdir.json").string());
}

TEST_F(LocalhostProfileTest, MissingFileIsNotFoundNamingProfileAndPath) {
  absl::StatusOr<std::string> ref = loadLocalhostProfile(root_.string(), "profiles/nope.json");
  ASSERT_EQ(ref.status().code(), absl::StatusCode::kNotFound) << ref.status();
  EXPECT_THAT(std::string(ref.status().message()),
              HasSubstr("seccomp profile \"profiles/nope.json\" not found: " +
                        (root_ / "seccomp/profiles/nope.json").string()));
}

TEST_F(LocalhostProfileTest, DirectoryIsNotReadable) {
  absl::StatusOr<std::string> ref = loadLocalhostProfile(root_.string(), "profiles");
  ASSERT_EQ(ref.status().code(), absl::StatusCode::kPermissionDenied) << ref.status();
  EXPECT_THAT(std::string(ref.status().message()), HasSubstr("cannot be read"));
}

TEST_F(LocalhostProfileTest, NamesEscapingTheDirectoryAreRefused) {
  for (const char* name : {"../etc/passwd", "profiles/../../x.json", "/etc/x.json", ""}) {
    absl::StatusOr<std::string> ref = loadLocalhostProfile(root_.string(), name);
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST_F(LocalhostProfileTest, BadJsonNamesFileAndPosition) {
  write("bad.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [}\n");
  absl::StatusOr<std::string> ref = loadLocalhostProfile(root_.string(), "bad.json");
  ASSERT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(ref.status().message());
  EXPECT_THAT(message, HasSubstr((root_ / "seccomp/bad.json").string()));
  EXPECT_THAT(message, HasSubstr("not a valid JSON seccomp profile"));
  EXPECT_THAT(message, HasSubstr("line 2"));
}

struct BadProfile {
  std::string name;
  std::string json;
  std::string expected;  // a part of the message
};

class BadProfileTest : public ::testing::TestWithParam<BadProfile> {};

TEST_P(BadProfileTest, IsRefusedNamingTheField) {
  absl::Status status = validateProfile(GetParam().json, "p.json");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << GetParam().name;
  EXPECT_THAT(std::string(status.message()), HasSubstr("p.json: " + GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, BadProfileTest,
    ::testing::Values(
        BadProfile{"NotAnObject", "[]", ""},
        BadProfile{"NoDefaultAction", R"({"syscalls": []})", "defaultAction: must be set"},
        BadProfile{"UnknownDefaultAction", R"({"defaultAction": "SCMP_ACT_DENY"})",
                   "defaultAction: unknown action \"SCMP_ACT_DENY\"; expected one of: "},
        BadProfile{"UnknownRuleAction",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                                    {"names": ["mkdir"], "action": "DENY"}]})",
                   "syscalls[1].action: unknown action \"DENY\""},
        BadProfile{"UnknownSyscall",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["mkdir", "mkdri"], "action": "SCMP_ACT_ERRNO"}]})",
                   "syscalls[0].names[1]: unknown syscall \"mkdri\""},
        BadProfile{"UnknownArchitecture",
                   R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})",
                   "architectures[0]: unknown architecture \"SCMP_ARCH_Z80\""},
        BadProfile{"UnknownOperator",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_IS"}]}]})",
                   "syscalls[0].args[0].op: unknown operator \"SCMP_CMP_IS\""},
        BadProfile{"ArgumentIndexOutOfRange",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                                     "args": [{"index": 6, "value": 8, "op": "SCMP_CMP_EQ"}]}]})",
                   "syscalls[0].args[0].index: must be a syscall argument index from 0 to 5"},
        BadProfile{"ErrnoOnAllow",
                   R"({"defaultAction": "SCMP_ACT_ERRNO",
                       "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                     "errnoRet": 1}]})",
                   "syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno"},
        BadProfile{"OneNameForm",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO"}]})",
                   "syscalls[0].name: the one-name form is not read by the runtime"},
        BadProfile{"NotifyWithoutListener",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})",
                   "syscalls[0].action: SCMP_ACT_NOTIFY needs listenerPath"},
        BadProfile{"UnknownFlag",
                   R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]})",
                   "flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\""},
        BadProfile{"NamesNotAList",
                   R"({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": "mkdir", "action": "SCMP_ACT_ERRNO"}]})",
                   "syscalls[0].names: must be a list of syscall names"}),
    [](const ::testing::TestParamInfo<BadProfile>& info) { return info.param.name; });

TEST(ValidateProfileTest, AcceptsTheFormsRealProfilesUse) {
  // The Kubernetes tutorial's audit profile, a default-deny allow-list, Docker's extra keys,
  // argument filters (two comparisons of one argument become two rules, as runc does),
  // and a rule whose action is the default one (skipped, as runc does).
  for (const char* json : {
           R"({"defaultAction": "SCMP_ACT_LOG"})",
           // Docker's default profile names syscalls of other architectures (socketcall,
           // _llseek on x86_64): libseccomp knows them and they must not be refused.
           R"({"defaultAction": "SCMP_ACT_ERRNO",
               "syscalls": [{"names": ["socketcall", "_llseek", "read", "futex_waitv"],
                             "action": "SCMP_ACT_ALLOW"}]})",
           R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
               "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{"names": ["read", "write", "exit_group", "futex"],
                             "action": "SCMP_ACT_ALLOW"}]})",
           R"({"defaultAction": "SCMP_ACT_ERRNO",
               "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}],
               "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                             "comment": "", "includes": {}, "excludes": {},
                             "args": [{"index": 0, "value": 0, "valueTwo": 0,
                                       "op": "SCMP_CMP_EQ"},
                                      {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]})",
           R"({"defaultAction": "SCMP_ACT_ALLOW",
               "flags": ["SECCOMP_FILTER_FLAG_LOG"],
               "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                            {"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS"}]})",
       }) {
    absl::Status status = validateProfile(json, "p.json");
    EXPECT_TRUE(status.ok()) << status << "\n" << json;
  }
}

}  // namespace
}  // namespace kubenode::agent::seccomp
