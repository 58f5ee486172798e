// pause: the first process of every pod sandbox kubenode starts through containerd.
//
// It holds the sandbox's namespaces open while the pod's containers come and go, so it
// must cost nothing: it sleeps until SIGTERM or SIGINT and then exits 0. Because it is
// PID 1 of the sandbox's PID namespace (when the pod shares one), orphaned processes are
// re-parented to it, so it reaps them on SIGCHLD; otherwise they would stay zombies for
// the pod's lifetime.
//
// Built static (see images/CMakeLists.txt) so the image needs no libc:
//   $ ./pause &  kill -TERM $!  ; wait $!  # exit status 0
//
// Only async-signal-safe calls happen in the handlers; no C++ runtime features are used so
// that the static binary stays small.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void onTerminate(int /*signo*/) {
  _exit(0);
}

void onChild(int /*signo*/) {
  const int saved_errno = errno;
  // One SIGCHLD may stand for several exited children: reap until none is left.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved_errno;
}

bool install(int signo, void (*handler)(int)) {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  // SA_NOCLDSTOP: a stopped child is not a child to reap.
  action.sa_flags = signo == SIGCHLD ? SA_NOCLDSTOP : 0;
  return sigaction(signo, &action, nullptr) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "-v") == 0 || std::strcmp(argv[1], "--version") == 0)) {
    std::puts("kubenode pause 3.9");
    return 0;
  }
  if (!install(SIGTERM, onTerminate) || !install(SIGINT, onTerminate) ||
      !install(SIGCHLD, onChild)) {
    std::perror("pause: sigaction");
    return 1;
  }
  // pause() returns after every handled signal (SIGCHLD); keep sleeping.
  for (;;) {
    pause();
  }
}
