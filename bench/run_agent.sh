#!/usr/bin/env bash
# The node-agent benchmark in one command: starts `berth server`
# (--create-repository-on-push) and `berth agent` on loopback with temp data
# dirs, and a private containerd, and prints berth's figures beside baselines
# measured in the same run:
#
#   task start        RunTask -> lastStatus RUNNING of a busybox `sleep 600`
#                     (image cached), TASKS tasks one after another; beside
#                     bare `runc run -d` of the agent's own bundle and
#                     `ctr run -d` of the same image, interleaved task by task;
#                     with LOAD=1 once more while a CPU hog spins on core 0
#   agent idle        VmRSS of the agent, and its CPU over IDLE_SECONDS with
#                     no tasks (% of one core)
#   supervise         CPU over IDLE_SECONDS while SUPERVISE_TASKS containers
#                     run: berth's agent (and what it runs) and conmons,
#                     beside containerd and its shims running as many
#   pull and unpack   an image of SIZE MiB in 4 incompressible plain-tar layers
#                     onto an empty cache: the task's pullStoppedAt -
#                     pullStartedAt, beside `ctr images pull` into a fresh
#                     containerd
#   cold start        (part `coldstart`, not in the default parts) the same for
#                     the example's real PyTorch training image
#                     (examples/neuron-training, built and cached by its
#                     build-image.sh) in three forms: one gzip layer,
#                     COLDSTART_LAYERS gzip layers, and those recompressed to
#                     zstd by skopeo; ROUNDS rounds, each form pulled by a
#                     fresh agent and a fresh containerd one after the other
#
# Builds nothing: build berth first (cmake --build build --target berth).
# Runs as root (runc, conmon, overlay mounts, cgroups), with runc, conmon,
# containerd and ctr installed (Debian: runc conmon containerd).
#
# Environment:
#   BERTH_BIN        the berth binary (default: build/berth, relative to the repo)
#   PYTHON           interpreter with Debian's boto3 (default /usr/bin/python3)
#   TASKS            measured task starts, and runs of each baseline (default 100)
#   POLL_MS          milliseconds between DescribeTasks calls once the task's
#                    TaskRunning event came but it did not show (default 2)
#   LOAD=1           measure the starts twice: quiet, then with a CPU hog
#                    pinned to core 0 (both against baselines of the same pass)
#   IDLE_SECONDS     length of the idle CPU sample (default 10)
#   SIZE             MiB of the pull image (default 1024; 0 skips the pull part)
#   LAYERS           big layers in the pull image (default 4)
#   SUPERVISE_TASKS  containers running at once in the supervise part (default 10)
#   BENCH_PARTS      parts to run (default "starts idle supervise pull"; add or name
#                    "coldstart" for the cold start part)
#   COLDSTART_LAYERS layers of the several-layer forms (default 4)
#   COLDSTART_FORMS  some of the forms (default "gzip-1layer gzip-4layers
#                    zstd-4layers", with COLDSTART_LAYERS for the 4)
#   COLDSTART_IMAGES where the example's images are built and cached
#                    (default .berth/images in the repo)
#   ROUNDS           rounds of the cold start part (default 3; medians printed)
#   COLDSTART_PERF   a folder: `perf record -g` each berth agent's pull there
#   COLDSTART_FS     loop (default): each cold start pull onto a fresh ext4 of
#                    its own (mkfs defaults, on a loop device); host: onto
#                    TMPDIR's file system
#   BENCH_STRICT=1   exit 1 when a goal is missed (default: report only)
#
# Only loopback traffic (the cold start part's first run also builds the
# example's image, which downloads Debian packages). Everything else lives in
# a temp dir under ${TMPDIR:-/tmp}; every process, container, mount and cgroup
# it makes is removed on exit, failure or Ctrl-C.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
berth=${BERTH_BIN:-build/berth}
[[ $berth == /* ]] || berth=$repo/$berth
python=${PYTHON:-/usr/bin/python3}
tasks=${TASKS:-100}
poll_ms=${POLL_MS:-2}
load=${LOAD:-0}
idle_seconds=${IDLE_SECONDS:-10}
size_mib=${SIZE:-1024}
layers=${LAYERS:-4}
supervise_tasks=${SUPERVISE_TASKS:-10}
parts=${BENCH_PARTS:-"starts idle supervise pull"}
((size_mib > 0)) || parts=${parts//pull/}
strict=${BENCH_STRICT:-0}
bench_py=$repo/bench/agent_bench.py
cold_layers=${COLDSTART_LAYERS:-4}
cold_images=${COLDSTART_IMAGES:-$repo/.berth/images}
rounds=${ROUNDS:-3}
perf_dir=${COLDSTART_PERF:-}
cold_fs=${COLDSTART_FS:-loop}
# The cold start forms and their OCI image layouts (COLDSTART_FORMS picks some).
all_forms=(gzip-1layer "gzip-${cold_layers}layers" "zstd-${cold_layers}layers")
all_dirs=("$cold_images/neuron-training-oci-1layer" "$cold_images/neuron-training-oci-${cold_layers}layers"
  "$cold_images/neuron-training-oci-${cold_layers}layers-zstd")
cold_forms=() cold_dirs=()
for i in "${!all_forms[@]}"; do
  if [[ " ${COLDSTART_FORMS:-${all_forms[*]}} " == *" ${all_forms[$i]} "* ]]; then
    cold_forms+=("${all_forms[$i]}")
    cold_dirs+=("${all_dirs[$i]}")
  fi
done

# The goals (bench/README.md).
readonly kRuncGoal=1.2   # berth's start p50 at most 1.2x bare runc's, quiet and loaded
readonly kCtrGoal=1.0    # berth's start p50 below ctr run's; pull faster than ctr pull
readonly kColdGoal=2.0   # cold start: berth's pull + unpack at least 2x as fast as ctr pull's

want() { [[ " $parts " == *" $1 "* ]]; }

if [[ ! -x $berth ]]; then
  echo "run_agent.sh: $berth not found; build berth (or set BERTH_BIN)" >&2
  exit 2
fi
if ((EUID != 0)); then
  echo "run_agent.sh: runs containers: run it as root" >&2
  exit 2
fi
for tool in runc conmon containerd ctr; do
  if ! command -v "$tool" >/dev/null; then
    echo "run_agent.sh: $tool not found (apt-get install runc conmon containerd)" >&2
    exit 2
  fi
done
if ! "$python" -c 'import boto3' 2>/dev/null; then
  echo "run_agent.sh: $python cannot import boto3 (apt-get install python3-boto3)" >&2
  exit 2
fi
if want coldstart; then
  if [[ $cold_fs != loop && $cold_fs != host ]]; then
    echo "run_agent.sh: COLDSTART_FS is loop or host, not $cold_fs" >&2
    exit 2
  fi
  for tool in skopeo zstd ${perf_dir:+perf}; do
    if ! command -v "$tool" >/dev/null; then
      echo "run_agent.sh: $tool not found (apt-get install skopeo zstd${perf_dir:+ linux-perf})" >&2
      exit 2
    fi
  done
fi

tmp_base=${TMPDIR:-/tmp}
if want coldstart; then
  # The three forms in the registry (about 0.4 GB each), one unpacked copy
  # at a time in the agent's or containerd's cache (1.3 GB, and containerd's
  # content store), and slack.
  require_free_mib "$tmp_base" 6000 "the cold start part" "set TMPDIR elsewhere"
fi
if want pull; then
  # The registry's copy, the agent's unpacked copy, containerd's content and
  # snapshot, one layer being generated, and slack.
  require_free_mib "$tmp_base" $((4 * size_mib + size_mib / layers + 1024)) "the pull part" \
    "set TMPDIR elsewhere or a smaller SIZE"
fi

tmp=$(mktemp -d "$tmp_base/berth-agentbench.XXXXXX")
pids=()
agent_dirs=()
ctr_dirs=()
runc_root=$tmp/runc
py_pid=
hog_pid=


# stop_containerd DIR: its containers first (the shims outlive containerd),
# then containerd, then whatever it left mounted.
stop_containerd() {
  local dir=$1 pid
  if [[ -S $dir/sock ]]; then
    local ids
    ids=$(ctr -a "$dir/sock" -n berth-bench tasks ls -q 2>/dev/null || true)
    for id in $ids; do
      ctr -a "$dir/sock" -n berth-bench tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.2
    for id in $ids; do
      ctr -a "$dir/sock" -n berth-bench tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr -a "$dir/sock" -n berth-bench containers ls -q 2>/dev/null || true); do
      ctr -a "$dir/sock" -n berth-bench containers rm "$id" >/dev/null 2>&1 || true
    done
  fi
  if [[ -f $dir/pid ]]; then
    pid=$(cat "$dir/pid")
    stop_processes "$pid"
    rm -f "$dir/pid"
  fi
  # Shims of this containerd (their command line names its state dir).
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $dir/sock" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  umount_under "$dir"
}

# umount_under DIR: every mount below DIR, deepest first.
umount_under() {
  local target
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r target; do umount -l "$target" 2>/dev/null || true; done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n $py_pid ]] && stop_processes "$py_pid"
  [[ -n $hog_pid ]] && stop_processes "$hog_pid"
  local dir id pid
  for dir in "${ctr_dirs[@]}"; do stop_containerd "$dir"; done
  # Any containerd of ours still there (its command line names our folder).
  for pid in $(pgrep -f "^containerd --config $tmp/" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  if [[ -d $runc_root ]]; then
    for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
      runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  for cg in /sys/fs/cgroup/*/berth-bench /sys/fs/cgroup/berth-bench; do
    [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  stop_processes "${pids[@]}"
  for dir in "${agent_dirs[@]}"; do
    "$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import berth_agent
berth_agent.cleanup_agent_host(sys.argv[2])' "$repo/tests/agent" "$dir" 2>/dev/null || true
  done
  umount_under "$tmp"
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bench ARGS...: one agent_bench.py step; its op= lines are kept in result[op].
declare -A result
bench() {
  local status=0 line
  "$python" "$bench_py" --port "$port" --credentials "$tmp/server/credentials" "$@" \
    >"$tmp/bench.out" &
  py_pid=$!
  wait "$py_pid" || status=$?
  py_pid=
  if ((status != 0)); then
    echo "run_agent.sh: agent_bench.py $1 failed (exit $status)" >&2
    for log in "$tmp"/agent-*.log; do
      [[ -f $log ]] && { echo "--- $log (last 20 lines)" >&2; tail -n 20 "$log" >&2; }
    done
    return 1
  fi
  while read -r line; do
    [[ $line == op=* ]] && result[$(field op "$line")]=$line
  done <"$tmp/bench.out"
}

# start_agent NAME CLUSTER: a berth agent with its own data dir; sets agent_pid.
start_agent() {
  local name=$1 cluster=$2
  agent_dirs+=("$tmp/agent-$name")
  "$berth" agent --server "http://127.0.0.1:$port" --cluster "$cluster" \
    --data "$tmp/agent-$name" --credentials "$tmp/server/credentials" --device-root / \
    --retention 0 --metadata-listen 127.0.0.1:0 >"$tmp/agent-$name.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  bench wait-joined --cluster "$cluster"
}

# start_containerd NAME: a private containerd (own root, state, socket; only
# what ctr run needs) in $tmp/containerd-NAME.
start_containerd() {
  local dir=$tmp/containerd-$1
  mkdir -p "$dir"
  ctr_dirs+=("$dir")
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$dir/sock"
[ttrpc]
  address = "$dir/sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
EOF
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 300); do
    ctr -a "$dir/sock" version >/dev/null 2>&1 && return 0
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "run_agent.sh: containerd exited during start-up:" >&2
      tail -n 20 "$dir/containerd.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "run_agent.sh: containerd did not answer in 30 s" >&2
  return 1
}

load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- the example's image in three forms (cold start) ---------------------------------

# build_cold_images: the one-layer and the several-layer gzip images
# (build-image.sh: cached, each with its stamp) and the zstd copy of the
# latter (skopeo recompresses every layer; remade when its source changes).
build_cold_images() {
  local build=$repo/examples/neuron-training/build-image.sh
  LAYERS=1 bash "$build" "${all_dirs[0]}" >&2
  LAYERS=$cold_layers bash "$build" "${all_dirs[1]}" >&2
  local src=${all_dirs[1]} dst=${all_dirs[2]}
  if [[ -f $dst/berth-build.stamp && $(cat "$dst/berth-build.stamp") == "$(cat "$src/berth-build.stamp")" ]]; then
    return 0
  fi
  echo "run_agent.sh: skopeo copy --dest-compress-format zstd into $dst" >&2
  rm -rf "$dst" "$dst.tmp"
  skopeo copy --quiet --dest-compress-format zstd "oci:$src:v1" "oci:$dst.tmp:v1" >&2
  cp "$src/berth-build.stamp" "$dst.tmp/berth-build.stamp"
  mv "$dst.tmp" "$dst"
}

if want coldstart; then
  echo "run_agent.sh: the example's training image: ${cold_forms[*]} (cached in $cold_images)" >&2
  build_cold_images
fi

# --- start berth -------------------------------------------------------------------

echo "run_agent.sh: load average at start: $(load_avg) ($(nproc) cores)" >&2
port=$(free_port)
"$berth" --log-level warn server --listen "127.0.0.1:$port" --data "$tmp/server" \
  --create-repository-on-push >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_for "berth server" "${pids[-1]}" "$port" "$tmp/server.log" "$tmp/server/credentials"
cold_clusters=()
for ((r = 1; r <= rounds; r++)); do
  for form in "${cold_forms[@]}"; do cold_clusters+=(--cluster "bench-cold-$form-$r"); done
done
setup_args=(--cluster bench-agent --cluster bench-agent-pull)
want coldstart && setup_args+=("${cold_clusters[@]}")
want starts || want supervise || setup_args+=(--no-busybox)
bench setup "${setup_args[@]}" --password-file "$tmp/registry-password"
main_agent_pid=
if want starts || want idle || want supervise || want pull; then
  start_agent main bench-agent
  main_agent_pid=$agent_pid
fi
load_start=$(load_avg)

# --- task start latency ------------------------------------------------------------

# The containerd of the baselines beside berth's containers, with the busybox
# image pulled: started once, for the first part that needs it.
ctr_image=127.0.0.1:$port/busybox:bench
containerd_for_containers() {
  [[ -f $tmp/containerd-starts/pid ]] && return 0
  start_containerd starts
  ctr -a "$tmp/containerd-starts/sock" -n berth-bench images pull --plain-http \
    --user "AWS:$(cat "$tmp/registry-password")" "$ctr_image" >/dev/null
}

if want starts; then
  containerd_for_containers
  # starts LABEL: one pass of TASKS rounds; LABEL prefixes its op names.
  starts() {
    mkdir -p "$tmp/runc-work-$1"
    bench starts --cluster bench-agent --tasks "$tasks" --label "$1" \
      --poll "$(awk -v m="$poll_ms" 'BEGIN { print m / 1000 }')" \
      --agent-data "$tmp/agent-main" --agent-log "$tmp/agent-main.log" \
      --work "$tmp/runc-work-$1" --runc-root "$runc_root" \
      --ctr-sock "$tmp/containerd-starts/sock" --ctr-image "$ctr_image"
  }
  starts quiet
  load_starts=$(load_avg)
  if ((load)); then
    # One core busy with a process that never sleeps, as a node running a
    # compute task is; berth and both baselines share what is left. In a
    # session of its own, as a container's process is (with the kernel's
    # autogroup scheduling, a session is the unit CPU time is shared by).
    echo "run_agent.sh: the same starts with a CPU hog on core 0" >&2
    setsid taskset -c 0 /bin/sh -c 'while :; do :; done' &
    hog_pid=$!
    starts loaded
    load_loaded=$(load_avg)
    stop_processes "$hog_pid"
    hog_pid=
  fi
  stop_containerd "$tmp/containerd-starts"
fi

# --- the idle agent ----------------------------------------------------------------

if want idle; then
  # Stopped tasks are removed a little after they stop (--retention 0); the
  # sample starts once that is done.
  sleep 3
  echo "run_agent.sh: agent idle for ${idle_seconds} s" >&2
  bench idle --pid "$main_agent_pid" --seconds "$idle_seconds"
fi

# --- supervising running containers -----------------------------------------------

if want supervise; then
  containerd_for_containers
  echo "run_agent.sh: ${supervise_tasks} containers running, berth's then containerd's," \
    "${idle_seconds} s each" >&2
  bench supervise --cluster bench-agent --tasks "$supervise_tasks" --seconds "$idle_seconds" \
    --agent-pid "$main_agent_pid" --agent-data "$tmp/agent-main" \
    --containerd-pid "$(cat "$tmp/containerd-starts/pid")" \
    --ctr-sock "$tmp/containerd-starts/sock" --ctr-image "$ctr_image"
fi

# --- pull and unpack ---------------------------------------------------------------

if want pull; then
  # The main agent is stopped so that it does not compete; the pull agent
  # starts with an empty image cache in its own cluster.
  stop_processes "$main_agent_pid"
  main_agent_pid=
  echo "run_agent.sh: generating and pushing a ${size_mib} MiB image" >&2
  bench big-image --dir "$tmp/big-image" --mib "$size_mib" --layers "$layers"
  rm -rf "$tmp/big-image"
  big_bytes=$(field bytes "${result[big_image]}")
  start_agent pull bench-agent-pull
  sync
  echo "run_agent.sh: berth agent pulls it onto an empty cache" >&2
  bench berth-pull --cluster bench-agent-pull --bytes "$big_bytes"
  stop_processes "$agent_pid"
  start_containerd pull
  sync
  echo "run_agent.sh: ctr pulls it into a fresh containerd" >&2
  bench ctr-pull --ctr-sock "$tmp/containerd-pull/sock" --bytes "$big_bytes" \
    --ref "127.0.0.1:$port/bigimage:bench" --password-file "$tmp/registry-password"
  stop_containerd "$tmp/containerd-pull"
  load_pull=$(load_avg)
fi

# --- cold start of the example's image --------------------------------------------

# fresh_fs DIR: with COLDSTART_FS=loop, a new 6 GiB ext4 (mkfs's defaults,
# journal included, inode tables written now rather than in the background)
# on a loop device with direct I/O, mounted at DIR: every pull finds a disk
# as a new node has it, and not the inodes the previous pull's files left
# behind (ext4 without a journal, as some hosts have it, skips recently
# freed inodes one by one when it allocates).
fresh_fs() {
  local dir=$1 dev
  mkdir -p "$dir"
  [[ $cold_fs == loop ]] || return 0
  truncate -s 6G "$dir.img"
  mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "$dir.img"
  dev=$(losetup --direct-io=on --find --show "$dir.img")
  mount "$dev" "$dir" || { losetup -d "$dev"; return 1; }
  # Detached now, while mounted: the kernel frees the device itself when
  # the file system is unmounted, also after a lazy unmount or a crash of
  # this script.
  losetup -d "$dev"
}

# drop_fs DIR: undoes fresh_fs (everything below DIR unmounted first) and
# removes DIR.
drop_fs() {
  local dir=$1
  umount_under "$dir"
  if mountpoint -q "$dir"; then umount "$dir"; fi
  rm -rf "$dir" "$dir.img"
}

# cpu_seconds PID: the process's user + system time so far, in seconds.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# forget_agent DIR: its containers, mounts and cgroups (cleanup_agent_host),
# then its file system: the next agent's pull must not find its files.
forget_agent() {
  "$python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import berth_agent
berth_agent.cleanup_agent_host(sys.argv[2])' "$repo/tests/agent" "$1"
  drop_fs "$1"
}

if want coldstart; then
  [[ -n $main_agent_pid ]] && stop_processes "$main_agent_pid"
  main_agent_pid=
  password=$(cat "$tmp/registry-password")
  for i in "${!cold_forms[@]}"; do
    form=${cold_forms[$i]}
    bench layout --dir "${cold_dirs[$i]}" --op "layout_$form"
    echo "run_agent.sh: skopeo copy ${cold_dirs[$i]} to neuron-training:$form" >&2
    skopeo copy --quiet --dest-tls-verify=false --dest-creds "AWS:$password" \
      "oci:${cold_dirs[$i]}:v1" "docker://127.0.0.1:$port/neuron-training:$form" >&2
    bench register --family "bench-cold-$form" --image "127.0.0.1:$port/neuron-training:$form"
  done
  [[ -n $perf_dir ]] && mkdir -p "$perf_dir"
  for ((r = 1; r <= rounds; r++)); do
    for form in "${cold_forms[@]}"; do
      unpacked=$(field unpacked "${result[layout_$form]}")
      fresh_fs "$tmp/agent-cold-$form-$r"
      start_agent "cold-$form-$r" "bench-cold-$form-$r"
      perf_pid=
      if [[ -n $perf_dir ]]; then
        perf record -g -p "$agent_pid" -o "$perf_dir/agent-$form-$r.data" >"$tmp/perf.log" 2>&1 &
        perf_pid=$!
        pids+=("$perf_pid")
      fi
      sync
      echo "run_agent.sh: round $r: berth agent pulls $form onto an empty cache" >&2
      bench berth-pull --cluster "bench-cold-$form-$r" --family "bench-cold-$form" \
        --bytes "$unpacked" --op "berth_${form}_$r"
      [[ -n $perf_pid ]] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
      # Where the time went: each layer's line, and the agent's CPU time
      # (nearly all of it the pull).
      sed -n 's/.* info layer pulled /run_agent.sh:     layer /p' "$tmp/agent-cold-$form-$r.log" >&2
      echo "run_agent.sh:     agent CPU $(cpu_seconds "$agent_pid") s (user + system)" >&2
      stop_processes "$agent_pid"
      forget_agent "$tmp/agent-cold-$form-$r"
      # containerd 1.6 now and then fails a layer's commit into its content
      # store ("rename .../ingest/.../data: no such file or directory") when
      # several layers finish at once: such a pull is tried again, from the
      # start, in a fresh containerd.
      for try in 1 2 3; do
        name=cold-$form-$r-$try
        fresh_fs "$tmp/containerd-$name/root"
        start_containerd "$name"
        sync
        echo "run_agent.sh: round $r: ctr pulls $form into a fresh containerd" >&2
        status=0
        bench ctr-pull --ctr-sock "$tmp/containerd-$name/sock" --bytes "$unpacked" \
          --ref "127.0.0.1:$port/neuron-training:$form" --password-file "$tmp/registry-password" \
          --op "ctr_${form}_$r" || status=$?
        stop_containerd "$tmp/containerd-$name"
        drop_fs "$tmp/containerd-$name/root"
        rm -rf "$tmp/containerd-$name"
        ((status == 0)) && break
        ((try < 3)) || exit 1
        echo "run_agent.sh: ctr pull failed; trying again in a fresh containerd" >&2
      done
    done
  done
  load_cold=$(load_avg)
fi

# --- report ------------------------------------------------------------------------

missed=0
# ratio A B: A / B to two places, or - when either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a <= 0 || b <= 0) { print "-"; exit }
    printf "%.2f", a / b }'
}
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
# median VALUE...: the middle value (the lower of the two middle ones), - when none.
median() {
  local values
  values=$(printf '%s\n' "$@" | grep -v '^$' | sort -g)
  [[ -n $values ]] || { echo -; return; }
  sed -n "$((($(wc -l <<<"$values") + 1) / 2))p" <<<"$values"
}
# get OP KEY: KEY of op's result line.
get() { [[ -n ${result[$1]:-} ]] && field "$2" "${result[$1]}"; return 0; }
# verdict RATIO LIMIT: met when RATIO <= LIMIT (lower is better for berth).
verdict() {
  if [[ $1 == - ]]; then echo -; elif above "$1" "$2"; then missed=1; echo MISSED; else echo met; fi
}

