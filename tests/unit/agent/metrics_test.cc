#include "agent/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kubenode::agent {
namespace {

using ::testing::HasSubstr;

TEST(CriOperationType, IsTheKubeletsSpelling) {
  EXPECT_EQ(criOperationType("RunPodSandbox"), "run_podsandbox");
  EXPECT_EQ(criOperationType("PodSandboxStatus"), "podsandbox_status");
  EXPECT_EQ(criOperationType("ListContainers"), "list_containers");
  EXPECT_EQ(criOperationType("ExecSync"), "exec_sync");
  EXPECT_EQ(criOperationType("Version"), "version");
}

TEST(AgentMetrics, CountsTimesAndErrorsPerOperation) {
  AgentMetrics metrics;
  auto observe = metrics.criObserver();
  observe("RunPodSandbox", absl::Milliseconds(90), absl::OkStatus());
  observe("RunPodSandbox", absl::Milliseconds(110), absl::UnavailableError("down"));
  observe("Version", absl::Milliseconds(1), absl::OkStatus());
  const std::string text = metrics.exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE kubelet_runtime_operations_total counter"));
  EXPECT_THAT(text,
              HasSubstr("kubelet_runtime_operations_total{operation_type=\"run_podsandbox\"} 2"));
  EXPECT_THAT(
      text,
      HasSubstr("kubelet_runtime_operations_errors_total{operation_type=\"run_podsandbox\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("kubelet_runtime_operations_errors_total{operation_type=\"version\"} 0"));
  EXPECT_THAT(text, HasSubstr("kubelet_runtime_operations_duration_seconds_count{operation_type="
                              "\"run_podsandbox\"} 2"));
  // 90 ms and 110 ms both fall into the 0.1953125 s bucket, not below 0.078125 s.
  EXPECT_THAT(text, HasSubstr("kubelet_runtime_operations_duration_seconds_bucket{operation_type="
                              "\"run_podsandbox\",le=\"0.078125\"} 0"));
  EXPECT_THAT(text, HasSubstr("kubelet_runtime_operations_duration_seconds_bucket{operation_type="
                              "\"run_podsandbox\",le=\"0.1953125\"} 2"));
}

}  // namespace
}  // namespace kubenode::agent
