"""Task volumes end to end with the real agent: Docker volumes of the local
driver (a folder, tmpfs, a bind from inside --volume-root, NFS), scope task
and shared, EFS through --efs-address; mounts made before the containers
start, counted across tasks and an agent restart, removed with the last
task; bad input refused at registration or, where only the node can tell,
stopping the task with a reason that names the volume."""

import contextlib
import json
import os
import signal

import pytest

from berth_agent import container, logs, require_container_host, run_task, wait_task
from berth_compat import VALIDATION_CODES, assert_refused, unique
from berth_nodes import started_node
from nfs_server import mounts_below, nfs_export, nfs_unsupported_reason, unmount_below

EFS_ID = "fs-0123456789abcdef0"


@contextlib.contextmanager
def node_with_volume_root(base, efs_address):
    """A node whose agent keeps shared volumes in base/volume-root (all of
    it unmounted afterwards) and knows one EFS address."""
    root = base / "volume-root"
    root.mkdir()
    try:
        with started_node(base, ["--agent-heartbeat-timeout", "4"],
                          ["--retention", "3600", "--volume-root", root,
                           "--efs-address", efs_address]) as node:
            node.volume_root = root
            yield node
    finally:
        unmount_below(root)


@pytest.fixture(scope="module")
def vnode(tmp_path_factory, isolated_aws_env):
    """A node that maps EFS_ID to an NFS address where nothing serves."""
    require_container_host()
    with node_with_volume_root(tmp_path_factory.mktemp("volumes"),
                               f"{EFS_ID}=127.0.0.1:/exports") as node:
        yield node


def shared(name, autoprovision=True, **opts):
    config = {"scope": "shared", "autoprovision": autoprovision, "driver": "local"}
    if opts:
        config["driverOpts"] = opts
    return {"name": name, "dockerVolumeConfiguration": config}


def mounting(volume, path="/v"):
    return {"mountPoints": [{"sourceVolume": volume, "containerPath": path}]}


def agent_mounts(node):
    """What the agent has mounted for volumes: below its data folder (not
    the containers' root file systems) and in its volume root."""
    data = os.path.join(node.agent.data_dir, "mounts")
    return mounts_below(data) + mounts_below(node.volume_root)


def mount_users(node):
    """DATA/mounts.json: target -> the tasks counted as using it."""
    with open(os.path.join(node.agent.data_dir, "mounts.json")) as f:
        return {t: m["users"] for t, m in json.load(f)["mounts"].items()}


def run_to_stop(node, containers, **extra):
    arn = run_task(node, containers, **extra)
    return wait_task(node.ecs, node.cluster, arn, "STOPPED"), arn


def test_a_shared_volume_written_by_one_task_is_read_by_the_next(vnode):
    name = unique("ckpt")
    task, arn = run_to_stop(vnode, [{"memory": 64, "command": ["sh", "-c",
                                     "echo step-100 > /ckpt/latest"], **mounting(name, "/ckpt")}],
                            volumes=[shared(name)])
    assert container(task)["exitCode"] == 0, task
    # Another definition that only names the volume: it exists on the node.
    task, arn = run_to_stop(vnode, [{"memory": 64, "command": ["cat", "/ckpt/latest"],
                                     **mounting(name, "/ckpt")}],
                            volumes=[shared(name, autoprovision=False)])
    assert container(task)["exitCode"] == 0, task
    assert logs(vnode, arn) == "step-100\n"
    assert (vnode.volume_root / name / "_data" / "latest").read_text() == "step-100\n"


def test_a_shared_tmpfs_is_one_mount_counted_across_tasks_and_an_agent_restart(vnode):
    name = unique("scratch")
    volume = [shared(name, type="tmpfs", device="tmpfs", o="size=16m")]
    data = str(vnode.volume_root / name / "_data")
    first = run_task(vnode, [{"memory": 64, "command": ["sh", "-c",
                              "echo from-first > /s/note; sleep 600"], "stopTimeout": 2,
                              **mounting(name, "/s")}], volumes=volume)
    wait_task(vnode.ecs, vnode.cluster, first, "RUNNING")
    assert (data, "tmpfs") in agent_mounts(vnode)

    # The agent goes away and comes back: the first task still counts.
    vnode.agent.kill(signal.SIGKILL)
    vnode.agent.start()
    vnode.agent.wait_joined(vnode.ecs)
    second = run_task(vnode, [{"memory": 64, "command": ["sh", "-c", "cat /s/note; sleep 600"],
                               "stopTimeout": 2, **mounting(name, "/s")}], volumes=volume)
    wait_task(vnode.ecs, vnode.cluster, second, "RUNNING")
    assert agent_mounts(vnode).count((data, "tmpfs")) == 1, agent_mounts(vnode)
    assert sorted(mount_users(vnode)[data]) == sorted(a.rsplit("/", 1)[1]
                                                      for a in (first, second))

    vnode.ecs.stop_task(cluster=vnode.cluster, task=first)
    wait_task(vnode.ecs, vnode.cluster, first, "STOPPED")
    assert (data, "tmpfs") in agent_mounts(vnode), "the second task still uses it"
    vnode.ecs.stop_task(cluster=vnode.cluster, task=second)
    wait_task(vnode.ecs, vnode.cluster, second, "STOPPED")
    assert "from-first" in logs(vnode, second)
    assert (data, "tmpfs") not in agent_mounts(vnode)
    assert data not in mount_users(vnode)


