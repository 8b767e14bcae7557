// SIGINT and SIGTERM as a request to stop gracefully, for the long-running
// commands (`berth server`, `berth dev`, `berth agent`).
#pragma once

namespace berth {

// Blocks SIGINT and SIGTERM in the calling thread and ignores SIGPIPE. Call
// before any thread starts, so that every thread inherits the mask and only
// WaitForStopSignal receives them.
void BlockStopSignals();

// Waits for SIGINT or SIGTERM and returns its name ("Terminated", ...).
const char* WaitForStopSignal();

}  // namespace berth
