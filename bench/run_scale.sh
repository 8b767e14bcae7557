#!/usr/bin/env bash
# The control plane at cluster scale, through the real agent channel: starts
# `berth server` (temporary data directory, SQLite, durable commits) and
# berth_scale_bench, whose BENCH_NODES simulated nodes (one process, one
# io_context) join with the join key as `berth agent` does, long-poll their
# assignments and report every task RUNNING and STOPPED. It measures, in
# order:
#   join      all nodes joined and polling (joins/s)
#   idle      server memory per connected node, CPU per heartbeat
#   baseline  RunTask (count 10) of BENCH_BASELINE_TASKS tasks on a cluster of
#             one node, until all are RUNNING
#   gangs     gangs of BENCH_GANG_SIZES ranks (one RunTask each) until every
#             rank is RUNNING
#   runtask   RunTask (count 10) of BENCH_TASKS tasks on the BENCH_NODES
#             cluster, until all are RUNNING
#   service   services wanting BENCH_TASKS tasks, until all are RUNNING
# and prints them beside the goals, the one-node RunTask rate measured in the
# same run (x_base), and Nomad's published C1M figure.
#
# Builds nothing: cmake --build build --target berth berth_scale_bench
#
# Environment:
#   BERTH_BUILD_DIR       build directory (default: build)
#   BENCH_NODES           simulated nodes (default 5000)
#   BENCH_TASKS           tasks through RunTask, and through the services (default 100000)
#   BENCH_BASELINE_TASKS  RunTask tasks on the one-node cluster (default 2000)
#   BENCH_GANG_SIZES      ranks of the gangs, comma-separated (default 64,512)
#   BENCH_GANG_REPEATS    gangs of each size (default 3)
#   BENCH_CONCURRENCY     RunTask connections (default 16)
#   BENCH_IDLE_SECONDS    idle nodes measured (default 35: two heartbeats each)
#   BENCH_START_DELAY_MS  a node's time from a task listed to RUNNING (default 0)
#   BENCH_AGENT_THREADS   I/O threads of all simulated nodes (default 2)
#   BENCH_PHASES          phases after the join (default idle,baseline,gangs,runtask,service)
#   BENCH_PHASE_TIMEOUT   seconds a phase may take (default 1800)
#   BENCH_STRICT          1: exit 1 when a goal is missed (default 0)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-scale
tool=$build/bench/berth_scale_bench
nodes=${BENCH_NODES:-5000}
tasks=${BENCH_TASKS:-100000}

for binary in "$build/berth" "$tool"; do
  if [[ ! -x $binary ]]; then
    echo "run_scale.sh: $binary not found; build berth and berth_scale_bench first" >&2
    exit 2
  fi
done

# Two sockets per node on each side, and the server's own files.
need_files=$((2 * nodes + 1000))
if (($(ulimit -Hn) < need_files)); then
  echo "run_scale.sh: $nodes nodes need about $need_files open files; the hard limit is" \
    "$(ulimit -Hn) (raise it, or set BENCH_NODES lower)" >&2
  exit 2
fi

# shellcheck disable=SC2119  # no extra server flags
start_berth_server
server_pid=${pids[-1]}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $load_before on $(nproc) cores" >&2

if ! "$tool" --port "$berth_port" --credentials "$tmp/data/credentials" \
  --server-pid "$server_pid" --nodes "$nodes" --tasks "$tasks" \
  --baseline-tasks "${BENCH_BASELINE_TASKS:-2000}" --gang-sizes "${BENCH_GANG_SIZES:-64,512}" \
  --gang-repeats "${BENCH_GANG_REPEATS:-3}" --runtask-concurrency "${BENCH_CONCURRENCY:-16}" \
  --idle-seconds "${BENCH_IDLE_SECONDS:-35}" --start-delay-ms "${BENCH_START_DELAY_MS:-0}" \
  --agent-threads "${BENCH_AGENT_THREADS:-2}" \
  --phases "join,${BENCH_PHASES:-idle,baseline,gangs,runtask,service}" \
  --phase-timeout "${BENCH_PHASE_TIMEOUT:-1800}" >"$tmp/result"; then
  echo "run_scale.sh: berth_scale_bench failed; its output:" >&2
  cat "$tmp/result" >&2
  echo "server log:" >&2
  tail -n 20 "$tmp/berth.log" >&2
  exit 1
fi
cat "$tmp/result" >&2
peak_rss_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server_pid/status")