def test_a_task_scoped_tmpfs_is_made_before_the_containers_and_gone_with_the_task(vnode):
    volume = {"name": "scratch", "dockerVolumeConfiguration": {
        "scope": "task", "driverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}}}
    arn = run_task(vnode, [{"memory": 64, "command": ["sh", "-c",
                            "grep ' /scratch ' /proc/mounts; sleep 600"],
                            "stopTimeout": 2, **mounting("scratch", "/scratch")}],
                   volumes=[volume])
    wait_task(vnode.ecs, vnode.cluster, arn, "RUNNING")
    target = os.path.join(vnode.agent.data_dir, "mounts", f"task-{arn.rsplit('/', 1)[1]}-scratch")
    assert (target, "tmpfs") in agent_mounts(vnode)
    vnode.ecs.stop_task(cluster=vnode.cluster, task=arn)
    wait_task(vnode.ecs, vnode.cluster, arn, "STOPPED")
    out = logs(vnode, arn)
    assert out.startswith("tmpfs /scratch tmpfs ") and "size=8192k" in out, out
    assert (target, "tmpfs") not in agent_mounts(vnode)
    assert not os.path.exists(target)


def test_a_bind_from_inside_the_volume_root_and_read_only(vnode):
    before = agent_mounts(vnode)
    datasets = vnode.volume_root / unique("datasets")
    datasets.mkdir()
    (datasets / "train.txt").write_text("tokens\n")
    volume = {"name": "ds", "dockerVolumeConfiguration": {"driverOpts": {
        "type": "none", "o": "bind,ro", "device": str(datasets)}}}
    task, arn = run_to_stop(vnode, [{"memory": 64, "command": ["sh", "-c",
                                     "cat /ds/train.txt; touch /ds/x 2>/dev/null || echo ro"],
                                     **mounting("ds", "/ds")}], volumes=[volume])
    assert container(task)["exitCode"] == 0, task
    assert logs(vnode, arn) == "tokens\nro\n"
    assert not (datasets / "x").exists()
    assert agent_mounts(vnode) == before, "the bind went with the task"


@pytest.mark.parametrize("device", ["/etc", "link-out"])
def test_a_bind_from_outside_the_volume_root_is_refused_and_nothing_mounted(vnode, device):
    if device == "link-out":
        link = vnode.volume_root / unique("link")
        link.symlink_to("/etc")
        device = str(link)
    before = agent_mounts(vnode)
    volume = {"name": "host", "dockerVolumeConfiguration": {"driverOpts": {
        "type": "none", "o": "bind", "device": device}}}
    task, _ = run_to_stop(vnode, [{"memory": 64, **mounting("host", "/host")}], volumes=[volume])
    assert task["stoppedReason"].startswith("CannotCreateVolumeError: volume 'host': "), task
    assert "is outside the volume root" in task["stoppedReason"], task
    assert task["stopCode"] == "TaskFailedToStart"
    assert "runtimeId" not in container(task), "no container started"
    assert agent_mounts(vnode) == before


def test_a_mount_that_fails_stops_the_task_with_a_reason_naming_the_volume(vnode):
    before = agent_mounts(vnode)
    volumes = [{"name": "fine", "dockerVolumeConfiguration": {"driverOpts": {"type": "tmpfs"}}},
               {"name": "scratch", "dockerVolumeConfiguration": {
                   "driverOpts": {"type": "tmpfs", "o": "size=plenty"}}}]
    task, _ = run_to_stop(vnode, [{"memory": 64, **mounting("fine")}], volumes=volumes)
    assert task["stoppedReason"].startswith(
        "CannotCreateVolumeError: volume 'scratch': mount tmpfs on "), task
    assert task["stopCode"] == "TaskFailedToStart"
    assert agent_mounts(vnode) == before, "the volume mounted first is released"


def test_a_shared_volume_that_does_not_exist_needs_autoprovision(vnode):
    name = unique("absent")
    task, _ = run_to_stop(vnode, [{"memory": 64, **mounting(name)}],
                          volumes=[shared(name, autoprovision=False)])
    assert task["stoppedReason"].startswith(f"CannotCreateVolumeError: volume '{name}': "), task
    assert "autoprovision" in task["stoppedReason"]
    assert not (vnode.volume_root / name).exists()


def test_an_efs_file_system_without_an_address_names_the_flag(vnode):
    volume = {"name": "models", "efsVolumeConfiguration": {"fileSystemId": "fs-unknown"}}
    task, _ = run_to_stop(vnode, [{"memory": 64, **mounting("models")}], volumes=[volume])
    assert task["stoppedReason"] == (
        "CannotCreateVolumeError: volume 'models': EFS file system 'fs-unknown' has no address "
        "on this node (berth agent --efs-address fs-unknown=HOST:/PATH)"), task


def test_an_efs_mount_this_kernel_cannot_make_stops_the_task(vnode):
    if nfs_unsupported_reason() is None:
        pytest.skip("this kernel mounts NFS: test_nfs_volumes_from_an_export_in_a_namespace "
                    "mounts EFS for real")
    before = agent_mounts(vnode)
    volume = {"name": "models", "efsVolumeConfiguration": {"fileSystemId": EFS_ID,
                                                           "rootDirectory": "/bert"}}
    task, _ = run_to_stop(vnode, [{"memory": 64, **mounting("models")}], volumes=[volume])
    assert task["stoppedReason"].startswith(
        "CannotCreateVolumeError: volume 'models': mount nfs4 on "), task
    assert agent_mounts(vnode) == before


@pytest.mark.parametrize("volume, field, words", [
    ({"dockerVolumeConfiguration": {"driver": "rexray/ebs"}},
     "volumes[0].dockerVolumeConfiguration.driver", "'rexray/ebs'"),
    ({"dockerVolumeConfiguration": {"driverOpts": {"type": "ext4", "device": "/dev/sdb"}}},
     "volumes[0].dockerVolumeConfiguration.driverOpts", "'ext4' is not supported"),
    ({"dockerVolumeConfiguration": {"driverOpts": {"type": "none", "o": "rbind,rshared",
                                                   "device": "/"}}},
     "volumes[0].dockerVolumeConfiguration.driverOpts", "'rshared' is not allowed"),
    ({"dockerVolumeConfiguration": {"scope": "task", "autoprovision": True}},
     "volumes[0].dockerVolumeConfiguration.autoprovision", "only to scope shared"),
    ({"efsVolumeConfiguration": {"fileSystemId": EFS_ID, "transitEncryption": "ENABLED"}},
     "volumes[0].efsVolumeConfiguration.transitEncryption", "cannot be honoured"),
    ({"host": {"sourcePath": "/data"}, "efsVolumeConfiguration": {"fileSystemId": EFS_ID}},
     "volumes[0]", "has both host and efsVolumeConfiguration"),
])
def test_bad_volumes_are_refused_at_registration(vnode, volume, field, words):
    family = unique("badvol")
    error = assert_refused(vnode.ecs.register_task_definition, VALIDATION_CODES, family=family,
                           containerDefinitions=[{"name": "main", "image": vnode.image,
                                                  "memory": 64, **mounting("v")}],
                           volumes=[{"name": "v", **volume}])
    message = error.response["Error"]["Message"]
    assert message.startswith(field + ": ") and words in message, message
    assert not vnode.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]


@pytest.fixture(scope="module")
def nfs_node(tmp_path_factory, isolated_aws_env):
    """A node beside an NFS 4 export served from a network namespace, which
    its agent knows as EFS file system fs-nfs."""
    require_container_host()
    base = tmp_path_factory.mktemp("nfs")
    with nfs_export(base) as (server, export):
        with node_with_volume_root(base, f"fs-nfs={server}:/") as node:
            node.nfs_server, node.export = server, export
            yield node


def test_nfs_volumes_from_an_export_in_a_namespace(nfs_node):
    node = nfs_node
    name = unique("nfs")
    volume = shared(name, type="nfs", device=":/", o=f"addr={node.nfs_server},vers=4.1")
    task, _ = run_to_stop(node, [{"memory": 64, "command": ["sh", "-c", "echo over-nfs > /n/f"],
                                  **mounting(name, "/n")}], volumes=[volume])
    assert container(task)["exitCode"] == 0, task
    with open(os.path.join(node.export, "f")) as f:
        assert f.read() == "over-nfs\n"
    assert not agent_mounts(node), "unmounted with its last task"

    os.makedirs(os.path.join(node.export, "runs", "7"))
    efs = {"name": "ckpt", "efsVolumeConfiguration": {"fileSystemId": "fs-nfs",
                                                      "rootDirectory": "/runs/7"}}
    task, arn = run_to_stop(node, [{"memory": 64, "command": ["sh", "-c",
                                    "echo epoch-3 > /ckpt/state; ls /ckpt"],
                                    **mounting("ckpt", "/ckpt")}], volumes=[efs])
    assert container(task)["exitCode"] == 0, task
    with open(os.path.join(node.export, "runs", "7", "state")) as f:
        assert f.read() == "epoch-3\n"
    assert not agent_mounts(node)