if want starts || want idle || want supervise || want pull; then
  echo
  printf '%-40s %10s %10s %10s  %s\n' figure berth baseline berth/base goal
fi
if want starts; then
  labels=quiet
  ((load)) && labels="quiet loaded"
  for label in $labels; do
    for op in runc_run ctr_run; do
      case $op in
        runc_run) name="runc run -d" goal=$kRuncGoal ;;
        ctr_run) name="ctr run -d" goal=$kCtrGoal ;;
      esac
      for key in p50_ms p99_ms mean_ms; do
        x=$(ratio "$(get "${label}_berth_start" "$key")" "$(get "${label}_$op" "$key")")
        v=-
        [[ $key == p50_ms ]] && v="<=${goal}x $(verdict "$x" "$goal")"
        printf '%-40s %10s %10s %10s  %s\n' "$label start ${key%_ms} ms vs $name" \
          "$(get "${label}_berth_start" "$key")" "$(get "${label}_$op" "$key")" "$x" "$v"
      done
    done
    printf '%-40s %10s\n' "$label start p50 ms, startedAt-createdAt" \
      "$(get "${label}_berth_start_server" p50_ms)"
    for phase in deliver agent report; do
      printf '%-40s %10s %10s\n' "  phase $phase p50 / p99 ms" \
        "$(get "${label}_berth_phase_$phase" p50_ms)" "$(get "${label}_berth_phase_$phase" p99_ms)"
    done
  done
