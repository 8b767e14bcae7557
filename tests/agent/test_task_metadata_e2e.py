"""What a container gets from the agent, as on ECS: the task metadata
endpoint (ECS_CONTAINER_METADATA_URI_V4 and the v3 URI) and its task role's
credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI with
AWS_CONTAINER_AUTHORIZATION_TOKEN), read by busybox's wget and by Debian's
boto3 inside containers; one task cannot read another's. The roles come
from the server's --roles-file."""

import datetime
import json
import signal
import time

import botocore.exceptions
import pytest

import busybox_image
import python_image
from berth_agent import container, logs, require_container_host, wait_task
from berth_compat import unique
from berth_nodes import started_node

TRAINER = "arn:aws:iam::123456789012:role/trainer"  # berth's own [default] key
STORE = "arn:aws:iam::123456789012:role/checkpoints"  # a key pair of another service
UNKNOWN = "arn:aws:iam::123456789012:role/nobody"


@pytest.fixture(scope="module")
def role_node(tmp_path_factory, isolated_aws_env):
    """A node whose server has a roles file, and the boto3 image in its
    registry (pyboto:test)."""
    require_container_host()
    base = tmp_path_factory.mktemp("roles")
    roles = base / "roles"
    roles.write_text(f"[{TRAINER}]\nberth_profile = default\n\n"
                     f"[{STORE}]\naws_access_key_id = CHECKPOINTSKEY\n"
                     f"aws_secret_access_key = checkpoints-secret\n")
    with started_node(base, ["--agent-heartbeat-timeout", "4", "--roles-file", str(roles)]) as node:
        node.registry.push_image("pyboto", python_image.build(), "test")
        node.python_image = f"127.0.0.1:{node.server.port}/pyboto:test"
        yield node


def run(node, command, network_mode="awsvpc", image=None, environment=(), **extra):
    family = unique("meta")
    td = node.ecs.register_task_definition(
        family=family, networkMode=network_mode,
        containerDefinitions=[{"name": "main", "image": image or node.image, "memory": 128,
                               "command": ["sh", "-c", command],
                               "environment": [{"name": k, "value": v}
                                               for k, v in dict(environment).items()],
                               "dockerLabels": {"purpose": "metadata-test"}}],
        **extra)["taskDefinition"]
    out = node.ecs.run_task(cluster=node.cluster, taskDefinition=td["taskDefinitionArn"])
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]


