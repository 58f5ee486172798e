// Wire compatibility of cri/proto/runtime_v1.proto with upstream CRI
// (k8s.io/cri-api pkg/apis/runtime/v1/api.proto), which containerd serves.
// gRPC routes by "/runtime.v1.<Service>/<Method>" and protobuf decodes by
// field number, so those are what this table pins. The numbers were read
// from the upstream definition; a mismatch here means containerd would
// silently see a different field.
#include <gtest/gtest.h>

#include <string>

#include "cri/proto/runtime_v1.grpc.pb.h"
#include "cri/proto/runtime_v1.pb.h"

namespace kubenode::cri {
namespace {

// Reached through a generated type so that the static library's descriptor
// is linked in and registered.
const google::protobuf::FileDescriptor* criFile() {
  return runtime::v1::VersionRequest::descriptor()->file();
}

struct FieldCase {
  const char* message;
  const char* field;
  int number;
};

class UpstreamFieldNumbers : public ::testing::TestWithParam<FieldCase> {};

TEST_P(UpstreamFieldNumbers, Match) {
  const FieldCase& c = GetParam();
  EXPECT_EQ(criFile()->package(), "runtime.v1");
  const auto* message = criFile()->FindMessageTypeByName(c.message);
  ASSERT_NE(message, nullptr) << c.message;
  const auto* field = message->FindFieldByName(c.field);
  ASSERT_NE(field, nullptr) << c.message << "." << c.field;
  EXPECT_EQ(field->number(), c.number) << c.message << "." << c.field;
}

INSTANTIATE_TEST_SUITE_P(
    RuntimeV1, UpstreamFieldNumbers,
    ::testing::Values(
        FieldCase{"PodSandboxConfig", "metadata", 1}, FieldCase{"PodSandboxConfig", "hostname", 2},
        FieldCase{"PodSandboxConfig", "log_directory", 3},
        FieldCase{"PodSandboxConfig", "dns_config", 4},
        FieldCase{"PodSandboxConfig", "port_mappings", 5},
        FieldCase{"PodSandboxConfig", "labels", 6}, FieldCase{"PodSandboxConfig", "annotations", 7},
        FieldCase{"PodSandboxConfig", "linux", 8}, FieldCase{"PodSandboxMetadata", "namespace", 3},
        FieldCase{"PodSandboxMetadata", "attempt", 4},
        FieldCase{"LinuxPodSandboxConfig", "cgroup_parent", 1},
        FieldCase{"LinuxPodSandboxConfig", "security_context", 2},
        FieldCase{"LinuxPodSandboxConfig", "sysctls", 3},
        FieldCase{"LinuxSandboxSecurityContext", "namespace_options", 1},
        FieldCase{"LinuxSandboxSecurityContext", "privileged", 6},
        FieldCase{"LinuxSandboxSecurityContext", "run_as_group", 8},
        FieldCase{"LinuxSandboxSecurityContext", "seccomp", 9},
        FieldCase{"NamespaceOption", "network", 1}, FieldCase{"NamespaceOption", "pid", 2},
        FieldCase{"NamespaceOption", "ipc", 3}, FieldCase{"NamespaceOption", "target_id", 4},
        FieldCase{"PortMapping", "host_ip", 4}, FieldCase{"DNSConfig", "options", 3},
        FieldCase{"ContainerConfig", "metadata", 1}, FieldCase{"ContainerConfig", "image", 2},
        FieldCase{"ContainerConfig", "command", 3}, FieldCase{"ContainerConfig", "args", 4},
        FieldCase{"ContainerConfig", "working_dir", 5}, FieldCase{"ContainerConfig", "envs", 6},
        FieldCase{"ContainerConfig", "mounts", 7}, FieldCase{"ContainerConfig", "devices", 8},
        FieldCase{"ContainerConfig", "labels", 9}, FieldCase{"ContainerConfig", "annotations", 10},
        FieldCase{"ContainerConfig", "log_path", 11}, FieldCase{"ContainerConfig", "stdin", 12},
        FieldCase{"ContainerConfig", "tty", 14}, FieldCase{"ContainerConfig", "linux", 15},
        FieldCase{"Mount", "container_path", 1}, FieldCase{"Mount", "host_path", 2},
        FieldCase{"Mount", "readonly", 3}, FieldCase{"Mount", "propagation", 5},
        FieldCase{"LinuxContainerResources", "cpu_period", 1},
        FieldCase{"LinuxContainerResources", "cpu_quota", 2},
        FieldCase{"LinuxContainerResources", "cpu_shares", 3},
        FieldCase{"LinuxContainerResources", "memory_limit_in_bytes", 4},
        FieldCase{"LinuxContainerResources", "oom_score_adj", 5},
        FieldCase{"LinuxContainerResources", "unified", 9},
        FieldCase{"LinuxContainerResources", "memory_swap_limit_in_bytes", 10},
        FieldCase{"LinuxContainerSecurityContext", "capabilities", 1},
        FieldCase{"LinuxContainerSecurityContext", "privileged", 2},
        FieldCase{"LinuxContainerSecurityContext", "namespace_options", 3},
        FieldCase{"LinuxContainerSecurityContext", "run_as_user", 5},
        FieldCase{"LinuxContainerSecurityContext", "readonly_rootfs", 7},
        FieldCase{"LinuxContainerSecurityContext", "no_new_privs", 11},
        FieldCase{"LinuxContainerSecurityContext", "run_as_group", 12},
        FieldCase{"LinuxContainerSecurityContext", "seccomp", 15},
        FieldCase{"LinuxContainerSecurityContext", "apparmor", 16},
        FieldCase{"ContainerStatus", "state", 3}, FieldCase{"ContainerStatus", "created_at", 4},
        FieldCase{"ContainerStatus", "started_at", 5},
        FieldCase{"ContainerStatus", "finished_at", 6},
        FieldCase{"ContainerStatus", "exit_code", 7}, FieldCase{"ContainerStatus", "image_ref", 9},
        FieldCase{"ContainerStatus", "reason", 10}, FieldCase{"ContainerStatus", "message", 11},
        FieldCase{"ContainerStatus", "mounts", 14}, FieldCase{"ContainerStatus", "log_path", 15},
        FieldCase{"PodSandboxStatus", "state", 3}, FieldCase{"PodSandboxStatus", "network", 5},
        FieldCase{"PodSandboxStatus", "linux", 6},
        FieldCase{"PodSandboxNetworkStatus", "additional_ips", 2},
        FieldCase{"Namespace", "options", 2}, FieldCase{"PodSandboxFilter", "label_selector", 3},
        FieldCase{"ContainerFilter", "pod_sandbox_id", 3},
        FieldCase{"ContainerFilter", "label_selector", 4},
        FieldCase{"CreateContainerRequest", "sandbox_config", 3},
        FieldCase{"ExecSyncRequest", "timeout", 3}, FieldCase{"ExecSyncResponse", "exit_code", 3},
        FieldCase{"PullImageRequest", "sandbox_config", 3}, FieldCase{"Image", "pinned", 8},
        FieldCase{"VersionResponse", "runtime_api_version", 4}),
    [](const ::testing::TestParamInfo<FieldCase>& info) {
      return std::string(info.param.message) + "_" + info.param.field;
    });

TEST(UpstreamEnums, ValuesMatch) {
  EXPECT_EQ(runtime::v1::NODE, 2);
  EXPECT_EQ(runtime::v1::CONTAINER, 1);
  EXPECT_EQ(runtime::v1::SANDBOX_NOTREADY, 1);
  EXPECT_EQ(runtime::v1::CONTAINER_EXITED, 2);
  EXPECT_EQ(runtime::v1::CONTAINER_UNKNOWN, 3);
  EXPECT_EQ(runtime::v1::PROPAGATION_BIDIRECTIONAL, 2);
  EXPECT_EQ(runtime::v1::SecurityProfile::Localhost, 2);
}

TEST(UpstreamMethods, FullNamesAreTheGrpcRoutes) {
  const auto* runtime = criFile()->FindServiceByName("RuntimeService");
  const auto* images = criFile()->FindServiceByName("ImageService");
  ASSERT_NE(runtime, nullptr);
  ASSERT_NE(images, nullptr);
  for (const char* method :
       {"Version", "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus",
        "ListPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer",
        "ListContainers", "ContainerStatus", "UpdateContainerResources", "ReopenContainerLog",
        "ExecSync", "ContainerStats", "ListContainerStats", "Status"}) {
    const auto* found = runtime->FindMethodByName(method);
    ASSERT_NE(found, nullptr) << method;
    EXPECT_EQ(found->full_name(), std::string("runtime.v1.RuntimeService.") + method);
  }
  for (const char* method :
       {"ListImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo"}) {
    EXPECT_NE(images->FindMethodByName(method), nullptr) << method;
  }
}

}  // namespace
}  // namespace kubenode::cri
