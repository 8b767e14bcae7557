"""A gang end to end: one real server and two real agents on this host (each
its own data folder and fake trn1 device tree; one registers the address
the server is reached from, 127.0.0.1, the other `--address 127.0.0.2`).
The ranks of a gang of 2 print their rendezvous environment and meet over
it: rank 0 listens on MASTER_PORT, rank 1 connects to MASTER_ADDR."""

import json
import subprocess
import time

import pytest

import busybox_image
from berth_agent import (
    AgentProcess, agent_ecs_client, cleanup_agent_host, require_container_host, wait_task)
from berth_compat import BERTH_BIN, BerthServer, aws_cli_env, unique
from berth_registry import registry_for
from fake_devices import make_neuron_tree

ADDRESSES = ["127.0.0.1", "127.0.0.2"]  # the first agent's by default, the second's by flag


class TwoNodes:
    def __init__(self, server, agents, ecs, cluster, image):
        self.server = server
        self.agents = agents
        self.ecs = ecs
        self.cluster = cluster
        self.image = image


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory, isolated_aws_env):
    require_container_host()
    base = tmp_path_factory.mktemp("gang")
    server = BerthServer(base / "server", base, extra_args=["--create-repository-on-push"])
    agents = []
    try:
        server.start()
        ecs = agent_ecs_client(server)
        cluster = unique("gang")
        ecs.create_cluster(clusterName=cluster)
        registry_for(server).push_image("busybox", busybox_image.build(), "test")
        for i, extra in enumerate([[], ["--address", ADDRESSES[1]]]):
            devices = base / f"devices-{i}"
            make_neuron_tree(str(devices), 16)
            agent = AgentProcess(server, base / f"agent-{i}", base / f"logs-{i}", cluster,
                                 devices, extra_args=["--retention", "3600", *extra])
            (base / f"logs-{i}").mkdir()
            agents.append(agent)
            agent.start()
            agent.wait_joined(ecs)
        deadline = time.monotonic() + 30
        while True:
            arns = ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]
            found = ecs.describe_container_instances(
                cluster=cluster, containerInstances=arns)["containerInstances"] if arns else []
            if sum(i["status"] == "ACTIVE" and i["agentConnected"] for i in found) == 2:
                break
            assert time.monotonic() < deadline, f"two agents did not join: {found!r}"
            time.sleep(0.2)
        yield TwoNodes(server, agents, ecs, cluster, f"127.0.0.1:{server.port}/busybox:test")
    finally:
        for agent in agents:
            agent.kill()
        for agent in agents:
            cleanup_agent_host(agent.data_dir)
        server.stop()