def lines_of(node, arn, prefix, count=1, timeout=30):
    """The log lines that start with prefix + " " (without it), once there are count."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line[len(prefix) + 1:] for line in logs(node, arn).splitlines()
                 if line.startswith(prefix + " ")]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, (prefix, logs(node, arn))
            return found
        time.sleep(0.2)


def stop(node, *arns):
    for arn in arns:
        node.ecs.stop_task(cluster=node.cluster, task=arn, reason="test done")
    for arn in arns:
        wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=60)


READ_METADATA = (
    "sleep 1; "
    "echo \"TASK $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task)\"; "
    "echo \"SELF $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4)\"; "
    "echo \"STATS $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/stats)\"; "
    "echo \"TASKSTATS $(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task/stats)\"; "
    "echo \"V3 $(wget -qO- $ECS_CONTAINER_METADATA_URI/task)\"; "
    "echo \"ENV $(env | grep -E '^(ECS_|AWS_)' | sort | tr '\\n' ' ')\"")


@pytest.mark.parametrize("network_mode", ["awsvpc", "host"])
def test_a_container_reads_its_task_metadata(role_node, network_mode):
    node = role_node
    arn = run(node, READ_METADATA, network_mode, cpu="512", memory="256",
              tags=[{"key": "team", "value": "nlp"}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert container(task)["exitCode"] == 0, (task, logs(node, arn))
    meta = json.loads(lines_of(node, arn, "TASK")[0])
    assert meta["TaskARN"] == arn
    assert meta["Cluster"] == task["clusterArn"]
    assert meta["Family"] + ":" + meta["Revision"] == task["taskDefinitionArn"].split("/")[-1]
    assert meta["DesiredStatus"] == "RUNNING" and meta["KnownStatus"] == "RUNNING"
    assert meta["Limits"] == {"CPU": 0.5, "Memory": 256}
    assert meta["AvailabilityZone"] == "us-east-1a"
    assert meta["LaunchType"] == "EC2"
    # RFC 3339 with the fraction's trailing zeros cut (as Go writes it), so
    # compared as times: "…36.9Z" is before "…36.902Z".
    pull = [datetime.datetime.fromisoformat(meta[k]) for k in ("PullStartedAt", "PullStoppedAt")]
    assert pull[0] <= pull[1], meta
    [main] = meta["Containers"]
    assert main["Name"] == "main"
    assert main["DockerId"] == container(task)["runtimeId"]
    assert main["Image"] == node.image
    assert main["ImageID"].startswith("sha256:")
    assert main["Labels"] == {"purpose": "metadata-test"}
    assert main["KnownStatus"] == "RUNNING" and main["DesiredStatus"] == "RUNNING"
    assert main["Limits"]["Memory"] == 128
    assert "StartedAt" in main and "CreatedAt" in main
    assert main["Networks"][0]["NetworkMode"] == network_mode
    assert main["ContainerARN"] == container(task)["containerArn"]

    assert json.loads(lines_of(node, arn, "SELF")[0]) == main
    stats = json.loads(lines_of(node, arn, "STATS")[0])
    assert stats["id"] == main["DockerId"] and stats["name"] == "/main"
    assert stats["memory_stats"]["usage"] > 0
    assert stats["memory_stats"]["limit"] == 128 * 1024 * 1024
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert stats["pids_stats"]["current"] >= 1
    task_stats = json.loads(lines_of(node, arn, "TASKSTATS")[0])
    assert list(task_stats) == [main["DockerId"]]
    assert json.loads(lines_of(node, arn, "V3")[0])["TaskARN"] == arn

    env = dict(v.split("=", 1) for v in lines_of(node, arn, "ENV")[0].split())
    assert env["ECS_CONTAINER_METADATA_URI_V4"].startswith("http://127.0.0.1:")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    # No role: no credentials endpoint.
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in env
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in env


def test_the_metadata_shows_devices_and_the_gang_rank(role_node):
    node = role_node
    family = unique("meta")
    td = node.ecs.register_task_definition(
        family=family, networkMode="host",
        containerDefinitions=[{"name": "main", "image": node.image, "memory": 64,
                               "command": ["sh", "-c", READ_METADATA],
                               "resourceRequirements": [{"type": "NeuronDevice", "value": "2"}]}],
    )["taskDefinition"]
    out = node.ecs.run_task(cluster=node.cluster, taskDefinition=td["taskDefinitionArn"],
                            tags=[{"key": "berth:gang", "value": unique("g")}])
    assert not out["failures"], out
    arn = out["tasks"][0]["taskArn"]
    wait_task(node.ecs, node.cluster, arn, "STOPPED")
    raw = node.server.raw().call("DescribeTasks", {"cluster": node.cluster, "tasks": [arn]})
    devices = container(raw.json["tasks"][0])["neuronDeviceIds"]
    meta = json.loads(lines_of(node, arn, "TASK")[0])
    assert meta["Containers"][0]["Berth"]["NeuronDeviceIds"] == devices
    assert meta["Berth"]["Gang"]["Rank"] == 0 and meta["Berth"]["Gang"]["Size"] == 1


def test_a_container_cannot_read_another_tasks_metadata_or_credentials(role_node):
    node = role_node
    owner = run(node, "echo \"URI $ECS_CONTAINER_METADATA_URI_V4\"; "
                      "echo \"CREDS $AWS_CONTAINER_CREDENTIALS_FULL_URI\"; "
                      "echo \"TOKEN $AWS_CONTAINER_AUTHORIZATION_TOKEN\"; sleep 300",
                taskRoleArn=TRAINER)
    leaked = {"LEAKED_URI": lines_of(node, owner, "URI")[0],
              "LEAKED_CREDS": lines_of(node, owner, "CREDS")[0],
              "LEAKED_TOKEN": lines_of(node, owner, "TOKEN")[0]}
    # The owner itself reads both.
    check = ("own=$(wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task 2>&1 >/dev/null; echo $?); "
             "echo \"OWN $own\"; "
             "out=$(wget -qO- $LEAKED_URI/task 2>&1); echo \"METADATA $? $out\"; "
             "out=$(wget -qO- --header \"Authorization: $LEAKED_TOKEN\" $LEAKED_CREDS 2>&1); "
             "echo \"CREDENTIALS $? $out\"; "
             "guess=${ECS_CONTAINER_METADATA_URI_V4%/*}/0123456789abcdef0123456789abcdef; "
             "out=$(wget -qO- $guess/task 2>&1); echo \"GUESS $? $out\"; "
             "out=$(wget -qO- --header 'Authorization: guessed' $LEAKED_CREDS 2>&1); "
             "echo \"TOKENLESS $? $out\"")
    # Another task with a namespace of its own: even the leaked URIs and
    # token reach only its own listener, which answers for it alone.
    other = run(node, check, environment=leaked)
    wait_task(node.ecs, node.cluster, other, "STOPPED")
    assert lines_of(node, other, "OWN")[0] == "0"
    assert lines_of(node, other, "METADATA")[0].startswith("1 ") and \
        "404" in lines_of(node, other, "METADATA")[0]
    assert lines_of(node, other, "CREDENTIALS")[0].startswith("1 ") and \
        "400" in lines_of(node, other, "CREDENTIALS")[0]
    assert "404" in lines_of(node, other, "GUESS")[0]
    # On the host's network (the agent's shared loopback listener): a
    # guessed id, or another task's credentials without its token, is refused.
    host = run(node, check, "host", environment=leaked)
    wait_task(node.ecs, node.cluster, host, "STOPPED")
    assert lines_of(node, host, "OWN")[0] == "0"
    assert "404" in lines_of(node, host, "GUESS")[0]
    assert "401" in lines_of(node, host, "TOKENLESS")[0]
    stop(node, owner)


BOTO3_SCRIPT = r"""
import json, os, sys
import boto3, botocore.exceptions
out = {"aws_env": sorted(k for k in os.environ if k.startswith("AWS_"))}
session = boto3.Session()
try:
    credentials = session.get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        out["method"] = credentials.method
        out["key"] = frozen.access_key
    if os.environ.get("BERTH_ENDPOINT"):
        meta = json.load(__import__("urllib.request").request.urlopen(
            os.environ["ECS_CONTAINER_METADATA_URI_V4"] + "/task"))
        ecs = session.client("ecs", endpoint_url=os.environ["BERTH_ENDPOINT"])
        task = ecs.describe_tasks(cluster=meta["Cluster"], tasks=[meta["TaskARN"]])["tasks"][0]
        out["lastStatus"] = task["lastStatus"]
