#!/usr/bin/env bash
# RunTask through the API, end to end: starts `berth server` (temporary data
# directory, durable commits), registers a simulated cluster of
# BENCH_INSTANCES container instances through the API (in parallel, not
# timed), then drives RunTask with berth_api_load at several concurrencies and
# prints placements/s and per-call latency beside DescribeTaskDefinition on
# the same server (the floor of a signed, routed, locked call that is O(1))
# measured right before. (DescribeClusters counts the cluster's instances and
# tasks on every call, so on 10,000 instances it is no floor.)
#
# Builds nothing: cmake --build build --target berth berth_api_load
#
# Environment:
#   BERTH_BUILD_DIR     build directory (default: build)
#   BENCH_INSTANCES     instances registered first (default 10000)
#   BENCH_REQUESTS      measured RunTask calls per concurrency (default 20000)
#   BENCH_WARMUP        unmeasured calls before each run (default 500)
#   BENCH_CONCURRENCY   (default "1 16 64")
#   BENCH_JOIN_AGENTS   1: every instance is also joined by a node agent (as
#                       `berth agent` joins; none runs, the server gets a
#                       heartbeat timeout longer than the run), so that the
#                       server keeps 10,000 agents' liveness (default 0)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-runtask
berth=$build/berth
load=$build/bench/berth_api_load
instances=${BENCH_INSTANCES:-10000}
requests=${BENCH_REQUESTS:-20000}
warmup=${BENCH_WARMUP:-500}
concurrencies=${BENCH_CONCURRENCY:-"1 16 64"}
join_agents=${BENCH_JOIN_AGENTS:-0}
readonly kGoal=5000  # RunTask placements per second, durable

for binary in "$berth" "$load"; do
  if [[ ! -x $binary ]]; then
    echo "run_runtask.sh: $binary not found; build berth and berth_api_load first" >&2
    exit 2
  fi
done

server_flags=()
join_flags=()
if [[ $join_agents == 1 ]]; then
  server_flags=(--agent-heartbeat-timeout 86400 --agent-lost-after 0)
  join_flags=(--join-agents)
fi
start_berth_server "${server_flags[@]}"
port=$berth_port

run_load() {
  local line
  if ! line=$("$load" --host 127.0.0.1 --port "$port" --credentials "$tmp/data/credentials" \
    "$@" 2>"$tmp/load.err"); then
    echo "run_runtask.sh: load failed: $line" >&2
    cat "$tmp/load.err" >&2
    return 1
  fi
  grep -h registered "$tmp/load.err" >&2 || true
  echo "  $line" >&2
  echo "$line"
}

echo "registering $instances instances (not timed)" >&2
run_load --operation RunTask --instances "$instances" "${join_flags[@]}" --concurrency 16 \
  --requests 1 --warmup 0 >/dev/null

rows=()
for c in $concurrencies; do
  floor=$(run_load --operation DescribeTaskDefinition --concurrency "$c" --requests "$requests" \
    --warmup "$warmup" --no-setup)
  line=$(run_load --operation RunTask --concurrency "$c" --requests "$requests" \
    --warmup "$warmup" --no-setup)
  rows+=("$c $(field rps "$line") $(field p50_us "$line") $(field p99_us "$line") $(field rps "$floor") $(field p99_us "$floor")")
done

echo
agents=""
[[ $join_agents == 1 ]] && agents=", each joined by an agent"
echo "RunTask on $instances instances$agents (memberOf, spread(zone), binpack(memory)), durable"
printf '%5s %12s %9s %9s %16s %14s %8s\n' conc placements/s p50_us p99_us DescribeTD/s floor_p99_us /floor
best=0
for row in "${rows[@]}"; do
  read -r c rps p50 p99 frps fp99 <<<"$row"
  share=$(awk -v a="$rps" -v b="$frps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  best=$(awk -v a="$rps" -v b="$best" 'BEGIN { print (a > b ? a : b) }')
  printf '%5s %12s %9s %9s %16s %14s %8s\n' "$c" "$rps" "$p50" "$p99" "$frps" "$fp99" "$share"
done
verdict=met
awk -v a="$best" -v g="$kGoal" 'BEGIN { exit !(a < g) }' && verdict=MISSED
echo "best: $best placements/s against the goal of $kGoal/s: $verdict"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
