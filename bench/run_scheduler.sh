#!/usr/bin/env bash
# Runs the placement-engine benchmark (bench/scheduler_bench.cc). Builds nothing:
#   cmake --build build --target berth_scheduler_bench && bash bench/run_scheduler.sh
# BENCH_QUICK=1: 1,000 instances, 5,000 placements, 50 gangs.
# BENCH_MAX_SECONDS (default 60): each phase stops after this long.
# Extra arguments go to the binary (--instances, --placements, --gangs, --seed).
set -euo pipefail
BUILD_DIR=${BERTH_BUILD_DIR:-build}
BIN="$BUILD_DIR/bench/berth_scheduler_bench"
if [[ ! -x "$BIN" ]]; then
  echo "run_scheduler.sh: $BIN not found; build it first:" >&2
  echo "  cmake --build $BUILD_DIR --target berth_scheduler_bench" >&2
  exit 1
fi
args=(--max-seconds "${BENCH_MAX_SECONDS:-60}")
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then args+=(--quick); fi
exec "$BIN" "${args[@]}" "$@"
