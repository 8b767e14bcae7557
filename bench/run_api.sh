#!/usr/bin/env bash
# The ECS API benchmark in one command: starts `berth server` (temp data dir)
# and the HTTP floor on free loopback ports, and moto where it is installed,
# drives each with berth_api_load at several concurrencies, and prints a table
# of throughput and latency with berth's ratio to the floor and to moto.
#
# Builds nothing: build first (berth, berth_api_load, berth_http_floor), e.g.
#   cmake -S . -B build && cmake --build build --target berth berth_api_load berth_http_floor
#   bash bench/run_api.sh
#
# Environment:
#   BERTH_BUILD_DIR       build directory, absolute or relative to the repo (default: build)
#   BENCH_REQUESTS        measured requests per read run (default 20000)
#   BENCH_REGISTRATIONS   measured requests per registration run
#                         (default 5000, or BENCH_REQUESTS/4 when only that is set)
#   BENCH_WARMUP          unmeasured requests before each run (default 500)
#   BENCH_CONCURRENCY     concurrencies to run (default "1 16 64")
#   BENCH_OPERATIONS      operations to run
#                         (default "DescribeTaskDefinition DescribeClusters RegisterTaskDefinition")
#   MOTO_PYTHON           interpreter that must import moto for the moto baseline
#                         (default /usr/bin/python3, the Debian one)
#   BENCH_MOTO_REQUESTS   requests per moto run (default BENCH_REQUESTS/10, at least 200:
#                         moto is ~100x slower and its rate is stable long before that)
#   BENCH_STRICT=1        exit 1 when a goal is missed (default: report only; a
#                         shared machine is too noisy for a hard gate)
#
# Only loopback traffic. Every process and temp dir it makes is removed on
# exit, failure or Ctrl-C.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-bench
berth=$build/berth
load=$build/bench/berth_api_load
floor=$build/bench/berth_http_floor

reads=${BENCH_REQUESTS:-20000}
if [[ -n ${BENCH_REGISTRATIONS:-} ]]; then
  registrations=$BENCH_REGISTRATIONS
elif [[ -n ${BENCH_REQUESTS:-} ]]; then
  registrations=$((BENCH_REQUESTS / 4 > 0 ? BENCH_REQUESTS / 4 : 1))
else
  registrations=5000
fi
warmup=${BENCH_WARMUP:-500}
concurrencies=${BENCH_CONCURRENCY:-"1 16 64"}
operations=${BENCH_OPERATIONS:-"DescribeTaskDefinition DescribeClusters RegisterTaskDefinition"}
moto_python=${MOTO_PYTHON:-/usr/bin/python3}
moto_requests=${BENCH_MOTO_REQUESTS:-$((reads / 10 > 200 ? reads / 10 : 200))}
strict=${BENCH_STRICT:-0}

# The goals (bench/README.md).
readonly kFloorShareGoal=0.30    # reads: at least 30% of the floor's rps
readonly kMotoFactorGoal=20      # reads: at least 20x moto's rps
readonly kRegistrationGoal=2000  # durable registrations per second

for binary in "$berth" "$load" "$floor"; do
  if [[ ! -x $binary ]]; then
    echo "run_api.sh: $binary not found; build berth, berth_api_load and berth_http_floor" \
      "in $build first (or set BERTH_BUILD_DIR)" >&2
    exit 2
  fi
done

# run_load NAME ARGS...: one berth_api_load run; prints its result line to
# stderr as progress and returns it on stdout. Any failed request fails the
# script: a server that answers errors quickly has not been measured.
run_load() {
  local name=$1
  shift
  local line
  if ! line=$("$load" --host 127.0.0.1 --warmup "$warmup" "$@" 2>"$tmp/load.err"); then
    echo "run_api.sh: load against $name failed: $line" >&2
    cat "$tmp/load.err" >&2
    return 1
  fi
  echo "  $name: $line" >&2
  echo "$line"
}

requests_for() { [[ $1 == RegisterTaskDefinition ]] && echo "$registrations" || echo "$reads"; }

# --- start the servers -------------------------------------------------------

start_berth_server

floor_port=$(free_port)
"$floor" --listen "127.0.0.1:$floor_port" >"$tmp/floor.log" 2>&1 &
pids+=($!)
wait_for "berth_http_floor" "${pids[-1]}" "$floor_port" "$tmp/floor.log"

