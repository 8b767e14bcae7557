#!/usr/bin/env bash
# The control plane on etcd beside SQLite, in one run.
#
# 1. RegisterTaskDefinition and RunTask through the API (berth_api_load) on
#    `berth server --store sqlite:...` and on `--store etcd://...` (a local
#    3-member etcd cluster, scripts/etcd-cluster.sh), at each concurrency:
#    rates, p99, and etcd's rate as a share of SQLite's (the figure).
# 2. Failover: three `berth server`s on that etcd; the leader is SIGKILLed
#    and the time until the first write acknowledged through a survivor is
#    measured (bench/failover.py), beside the leader's lease.
#
# Builds nothing: cmake --build build --target berth berth_api_load
#
# Environment:
#   BERTH_BUILD_DIR      build directory (default: build)
#   BENCH_REQUESTS       measured calls per operation and concurrency (default 2000)
#   BENCH_WARMUP         unmeasured calls before each run (default 200)
#   BENCH_INSTANCES      container instances registered for RunTask (default 200)
#   BENCH_CONCURRENCY    (default "1 16")
#   BENCH_LEASE_SECONDS  the servers' --leader-lease-seconds in the failover runs
#                        (default 10, berth's default)
#   BENCH_FAILOVERS      leaders killed, one after another (default 3)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_setup berth-etcd
berth=$build/berth
load=$build/bench/berth_api_load
requests=${BENCH_REQUESTS:-2000}
warmup=${BENCH_WARMUP:-200}
instances=${BENCH_INSTANCES:-200}
concurrencies=${BENCH_CONCURRENCY:-"1 16"}
lease=${BENCH_LEASE_SECONDS:-10}
failovers=${BENCH_FAILOVERS:-3}

for binary in "$berth" "$load"; do
  if [[ ! -x $binary ]]; then
    echo "run_etcd.sh: $binary not found; build berth and berth_api_load first" >&2
    exit 2
  fi
done

# The etcd cluster, for the whole run; stopped with the other processes.
bash "$repo/scripts/etcd-cluster.sh" >"$tmp/etcd.out" 2>"$tmp/etcd.err" &
pids+=($!)
for _ in $(seq 300); do
  grep -q '^etcd-cluster: ready' "$tmp/etcd.out" && break
  if ! kill -0 "${pids[-1]}" 2>/dev/null; then
    echo "run_etcd.sh: scripts/etcd-cluster.sh failed:" >&2
    cat "$tmp/etcd.err" >&2
    exit 1
  fi
  sleep 0.1
done
endpoints=$(awk '/^etcd-cluster: ready/ { print $3 }' "$tmp/etcd.out")
[[ -n $endpoints ]] || { echo "run_etcd.sh: etcd did not start in 30 s" >&2; exit 1; }
echo "etcd cluster at $endpoints" >&2

run_load() {
  local line
  if ! line=$("$load" --host 127.0.0.1 --port "$berth_port" --credentials "$tmp/data/credentials" \
    "$@" 2>"$tmp/load.err"); then
    echo "run_etcd.sh: load failed: $line" >&2
    cat "$tmp/load.err" >&2
    return 1
  fi
  echo "  $line" >&2
  echo "$line"
}

# measure STORE: one server on STORE, every operation at every concurrency;
# appends "store op c rps p99" rows.
rows=()
measure() {
  local store=$1 c line
  rm -rf "$tmp/data"
  echo "berth server --store $store" >&2
  start_berth_server --store "$store"
  run_load --operation RunTask --instances "$instances" --concurrency 16 --requests 1 \
    --warmup 0 >/dev/null
  for c in $concurrencies; do
    for op in RegisterTaskDefinition RunTask; do
      line=$(run_load --operation "$op" --concurrency "$c" --requests "$requests" \
        --warmup "$warmup" --no-setup)
      rows+=("$store $op $c $(field rps "$line") $(field p99_us "$line")")
    done
  done
  stop_processes "${pids[-1]}"
  unset 'pids[-1]'
}

measure "sqlite:$tmp/data/berth.db"
measure "etcd://$endpoints/bench-$$/"

value() {  # value STORE_KIND OP C FIELD(4 rps, 5 p99)
  local row
  for row in "${rows[@]}"; do
    read -r store op c rps p99 <<<"$row"
    if [[ $store == "$1"* && $op == "$2" && $c == "$3" ]]; then
      [[ $4 == 4 ]] && echo "$rps" || echo "$p99"
      return
    fi
  done
}

echo
echo "The ECS API on etcd (3 members, loopback) beside SQLite, durable writes, $requests calls a run"
printf '%-22s %5s %10s %10s %12s %12s %9s\n' operation conc sqlite/s etcd/s sqlite_p99_us etcd_p99_us etcd/sqlite
for c in $concurrencies; do
  for op in RegisterTaskDefinition RunTask; do
    s_rps=$(value sqlite "$op" "$c" 4)
    e_rps=$(value etcd "$op" "$c" 4)
    ratio=$(awk -v a="$e_rps" -v b="$s_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    printf '%-22s %5s %10s %10s %12s %12s %9s\n' "$op" "$c" "$s_rps" "$e_rps" \
      "$(value sqlite "$op" "$c" 5)" "$(value etcd "$op" "$c" 5)" "$ratio"
  done
done

echo
/usr/bin/python3 "$repo/bench/failover.py" --berth "$berth" --etcd "$endpoints" \
  --lease-seconds "$lease" --rounds "$failovers" --dir "$tmp/failover"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