fi
if want idle; then
  printf '%-40s %10s\n' "agent VmRSS MiB (idle)" \
    "$(awk -v k="$(get agent_idle rss_kib)" 'BEGIN { printf "%.1f", k / 1024 }')"
  printf '%-40s %10s\n' "agent CPU % of a core (${idle_seconds} s idle)" "$(get agent_idle cpu_pct)"
fi
if want supervise; then
  x=$(ratio "$(get supervise berth_cpu_pct)" "$(get supervise containerd_cpu_pct)")
  printf '%-40s %10s %10s %10s\n' "CPU % of a core, ${supervise_tasks} containers running" \
    "$(get supervise berth_cpu_pct)" "$(get supervise containerd_cpu_pct)" "$x"
fi
if want pull; then
  x=$(ratio "$(get berth_pull mb_s)" "$(get ctr_pull mb_s)")
  v=-
  if [[ $x != - ]]; then
    if above 1 "$x"; then v="MISSED"; missed=1; else v=met; fi
  fi
  printf '%-40s %10s %10s %10s  %s\n' "pull+unpack MB/s vs ctr pull" \
    "$(get berth_pull mb_s)" "$(get ctr_pull mb_s)" "$x" ">1x $v"
  printf '%-40s %10s %10s\n' "pull+unpack seconds" "$(get berth_pull seconds)" \
    "$(get ctr_pull seconds)"
