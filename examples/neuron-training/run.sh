#!/usr/bin/env bash
# The training flow that AWS documents for ECS, against `berth dev` on this
# machine: create the cluster and register the Neuron training task
# definition with the real aws CLI.
#
#   bash examples/neuron-training/run.sh
#
# Environment: BERTH_LISTEN (default 127.0.0.1:8080), BERTH_DATA (default
# ./.berth), BERTH_BUILD_DIR (default build).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

bash scripts/setup.sh
build=${BERTH_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target berth

listen=${BERTH_LISTEN:-127.0.0.1:8080}
data=${BERTH_DATA:-$root/.berth}
log=$(mktemp /tmp/berth-dev.XXXXXX.log)
env_file=$(mktemp /tmp/berth-env.XXXXXX)
"$build/berth" dev --listen "$listen" --data "$data" >"$env_file" 2>"$log" &
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
step() { printf '\n==> %s\n' "$*"; }

step "berth dev is up at $AWS_ENDPOINT_URL (log: $log)"
step "aws ecs create-cluster --cluster-name trn1"
aws ecs create-cluster --cluster-name trn1 --query 'cluster.[clusterArn,status]' --output text

step "aws ecs register-task-definition --cli-input-json file://examples/neuron-training/taskdef.json"
aws ecs register-task-definition --cli-input-json file://examples/neuron-training/taskdef.json \
  --query 'taskDefinition.[taskDefinitionArn,status]' --output text

step "aws ecs describe-task-definition --task-definition neuron-training"
aws ecs describe-task-definition --task-definition neuron-training \
  --query 'taskDefinition.{arn:taskDefinitionArn,devices:length(containerDefinitions[0].linuxParameters.devices),ulimits:containerDefinitions[0].ulimits,compatibilities:compatibilities}'

step "aws ecs list-task-definitions"
aws ecs list-task-definitions --output text

step "done: the cluster and the task definition are stored durably in $data"
