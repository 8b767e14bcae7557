// SIGHUP as a request to reload what can be reloaded in place (the TLS
// certificates of `berth server` and `berth agent`), the way nginx and
// etcd take it.
#pragma once

#include <functional>

namespace berth {

// From now on every SIGHUP runs on_reload on a thread of its own (one at a
// time, in order; a burst of signals may run it once). Call once per
// process, after BlockStopSignals. The signal is caught by a handler, not
// blocked, so children the process starts (conmon, runc) do not inherit it
// blocked. Without a call SIGHUP keeps its default action (it ends the
// process).
void HandleReloadSignal(std::function<void()> on_reload);

}  // namespace berth