except botocore.exceptions.NoCredentialsError as e:
    out["error"] = type(e).__name__
print("RESULT " + json.dumps(out), flush=True)
"""


def run_boto3(node, network_mode, **extra):
    environment = {"BERTH_ENDPOINT": node.server.endpoint} if network_mode == "host" else {}
    arn = run(node, "/usr/bin/python3 -c \"$SCRIPT\"", network_mode, image=node.python_image,
              environment={"SCRIPT": BOTO3_SCRIPT, **environment}, **extra)
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=120)
    assert container(task)["exitCode"] == 0, (task, logs(node, arn))
    return json.loads(lines_of(node, arn, "RESULT")[0])


def test_boto3_in_a_container_calls_berth_with_its_task_role(role_node):
    result = run_boto3(role_node, "host", taskRoleArn=TRAINER)
    # Nothing but the container credentials endpoint is configured.
    assert result["aws_env"] == ["AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_DEFAULT_REGION",
                                 "AWS_EXECUTION_ENV", "AWS_REGION"], result
    assert result["method"] == "container-role"
    assert result["key"].startswith("BERTHROLE")  # short-lived session credentials
    assert result["lastStatus"] == "RUNNING"


def test_a_task_without_a_role_gets_no_credentials(role_node):
    result = run_boto3(role_node, "host")
    assert result == {"aws_env": ["AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_REGION"],
                      "error": "NoCredentialsError"}, result


def test_a_container_with_its_own_network_gets_its_role_credentials(role_node):
    # The credentials endpoint inside the container's namespace; a key pair
    # role (another service's keys) is served as the roles file gives it.
    assert run_boto3(role_node, "awsvpc", taskRoleArn=TRAINER)["key"].startswith("BERTHROLE")
    result = run_boto3(role_node, "awsvpc", taskRoleArn=STORE)
    assert result["key"] == "CHECKPOINTSKEY" and result["method"] == "container-role"


def test_a_role_not_in_the_roles_file_is_refused_at_run_task(role_node):
    node = role_node
    td = node.ecs.register_task_definition(
        family=unique("meta"), taskRoleArn=UNKNOWN,
        containerDefinitions=[{"name": "main", "image": node.image, "memory": 64}],
    )["taskDefinition"]["taskDefinitionArn"]
    before = node.ecs.list_tasks(cluster=node.cluster)["taskArns"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        node.ecs.run_task(cluster=node.cluster, taskDefinition=td)
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert UNKNOWN in str(refused.value) and "roles file" in str(refused.value)
    assert node.ecs.list_tasks(cluster=node.cluster)["taskArns"] == before


def test_the_execution_role_signs_the_image_pull(role_node):
    node = role_node
    repo = unique("private")
    node.registry.push_image(repo, busybox_image.build(), "v1")
    image = f"127.0.0.1:{node.server.port}/{repo}:v1"
    # berth's own key behind the role: its registry token pulls the image.
    pulled = run(node, "true", image=image, executionRoleArn=TRAINER)
    task = wait_task(node.ecs, node.cluster, pulled, "STOPPED")
    assert container(task)["exitCode"] == 0, task
    # Another service's keys behind the role: berth's registry refuses them.
    repo = unique("private")
    node.registry.push_image(repo, busybox_image.build(), "v1")
    refused = run(node, "true", image=f"127.0.0.1:{node.server.port}/{repo}:v1",
                  executionRoleArn=STORE)
    task = wait_task(node.ecs, node.cluster, refused, "STOPPED")
    assert "CannotPullContainerError" in task["stoppedReason"], task


@pytest.mark.parametrize("network_mode", ["awsvpc", "host"])
def test_the_endpoint_comes_back_with_a_restarted_agent(role_node, network_mode):
    node = role_node
    arn = run(node, "while true; do if wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task "
                    ">/dev/null 2>&1; then echo READ ok; else echo READ fail; fi; "
                    "sleep 0.3; done", network_mode)
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    lines_of(node, arn, "READ")
    assert lines_of(node, arn, "READ")[-1] == "ok"
    node.agent.kill(signal.SIGKILL)
    # Logs come from the agent: count what the container wrote meanwhile
    # once it is back.
    time.sleep(2)
    node.agent.start()
    node.agent.wait_joined(node.ecs)
    deadline = time.monotonic() + 30
    while True:
        reads = lines_of(node, arn, "READ")
        failed = [i for i, r in enumerate(reads) if r == "fail"]
        if failed and "ok" in reads[failed[-1]:] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert failed, "the endpoint went with the agent"
    assert "ok" in reads[failed[-1]:], reads[-20:]
    stop(node, arn)
