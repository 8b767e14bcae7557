#!/usr/bin/env bash
# Multi-node PyTorch training on berth, on one machine, with a node that dies:
#
#   1. a `berth server` on a bridge (198.18.0.1) and two node agents, each in
#      a network namespace of its own (198.18.0.11, 198.18.0.12), each a fake
#      trn1.32xlarge: two "machines" whose tasks run with host networking,
#      which inside a namespace is that namespace's network
#   2. the training image of examples/neuron-training (built once, cached),
#      pushed to berth's registry
#   3. train.py (torch.distributed, gloo, DistributedDataParallel) run as a
#      gang of 2 (berth:gang, berth:gang-max-restarts); it checkpoints every
#      epoch to a host folder both ranks mount and resumes from the newest
#   4. mid-training one node dies: its link goes down and its agent,
#      conmon and containers are SIGKILLed. berth finds the agent silent
#      (--agent-lost-after 5), stops its task, stops the other rank and waits
#      for capacity; the node comes back (link up, a fresh agent on the same
#      data folder), berth places the gang again and training resumes from
#      the last checkpoint and ends with exit 0
#
#   sudo bash examples/distributed-training/run.sh
#
# It prints each rank's log, each attempt and where its ranks ran, and the
# loss by epoch. Everything it makes (namespaces, bridge, veths, processes,
# containers, mounts, cgroups) is removed when it exits, also on failure.
# Only 198.18.0.0/15 (reserved for network tests) and loopback are used.
#
# Environment: BERTH_DATA (default ./.berth; this example uses
# BERTH_DATA/distributed-training and the image cache BERTH_DATA/images),
# BERTH_BUILD_DIR (build), KILL_RANK (1: the rank whose node dies),
# KILL_AFTER_EPOCH (3: it dies during the epoch after this checkpoint),
# REPLACEMENT (reboot: the dead node comes back; new-node: a third node
# joins instead and the dead one stays down).
# shellcheck disable=SC2016 # backquotes in --query are JMESPath literals
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
here=examples/distributed-training
step() { printf '\n==> [%3d s] %s\n' "$SECONDS" "$*"; }
die() { echo "run.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root: it creates network namespaces and the agents start containers with runc"
kill_rank=${KILL_RANK:-1}
kill_after=${KILL_AFTER_EPOCH:-3}
replacement=${REPLACEMENT:-reboot}
[[ $kill_rank =~ ^[01]$ ]] || die "KILL_RANK must be 0 or 1"
[[ $kill_after =~ ^[1-6]$ ]] || die "KILL_AFTER_EPOCH must be 1 to 6 (the task definition trains 8 epochs)"
[[ $replacement == reboot || $replacement == new-node ]] || die "REPLACEMENT must be reboot or new-node"

bash scripts/setup.sh
build=${BERTH_BUILD_DIR:-build}
step "build berth"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target berth
berth=$(realpath "$build/berth")

data=$(realpath -m "${BERTH_DATA:-$root/.berth}")
run=$data/distributed-training
mkdir -p "$run"
# One run at a time: the names below (namespaces, bridge, address) are fixed.
exec 9>"$run/lock"
flock -n 9 || die "another run of this example holds $run/lock"

step "the training image of examples/neuron-training (mmdebstrap + python3-torch; cached after its first build)"
bash examples/neuron-training/build-image.sh "$data/images/neuron-training-oci"

# The network: a bridge on the host, one namespace per node joined to it by a veth pair.
bridge=berthdt0
host_ip=198.18.0.1
port=8080
endpoint=http://$host_ip:$port
registry=$host_ip:$port
node_ip() { echo "198.18.0.$((10 + $1))"; }
node_ns() { echo "berthdt-node$1"; }
node_veth() { echo "berthdt$1"; }  # the host's end; the node's end is its eth0
node_dir() { echo "$run/nodes/node$1"; }
nodes=(1 2 3)  # 3 joins only with REPLACEMENT=new-node
cluster=trn1-dist
gang=ddp-mlp
taskdef_file=$here/taskdef.json
workdir=$(/usr/bin/python3 -c 'import json,sys,os; print(os.path.dirname(json.load(open(sys.argv[1]))["volumes"][1]["host"]["sourcePath"]))' "$taskdef_file")
checkpoints=$workdir/checkpoints
grep -q "\"$registry/neuron-training:v1\"" "$taskdef_file" || die "$taskdef_file must name the image $registry/neuron-training:v1"

# --- clean-up: also of a run that was killed before it could clean up ---
pid_alive() {  # pid file, expected word in its command line
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$2"
}
kill_pidfile() {  # pid file, word in its command line, signal
  if pid_alive "$1" "$2"; then kill "-$3" "$(cat "$1")" 2>/dev/null || true; fi
}
# What a node's agent made that outlives it by design: containers (runc),
# their conmon monitors, overlay mounts and cgroups, all found by data folder.
kill_node_containers() {
  local dir runc_root pid cid
  dir=$(node_dir "$1")/agent
  runc_root=$dir/runtime/runc
  for pid in $(pgrep -x conmon || true); do
    if { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$dir/"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [[ -d $runc_root ]]; then
    for cid in $(runc --root "$runc_root" list -q 2>/dev/null); do
      runc --root "$runc_root" kill "$cid" KILL >/dev/null 2>&1 || true
    done
  fi
}
remove_node_state() {
  local dir runc_root cid m t
  dir=$(node_dir "$1")/agent
  runc_root=$dir/runtime/runc
  if [[ -d $runc_root ]]; then
    for cid in $(runc --root "$runc_root" list -q 2>/dev/null); do
      runc --root "$runc_root" delete --force "$cid" >/dev/null 2>&1 || true
    done
  fi
  # Innermost first.
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
    awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
  if [[ -d $dir/tasks ]]; then
    for t in "$dir"/tasks/*; do
      [[ -e $t ]] || continue
      find /sys/fs/cgroup -maxdepth 4 -type d -path "*/berth/$(basename "$t")*" 2>/dev/null |
        sort -r | xargs -r rmdir 2>/dev/null || true
    done
  fi
}
remove_network() {
  local i
  for i in "${nodes[@]}"; do
    ip netns del "$(node_ns "$i")" 2>/dev/null || true
    ip link del "$(node_veth "$i")" 2>/dev/null || true
  done
  ip link del "$bridge" 2>/dev/null || true
}
# Each node's pulled images (the agent's data folder's images/, content
# addressed) are kept for the next run: a pull of the 400 MB image takes a
# while on a small machine.
keep_image_caches() {
  local i
  for i in "${nodes[@]}"; do
    if [[ -d $(node_dir "$i")/agent/images ]]; then
      mkdir -p "$run/image-cache"
      rm -rf --one-file-system "$run/image-cache/node$i"
      mv "$(node_dir "$i")/agent/images" "$run/image-cache/node$i"
    fi
  done
}
followers=()
cleanup() {
  local rc=$? i
  set +e
  trap - EXIT INT TERM
  for i in "${followers[@]}"; do kill "$i" 2>/dev/null; done
  for i in "${nodes[@]}"; do kill_pidfile "$run/pids/agent-$i" "$berth agent" KILL; done
  for i in "${nodes[@]}"; do kill_node_containers "$i"; done
  sleep 0.3
  for i in "${nodes[@]}"; do remove_node_state "$i"; done
  kill_pidfile "$run/pids/server" "$berth server" TERM
  for _ in $(seq 100); do pid_alive "$run/pids/server" "$berth server" || break; sleep 0.1; done
  kill_pidfile "$run/pids/server" "$berth server" KILL
  remove_network
  # The nodes' data (image layers, bundles) goes; logs and checkpoints stay.
  keep_image_caches
  rm -rf --one-file-system "$run/nodes" "$run/pids" "$run/auth.json"
  wait 2>/dev/null
  if ((rc != 0)); then
    echo "run.sh: failed (exit $rc); logs in $run/logs" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
step "remove what an earlier run may have left"
cleanup_leftovers() {
  local i
  for i in "${nodes[@]}"; do kill_pidfile "$run/pids/agent-$i" "$berth agent" KILL; done
  kill_pidfile "$run/pids/server" "$berth server" KILL
  for i in "${nodes[@]}"; do kill_node_containers "$i"; done
  sleep 0.3
  for i in "${nodes[@]}"; do remove_node_state "$i"; done
  remove_network
  keep_image_caches
  rm -rf --one-file-system "$run/nodes" "$run/pids" "$run/server" "$run/logs"
}
cleanup_leftovers
mkdir -p "$run/pids" "$run/logs" "$run/nodes"

step "network: bridge $bridge $host_ip/24; each node a namespace with eth0 on the bridge"
ip link add "$bridge" type bridge
ip addr add "$host_ip/24" dev "$bridge"
ip link set "$bridge" up
make_node_network() {
  local i=$1 ns veth
  ns=$(node_ns "$i") veth=$(node_veth "$i")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$bridge" up
  ip -n "$ns" addr add "$(node_ip "$i")/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  echo "node$i: namespace $ns, eth0 $(node_ip "$i")/24 <-> $veth on $bridge"
}
make_node_network 1
make_node_network 2

step "berth server on $endpoint (a node is lost after 5 s without its agent)"
"$berth" server --listen "$host_ip:$port" --data "$run/server" \
  --agent-heartbeat-timeout 2 --agent-lost-after 5 >"$run/logs/server.log" 2>&1 &
echo $! >"$run/pids/server"
disown $!
for _ in $(seq 100); do
  curl -s -o /dev/null "$endpoint/" && break
  pid_alive "$run/pids/server" "$berth server" || { cat "$run/logs/server.log" >&2; die "berth server exited"; }
  sleep 0.1
done
credentials=$run/server/credentials
AWS_ACCESS_KEY_ID=$(awk -F' *= *' '$1 == "aws_access_key_id" {print $2; exit}' "$credentials")
AWS_SECRET_ACCESS_KEY=$(awk -F' *= *' '$1 == "aws_secret_access_key" {print $2; exit}' "$credentials")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=$endpoint
aws() { /usr/bin/aws --endpoint-url "$endpoint" "$@"; }

step "push the image: aws ecr create-repository; skopeo copy oci:... docker://$registry/neuron-training:v1"
aws ecr create-repository --repository-name neuron-training --query 'repository.repositoryUri' --output text
aws ecr get-login-password |
  skopeo login --authfile "$run/auth.json" --tls-verify=false --username AWS --password-stdin "$registry" >/dev/null
skopeo copy --quiet --dest-authfile "$run/auth.json" --dest-tls-verify=false \
  "oci:$data/images/neuron-training-oci:v1" "docker://$registry/neuron-training:v1"
aws ecr describe-images --repository-name neuron-training \
  --query 'imageDetails[0].{tags:imageTags,digest:imageDigest,sizeMiB:to_string(imageSizeInBytes)}' --output text

step "aws ecs create-cluster --cluster-name $cluster"
aws ecs create-cluster --cluster-name "$cluster" --query 'cluster.clusterArn' --output text

# A node: a fake trn1.32xlarge device tree (16 Neuron devices, 128 vCPU,
# 512 GiB) and `berth agent` in the node's namespace. nsenter --net switches
# the network namespace only (`ip netns exec` would also give the agent a
# mount namespace of its own with a fresh /sys, without /sys/fs/cgroup, and
# its overlay mounts would be out of the host's sight).
start_agent() {
  local i=$1 dir
  dir=$(node_dir "$i")
  mkdir -p "$dir/agent"
  if [[ -d $run/image-cache/node$i && ! -e $dir/agent/images ]]; then
    mv "$run/image-cache/node$i" "$dir/agent/images"
  fi
  [[ -d $dir/devices ]] ||
    /usr/bin/python3 tests/agent/fake_devices.py neuron "$dir/devices" 16 --cpus 128 --memory-mib 524288 >/dev/null
  nsenter --net="/run/netns/$(node_ns "$i")" -- "$berth" agent --server "$endpoint" \
    --cluster "$cluster" --credentials "$credentials" --data "$dir/agent" \
    --device-root "$dir/devices" --instance-type trn1.32xlarge --availability-zone us-east-1a \
    --address "$(node_ip "$i")" --listen "$(node_ip "$i"):0" --plain-http-registry "$registry" \
    --attribute "node=node$i" >>"$run/logs/agent-node$i.log" 2>&1 &
  echo $! >"$run/pids/agent-$i"
  disown $!  # its death is the point, not news
}
instance_of_node() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["containerInstanceArn"])' "$(node_dir "$1")/agent/instance.json" 2>/dev/null; }
wait_connected() {  # node numbers...
  local i arn state
  for i in "$@"; do
    for _ in $(seq 150); do
      # (kill -0: just after the start the process may not have exec'd berth yet)
      kill -0 "$(cat "$run/pids/agent-$i")" 2>/dev/null || { tail -20 "$run/logs/agent-node$i.log" >&2; die "the agent of node$i exited"; }
      arn=$(instance_of_node "$i") || arn=
      if [[ -n $arn ]]; then
        state=$(aws ecs describe-container-instances --cluster "$cluster" --container-instances "$arn" \
          --query 'containerInstances[0].[status,agentConnected]' --output text)
        [[ $state == "ACTIVE	True" ]] && break
      fi
      sleep 0.2
    done
    [[ ${state:-} == "ACTIVE	True" ]] || die "node$i did not join (log: $run/logs/agent-node$i.log)"
    aws ecs describe-container-instances --cluster "$cluster" --container-instances "$arn" --output text \
      --query 'containerInstances[0].[attributes[?name==`berth.address`]|[0].value, attributes[?name==`ecs.instance-type`]|[0].value, agentConnected, containerInstanceArn]' |
      awk -v n="node$i" '{printf "%s joined: address %s, %s, agentConnected %s, %s\n", n, $1, $2, $3, $4}'
  done
}
step "start node1 and node2: berth agent in each namespace"
start_agent 1
start_agent 2
wait_connected 1 2

step "the training code and the shared checkpoint folder ($workdir, the task definition's host volumes)"
rm -rf "$checkpoints"
mkdir -p "$workdir/code" "$checkpoints"
install -m 0644 "$here/train.py" "$workdir/code/train.py"
ls -l "$workdir"

step "aws ecs register-task-definition --cli-input-json file://$taskdef_file"
taskdef=$(aws ecs register-task-definition --cli-input-json "file://$taskdef_file" \
  --query 'taskDefinition.taskDefinitionArn' --output text)
echo "$taskdef"

step "aws ecs run-task --count 2 --tags key=berth:gang,value=$gang key=berth:gang-max-restarts,value=2"
aws ecs run-task --cluster "$cluster" --task-definition "$taskdef" --count 2 \
  --tags "key=berth:gang,value=$gang" "key=berth:gang-max-restarts,value=2" \
  --query 'tasks[].[tags[?key==`berth:gang-rank`]|[0].value, taskArn, containerInstanceArn]' --output text |
  sort | awk '{printf "rank %s: %s on %s\n", $1, $2, $3}'

print_nodes() {
  local i arn
  for i in "${nodes[@]}"; do
    arn=$(instance_of_node "$i") || continue
    aws ecs describe-container-instances --cluster "$cluster" --container-instances "$arn" --output text \
      --query 'containerInstances[0].[status, agentConnected, runningTasksCount]' |
      awk -v n="node$i" '{printf "  %s: %s, agentConnected %s, %s running tasks\n", n, $1, $2, $3}'
  done
}
gang_json() { "$berth" gang --json --cluster "$cluster" "$gang"; }
# Prints the gang's field FIELD(s) by a Python expression over `g`, the gang record.
gang_eval() {
  gang_json | /usr/bin/python3 -c 'import json,sys; g=json.load(sys.stdin)["gang"]; print(eval(sys.argv[1]))' "$1"
}
node_of_instance() {  # instance ARN -> node name
  local i
  for i in "${nodes[@]}"; do
    [[ $(instance_of_node "$i") == "$1" ]] && { echo "node$i"; return; }
  done
  echo "?"
}
# Follows each rank's log (berth logs -f) once it runs, until it stops.
follow_attempt() {
  local attempt=$1 rank task
  for _ in $(seq 600); do
    [[ $(gang_eval "sum(r.get(\"lastStatus\") == \"RUNNING\" for a in g[\"attempts\"] if a[\"attempt\"] == $attempt for r in a[\"ranks\"])") == 2 ]] && break
    [[ $(gang_eval "g[\"status\"]") =~ ^(SUCCEEDED|FAILED|STOPPED)$ ]] && return
    sleep 0.5
  done
  for rank in 0 1; do
    task=$(gang_eval "[r[\"taskArn\"] for a in g[\"attempts\"] if a[\"attempt\"] == $attempt for r in a[\"ranks\"] if r[\"rank\"] == $rank][0]")
    "$berth" logs -f --cluster "$cluster" "$task" 2>/dev/null &
    followers+=($!)
  done
}
print_attempts() {
  local i arn pairs=()
  for i in "${nodes[@]}"; do arn=$(instance_of_node "$i") && pairs+=("$arn=node$i"); done
  gang_json | /usr/bin/python3 "$here/report.py" "${pairs[@]}"
}

step "attempt 0: the ranks' logs (berth logs -f)"
follow_attempt 0
victim_instance=$(gang_eval "[r[\"containerInstanceArn\"] for r in g[\"attempts\"][0][\"ranks\"] if r[\"rank\"] == $kill_rank][0]")
victim=$(node_of_instance "$victim_instance")
victim=${victim#node}
for _ in $(seq 600); do
  [[ -e $checkpoints/epoch-$kill_after.pt ]] && break
  [[ $(gang_eval "g[\"status\"]") == RUNNING ]] || { print_attempts; die "the gang ended before epoch $kill_after"; }
  sleep 0.2
done
[[ -e $checkpoints/epoch-$kill_after.pt ]] || die "no checkpoint of epoch $kill_after after 2 minutes"
sleep 0.5  # into the next epoch
# The node dies: off the network first (nothing it sends reaches anyone any
# more, as when it loses power), then every process of it.
ip -n "$(node_ns "$victim")" link set eth0 down
kill_pidfile "$run/pids/agent-$victim" "$berth agent" KILL
kill_node_containers "$victim"
died_at=$SECONDS
done_epochs=$(printf '%s\n' "$checkpoints"/epoch-*.pt | sed 's/.*epoch-//; s/\.pt$//' | sort -n | tail -1)
step "node$victim (rank $kill_rank) died during epoch $((done_epochs + 1)): its link went down, its agent, conmon and container were SIGKILLed"

step "berth notices: the agent is silent, the node is lost after 5 s, the gang's other rank is stopped"
for _ in $(seq 300); do
  [[ $(gang_eval "g[\"attempts\"][0].get(\"reason\", \"\") != \"\" and all(r.get(\"lastStatus\") == \"STOPPED\" for r in g[\"attempts\"][0][\"ranks\"])") == True ]] && break
  sleep 0.2
done
for f in "${followers[@]}"; do kill "$f" 2>/dev/null || true; done
followers=()
echo "(after $((SECONDS - died_at)) s)"
print_attempts
sleep 3  # past the 2 s backoff: attempt 1 waits for a second node
echo
echo "with one node left the gang does not fit; it waits:"
print_attempts
print_nodes

if [[ $replacement == reboot ]]; then
  step "node$victim comes back: link up, a fresh berth agent on its data folder"
  ip -n "$(node_ns "$victim")" link set eth0 up
  start_agent "$victim"
  wait_connected "$victim"
else
  step "a new node joins instead: node3"
  make_node_network 3
  start_agent 3
  wait_connected 3
fi

step "attempt 1: berth places the gang again; the ranks resume from the checkpoint"
follow_attempt 1
for _ in $(seq 900); do
  [[ $(gang_eval "g[\"status\"]") =~ ^(SUCCEEDED|FAILED|STOPPED)$ ]] && break
  sleep 0.2
done
for f in "${followers[@]}"; do wait "$f" 2>/dev/null || true; done
followers=()

step "berth gang $gang --cluster $cluster"
"$berth" gang --cluster "$cluster" "$gang"
step "each attempt and where its ranks ran"
print_attempts
status=$(gang_eval 'g["status"]')

step "the loss by epoch (the history in the last checkpoint, as rank 0 printed it)"
task0=$(gang_eval '[r["taskArn"] for r in g["attempts"][-1]["ranks"] if r["rank"] == 0][0]')
rank0_log=$("$berth" logs --cluster "$cluster" "$task0")
grep -E 'resumed from' <<<"$rank0_log" || true
resumed=$(sed -n 's/.*resumed from epoch \([0-9]*\).*/\1/p' <<<"$rank0_log")
grep -E 'training done' <<<"$rank0_log" | sed 's/.*loss by epoch //' | tr ' ' '\n' |
  awk -v k="${resumed:-0}" '{printf "  epoch %d  loss %s%s\n", NR, $1, (NR <= k ? "  (attempt 0)" : "  (attempt 1, after the restart)")}'
echo "checkpoints: $(cd "$checkpoints" && printf '%s\n' epoch-*.pt | sort -V | tr '\n' ' ')"
step "gang $gang: $status"
[[ $status == SUCCEEDED ]]
