#!/usr/bin/env bash
# The training flow that AWS documents for ECS ("Deploy Neuron Container on
# Elastic Container Service for Training"), end to end against `berth dev`
# on this machine, with the real aws CLI and skopeo:
#
#   1. build the training image (Debian + python3-torch + train.py; cached)
#   2. push it to berth's registry (aws ecr create-repository, skopeo copy)
#   3. create the cluster; the node agent joins it as a trn1.32xlarge
#      (a fake Neuron device tree when the machine has no /dev/neuron0)
#   4. register taskdef.json, run it, follow its logs to the end, print the
#      exit code and where the checkpoints are
#
#   sudo bash examples/neuron-training/run.sh
#
# Environment: BERTH_DATA (default ./.berth), BERTH_BUILD_DIR (default
# build). The task definition names 127.0.0.1:8080, so berth dev listens there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
here=examples/neuron-training
step() { printf '\n==> %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: run as root: the node agent mounts overlays and starts containers with runc" >&2
  exit 1
fi
bash scripts/setup.sh
build=${BERTH_BUILD_DIR:-build}
step "build berth"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target berth

data=${BERTH_DATA:-$root/.berth}
mkdir -p "$data"
step "build the training image (mmdebstrap + python3-torch; cached after the first run)"
bash "$here/build-image.sh" "$data/images/neuron-training-oci"

devices=/
if [[ ! -e /dev/neuron0 ]]; then
  devices=$data/fake-neuron
  step "no Neuron hardware here: a fake trn1.32xlarge (16 Neuron devices, 128 vCPU, 512 GiB) in $devices"
  rm -rf "$devices"
  /usr/bin/python3 tests/agent/fake_devices.py neuron "$devices" 16 --cpus 128 --memory-mib 524288
fi

listen=127.0.0.1:8080
log=$data/berth-dev.log
env_file=$(mktemp /tmp/berth-env.XXXXXX)
"$build/berth" dev --listen "$listen" --data "$data" --agent-cluster trn1 \
  --agent-device-root "$devices" --agent-instance-type trn1.32xlarge \
  --agent-availability-zone us-east-1a >"$env_file" 2>"$log" &
berth_pid=$!
cleanup() {
  kill "$berth_pid" 2>/dev/null && wait "$berth_pid" 2>/dev/null || true
  rm -f "$env_file"
}
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q '^export AWS_ENDPOINT_URL' "$env_file" && break
  kill -0 "$berth_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1090
source <(grep '^export' "$env_file")
aws() { /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
step "berth dev is up at $AWS_ENDPOINT_URL (log: $log)"

step "aws ecr create-repository --repository-name neuron-training"
aws ecr describe-repositories --repository-names neuron-training >/dev/null 2>&1 ||
  aws ecr create-repository --repository-name neuron-training --query 'repository.repositoryUri' --output text

step "skopeo copy oci:... docker://$listen/neuron-training:v1"
aws ecr get-login-password | skopeo login --tls-verify=false --username AWS --password-stdin "$listen" >/dev/null
skopeo copy --dest-tls-verify=false "oci:$data/images/neuron-training-oci:v1" \
  "docker://$listen/neuron-training:v1"

step "aws ecs create-cluster --cluster-name trn1"
aws ecs create-cluster --cluster-name trn1 --query 'cluster.[clusterArn,status]' --output text

step "wait for the node agent to register the trn1.32xlarge instance"
for _ in $(seq 150); do
  n=$(aws ecs list-container-instances --cluster trn1 --query 'length(containerInstanceArns)' --output text)
  [[ $n -ge 1 ]] && break
  sleep 0.2
done
aws ecs describe-container-instances --cluster trn1 \
  --container-instances "$(aws ecs list-container-instances --cluster trn1 --query 'containerInstanceArns[0]' --output text)" \
  --query 'containerInstances[0].{arn:containerInstanceArn,agentConnected:agentConnected,cpu:registeredResources[?name==`CPU`]|[0].integerValue,memoryMiB:registeredResources[?name==`MEMORY`]|[0].integerValue}'

taskdef_file=$here/taskdef.json
# The definition asks for memlock unlimited and 65535 open files, as AWS's
# does. Root can grant that, unless it runs without CAP_SYS_RESOURCE (some
# containers and CI sandboxes): then the agent would refuse the task, so a
# copy with the limits lowered to this machine's is registered instead.
if ! prlimit --memlock=unlimited:unlimited --nofile=65535:65535 true 2>/dev/null; then
  taskdef_file=$data/taskdef.json
  /usr/bin/python3 - "$here/taskdef.json" "$taskdef_file" "$(ulimit -H -l)" "$(ulimit -H -n)" <<'PY'
import json, sys
src, dst, memlock_kib, nofile = sys.argv[1:]
host = {"memlock": -1 if memlock_kib == "unlimited" else int(memlock_kib) * 1024,
        "nofile": -1 if nofile == "unlimited" else int(nofile)}
td = json.load(open(src))
for c in td["containerDefinitions"]:
    for u in c.get("ulimits", []):
        limit = host.get(u["name"], -1)
        if limit >= 0:
            for k in ("softLimit", "hardLimit"):
                if u[k] < 0 or u[k] > limit:
                    u[k] = limit
json.dump(td, open(dst, "w"), indent=2)
PY
  step "root cannot raise resource limits here: ulimits lowered to this machine's (memlock $(ulimit -H -l) KiB, nofile $(ulimit -H -n)) in $taskdef_file"
fi

step "aws ecs register-task-definition --cli-input-json file://$taskdef_file"
taskdef=$(aws ecs register-task-definition --cli-input-json "file://$taskdef_file" \
  --query 'taskDefinition.taskDefinitionArn' --output text)
echo "$taskdef"

step "aws ecs run-task --cluster trn1 --task-definition neuron-training"
task=$(aws ecs run-task --cluster trn1 --task-definition "$taskdef" --query 'tasks[0].taskArn' --output text)
echo "$task"
aws ecs wait tasks-running --cluster trn1 --tasks "$task"
aws ecs describe-tasks --cluster trn1 --tasks "$task" \
  --query 'tasks[0].{lastStatus:lastStatus,pullStartedAt:pullStartedAt,pullStoppedAt:pullStoppedAt,startedAt:startedAt}'

step "berth logs -f $task"
"$build/berth" logs -f --cluster trn1 "$task"

aws ecs wait tasks-stopped --cluster trn1 --tasks "$task"
exit_code=$(aws ecs describe-tasks --cluster trn1 --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)
step "the task stopped: exit code $exit_code ($(aws ecs describe-tasks --cluster trn1 --tasks "$task" --query 'tasks[0].stoppedReason' --output text))"
checkpoints=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["volumes"][0]["host"]["sourcePath"])' "$here/taskdef.json")/checkpoints
step "checkpoints: $checkpoints"
ls -l "$checkpoints"
[[ $exit_code == 0 ]]
