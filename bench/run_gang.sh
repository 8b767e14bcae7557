#!/usr/bin/env bash
# Gangs (multi-node training) through the API, beside plain tasks in the same
# run: starts `berth server` (temporary data directory, durable commits),
# registers BENCH_RANKS trn1.32xlarge-like container instances (16 Neuron
# devices each) with a simulated agent each (berth_gang_bench), and
# BENCH_REPEATS times measures
#   1. RunTask of a gang of BENCH_RANKS ranks (berth:gang,
#      berth:gang-max-restarts=1), each asking for all 16 devices, until
#      every rank is RUNNING; baseline: as many plain tasks (RunTask, 10 per
#      call, all calls at once) until RUNNING;
#   2. one rank failing (exit code 1) until every other rank is STOPPED, and
#      until the next attempt's ranks are all RUNNING (with and without the
#      controller's 2 s restart backoff); baseline: one plain task failing, a
#      client that at once stops the others and runs as many new ones;
# and prints the medians, each with its ratio to the baseline, the goal
# (a gang RUNNING in under 1 s on 2 cores), and where the gang's restart
# time goes by the server's own timestamps.
#
# Builds nothing: cmake --build build --target berth berth_gang_bench
#
# Environment:
#   BERTH_BUILD_DIR      build directory (default: build)
#   BENCH_RANKS          ranks of the gang, and instances (default 64)
#   BENCH_REPEATS        rounds of baseline and gang (default 5)
#   BENCH_AGENT_THREADS  I/O threads of all simulated agents (default 2)
#   BENCH_STEP_TIMEOUT   seconds one step may take (default 60)
#   BENCH_STRICT         1: exit 1 when the goal is missed (default 0)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-gang
tool=$build/bench/berth_gang_bench
ranks=${BENCH_RANKS:-64}
repeats=${BENCH_REPEATS:-5}
goal_s=1

for binary in "$build/berth" "$tool"; do
  if [[ ! -x $binary ]]; then
    echo "run_gang.sh: $binary not found; build berth and berth_gang_bench first" >&2
    exit 2
  fi
done

# shellcheck disable=SC2119  # no extra server flags
start_berth_server
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $load_before on $(nproc) cores" >&2

if ! "$tool" --port "$berth_port" --credentials "$tmp/data/credentials" \
  --server-pid "${pids[-1]}" --ranks "$ranks" --repeats "$repeats" \
  --agent-threads "${BENCH_AGENT_THREADS:-2}" \
  --step-timeout "${BENCH_STEP_TIMEOUT:-60}" >"$tmp/result"; then
  echo "run_gang.sh: berth_gang_bench failed; its output:" >&2
  cat "$tmp/result" >&2
  echo "server log:" >&2
  tail -n 20 "$tmp/berth.log" >&2
  exit 1
fi

cat "$tmp/result" >&2
fig() { grep "^figure=$1 " "$tmp/result"; }
split() { grep "^split=$1 " "$tmp/result"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
row() { printf '%-52s %9s %9s %8s  %s\n' "$@"; }
fig_row() {  # LABEL NAME [GOAL]
  local line gang base
  line=$(fig "$2")
  gang=$(field gang_s "$line")
  base=$(field base_s "$line")
  row "$1" "$(ms "$gang")" "$(ms "$base")" "$(ratio "$gang" "$base")" \
    "$(field ratios "$line")${3:+   $3}"
}
split_row() {  # LABEL NAME
  local line
  line=$(split "$2")
  row "$1" "$(ms "$(field median_s "$line")")" "" "" "max $(ms "$(field max_s "$line")") ms"
}

start=$(field gang_s "$(fig start)")
if awk -v s="$start" -v g="$goal_s" 'BEGIN { exit !(s < g) }'; then
  verdict="goal < ${goal_s} s met"
else
  verdict="goal < ${goal_s} s MISSED"
fi
replace=$(field gang_s "$(fig replace)")
waits=$(field median_s "$(split controller_waits)")
backoff=$(field backoff_s "$(split controller_waits)")

echo
echo "Gangs: $ranks ranks on $ranks simulated trn1.32xlarge instances (16 Neuron devices," \
  "each rank asks for all 16); $repeats repeats, medians; durable"
row figure gang_ms base_ms x_base "per repeat (gang/base)"
fig_row "1 RunTask gang of $ranks, until every rank RUNNING" start "$verdict"
fig_row "    RunTask answered (base: all $(((ranks + 9) / 10)) calls)" placed
fig_row "2 rank fails, until every other rank STOPPED" stop
fig_row "  rank fails, until attempt 1 all RUNNING" replace
fig_row "    the same minus the ${backoff} s restart backoff" replace_minus_backoff
echo "where the gang's restart goes (server timestamps, median of $repeats):"
split_row "    failure reported -> others asked to stop" stop_request
split_row "    asked to stop -> all STOPPED (agents)" stop_agents
split_row "    all STOPPED -> attempt ended (RESTARTING)" decide
split_row "    attempt ended -> attempt 1 placed (incl. backoff)" place
split_row "    placed -> all RUNNING (agents)" run_agents
split_row "    controller waits (passes, beyond the backoff)" controller_waits
echo "baseline: plain tasks, RunTask count=10 calls at once; on a failure the client" \
  "stops the others at once (StopTask) and runs as many new ones."
echo "controller waits: $(ms "$waits") ms of the $(ms "$replace") ms restart" \
  "($(awk -v w="$waits" -v r="$replace" -v b="$backoff" \
    'BEGIN { printf "%.0f%% of it, %.0f%% of it without the backoff", 100 * w / r, (r > b ? 100 * w / (r - b) : 0) }'));" \
  "the gang controller runs once a second and when a rank stops (src/server/server.cc)."
echo "server CPU per repeat (both baselines and both gang steps):" \
  "$(grep '^repeat=' "$tmp/result" | sed -n 's/.*server_cpu_s=\([^ ]*\).*/\1/p' | paste -sd' ') s"
echo "load average: before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
if [[ ${BENCH_STRICT:-0} == 1 && $verdict == *MISSED ]]; then
  exit 1
fi