def logs(nodes, task_arn):
    proc = subprocess.run(
        [BERTH_BIN, "logs", "--cluster", nodes.cluster, task_arn],
        env=aws_cli_env(nodes.server.access_key, nodes.server.secret_key,
                        {"AWS_ENDPOINT_URL": nodes.server.endpoint}),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_each_agent_registers_its_node_address(two_nodes):
    arns = two_nodes.ecs.list_container_instances(
        cluster=two_nodes.cluster)["containerInstanceArns"]
    found = two_nodes.ecs.describe_container_instances(
        cluster=two_nodes.cluster, containerInstances=arns)["containerInstances"]
    registered = sorted(a["value"] for i in found for a in i["attributes"]
                        if a["name"] == "berth.address")
    assert registered == ADDRESSES


# Prints berth's variables, then rank 0 listens on MASTER_PORT for what
# rank 1 sends to MASTER_ADDR (retried until rank 0 listens). Rank 0 hands
# the connection to `cat` (-e), which copies it to the log: a plain `nc -l`
# may quit at the end of its own input (/dev/null) before reading the peer.
RENDEZVOUS = r"""
env | grep -E '^(RANK|WORLD_SIZE|NODE_RANK|MASTER_ADDR|MASTER_PORT|BERTH_GANG[A-Z_]*|NEURON_RT_ROOT_COMM_ID)=' | sort
if [ "$RANK" = 0 ]; then
  busybox nc -l -p "$MASTER_PORT" -e sh -c 'cat >&2'
else
  tries=0
  until echo "hello from rank $RANK" | busybox nc "$MASTER_ADDR" "$MASTER_PORT"; do
    tries=$((tries + 1)); [ "$tries" -gt 150 ] && exit 9; sleep 0.2
  done
fi
"""


def test_ranks_meet_over_the_rendezvous_environment(two_nodes):
    ecs = two_nodes.ecs
    family = unique("gang-e2e")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "main", "image": two_nodes.image, "memory": 64, "essential": True,
         "command": ["sh", "-c", RENDEZVOUS]}])
    out = ecs.run_task(cluster=two_nodes.cluster, taskDefinition=family, count=2,
                       tags=[{"key": "berth:gang", "value": "meet"}])
    assert out["failures"] == [] and len(out["tasks"]) == 2
    rank_of = {t["taskArn"]: int(next(g["value"] for g in t["tags"]
                                      if g["key"] == "berth:gang-rank")) for t in out["tasks"]}
    instances = [t["containerInstanceArn"] for t in
                 sorted(out["tasks"], key=lambda t: rank_of[t["taskArn"]])]
    found = ecs.describe_container_instances(
        cluster=two_nodes.cluster, containerInstances=instances)["containerInstances"]
    address_of = {i["containerInstanceArn"]: next(
        a["value"] for a in i["attributes"] if a["name"] == "berth.address") for i in found}
    hosts = [address_of[arn] for arn in instances]
    assert sorted(hosts) == ADDRESSES  # distinct nodes

    printed = {}
    for arn, rank in rank_of.items():
        task = wait_task(ecs, two_nodes.cluster, arn, "STOPPED", timeout=90)
        text = logs(two_nodes, arn)
        assert task["containers"][0].get("exitCode") == 0, (task, text)
        printed[rank] = text
    for rank, text in printed.items():
        want = ["BERTH_GANG=meet", "BERTH_GANG_ATTEMPT=0", f"BERTH_GANG_HOSTS={','.join(hosts)}",
                f"BERTH_GANG_RANK={rank}", "BERTH_GANG_SIZE=2", f"MASTER_ADDR={hosts[0]}",
                "MASTER_PORT=29500", f"NEURON_RT_ROOT_COMM_ID={hosts[0]}:29501",
                f"NODE_RANK={rank}", f"RANK={rank}", "WORLD_SIZE=2"]
        assert text.splitlines()[:len(want)] == want, text
    assert "hello from rank 1" in printed[0], printed[0]

    # Rank 0 stopped: its instance holds the rendezvous ports no more.
    found = ecs.describe_container_instances(
        cluster=two_nodes.cluster, containerInstances=[instances[0]])["containerInstances"][0]
    ports = next(r for r in found["remainingResources"] if r["name"] == "PORTS")
    assert not {"29500", "29501"} & set(ports["stringSetValue"]), ports


def gang_record(nodes, name):
    proc = subprocess.run(
        [BERTH_BIN, "gang", "--json", "--cluster", nodes.cluster, name],
        env=aws_cli_env(nodes.server.access_key, nodes.server.secret_key,
                        {"AWS_ENDPOINT_URL": nodes.server.endpoint}),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["gang"]


def wait_gang(nodes, name, status, timeout=120):
    deadline = time.monotonic() + timeout
    gang = None
    while time.monotonic() < deadline:
        gang = gang_record(nodes, name)
        if gang["status"] == status:
            return gang
        time.sleep(0.3)
    pytest.fail(f"gang {name} not {status} within {timeout} s: {gang!r}", pytrace=False)


# Attempt 0: rank 1 fails after a moment while rank 0 would run on; attempt
# 1: both ranks finish.
FAIL_ONCE = r"""
echo "attempt $BERTH_GANG_ATTEMPT rank $RANK"
if [ "$BERTH_GANG_ATTEMPT" = 0 ]; then
  [ "$RANK" = 1 ] && { sleep 1; exit 3; }
  exec sleep 3600
fi
exit 0
"""


def test_a_failing_rank_stops_its_gang_which_restarts(two_nodes):
    ecs = two_nodes.ecs
    family = unique("gang-fail")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "main", "image": two_nodes.image, "memory": 64, "essential": True,
         "stopTimeout": 2, "command": ["sh", "-c", FAIL_ONCE]}])
    name = unique("restart")
    out = ecs.run_task(cluster=two_nodes.cluster, taskDefinition=family, count=2,
                       tags=[{"key": "berth:gang", "value": name},
                             {"key": "berth:gang-max-restarts", "value": "1"}])
    assert out["failures"] == [], out
    first = {int(next(g["value"] for g in t["tags"] if g["key"] == "berth:gang-rank")):
             t["taskArn"] for t in out["tasks"]}

    # Rank 1 exits 3: rank 0, which would have slept an hour, is stopped.
    survivor = wait_task(ecs, two_nodes.cluster, first[0], "STOPPED", timeout=90)
    assert survivor["stoppedReason"] == (
        f"berth gang {name} (attempt 0): rank 1 failed: Essential container in task exited")
    gang = wait_gang(two_nodes, name, "SUCCEEDED")
    assert [a["attempt"] for a in gang["attempts"]] == [0, 1]
    assert gang["attempts"][0]["reason"].startswith("rank 1 failed")
    failed = {r["rank"]: r for r in gang["attempts"][0]["ranks"]}
    assert failed[1]["exitCode"] == 3
    for rank in gang["attempts"][1]["ranks"]:
        assert rank["taskArn"] not in first.values()
        assert rank["exitCode"] == 0
        assert logs(two_nodes, rank["taskArn"]).startswith(f"attempt 1 rank {rank['rank']}")


