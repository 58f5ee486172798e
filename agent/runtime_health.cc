#include "agent/runtime_health.h"

#include <fmt/format.h>

#include <cmath>

namespace kubenode::agent {

RuntimeHealthVerdict judgeRuntimeHealth(const RuntimeHealthRecord& record,
                                        std::string_view endpoint, absl::Time now,
                                        absl::Duration threshold) {
  const absl::Time since =
      record.lastSuccess == absl::InfinitePast() ? record.started : record.lastSuccess;
  const absl::Duration silent = now - since;
  if (record.lastSuccess != absl::InfinitePast() && silent <= threshold) {
    return {true, "ok"};
  }
  if (record.lastSuccess == absl::InfinitePast() && record.started == absl::InfinitePast()) {
    return {false, fmt::format("container runtime at {}: not checked yet", endpoint)};
  }
  if (record.lastSuccess == absl::InfinitePast() && silent <= threshold) {
    // Starting up: the first answer has not come back yet. Unhealthy, but say why.
    return {false, fmt::format("container runtime at {}: waiting for its first answer{}", endpoint,
                               record.lastError.empty() ? "" : ": " + record.lastError)};
  }
  const int64_t seconds = absl::ToInt64Seconds(silent);
  return {false, fmt::format("container runtime at {} has not answered for {}s{}", endpoint,
                             seconds, record.lastError.empty() ? "" : ": " + record.lastError)};
}

RuntimeHealthMonitor::RuntimeHealthMonitor(cri::RuntimeClient& runtime, std::string endpoint,
                                           Options options)
    : runtime_(runtime), endpoint_(std::move(endpoint)), options_(options) {}

RuntimeHealthMonitor::~RuntimeHealthMonitor() {
  if (thread_.joinable()) {
    stop_.Notify();
    thread_.join();
  }
}

void RuntimeHealthMonitor::start() {
  {
    absl::MutexLock lock(&mu_);
    record_.started = absl::Now();
  }
  thread_ = std::thread([this] { run(); });
}

void RuntimeHealthMonitor::run() {
  do {
    checkOnce();
  } while (!stop_.WaitForNotificationWithTimeout(options_.period));
}

void RuntimeHealthMonitor::checkOnce() {
  absl::StatusOr<cri::v1::StatusResponse> status =
      runtime_.status(false, {.timeout = options_.callTimeout});
  std::string error;
  if (!status.ok()) {
    error = std::string(status.status().message());
  } else {
    for (const cri::v1::RuntimeCondition& c : status->status().conditions()) {
      if (c.type() == "RuntimeReady" && !c.status()) {
        error = fmt::format("RuntimeReady is false: {} {}", c.reason(), c.message());
      }
    }
  }
  absl::MutexLock lock(&mu_);
  if (error.empty()) {
    record_.lastSuccess = absl::Now();
    record_.lastError.clear();
  } else {
    record_.lastError = std::move(error);
  }
}

RuntimeHealthVerdict RuntimeHealthMonitor::verdict(absl::Time now) const {
  return judgeRuntimeHealth(record(), endpoint_, now, options_.threshold);
}

RuntimeHealthRecord RuntimeHealthMonitor::record() const {
  absl::MutexLock lock(&mu_);
  return record_;
}

}  // namespace kubenode::agent
