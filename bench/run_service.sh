#!/usr/bin/env bash
# The service scheduler through the API, beside RunTask in the same run:
# starts `berth server` (temporary data directory, durable commits), registers
# BENCH_INSTANCES container instances through the API and joins a simulated
# agent to each (berth_service_bench: one long poll per instance on a few
# threads, every task reported RUNNING, or STOPPED, as soon as the server
# lists it), then measures
#   1. RunTask, count 10 per call, BENCH_TASKS tasks until all are RUNNING
#      (the baseline; then stopped again, untimed),
#   2. CreateService for BENCH_TASKS tasks until steady,
#   3. a rolling deployment of it (UpdateService to a new revision) until
#      the new deployment alone is COMPLETED,
# and prints tasks per second for each with its ratio to the baseline.
#
# Builds nothing: cmake --build build --target berth berth_service_bench
#
# Environment:
#   BERTH_BUILD_DIR           build directory (default: build)
#   BENCH_INSTANCES           instances, each with a simulated agent (default 1000)
#   BENCH_TASKS               tasks per phase (default 10000)
#   BENCH_SERVICES            services sharing BENCH_TASKS (default: as few as
#                             hold them; ECS allows 5,000 tasks per service)
#   BENCH_RUNTASK_CONCURRENCY RunTask connections (default 16)
#   BENCH_MIN_HEALTHY         minimumHealthyPercent of the rolling deployment
#                             (default 100; maximumPercent is 200)
#   BENCH_AGENT_THREADS       I/O threads of all simulated agents (default 2)
#   BENCH_IDLE_SECONDS        idle agents measured first (default 20; 0: none)
#   BENCH_PHASE_TIMEOUT       seconds a phase may take (default 1800)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-service
tool=$build/bench/berth_service_bench
instances=${BENCH_INSTANCES:-1000}
tasks=${BENCH_TASKS:-10000}

for binary in "$build/berth" "$tool"; do
  if [[ ! -x $binary ]]; then
    echo "run_service.sh: $binary not found; build berth and berth_service_bench first" >&2
    exit 2
  fi
done

# shellcheck disable=SC2119  # no extra server flags
start_berth_server
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2

if ! "$tool" --port "$berth_port" --credentials "$tmp/data/credentials" \
  --server-pid "${pids[-1]}" --instances "$instances" --tasks "$tasks" \
  --services "${BENCH_SERVICES:-0}" --runtask-concurrency "${BENCH_RUNTASK_CONCURRENCY:-16}" \
  --minimum-healthy-percent "${BENCH_MIN_HEALTHY:-100}" \
  --agent-threads "${BENCH_AGENT_THREADS:-2}" --idle-seconds "${BENCH_IDLE_SECONDS:-20}" \
  --phase-timeout "${BENCH_PHASE_TIMEOUT:-1800}" >"$tmp/result"; then
  echo "run_service.sh: berth_service_bench failed; its output:" >&2
  cat "$tmp/result" >&2
  echo "server log:" >&2
  tail -n 20 "$tmp/berth.log" >&2
  exit 1
fi

cat "$tmp/result" >&2
phase() { grep "^phase=$1 " "$tmp/result" || true; }
idle=$(phase idle)
runtask=$(phase runtask)
create=$(phase create)
rolling=$(phase rolling)
agents=$(grep '^agents ' "$tmp/result")
base=$(field tasks_per_s "$runtask")
ratio() { awk -v a="$1" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.0f", us / 1000 }'; }
report_ms() { ms "$(field p50_us "$(grep "^reports phase=$1 " "$tmp/result")")"; }
row() { printf '%-48s %8s %9s %9s %12s %12s\n' "$@"; }
sub() { printf '%-48s %8s %9s %s\n' "$@"; }
phase_row() {  # LABEL LINE NAME
  local rps
  rps=$(field tasks_per_s "$2")
  row "$1" "$(field seconds "$2")" "$rps" "$(ratio "$rps")" "$(field server_cpu_s "$2")" \
    "$(report_ms "$3")"
}

services=$(field services "$create")
echo
echo "Service scheduler: $instances instances, each with a simulated agent; $tasks tasks" \
  "(${services:-?} service(s) of $((tasks / ${services:-1}))); spread(zone), spread(instanceId); durable"
row figure seconds tasks/s x_RunTask server_cpu_s report_p50_ms
phase_row "1 RunTask count=10 c$(field concurrency "$runtask"), until all RUNNING" "$runtask" runtask
sub "    RunTask calls all answered" "$(field placed_seconds "$runtask")" \
  "$(field placed_per_s "$runtask")" "(p50 $(ms "$(field call_p50_us "$runtask")") ms per call)"
phase_row "2 CreateService, until steady" "$create" create
sub "    all RUNNING" "$(field running_seconds "$create")"
phase_row "3 rolling deployment (200%/${BENCH_MIN_HEALTHY:-100}%), until steady" "$rolling" rolling
sub "    new tasks all RUNNING" "$(field running_seconds "$rolling")"
sub "    old tasks all STOPPED" "$(field stopped_seconds "$rolling")"
echo "tasks/s: $tasks over the seconds; 3 replaces $tasks (starts $tasks and stops $tasks)."
if [[ -n $idle ]]; then
  echo "idle, $instances agents holding long polls for $(field seconds "$idle") s:" \
    "server CPU $(field server_cpu_s "$idle") s, $(field polls "$idle") poll answers"
fi
echo "DescribeServices while waiting (every 200 ms): p50 $(ms "$(field describe_p50_us "$create")") ms," \
  "max $(ms "$(field describe_max_us "$create")") ms, reply up to $(field describe_max_kib "$create") KiB (2);" \
  "p50 $(ms "$(field describe_p50_us "$rolling")") ms, max $(ms "$(field describe_max_us "$rolling")") ms," \
  "reply up to $(field describe_max_kib "$rolling") KiB (3)"
echo "agents: $(field polls "$agents") poll answers, $(field poll_mib "$agents") MiB," \
  "$(field tasks_listed "$agents") tasks listed in them;" \
  "$(field running_reports "$agents") RUNNING and $(field stopped_reports "$agents") STOPPED reports;" \
  "bench tool CPU $(field tool_cpu_s "$runtask") s (1), $(field tool_cpu_s "$create") s (2)," \
  "$(field tool_cpu_s "$rolling") s (3)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
