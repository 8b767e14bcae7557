#!/usr/bin/env bash
# Builds berth and runs every test suite. Exits non-zero if anything fails.
#
#   gcc    the normal build: the unit tests (CTest) and the compatibility
#          suites (pytest with the real aws CLI and boto3)
#   asan   the unit tests again, built with clang under AddressSanitizer and
#          UndefinedBehaviorSanitizer (build-asan)
#   fuzz   every libFuzzer target, built in the same folder, a few seconds
#          each from its committed seeds (bench/fuzz.sh)
#   tsan   the concurrency-heavy unit tests under ThreadSanitizer
#          (build-tsan: only those binaries are built)
#
# BERTH_TEST_STAGES picks stages (default: all four, in that order);
# BERTH_FUZZ_SECONDS is each fuzz target's time (default 10). Every stage
# runs even when an earlier one failed; the time of each is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
stages=${BERTH_TEST_STAGES:-gcc asan fuzz tsan}
build=${BERTH_BUILD_DIR:-build}
status=0
timings=()

# stage NAME COMMAND...: runs one stage, keeps its time and its failure.
stage() {
  local name=$1 start=$SECONDS rc=0
  shift
  [[ " $stages " == *" $name "* ]] || return 0
  echo "=== test.sh: $name"
  "$@" || rc=$?
  timings+=("$(printf '%-5s %4ds %s' "$name" $((SECONDS - start)) "$([[ $rc == 0 ]] && echo ok || echo FAILED)")")
  ((rc == 0)) || status=1
}

# Stages run in a `||` context, where set -e does not stop at a failed
# command: each checks its own steps.
gcc_stage() {
  local rc=0
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
  cmake --build "$build" -j2 || return 1
  (cd "$build" && ctest --output-on-failure -j2 --timeout 300) || rc=1
  # Debian's python and aws CLI: the suite must not pick up other installs on PATH.
  BERTH_BIN="$PWD/$build/berth" /usr/bin/python3 -m pytest tests -q -p no:cacheprovider || rc=1
  return $rc
}

# One clang folder serves the sanitized unit tests and the fuzz targets.
asan_configure() {
  cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DBERTH_SANITIZE=address \
    -DBERTH_FUZZ=ON >/dev/null
}

# Findings fail the test that meets them. Leaks are checked (third-party
# suppressions only: fuzz/lsan.supp); abort_on_error gives death tests the
# signal they expect.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

asan_stage() {
  asan_configure || return 1
  cmake --build build-asan -j2 --target unit_tests || return 1
  (cd build-asan && ctest --output-on-failure -j2 --timeout 600)
}

fuzz_stage() {
  asan_configure || return 1
  cmake --build build-asan -j2 --target fuzz_targets || return 1
  bash bench/fuzz.sh --build build-asan --time "${BERTH_FUZZ_SECONDS:-10}" --jobs 2
}

# The store's group commit, the HTTP server, the Placer (its own tests and
# concurrent RunTasks through the API) and the agent channel.
tsan_tests=(store_test http_test scheduler_test server_api_test server_test)
tsan_stage() {
  cmake -S . -B build-tsan -DCMAKE_CXX_COMPILER=clang++ -DBERTH_SANITIZE=thread >/dev/null ||
    return 1
  cmake --build build-tsan -j2 --target "${tsan_tests[@]}" || return 1
  # Each unit test carries its binary's name as a label (CMakeLists.txt).
  (cd build-tsan && ctest --output-on-failure -j2 --timeout 600 \
    -L "^($(IFS='|'; echo "${tsan_tests[*]}"))\$")
}

stage gcc gcc_stage
stage asan asan_stage
stage fuzz fuzz_stage
stage tsan tsan_stage

echo "=== test.sh: stage times"
printf '%s\n' "${timings[@]}"
exit $status
