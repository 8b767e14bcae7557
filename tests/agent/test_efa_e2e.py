"""EFA devices end to end: a real server and agent on a fake trn1.32xlarge
(16 Neuron devices and 8 EFA devices, /dev/infiniband/uverbs0..7 beside the
shared rdma_cm). A container sees exactly the uverbs devices the scheduler
gave its task, two tasks never share one, and stopped tasks give them back."""

import time

import pytest

from berth_agent import container, logs, require_container_host, wait_task
from berth_compat import unique
from berth_nodes import started_node
from fake_devices import make_efa_tree


@pytest.fixture(scope="module")
def efa_node(tmp_path_factory, isolated_aws_env):
    require_container_host()
    base = tmp_path_factory.mktemp("efa")
    # The node's device tree gets its Neuron devices when it starts; the EFA
    # devices are made first, in the same folder.
    make_efa_tree(str(base / "devices"), 8)
    with started_node(base, ["--agent-heartbeat-timeout", "4"]) as node:
        yield node


LIST = "ls /dev/infiniband | sort; echo BERTH_EFA_DEVICES=$BERTH_EFA_DEVICES; sleep 60"


def register(node, **container_extra):
    family = unique("efa")
    definition = {"name": "main", "image": node.image, "memory": 64, "essential": True,
                  "command": ["sh", "-c", LIST], "stopTimeout": 2}
    definition.update(container_extra)
    node.ecs.register_task_definition(family=family, containerDefinitions=[definition])
    return family


def efa_ids(node, arn):
    raw = node.server.raw().call("DescribeTasks", {"cluster": node.cluster, "tasks": [arn]})
    return sorted(int(i) for i in container(raw.json["tasks"][0])["efaDeviceIds"])


def visible(node, arn):
    """What the container listed under /dev/infiniband, and its BERTH_EFA_DEVICES."""
    deadline = time.monotonic() + 30
    while True:
        lines = logs(node, arn).splitlines()
        env = [line for line in lines if line.startswith("BERTH_EFA_DEVICES=")]
        if env or time.monotonic() > deadline:
            return [line for line in lines if not line.startswith("BERTH_")], env
        time.sleep(0.2)


def test_a_container_sees_exactly_its_efa_devices(efa_node):
    node = efa_node
    # uverbs2 mapped, 3 more by count: the lowest free, 0, 1 and 3.
    mapped = register(node, linuxParameters={"devices": [
                          {"hostPath": "/dev/infiniband/uverbs2"}]},
                      resourceRequirements=[{"type": "EFA", "value": "3"}])
    first = node.ecs.run_task(cluster=node.cluster, taskDefinition=mapped)["tasks"][0]["taskArn"]
    counted = register(node, resourceRequirements=[{"type": "EFA", "value": "4"}])
    second = node.ecs.run_task(cluster=node.cluster, taskDefinition=counted)["tasks"][0]["taskArn"]
    everything = register(node, resourceRequirements=[{"type": "EFA", "value": "ALL"}])
    refused = node.ecs.run_task(cluster=node.cluster, taskDefinition=everything)
    assert not refused["tasks"] and refused["failures"][0]["reason"] == "RESOURCE:EFA", refused

    assert efa_ids(node, first) == [0, 1, 2, 3]
    assert efa_ids(node, second) == [4, 5, 6, 7]
    for arn, ids in ((first, [0, 1, 2, 3]), (second, [4, 5, 6, 7])):
        wait_task(node.ecs, node.cluster, arn, "RUNNING")
        listed, env = visible(node, arn)
        assert listed == sorted(["rdma_cm"] + [f"uverbs{i}" for i in ids]), logs(node, arn)
        assert env == ["BERTH_EFA_DEVICES=" + ",".join(str(i) for i in ids)]

    for arn in (first, second):
        node.ecs.stop_task(cluster=node.cluster, task=arn, reason="test done")
    for arn in (first, second):
        wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=60)
    # Stopped tasks give their devices back: now every one is free.
    again = node.ecs.run_task(cluster=node.cluster, taskDefinition=everything)
    assert again["failures"] == [], again
    arn = again["tasks"][0]["taskArn"]
    assert efa_ids(node, arn) == list(range(8))
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    listed, _ = visible(node, arn)
    assert listed == sorted(["rdma_cm"] + [f"uverbs{i}" for i in range(8)])
    node.ecs.stop_task(cluster=node.cluster, task=arn, reason="test done")
    wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=60)
