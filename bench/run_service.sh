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

start_berth_server
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2

if ! "$tool" --port "$berth_port" --credentials "$tmp/data/credentials" \
  --server-pid "${pids[-1]}" --instances "$instances" --tasks "$tasks" \
  --services "${BENCH_SERVICES:-0}" --runtask-concurrency "${BENCH_RUNTASK_CONCURRENCY:-16}" \
  --minimum-healthy-percent "${BENCH_MIN_HEALTHY:-100}" \
  --agent-threads "${BENCH_AGENT_THREADS:-2}" \
  --phase-timeout "${BENCH_PHASE_TIMEOUT:-1800}" >"$tmp/result"; then
  echo "run_service.sh: berth_service_bench failed; its output:" >&2
  cat "$tmp/result" >&2
  echo "server log:" >&2
  tail -n 20 "$tmp/berth.log" >&2
  exit 1
fi

cat "$tmp/result" >&2
phase() { grep "^phase=$1 " "$tmp/result" || true; }
runtask=$(phase runtask)
create=$(phase create)
rolling=$(phase rolling)
agents=$(grep '^agents ' "$tmp/result")
base=$(field tasks_per_s "$runtask")
ratio() { awk -v a="$1" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
report() { field "$1" "$(grep "^reports phase=$2 " "$tmp/result")"; }

echo
echo "Service scheduler on $instances instances with simulated agents, $tasks tasks" \
  "($(field services "$create") service(s)), spread(zone), spread(instanceId), durable"
printf '%-44s %8s %9s %10s %10s %11s %11s\n' figure tasks seconds tasks/s x_RunTask \
  server_cpu_s report_p50
printf '%-44s %8s %9s %10s %10s %11s %10sus\n' \
  "RunTask count=10 c$(field concurrency "$runtask"), to all RUNNING" \
  "$tasks" "$(field seconds "$runtask")" "$base" "1.00" \
  "$(field server_cpu_s "$runtask")" "$(report p50_us runtask)"
printf '%-44s %8s %9s %10s %10s %11s %12s\n' "  of which RunTask calls answered" \
  "$tasks" "$(field placed_seconds "$runtask")" "$(field placed_per_s "$runtask")" "" "" \
  "(p50 $(field call_p50_us "$runtask")us/call)"
printf '%-44s %8s %9s %10s %10s %11s %10sus\n' "CreateService, to steady state" \
  "$tasks" "$(field seconds "$create")" "$(field tasks_per_s "$create")" \
  "$(ratio "$(field tasks_per_s "$create")")" "$(field server_cpu_s "$create")" \
  "$(report p50_us create)"
printf '%-44s %8s %9s\n' "  of which to all RUNNING" "$tasks" "$(field running_seconds "$create")"
printf '%-44s %8s %9s %10s %10s %11s %10sus\n' \
  "rolling deployment (200%/${BENCH_MIN_HEALTHY:-100}%), tasks replaced" \
  "$tasks" "$(field seconds "$rolling")" "$(field tasks_per_s "$rolling")" \
  "$(ratio "$(field tasks_per_s "$rolling")")" "$(field server_cpu_s "$rolling")" \
  "$(report p50_us rolling)"
printf '%-44s %8s %9s\n' "  of which new tasks all RUNNING" "$tasks" \
  "$(field running_seconds "$rolling")"
printf '%-44s %8s %9s\n' "  of which old tasks all STOPPED" "$tasks" \
  "$(field stopped_seconds "$rolling")"
echo "DescribeServices while waiting: p50 $(field describe_p50_us "$create")us," \
  "max $(field describe_max_us "$create")us (create); p50 $(field describe_p50_us "$rolling")us," \
  "max $(field describe_max_us "$rolling")us (rolling)"
echo "agents: $(field polls "$agents") poll answers, $(field poll_mib "$agents") MiB," \
  "$(field running_reports "$agents") RUNNING and $(field stopped_reports "$agents") STOPPED" \
  "reports; bench tool CPU $(field tool_cpu_s "$create") s (create)," \
  "$(field tool_cpu_s "$rolling") s (rolling)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
