#include "common/open_file_limit.h"

#include <sys/resource.h>

namespace berth {

OpenFileLimit RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  OpenFileLimit result{limit.rlim_cur, limit.rlim_cur};
  if (limit.rlim_cur >= limit.rlim_max) return result;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) result.now = limit.rlim_cur;
  return result;
}

}  // namespace berth
