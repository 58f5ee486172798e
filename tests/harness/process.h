// Process helpers for the test harness: run a command with a deadline and capture its
// output, start a long-running child, find processes by command line, and stop them.
//
// They exist because the harness drives real binaries (containerd, ctr, runc, ip) and must
// never hang a test run on a wedged one: every wait has a deadline.
//
//   absl::StatusOr<std::string> out =
//       runCommand({"ctr", "--address", sock, "-n", "k8s.io", "images", "ls"}, absl::Seconds(10));
//   for (pid_t pid : findProcessesByCmdline("/var/tmp/kubenode-test-ab12/containerd.sock")) ...
//
// Thread-safety: all functions are safe to call from any thread; startChild() should be
// called from a thread that outlives the child (see its comment).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubenode::harness {

// Runs argv[0] (looked up in PATH) with stdin from /dev/null and returns its stdout and
// stderr, interleaved. A non-zero exit status is kInternal (message: the command, its status
// and its output); running past `timeout` kills it and returns kDeadlineExceeded.
absl::StatusOr<std::string> runCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout);

// Starts argv[0] as a child of this process with stdout and stderr appended to log_path.
// The child gets SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG), so a
// test process that dies, however it dies, does not leave it behind.
absl::StatusOr<pid_t> startChild(const std::vector<std::string>& argv, const std::string& log_path);

// Waits up to `timeout` for a child of this process to exit and reaps it. Returns true if
// it exited (or is not our child any more).
bool waitChild(pid_t pid, absl::Duration timeout);

// True if pid exists and is not a zombie.
bool processAlive(pid_t pid);

// The state letter of /proc/PID/stat ('R', 'S', 'T' for stopped, 'Z', ...); 0 if gone.
char processState(pid_t pid);

// Sends SIGTERM, waits up to `grace`, then SIGKILL and waits again. Works for children
// (reaped here) and for other processes (polled until gone).
void terminateProcess(pid_t pid, absl::Duration grace);

// Pids (other than this process) whose command line contains `needle`.
std::vector<pid_t> findProcessesByCmdline(const std::string& needle);

// The kernel's start time of pid (field 22 of /proc/PID/stat), which together with the
// pid identifies one process even after pid reuse; 0 if it does not exist.
unsigned long long processStartTime(pid_t pid);

}  // namespace kubenode::harness
