#include "tests/harness/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kubenode::harness {
namespace {

// argv as the char* array execvp wants, built before fork(): after fork() in a threaded
// process the child may only make async-signal-safe calls, so no allocation there.
std::vector<char*> cArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  out.reserve(argv.size() + 1);
  for (const std::string& arg : argv) {
    out.push_back(const_cast<char*>(arg.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

std::string describeExit(int status) {
  if (WIFEXITED(status)) {
    return absl::StrCat("exit status ", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::StrCat("wait status ", status);
}

}  // namespace

absl::StatusOr<std::string> runCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("runCommand: empty command");
  }
  const std::string command = absl::StrJoin(argv, " ");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<char*> c_argv = cArgv(argv);
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::InternalError(absl::StrCat("fork for ", command, ": ", std::strerror(err)));
  }
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    execvp(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);

  std::string output;
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready <= 0) {
      continue;  // The deadline check above ends the loop.
    }
    char buffer[4096];
    const ssize_t n = read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;  // EOF: the command (and anything it started with our pipe) is done writing.
    }
    output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  if (timed_out) {
    kill(pid, SIGKILL);
    waitChild(pid, absl::Seconds(5));
    return absl::DeadlineExceededError(absl::StrCat(command, ": still running after ",
                                                    absl::FormatDuration(timeout),
                                                    "; output so far: ", output));
  }
  // It closed its output; it may still take a moment to exit, but not past the deadline.
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) {
      break;
    }
    if (absl::Now() >= deadline) {
      kill(pid, SIGKILL);
      waitChild(pid, absl::Seconds(5));
      return absl::DeadlineExceededError(absl::StrCat(
          command, ": still running after ", absl::FormatDuration(timeout), "; output: ", output));
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && output.empty()) {
      return absl::NotFoundError(absl::StrCat(command, ": cannot execute ", argv[0]));
    }
    return absl::InternalError(
        absl::StrCat(command, ": ", describeExit(status), "; output: ", output));
  }
  return output;
}

absl::StatusOr<pid_t> startChild(const std::vector<std::string>& argv,
                                 const std::string& log_path) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("startChild: empty command");
  }
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open ", log_path, ": ", std::strerror(errno)));
  }
  std::vector<char*> c_argv = cArgv(argv);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(log_fd);
    return absl::InternalError(absl::StrCat("fork for ", argv[0], ": ", std::strerror(err)));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(1);  // The parent died before prctl: nobody would clean us up.
    }
    // Its own process group: a terminal's ^C reaches the test, which then stops containerd
    // in order, instead of reaching containerd first.
    setpgid(0, 0);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execvp(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(log_fd);
  return pid;
}

bool waitChild(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const pid_t done = waitpid(pid, nullptr, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) {
      return true;
    }
    if (absl::Now() >= deadline) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

char processState(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) {
    return 0;
  }
  // The state follows the command name's closing parenthesis: "pid (comm) S ...".
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : 0;
}

bool processAlive(pid_t pid) {
  const char state = processState(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

void terminateProcess(pid_t pid, absl::Duration grace) {
  if (pid <= 0) {
    return;
  }
  auto gone = [pid](absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      const pid_t done = waitpid(pid, nullptr, WNOHANG);
      if (done == pid || !processAlive(pid)) {
        return true;
      }
      if (absl::Now() >= deadline) {
        return false;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  };
  if (kill(pid, SIGTERM) != 0 && errno == ESRCH) {
    waitpid(pid, nullptr, WNOHANG);
    return;
  }
  // A stopped process (freeze()) would not act on SIGTERM.
  kill(pid, SIGCONT);
  if (gone(grace)) {
    return;
  }
  kill(pid, SIGKILL);
  gone(absl::Seconds(10));
}

std::vector<pid_t> findProcessesByCmdline(const std::string& needle) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) {
    return pids;
  }
  const pid_t self = getpid();
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) {
      continue;
    }
    std::ifstream file(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
    std::stringstream content;
    content << file.rdbuf();
    std::string cmdline = content.str();
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos && processAlive(static_cast<pid_t>(pid))) {
      pids.push_back(static_cast<pid_t>(pid));
    }
  }
  closedir(proc);
  return pids;
}

unsigned long long processStartTime(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) {
    return 0;
  }
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) {
    return 0;
  }
  // After "pid (comm)" come fields 3, 4, ...; the start time is field 22.
  std::vector<std::string> fields = absl::StrSplit(line.substr(paren + 2), ' ');
  if (fields.size() < 20) {
    return 0;
  }
  return std::strtoull(fields[19].c_str(), nullptr, 10);
}

}  // namespace kubenode::harness
