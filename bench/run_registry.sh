#!/usr/bin/env bash
# The registry benchmark in one command: starts `berth server` (temp data dir,
# --create-repository-on-push) and the reference registry (Debian's
# docker-registry, CNCF Distribution, temp storage, no auth) on free loopback
# ports, drives both with the same client, berth_registry_load, and prints
# berth's figures beside the reference's with the ratio and the goal:
#
#   image push / pull   a 1 GiB image of 8 uncompressed layers of 128 MiB,
#                       4 blobs at a time, MiB/s
#   blob push / pull    512 distinct 1 MiB blobs at concurrency 16,
#                       blobs/s, MiB/s, p99
#   manifest GET        20000 GETs of a manifest by tag at concurrency 16,
#                       requests/s, p99
#   peak RSS            VmHWM of each registry process after all of it
#
# Every scenario runs BENCH_ROUNDS times (3) against both, each round with new
# bytes; the table has each registry's median and the ratio of each round.
#
# Builds nothing: build first (berth, berth_registry_load), e.g.
#   cmake -S . -B build && cmake --build build --target berth berth_registry_load
#   bash bench/run_registry.sh
#
# Environment:
#   BERTH_BUILD_DIR     build directory, absolute or relative to the repo (default: build)
#   BENCH_QUICK=1       a 128 MiB image (8 x 16 MiB), 64 blobs, 2000 manifest GETs
#   BENCH_LAYERS        layers in the image (default 8)
#   BENCH_LAYER_MIB     MiB per layer (default 128; 16 with BENCH_QUICK=1)
#   BENCH_PARALLEL      image blobs pushed / pulled at a time (default 4)
#   BENCH_BLOBS         distinct blobs in the blob runs (default 512; 64 quick)
#   BENCH_BLOB_KIB      KiB per blob (default 1024)
#   BENCH_CONCURRENCY   threads in the blob and manifest runs (default 16)
#   BENCH_REQUESTS      measured manifest GETs (default 20000; 2000 quick)
#   BENCH_WARMUP        unmeasured manifest GETs first (default 500; 200 quick)
#   BENCH_ROUNDS        rounds of every scenario against both; the table has the
#                       medians (default 3)
#   BENCH_SERVERS       which registries to measure (default "reference berth")
#   BENCH_SCENARIOS     which of image, blobs, manifests to run (default all three)
#   BENCH_RUN_TIMEOUT   seconds one load run may take before it is killed (default 900)
#   REFERENCE_REGISTRY  the reference registry binary (default /usr/bin/docker-registry)
#   BENCH_STRICT=1      exit 1 when a goal is missed (default: report only)
#
# Only loopback traffic. The image is generated once per run into a temp dir
# under ${TMPDIR:-/tmp}, next to both registries' storage; every process and
# temp dir it makes is removed on exit, failure or Ctrl-C.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BERTH_BUILD_DIR:-build}
[[ $build == /* ]] || build=$repo/$build
berth=$build/berth
load=$build/bench/berth_registry_load
reference=${REFERENCE_REGISTRY:-/usr/bin/docker-registry}

quick=${BENCH_QUICK:-0}
if ((quick)); then
  default_layer_mib=16 default_blobs=64 default_requests=2000 default_warmup=200
else
  default_layer_mib=128 default_blobs=512 default_requests=20000 default_warmup=500
fi
layers=${BENCH_LAYERS:-8}
layer_mib=${BENCH_LAYER_MIB:-$default_layer_mib}
parallel=${BENCH_PARALLEL:-4}
blobs=${BENCH_BLOBS:-$default_blobs}
blob_kib=${BENCH_BLOB_KIB:-1024}
concurrency=${BENCH_CONCURRENCY:-16}
requests=${BENCH_REQUESTS:-$default_requests}
warmup=${BENCH_WARMUP:-$default_warmup}
servers=${BENCH_SERVERS:-"reference berth"}
scenarios=" ${BENCH_SCENARIOS:-image blobs manifests} "
scenario_wanted() { [[ $scenarios == *" $1 "* ]]; }
run_timeout=${BENCH_RUN_TIMEOUT:-900}
rounds=${BENCH_ROUNDS:-3}
strict=${BENCH_STRICT:-0}

# The goals (bench/README.md): berth at least 1.5x the reference on every
# throughput and latency figure, and no more peak memory.
readonly kSpeedGoal=1.5
readonly kMemoryGoal=1.0

want() { [[ " $servers " == *" $1 "* ]]; }

missing=0
if want berth && [[ ! -x $berth ]]; then
  echo "run_registry.sh: $berth not found; build berth in $build (or set BERTH_BUILD_DIR)" >&2
  missing=1
fi
if [[ ! -x $load ]]; then
  echo "run_registry.sh: $load not found; build berth_registry_load in $build" >&2
  missing=1
fi
((missing)) && exit 2
if want reference && [[ ! -x $reference ]]; then
  echo "run_registry.sh: $reference not found (apt-get install docker-registry);" \
    "measuring berth alone" >&2
  servers=${servers//reference/}
fi

tmp_base=${TMPDIR:-/tmp}
# Room for one round's image, a copy of every round's image and blobs in each
# registry, and slack.
image_mib=$((layers * layer_mib))
blobs_mib=$(((blobs + concurrency) * blob_kib / 1024 + 1))
require_free_mib "$tmp_base" $((image_mib + 2 * rounds * (image_mib + blobs_mib) + 512)) \
  "the run" "set TMPDIR elsewhere or BENCH_QUICK=1"

tmp=$(mktemp -d "$tmp_base/berth-regbench.XXXXXX")
pids=()
load_pid=

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # A load run in flight first (timeout passes the TERM on to it), then the
  # registries.
  [[ -n $load_pid ]] && pids=("$load_pid" "${pids[@]}")
  stop_processes "${pids[@]}"
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -A port pid_of result

# run_load SERVER ROUND SCENARIO ARGS...: one berth_registry_load run against
# SERVER, bounded by BENCH_RUN_TIMEOUT; keeps each result line in
# result[SERVER/op/ROUND] and echoes it as progress. Any failed request fails
# the script: a registry that answers errors quickly has not been measured.
run_load() {
  local server=$1 round=$2 scenario=$3
  shift 3
  # Dirty pages the previous run left (the other registry's blobs) are
  # written back now, not during this run.
  sync
  local auth=(--no-auth)
  [[ $server == berth ]] && auth=(--credentials "$tmp/berth-data/credentials")
  local status=0
  # In the background and waited for: `wait` returns at once on Ctrl-C or
  # TERM (the trap then ends the run), where a foreground command would be
  # waited out first, and timeout(1) puts itself outside the terminal's
  # process group, so Ctrl-C alone would not reach it.
  timeout --kill-after=10 "$run_timeout" "$load" --host 127.0.0.1 --port "${port[$server]}" \
    "${auth[@]}" --scenario "$scenario" --round "$round" "$@" \
    >"$tmp/load.out" 2>"$tmp/load.err" &
  load_pid=$!
  wait "$load_pid" || status=$?
  load_pid=
  if ((status != 0)); then
    if ((status == 124 || status == 137)); then
      echo "run_registry.sh: $scenario against $server ran past ${run_timeout}s" \
        "(BENCH_RUN_TIMEOUT)" >&2
    else
      echo "run_registry.sh: $scenario against $server failed (exit $status):" >&2
    fi
    cat "$tmp/load.out" "$tmp/load.err" >&2
    if [[ $server == berth ]]; then
      echo "--- berth log (last 20 lines)" >&2
      tail -n 20 "$tmp/berth.log" >&2
    fi
    return 1
  fi
  local line
  while read -r line; do
    [[ $line == op=* ]] || continue
    echo "  $server: $line" >&2
    result[$server/$(field op "$line")/$round]=$line
  done <"$tmp/load.out"
}

# --- start the registries ------------------------------------------------------

if want berth; then
  port[berth]=$(free_port)
  "$berth" --log-level warn server --listen "127.0.0.1:${port[berth]}" --data "$tmp/berth-data" \
    --create-repository-on-push >"$tmp/berth.log" 2>&1 &
  pid_of[berth]=$!
  pids+=("${pid_of[berth]}")
  wait_for "berth server" "${pid_of[berth]}" "${port[berth]}" "$tmp/berth.log" \
    "$tmp/berth-data/credentials"
  # The registry password comes from the ECR API, as with
  # `aws ecr get-login-password`; every load run fetches its own the same way.
  run_load berth 0 login
fi

if want reference; then
  port[reference]=$(free_port)
  # The reference as it is commonly deployed on one machine: filesystem
  # storage, in-memory blob descriptor cache (Debian's default), no auth,
  # no access log (berth logs at warn).
  cat >"$tmp/reference.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/reference-data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port[reference]}
  secret: berth-registry-benchmark
EOF
  "$reference" serve "$tmp/reference.yml" >"$tmp/reference.log" 2>&1 &
  pid_of[reference]=$!
  pids+=("${pid_of[reference]}")
  wait_for "reference registry" "${pid_of[reference]}" "${port[reference]}" "$tmp/reference.log"
fi

# --- measure -----------------------------------------------------------------------

echo "image: $image_mib MiB, $parallel blobs at a time; blobs: $blobs x $blob_kib KiB at" \
  "concurrency $concurrency; manifests: $requests GETs at concurrency $concurrency;" \
  "$rounds rounds" >&2
for server in $servers; do
  echo "$server (127.0.0.1:${port[$server]})" >&2
done
# Each scenario runs against the reference, then right after against berth, so
# both see the same machine; a sync before each run keeps one registry's
# write-back out of the other's figures. Every round pushes new bytes under
# new tags (--round), so no round finds its blobs already stored.
for round in $(seq "$rounds"); do
  if scenario_wanted image; then
    image_dir=$tmp/image-$round
    echo "round $round of $rounds: generating the image into $image_dir" >&2
    "$load" --scenario prepare --data-dir "$image_dir" --layers "$layers" \
      --layer-mib "$layer_mib" --round "$round"
    for server in $servers; do
      run_load "$server" "$round" image --data-dir "$image_dir" --layers "$layers" \
        --layer-mib "$layer_mib" --parallel "$parallel"
    done
    rm -rf "$image_dir"
  fi
  if scenario_wanted blobs; then
    for server in $servers; do
      run_load "$server" "$round" blobs --blobs "$blobs" --blob-kib "$blob_kib" \
        --concurrency "$concurrency"
    done
  fi
  if scenario_wanted manifests; then
    for server in $servers; do
      run_load "$server" "$round" manifests --requests "$requests" --warmup "$warmup" \
        --concurrency "$concurrency"
    done
  fi
done

declare -A rss_kib
for server in $servers; do
  rss_kib[$server]=$(awk '/^VmHWM:/ { print $2 }' "/proc/${pid_of[$server]}/status")
done

# --- report ------------------------------------------------------------------------

missed=0
# ratio BERTH REFERENCE HIGHER_IS_BETTER: how many times better berth is.
ratio() {
  awk -v b="$1" -v r="$2" -v up="$3" 'BEGIN {
    if (b == "" || r == "" || b <= 0 || r <= 0) { print "-"; exit }
    printf "%.2f", (up ? b / r : r / b) }'
}
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# median: of the numbers on stdin, one a line; nothing for none.
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR > 0) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# value SERVER OP KEY ROUND: KEY of that run's result line, or nothing.
value() {
  want "$1" && [[ -n ${result[$1/$2/$4]:-} ]] && field "$3" "${result[$1/$2/$4]}"
  return 0
}

# row LABEL OP KEY SCALE HIGHER_IS_BETTER GOAL: one table line with the
# median over the rounds of each registry; SCALE divides the raw value (1000
# turns microseconds into milliseconds). The last column has each round's
# ratio, to show how much the machine moved.
row() {
  local label=$1 op=$2 key=$3 scale=$4 up=$5 goal=$6 r per_round=
  for r in $(seq "$rounds"); do
    per_round+=" $(ratio "$(value berth "$op" "$key" "$r")" \
      "$(value reference "$op" "$key" "$r")" "$up")"
  done
  print_row "$label" \
    "$(for r in $(seq "$rounds"); do value berth "$op" "$key" "$r"; done | median)" \
    "$(for r in $(seq "$rounds"); do value reference "$op" "$key" "$r"; done | median)" \
    "$scale" "$up" "$goal" "${per_round# }"
}

print_row() {
  local label=$1 b=$2 r=$3 scale=$4 up=$5 goal=$6 per_round=${7:--}
  local bs=- rs=- x verdict=-
  [[ -n $b ]] && bs=$(awk -v v="$b" -v s="$scale" 'BEGIN { printf "%.1f", v / s }')
  [[ -n $r ]] && rs=$(awk -v v="$r" -v s="$scale" 'BEGIN { printf "%.1f", v / s }')
  x=$(ratio "$b" "$r" "$up")
  if [[ $x != - ]]; then
    if below "$x" "$goal"; then
      verdict=MISSED
      missed=1
    else
      verdict=met
    fi
  fi
  printf '%-34s %10s %10s %6s %7s %-7s %s\n' "$label" "$bs" "$rs" "$x" ">=${goal}x" "$verdict" \
    "$per_round"
}

echo
printf '%-34s %10s %10s %6s %7s %-7s %s\n' figure berth reference ratio goal "" "per round"
row "image push MiB/s (${image_mib} MiB)" image_push mib_s 1 1 "$kSpeedGoal"
row "image pull MiB/s (${image_mib} MiB)" image_pull mib_s 1 1 "$kSpeedGoal"
row "blob push blobs/s (c$concurrency)" blob_push per_s 1 1 "$kSpeedGoal"
row "blob push MiB/s (c$concurrency)" blob_push mib_s 1 1 "$kSpeedGoal"
row "blob push p99 ms (c$concurrency)" blob_push p99_us 1000 0 "$kSpeedGoal"
row "blob pull blobs/s (c$concurrency)" blob_pull per_s 1 1 "$kSpeedGoal"
row "blob pull MiB/s (c$concurrency)" blob_pull mib_s 1 1 "$kSpeedGoal"
row "blob pull p99 ms (c$concurrency)" blob_pull p99_us 1000 0 "$kSpeedGoal"
row "manifest GET req/s (c$concurrency)" manifest_get per_s 1 1 "$kSpeedGoal"
row "manifest GET p99 ms (c$concurrency)" manifest_get p99_us 1000 0 "$kSpeedGoal"
print_row "peak RSS MiB (VmHWM)" "${rss_kib[berth]:-}" "${rss_kib[reference]:-}" 1024 0 \
  "$kMemoryGoal"

echo
echo "berth, reference: median of $rounds rounds; ratio: of the medians, how many times" \
  "better berth is (berth/reference for rates, reference/berth for p99 and memory)"
echo "goals: >= ${kSpeedGoal}x on every rate and p99, >= ${kMemoryGoal}x (no more) on peak memory"
if want reference; then
  echo "reference: $("$reference" --version 2>/dev/null | head -n 1)," \
    "filesystem storage, no auth, no fsync"
fi
((quick)) && echo "BENCH_QUICK=1: small sizes, figures are indicative only"

if ((strict && missed)); then
  echo "run_registry.sh: a goal was missed (BENCH_STRICT=1)" >&2
  exit 1
fi
