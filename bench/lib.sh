# Shared by the bench/run_*.sh scripts: process handling and result parsing.
# Source it; it defines functions only.

# stop_processes PID...: TERM, then KILL whatever has not ended after five
# seconds. A graceful stop lets berth close its store; the KILL makes sure
# the script always returns.
stop_processes() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  # Only these: other children (a server the caller keeps) run on.
  wait "$@" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for NAME PID PORT LOG [FILE]: waits until PORT accepts connections (and
# FILE exists), failing early if the process died.
wait_for() {
  local name=$1 pid=$2 port=$3 log=$4 file=${5:-} script
  script=$(basename "$0")
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$script: $name exited during start-up; its log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [[ -z $file || -s $file ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "$script: $name did not start listening on 127.0.0.1:$port in 30s; its log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

# wait_serving PORT: waits (up to 60 s) until berth on PORT answers /healthz
# with 200: it listens before it is wired, answering 503 until then.
wait_serving() {
  python3 - "$1" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2):
            break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"berth on port {sys.argv[1]} did not serve within 60 s")
        time.sleep(0.1)
PY
}

# field KEY LINE: the value of KEY=value in a load tool's result line.
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# bench_setup NAME: what every run_*.sh that starts servers begins with. Sets
# `repo`, `build` (BERTH_BUILD_DIR, default build, made absolute), `tmp` (a
# new temporary directory) and `pids` (the processes to stop: append to it),
# and makes sure that on exit, failure or Ctrl-C they are stopped and `tmp`
# is removed.
bench_setup() {
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  build=${BERTH_BUILD_DIR:-build}
  [[ $build == /* ]] || build=$repo/$build
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_processes "${pids[@]}"
  rm -rf "$tmp"
  exit "$status"
}

# start_berth_server ARGS...: `berth server` on a free loopback port with its
# data in $tmp/data and ARGS added; sets `berth_port` and waits until it
# answers and has written its credentials. The connection limits are off:
# thousands of simulated agents all come from 127.0.0.1.
start_berth_server() {
  berth_port=$(free_port)
  "$build/berth" --log-level warn server --listen "127.0.0.1:$berth_port" --data "$tmp/data" \
    --max-connections 0 --max-connections-per-address 0 "$@" >"$tmp/berth.log" 2>&1 &
  pids+=($!)
  wait_for "berth server" "${pids[-1]}" "$berth_port" "$tmp/berth.log" "$tmp/data/credentials"
  wait_serving "$berth_port"
}

# require_free_mib DIR NEED_MIB WHAT HINT: exits 2 with a message unless DIR's
# file system has NEED_MIB MiB free.
require_free_mib() {
  local dir=$1 need=$2 what=$3 hint=$4 avail
  avail=$(($(df -Pk "$dir" | awk 'NR == 2 { print $4 }') / 1024))
  if ((avail < need)); then
    echo "$(basename "$0"): $dir has ${avail} MiB free, $what needs about ${need} MiB ($hint)" >&2
    exit 2
  fi
}