fi

if want coldstart; then
  echo
  printf '%-22s %7s %8s %8s %8s %8s %8s %8s  %s\n' "cold start (median)" layers "MB gz/zst" \
    "berth s" "ctr s" "berth MB/s" "ctr MB/s" "ctr/berth" "goal; per round"
  for form in "${cold_forms[@]}"; do
    berth_s=() ctr_s=() per_round=()
    for ((r = 1; r <= rounds; r++)); do
      berth_s+=("$(get "berth_${form}_$r" seconds)")
      ctr_s+=("$(get "ctr_${form}_$r" seconds)")
      per_round+=("$(ratio "${ctr_s[-1]}" "${berth_s[-1]}")")
    done
    b=$(median "${berth_s[@]}") c=$(median "${ctr_s[@]}")
    unpacked=$(get "layout_$form" unpacked)
    x=$(ratio "$c" "$b")
    v=-
    if [[ $x != - ]]; then
      if above "$kColdGoal" "$x"; then v="MISSED"; missed=1; else v=met; fi
    fi
    printf '%-22s %7s %8s %8s %8s %8s %8s %8s  %s\n' "$form" "$(get "layout_$form" layers)" \
      "$(awk -v n="$(get "layout_$form" compressed)" 'BEGIN { printf "%.0f", n / 1e6 }')" \
      "$b" "$c" "$(awk -v n="$unpacked" -v s="$b" 'BEGIN { printf "%.1f", n / 1e6 / s }')" \
      "$(awk -v n="$unpacked" -v s="$c" 'BEGIN { printf "%.1f", n / 1e6 / s }')" "$x" \
      ">=${kColdGoal}x $v; ${per_round[*]}"
  done
