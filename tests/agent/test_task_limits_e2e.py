"""Task-level cpu and memory end to end with the real agent: one cgroup per
task with the limits on it and the containers' cgroups below, so the limit
holds for the sum of the containers (as ECS on EC2), through an agent
restart, and removed when the task ends."""

import os
import signal
import time

import pytest

import busybox_image
from berth_agent import container, require_container_host, run_task, wait_task
from berth_nodes import started_node

UNIFIED = os.path.exists("/sys/fs/cgroup/cgroup.controllers")

# About 39 MiB held by the container's first process (tail, which keeps what
# it read until the end that the sleeping writer never gives), so that its
# death by the OOM killer ends the container.
HOLD_40MB = ("rm -f /tmp/fifo; mkfifo /tmp/fifo; "
             "(head -c 40000000 /dev/zero; sleep 600) > /tmp/fifo & exec tail /tmp/fifo")


@pytest.fixture(scope="module")
def lnode(tmp_path_factory, isolated_aws_env):
    """A node, and an image with mkfifo (HOLD_40MB) in its registry."""
    require_container_host()
    with started_node(tmp_path_factory.mktemp("limits"), ["--agent-heartbeat-timeout", "4"],
                      ["--retention", "3600"]) as node:
        node.registry.push_image("hog", busybox_image.build(extra_layers=[
            [("bin/mkfifo", "symlink", "busybox", 0o777)]]), "v1")
        node.hog = f"127.0.0.1:{node.server.port}/hog:v1"
        yield node


def hog(node, name):
    return {"name": name, "image": node.hog, "command": ["sh", "-c", HOLD_40MB],
            "stopTimeout": 2}


def cgroup(task_arn, controller, container_name=None):
    """The task's (or its container's) cgroup folder for controller."""
    parts = ["berth", task_arn.rsplit("/", 1)[1]] + ([container_name] if container_name else [])
    if UNIFIED:
        return os.path.join("/sys/fs/cgroup", *parts)
    return os.path.join("/sys/fs/cgroup", controller, *parts)


def read(path):
    with open(path) as f:
        return f.read().strip()


def memory_used(task_arn):
    return int(read(os.path.join(cgroup(task_arn, "memory"),
                                 "memory.current" if UNIFIED else "memory.usage_in_bytes")))


def test_containers_over_the_task_memory_together_are_oom_killed_as_a_task(lnode):
    # Each container alone fits in 64 MiB; the two together do not.
    arn = run_task(lnode, [hog(lnode, "a"), hog(lnode, "b")], memory="64")
    task = wait_task(lnode.ecs, lnode.cluster, arn, "STOPPED")
    assert task["stoppedReason"].startswith(
        "OutOfMemoryError: the task's containers together reached its memory limit of 64 MiB; "
        "container '"), task
    assert task["stopCode"] == "EssentialContainerExited"
    killed = [c for c in task["containers"]
              if c.get("reason") == "OutOfMemoryError: Container killed due to memory usage"]
    assert killed, task
    assert f"container '{killed[0]['name']}' was killed" in task["stoppedReason"]
    assert not os.path.exists(cgroup(arn, "memory")), "the task's cgroup goes with it"


def test_the_task_cgroup_holds_its_limits_and_containers_through_an_agent_restart(lnode):
    arn = run_task(lnode, [hog(lnode, "a")], memory="64", cpu="512")
    wait_task(lnode.ecs, lnode.cluster, arn, "RUNNING")
    if UNIFIED:
        assert read(os.path.join(cgroup(arn, "memory"), "memory.max")) == str(64 << 20)
        assert read(os.path.join(cgroup(arn, "cpu"), "cpu.max")) == "50000 100000"
    else:
        assert read(os.path.join(cgroup(arn, "memory"), "memory.limit_in_bytes")) == str(64 << 20)
        assert read(os.path.join(cgroup(arn, "cpu"), "cpu.cfs_quota_us")) == "50000"  # 0.5 CPU
    procs = os.path.join(cgroup(arn, "memory", "a"), "cgroup.procs")
    assert read(procs), "the container runs in a cgroup below its task's"
    # It holds its 40 MB under the task's 64 MiB without being killed.
    deadline = time.monotonic() + 30
    while memory_used(arn) < 35_000_000 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert memory_used(arn) >= 35_000_000

    lnode.agent.kill(signal.SIGKILL)
    lnode.agent.start()
    lnode.agent.wait_joined(lnode.ecs)
    task = lnode.ecs.describe_tasks(cluster=lnode.cluster, tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "RUNNING", task
    assert read(procs), "the container kept running in its cgroup"

    lnode.ecs.stop_task(cluster=lnode.cluster, task=arn)
    task = wait_task(lnode.ecs, lnode.cluster, arn, "STOPPED")
    assert "OutOfMemoryError" not in (container(task, "a").get("reason") or ""), task
    for controller in ("memory", "cpu", "pids"):
        assert not os.path.exists(cgroup(arn, controller)), controller