def test_two_queued_gangs_that_each_need_the_cluster_run_one_after_the_other(two_nodes):
    ecs = two_nodes.ecs
    family = unique("gang-queue")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "main", "image": two_nodes.image, "memory": 64, "essential": True,
         "resourceRequirements": [{"type": "NeuronDevice", "value": "16"}],
         "command": ["sh", "-c", "sleep 2"]}])
    names = [unique("first"), unique("second")]
    runs = [ecs.run_task(cluster=two_nodes.cluster, taskDefinition=family, count=2,
                         tags=[{"key": "berth:gang", "value": n},
                               {"key": "berth:queue", "value": "train"}]) for n in names]
    assert [len(r["tasks"]) for r in runs] == [2, 2] and runs[1]["failures"] == []
    assert {t["lastStatus"] for t in runs[1]["tasks"]} == {"PROVISIONING"}
    assert gang_record(two_nodes, names[1])["queue"]["position"] == 1

    done = [wait_gang(two_nodes, n, "SUCCEEDED") for n in names]
    first_ended = max(r["stoppedAt"] for r in done[0]["attempts"][0]["ranks"])
    second_started = min(r["startedAt"] for r in done[1]["attempts"][0]["ranks"])
    assert second_started >= first_ended, (done[0], done[1])
    # The queued tasks ran under the ARNs RunTask returned.
    assert ({r["taskArn"] for r in done[1]["attempts"][0]["ranks"]} ==
            {t["taskArn"] for t in runs[1]["tasks"]})


def test_a_gang_that_does_not_fit_places_nothing_and_holds_nothing(two_nodes):
    ecs = two_nodes.ecs
    family = unique("gang-none")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "main", "image": two_nodes.image, "memory": 64, "essential": True,
         "resourceRequirements": [{"type": "NeuronDevice", "value": "16"}],
         "command": ["true"]}])
    before = ecs.list_tasks(cluster=two_nodes.cluster, desiredStatus="RUNNING")["taskArns"]
    # Three ranks on two nodes: refused whole, as ECS refuses, with reasons.
    out = ecs.run_task(cluster=two_nodes.cluster, taskDefinition=family, count=3,
                       tags=[{"key": "berth:gang", "value": unique("three")}])
    assert out["tasks"] == [] and len(out["failures"]) == 3, out
    assert ecs.list_tasks(cluster=two_nodes.cluster,
                          desiredStatus="RUNNING")["taskArns"] == before
    # Nothing was held: a gang of two, every device of both nodes, fits.
    name = unique("two")
    out = ecs.run_task(cluster=two_nodes.cluster, taskDefinition=family, count=2,
                       tags=[{"key": "berth:gang", "value": name}])
    assert out["failures"] == [] and len(out["tasks"]) == 2, out
    assert wait_gang(two_nodes, name, "SUCCEEDED")["attempts"][0]["ranks"][0]["exitCode"] == 0
