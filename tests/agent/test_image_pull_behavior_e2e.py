"""`berth agent --image-pull-behavior`: a tag pushed again with a new image
runs the new image on the next task (default), or keeps the cached one
(prefer-cached); the task's imageDigest says which ran."""

import pytest

import busybox_image
from berth_agent import container, logs, require_container_host, wait_task
from berth_compat import unique
from berth_nodes import started_agents


@pytest.fixture(scope="module")
def pull_nodes(tmp_path_factory, isolated_aws_env):
    """One server; two agents in its cluster, one per behaviour."""
    require_container_host()
    base = tmp_path_factory.mktemp("pull")
    dirs = []
    for behavior in ("default", "prefer-cached"):
        (base / behavior).mkdir()
        dirs.append((base / behavior / "data", base / behavior / "devices", base / behavior,
                     ["--retention", "3600", "--image-pull-behavior", behavior]))
    with started_agents(base, ["--agent-heartbeat-timeout", "4"], dirs) as nodes:
        yield nodes


def image_saying(word):
    """A busybox image whose command prints word from a file of its own."""
    return busybox_image.build(
        extra_layers=[[("etc", "dir", None, 0o755),
                       ("etc/release", "file", word.encode() + b"\n", 0o644)]],
        cmd=("/bin/sh", "-c", "cat /etc/release"))


def run_on(nodes, agent, image):
    """Runs image to its exit on agent's instance: (imageDigest, output)."""
    family = unique("pull")
    arn = nodes.ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": "main", "image": image, "memory": 64}],
    )["taskDefinition"]["taskDefinitionArn"]
    started = nodes.ecs.start_task(cluster=nodes.cluster, taskDefinition=arn,
                                   containerInstances=[agent.instance_arn])
    assert not started["failures"], started
    task_arn = started["tasks"][0]["taskArn"]
    task = wait_task(nodes.ecs, nodes.cluster, task_arn, "STOPPED")
    assert container(task)["exitCode"] == 0, task
    return container(task).get("imageDigest"), logs(nodes, task_arn).strip()


def test_a_re_pushed_tag_runs_the_new_image_and_prefer_cached_keeps_the_old(pull_nodes):
    nodes = pull_nodes
    default, cached = nodes.agents
    repo = unique("retag")
    image = f"127.0.0.1:{nodes.server.port}/{repo}:latest"
    first = nodes.registry.push_image(repo, image_saying("first"), "latest")
    assert run_on(nodes, default, image) == (first, "first")
    assert run_on(nodes, cached, image) == (first, "first")

    second = nodes.registry.push_image(repo, image_saying("second"), "latest")
    assert second != first
    # default asks the registry at every task start: the new image runs.
    assert run_on(nodes, default, image) == (second, "second")
    # prefer-cached runs what it has.
    assert run_on(nodes, cached, image) == (first, "first")
    # And default goes on with the new one once it has it.
    assert run_on(nodes, default, image) == (second, "second")