fi

echo
if want starts; then
  echo "start: $tasks tasks, client wall time from before RunTask to the first DescribeTasks" \
    "(asked when the event stream shows the task's TaskRunning) that shows RUNNING;" \
    "baselines: time until \`runc run -d\`" \
    "/ \`ctr run -d\` returns, interleaved with berth's tasks one by one"
  ((load)) && echo "loaded: the same again while \`taskset -c 0\` runs a busy loop (one core of $(nproc) taken)"
  echo "phases (agent log, ms resolution): deliver = createdAt -> agent has the task," \
    "agent = -> container started, report = -> server's startedAt"
fi
if want pull; then
  echo "pull: $(get big_image bytes) bytes in $(get big_image layers) layers of" \
    "$(get big_image media_type) (incompressible); berth: pullStoppedAt - pullStartedAt" \
    "(download, verify, unpack, syncfs); ctr: wall time of \`ctr images pull\` (fetch, unpack)"
fi
if want coldstart; then
  echo "cold start: the example's training image ($(get "layout_${cold_forms[0]}" unpacked) bytes" \
    "of tar), pushed with skopeo; berth: pullStoppedAt - pullStartedAt on a fresh agent" \
    "(download, verify, unpack, syncfs); ctr: wall time of \`ctr images pull\` into a fresh" \
    "containerd (fetch, unpack; unpigz $(command -v unpigz >/dev/null && echo found || echo "not installed"))." \
    "MB/s: unpacked bytes per second. $rounds rounds, both pulls of a form one after the other"
fi
echo "load average (1, 5, 15 min): start ${load_start}${load_starts:+, after quiet starts $load_starts}${load_loaded:+, after loaded starts $load_loaded}${load_pull:+, after pull $load_pull}${load_cold:+, after cold start $load_cold}; $(nproc) cores"
echo "runc $(runc --version | head -n 1 | cut -d' ' -f3), $(ctr --version | cut -d' ' -f3-)"

if ((strict && missed)); then
  echo "run_agent.sh: a goal was missed (BENCH_STRICT=1)" >&2
  exit 1
fi
