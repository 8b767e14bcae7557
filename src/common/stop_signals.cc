#include "common/stop_signals.h"

#include <pthread.h>

#include <csignal>
#include <cstring>

namespace berth {

namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockStopSignals() {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

const char* WaitForStopSignal() {
  sigset_t set = StopSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return strsignal(signal_number);
}

}  // namespace berth
