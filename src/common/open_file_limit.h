// The process's limit on open files. A server holds two sockets per
// connected node agent, and the soft limit most systems start a process
// with (1,024) ends a cluster at about 500 nodes, although the hard limit
// allows far more: raise the soft limit to the hard one at start, as Go
// programs and most servers do.
#pragma once

#include <cstdint>

namespace berth {

struct OpenFileLimit {
  uint64_t before = 0;  // the soft limit found
  uint64_t now = 0;     // the soft limit after (before, when it could not be raised)
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit. Thread-safe (the
// limit is the process's).
OpenFileLimit RaiseOpenFileLimit();

}  // namespace berth
