// fromGrpcStatus (codes kept, method prefixed) and the
// --container-runtime-endpoint parsing of GrpcRuntimeService.
#include "cri/grpc_errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "cri/grpc_runtime_service.h"

namespace kubenode::cri {
namespace {

using ::testing::HasSubstr;

TEST(FromGrpcStatus, OkStaysOk) {
  EXPECT_TRUE(fromGrpcStatus("Version", grpc::Status::OK).ok());
}

struct CodeCase {
  grpc::StatusCode grpc_code;
  absl::StatusCode absl_code;
};

class FromGrpcStatusCodes : public ::testing::TestWithParam<CodeCase> {};

TEST_P(FromGrpcStatusCodes, KeepsTheCodeAndPrefixesTheMethod) {
  const CodeCase& c = GetParam();
  absl::Status status =
      fromGrpcStatus("ContainerStatus", grpc::Status(c.grpc_code, "container \"ab\" is gone"));
  EXPECT_EQ(status.code(), c.absl_code);
  EXPECT_EQ(status.message(), "ContainerStatus: container \"ab\" is gone");
}

INSTANTIATE_TEST_SUITE_P(
    AllCodes, FromGrpcStatusCodes,
    ::testing::Values(
        CodeCase{grpc::StatusCode::CANCELLED, absl::StatusCode::kCancelled},
        CodeCase{grpc::StatusCode::UNKNOWN, absl::StatusCode::kUnknown},
        CodeCase{grpc::StatusCode::INVALID_ARGUMENT, absl::StatusCode::kInvalidArgument},
        CodeCase{grpc::StatusCode::DEADLINE_EXCEEDED, absl::StatusCode::kDeadlineExceeded},
        CodeCase{grpc::StatusCode::NOT_FOUND, absl::StatusCode::kNotFound},
        CodeCase{grpc::StatusCode::ALREADY_EXISTS, absl::StatusCode::kAlreadyExists},
        CodeCase{grpc::StatusCode::PERMISSION_DENIED, absl::StatusCode::kPermissionDenied},
        CodeCase{grpc::StatusCode::RESOURCE_EXHAUSTED, absl::StatusCode::kResourceExhausted},
        CodeCase{grpc::StatusCode::FAILED_PRECONDITION, absl::StatusCode::kFailedPrecondition},
        CodeCase{grpc::StatusCode::ABORTED, absl::StatusCode::kAborted},
        CodeCase{grpc::StatusCode::OUT_OF_RANGE, absl::StatusCode::kOutOfRange},
        CodeCase{grpc::StatusCode::UNIMPLEMENTED, absl::StatusCode::kUnimplemented},
        CodeCase{grpc::StatusCode::INTERNAL, absl::StatusCode::kInternal},
        CodeCase{grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable},
        CodeCase{grpc::StatusCode::DATA_LOSS, absl::StatusCode::kDataLoss},
        CodeCase{grpc::StatusCode::UNAUTHENTICATED, absl::StatusCode::kUnauthenticated}));

TEST(FromGrpcStatus, EmptyMessageStillNamesTheMethod) {
  absl::Status status =
      fromGrpcStatus("RunPodSandbox", grpc::Status(grpc::StatusCode::INTERNAL, ""));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("RunPodSandbox: "));
}

TEST(FromGrpcStatus, OutOfRangeCodeBecomesUnknown) {
  absl::Status status =
      fromGrpcStatus("Version", grpc::Status(static_cast<grpc::StatusCode>(20), "odd peer"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(status.message(), "Version: odd peer");
}

TEST(ParseEndpoint, AcceptsUnixUrlsAndPlainAbsolutePaths) {
  EXPECT_EQ(GrpcRuntimeService::parseEndpoint("unix:///run/containerd/containerd.sock").value(),
            "unix:///run/containerd/containerd.sock");
  EXPECT_EQ(GrpcRuntimeService::parseEndpoint("/run/containerd/containerd.sock").value(),
            "unix:///run/containerd/containerd.sock");
}

TEST(ParseEndpoint, RejectsWithAMessageNamingTheFlag) {
  for (const char* bad : {"", "tcp://127.0.0.1:1234", "npipe:////./pipe/containerd",
                          "unix://run/containerd.sock", "containerd.sock", "unix://"}) {
    absl::StatusOr<std::string> parsed = GrpcRuntimeService::parseEndpoint(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("--container-runtime-endpoint")) << bad;
  }
}

TEST(ParseEndpoint, RejectsPathsLongerThanTheKernelAllows) {
  std::string long_path = "/" + std::string(200, 'a') + ".sock";
  absl::StatusOr<std::string> parsed = GrpcRuntimeService::parseEndpoint(long_path);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("longer than 107 bytes"));
}

TEST(GrpcRuntimeServiceCreate, BadEndpointIsInvalidArgument) {
  auto client = GrpcRuntimeService::create("tcp://localhost:1");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("--container-runtime-endpoint"));
}

}  // namespace
}  // namespace kubenode::cri