moto_port=
if "$moto_python" -c 'import moto.server' 2>/dev/null; then
  moto_port=$(free_port)
  "$moto_python" -m moto.server -H 127.0.0.1 -p "$moto_port" >"$tmp/moto.log" 2>&1 &
  pids+=($!)
  wait_for "moto server" "${pids[-1]}" "$moto_port" "$tmp/moto.log"
  moto_note="moto: $("$moto_python" -c 'import moto; print(moto.__version__)') via $moto_python,"
  moto_note+=" $moto_requests requests per run"
else
  moto_note="moto: not installed (Debian has no python3-moto), baseline skipped"
fi

echo "berth_api_load: $reads reads / $registrations registrations per run, warm-up $warmup," \
  "concurrency $concurrencies" >&2

# --- measure -----------------------------------------------------------------

declare -A floor_rps moto_rps
if [[ -n $moto_port ]]; then
  echo "moto (127.0.0.1:$moto_port)" >&2
  for op in $operations; do
    for c in $concurrencies; do
      # moto accepts any signature; it only reads the region from it.
      line=$(run_load moto --port "$moto_port" --access-key bench --secret bench \
        --operation "$op" --concurrency "$c" --requests "$moto_requests")
      moto_rps[$op/$c]=$(field rps "$line")
    done
  done
fi

echo "berth server (127.0.0.1:$berth_port) and HTTP floor (127.0.0.1:$floor_port)" >&2
rows=()
for op in $operations; do
  for c in $concurrencies; do
    # The floor is measured right before each berth run, not once for all:
    # on a shared machine the load from other processes drifts within
    # minutes, and a ratio of two runs is only meaningful under the same.
    line=$(run_load floor --port "$floor_port" --access-key bench --secret bench \
      --operation Floor --concurrency "$c" --requests "$reads")
    floor_rps[$op/$c]=$(field rps "$line")
    line=$(run_load berth --port "$berth_port" --credentials "$tmp/data/credentials" \
      --operation "$op" --concurrency "$c" --requests "$(requests_for "$op")")
    rows+=("$op $c $(field rps "$line") $(field p50_us "$line") $(field p99_us "$line")")
  done
done

# --- report ------------------------------------------------------------------

missed=0
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

echo
printf '%-24s %5s %10s %9s %9s %10s %8s %10s %8s\n' \
  operation conc rps p50_us p99_us floor_rps /floor moto_rps x_moto
best_registrations=0
best_registrations_c=
for row in "${rows[@]}"; do
  read -r op c rps p50 p99 <<<"$row"
  f=${floor_rps[$op/$c]}
  share=$(awk -v a="$rps" -v b="$f" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  m=${moto_rps[$op/$c]:-}
  if [[ -n $m ]]; then
    factor=$(awk -v a="$rps" -v b="$m" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
  else
    m=-
    factor=-
  fi
  flags=
  if [[ $op == Describe* ]]; then
    below "$share" "$kFloorShareGoal" && flags+=" <floor-goal" && missed=1
    [[ $factor != - ]] && below "$factor" "$kMotoFactorGoal" && flags+=" <moto-goal" && missed=1
  else
    if below "$best_registrations" "$rps"; then
      best_registrations=$rps
      best_registrations_c=$c
    fi
  fi
  printf '%-24s %5s %10s %9s %9s %10s %8s %10s %8s%s\n' \
    "$op" "$c" "$rps" "$p50" "$p99" "$f" "$share" "$m" "$factor" "$flags"
done

echo
echo "goals: reads >= $kFloorShareGoal of the floor at the same concurrency (/floor)," \
  "reads >= ${kMotoFactorGoal}x moto (x_moto)"
if [[ " $operations " == *" RegisterTaskDefinition "* ]]; then
  verdict=met
  if below "$best_registrations" "$kRegistrationGoal"; then
    verdict=MISSED
    missed=1
  fi
  echo "registrations/s: $best_registrations (best, at concurrency $best_registrations_c)" \
    "against the goal of $kRegistrationGoal/s durable: $verdict"
fi
echo "$moto_note"

if ((strict && missed)); then
  echo "run_api.sh: a goal was missed (BENCH_STRICT=1)" >&2
  exit 1
fi