phase() { grep "^phase=$1 " "$tmp/result" || true; }
ms() { awk -v us="$1" 'BEGIN { if (us == "") print "-"; else printf "%.0f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b <= 0) print "-"; else printf "%.2f", a / b }'; }
row() { printf '%-46s %12s %10s %16s  %s\n' "$@"; }
missed=0
# verdict VALUE GOAL above|below
verdict() {
  [[ -z $1 ]] && { echo "-"; return; }
  if awk -v v="$1" -v g="$2" -v d="$3" 'BEGIN { exit !(d == "above" ? v >= g : v < g) }'; then
    echo met
  else
    missed=1
    echo MISSED
  fi
}

join=$(phase join)
idle=$(phase idle)
base=$(phase baseline)
runtask=$(phase runtask)
service=$(phase service)
base_rate=$(field tasks_per_s "$base")

echo
echo "Control plane at scale: $nodes simulated nodes on the agent channel, one berth server" \
  "(SQLite, durable), $(nproc) cores; $tasks tasks per phase"
row figure value x_base delivery_p50/p99 goal
row "join: nodes joined and polling" "$(field joins_per_s "$join")/s" - - \
  "($(field seconds "$join") s; join p50 $(ms "$(field join_p50_us "$join")") ms)"
if [[ -n $idle ]]; then
  per_node=$(field rss_per_node_kib "$idle")
  row "server memory per idle connected node" "${per_node} KiB" - - \
    "< 20 KiB $(verdict "$per_node" 20 below)"
  row "server CPU per heartbeat (idle poll answered)" \
    "$(field server_cpu_us_per_heartbeat "$idle") us" - - \
    "($(field heartbeats "$idle") heartbeats in $(field seconds "$idle") s)"
fi
delivery() { echo "$(ms "$(field delivery_p50_us "$1")")/$(ms "$(field delivery_p99_us "$1")") ms"; }
if [[ -n $base ]]; then
  row "RunTask count 10, 1 node: tasks/s to RUNNING" "$base_rate" 1.00 "$(delivery "$base")" \
    "(baseline, $(field tasks "$base") tasks)"
fi
if [[ -n $runtask ]]; then
  rate=$(field tasks_per_s "$runtask")
  row "RunTask count 10, $nodes nodes: tasks/s to RUNNING" "$rate" "$(ratio "$rate" "$base_rate")" \
    "$(delivery "$runtask")" ">= 10,000 $(verdict "$rate" 10000 above)"
  row "  RunTask calls answered: tasks/s" \
    "$(awk -v t="$(field tasks "$runtask")" -v s="$(field placed_seconds "$runtask")" \
      'BEGIN { printf "%.1f", t / s }')" - - \
    "(call p50 $(ms "$(field call_p50_us "$runtask")") ms, p99 $(ms "$(field call_p99_us "$runtask")") ms)"
fi
if [[ -n $service ]]; then
  rate=$(field tasks_per_s "$service")
  row "services, $nodes nodes: tasks/s to RUNNING" "$rate" "$(ratio "$rate" "$base_rate")" \
    "$(delivery "$service")" ">= 10,000 $(verdict "$rate" 10000 above)"
fi
IFS=, read -r -a gang_sizes <<<"${BENCH_GANG_SIZES:-64,512}"
for size in "${gang_sizes[@]}"; do
  lines=$(grep "^phase=gang ranks=$size " "$tmp/result" || true)
  [[ -z $lines ]] && continue
  median=$(while read -r line; do field seconds "$line"; done <<<"$lines" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  goal=-
  ((size == 512)) && goal="< 1 s $(verdict "$median" 1 below)"
  row "gang of $size: RunTask to all RUNNING (median)" "${median} s" - - "$goal"
done
echo "Nomad C1M (published): 1,000,000 containers on 5,000 nodes in under 5 minutes," \
  "3,750 placements/s on 5 servers."
if [[ -n $runtask ]]; then
  echo "berth RunTask, 1 server on $(nproc) shared cores (the nodes' simulator too):" \
    "$(ratio "$(field tasks_per_s "$runtask")" 3750)x that rate, to RUNNING and durable."
fi
echo "server: peak RSS $((peak_rss_kib / 1024)) MiB; CPU per phase (s):" \
  "join $(field server_cpu_s "$join"), runtask $(field server_cpu_s "$runtask")," \
  "service $(field server_cpu_s "$service"); simulator CPU: runtask $(field tool_cpu_s "$runtask") s"
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
if [[ ${BENCH_STRICT:-0} == 1 ]] && ((missed)); then
  echo "run_scale.sh: a goal was missed (BENCH_STRICT=1)" >&2
  exit 1
fi
