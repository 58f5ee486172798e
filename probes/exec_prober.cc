#include "probes/exec_prober.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "api/field_error.h"
#include "cri/runtime_client.h"

namespace kubenode::probes {
namespace {

// Go's %q of the command line, as the kubelet's TimeoutError words it.
std::string quoted(const std::vector<std::string>& command) {
  std::string joined;
  for (size_t i = 0; i < command.size(); ++i) {
    if (i > 0)
      joined += ' ';
    joined += command[i];
  }
  return api::quoteGo(joined);
}

ProbeOutcome execOutcome(const std::vector<std::string>& command,
                         const absl::StatusOr<cri::v1::ExecSyncResponse>& response) {
  if (!response.ok()) {
    if (absl::IsDeadlineExceeded(response.status())) {
      return {Outcome::kFailure, fmt::format("command {} timed out", quoted(command))};
    }
    return {Outcome::kFailure, std::string(response.status().message())};
  }
  // The kubelet gives the exec probe stdout followed by stderr, read through a 10 KiB
  // limit.
  std::string output = response->stdout();
  output += response->stderr();
  output.resize(std::min(output.size(), kMaxProbeOutputBytes));
  return {response->exit_code() == 0 ? Outcome::kSuccess : Outcome::kFailure, std::move(output)};
}

}  // namespace

ExecProber::ExecProber(cri::RuntimeClient& runtime, boost::asio::io_context& loop,
                       ExecProberOptions options)
    : runtime_(runtime),
      loop_(loop),
      pool_(std::make_unique<boost::asio::thread_pool>(std::max(1, options.threads))) {}

ExecProber::~ExecProber() {
  pool_->stop();
  pool_->join();
}

void ExecProber::probe(const ProbeTarget& target, absl::Duration timeout, ProbeDone done) {
  const auto* exec = std::get_if<ExecTarget>(&target);
  if (exec == nullptr) {
    boost::asio::post(loop_, [done = std::move(done)] {
      done(ProbeOutcome{Outcome::kFailure,
                        "tcp and http probes need a NetworkProber, not the ExecProber"});
    });
    return;
  }
  // The probe's time runs from now, as the kubelet's worker starts ExecSync at once: time
  // spent waiting for a pool thread counts, and a probe still queued at its deadline is a
  // timeout without bothering the runtime.
  const absl::Time deadline = absl::Now() + timeout;
  boost::asio::post(*pool_, [this, target = *exec, deadline, done = std::move(done)]() mutable {
    const absl::Duration left = deadline - absl::Now();
    absl::StatusOr<cri::v1::ExecSyncResponse> response =
        left <= absl::ZeroDuration()
            ? absl::StatusOr<cri::v1::ExecSyncResponse>(
                  absl::DeadlineExceededError("queued past the probe's timeout"))
            : runtime_.execSync(target.containerId, target.command, left);
    ProbeOutcome outcome = execOutcome(target.command, response);
    boost::asio::post(loop_, [done = std::move(done), outcome = std::move(outcome)]() mutable {
      done(std::move(outcome));
    });
  });
}

}  // namespace kubenode::probes
