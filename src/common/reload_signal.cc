#include "common/reload_signal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <thread>

#include "common/log.h"

namespace berth {

namespace {

// The handler may only do what is async-signal-safe: it writes a byte
// into a pipe, which the watching thread reads.
int reload_pipe[2] = {-1, -1};

void OnSignal(int) {
  int saved = errno;
  char byte = 1;
  [[maybe_unused]] ssize_t n = write(reload_pipe[1], &byte, 1);  // full pipe: one is pending
  errno = saved;
}

}  // namespace

void HandleReloadSignal(std::function<void()> on_reload) {
  if (reload_pipe[0] >= 0) {
    LogError("HandleReloadSignal called twice; the first handler stays");
    return;
  }
  if (pipe2(reload_pipe, O_CLOEXEC) != 0) {
    LogError("SIGHUP reload not available: pipe failed");
    return;
  }
  fcntl(reload_pipe[1], F_SETFL, O_NONBLOCK);
  std::thread([on_reload = std::move(on_reload)] {
    char bytes[64];
    for (;;) {
      ssize_t n = read(reload_pipe[0], bytes, sizeof(bytes));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      on_reload();
    }
  }).detach();  // lives as long as the process
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &action, nullptr);
}

}  // namespace berth
