#!/usr/bin/env bash
# Instructions the server spends on one API call, counted by valgrind's
# callgrind: repeatable for the same binary and inputs whatever else the
# machine is doing, so two builds (before and after a change) compare
# exactly where requests per second are too noisy to.
#
#   bench/run_instructions.sh [BERTH_BINARY...]   (default: $BERTH_BUILD_DIR/berth)
#
# For each binary: `berth server` under callgrind on a temporary data folder,
# once with one call (start-up and set-up) and once with BENCH_REQUESTS more
# (default 3000) of BENCH_OPERATION (default DescribeTaskDefinition) from
# berth_api_load at concurrency 1; the difference divided by the calls is
# the figure. With two binaries it prints the second's share of the first's.
# Only loopback. Builds nothing: cmake --build build --target berth berth_api_load
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-instructions
requests=${BENCH_REQUESTS:-3000}
operation=${BENCH_OPERATION:-DescribeTaskDefinition}
load=$build/bench/berth_api_load
binaries=("$@")
((${#binaries[@]})) || binaries=("$build/berth")
command -v valgrind >/dev/null || { echo "run_instructions.sh: valgrind not found" >&2; exit 2; }
[[ -x $load ]] || { echo "run_instructions.sh: $load not found; build berth_api_load" >&2; exit 2; }

# total BINARY CALLS: the instructions callgrind counted in the server.
total() {
  local binary=$1 calls=$2 dir port pid
  dir=$(mktemp -d "$tmp/run.XXXXXX")
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$dir/out" "$binary" --log-level warn server \
    --listen "127.0.0.1:$port" --data "$dir/data" >"$dir/log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_for "berth server (callgrind)" "$pid" "$port" "$dir/log" "$dir/data/credentials"
  wait_serving "$port"
  "$load" --port "$port" --credentials "$dir/data/credentials" --operation "$operation" \
    --concurrency 1 --requests "$calls" --warmup 0 >/dev/null
  kill -TERM "$pid"
  wait "$pid" || true
  sed -n 's/^summary: //p' "$dir/out"
}

first=""
printf '%-40s %14s\n' binary "instr/$operation"
for binary in "${binaries[@]}"; do
  base=$(total "$binary" 1)
  with=$(total "$binary" $((requests + 1)))
  per=$(((with - base) / requests))
  printf '%-40s %14s' "$binary" "$per"
  if [[ -z $first ]]; then
    first=$per
    echo
  else
    awk -v a="$per" -v b="$first" 'BEGIN { printf "   %.2f of the first\n", a / b }'
  fi
done
