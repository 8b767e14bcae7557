"""The operator's view of one node: `berth task run --wait` showing each
layer of the image pull, the pulls as the server relays them from the
agent, and the agent's own Prometheus metrics (pulls, starts, health
checks), parsed with prometheus_client's parser."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import busybox_image
from berth_agent import require_container_host, wait_task
from berth_compat import BERTH_BIN, aws_cli_env, free_port, unique
from berth_nodes import started_node
from test_agent_channel import signed_request


@pytest.fixture(scope="module")
def unpulled_node(tmp_path_factory, isolated_aws_env):
    """A node whose agent has pulled nothing yet, serving on a known port,
    and a two-layer image (busybox and 3 MiB of model weights)."""
    require_container_host()
    port = free_port()
    with started_node(tmp_path_factory.mktemp("operator"), ["--agent-heartbeat-timeout", "4"],
                      ["--retention", "3600", "--listen", f"127.0.0.1:{port}"]) as node:
        weights = [("data/weights.bin", "file", os.urandom(3 << 20), 0o644)]
        image = busybox_image.build(extra_layers=[weights])
        node.registry.push_image("busybox", image, "weights")
        node.agent_address = f"127.0.0.1:{port}"
        node.weights_image = f"127.0.0.1:{node.server.port}/busybox:weights"
        node.weights_layers = [layer["digest"] for layer in json.loads(image.manifest)["layers"]]
        yield node


def berth_cli(node, *args, timeout=120):
    return subprocess.run(
        [BERTH_BIN, *args],
        env=aws_cli_env(node.server.access_key, node.server.secret_key,
                        {"AWS_ENDPOINT_URL": node.server.endpoint}),
        capture_output=True, text=True, timeout=timeout)


def register(node, image, command, **container):
    family = unique("operator")
    node.ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "main", "image": image, "memory": 64, "essential": True, "command": command,
         **container}])
    return family


def test_task_run_wait_shows_each_layer_pulled_then_the_output(unpulled_node):
    family = register(unpulled_node, unpulled_node.weights_image,
                      ["sh", "-c", "sleep 3; wc -c < /data/weights.bin"])
    proc = berth_cli(unpulled_node, "task", "run", "--wait", "--cluster", unpulled_node.cluster, family)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    # Not a terminal: one line per layer as it completes, between PENDING and RUNNING.
    pulled = [line for line in lines if ": layer sha256:" in line]
    assert len(pulled) == 2, proc.stdout
    for digest in unpulled_node.weights_layers:
        assert any(f"main: layer {digest[:19]} pulled" in line for line in pulled), proc.stdout
    assert any("(3.0 MiB)" in line for line in pulled), proc.stdout
    assert lines.index(pulled[-1]) < lines.index("RUNNING"), proc.stdout
    assert str(3 << 20) in lines, proc.stdout
    assert lines[-1] == "STOPPED", proc.stdout


def test_the_server_relays_a_tasks_pulls_from_its_agent(unpulled_node):
    family = register(unpulled_node, unpulled_node.weights_image, ["sleep", "30"])
    arn = unpulled_node.ecs.run_task(cluster=unpulled_node.cluster,
                                  taskDefinition=family)["tasks"][0]["taskArn"]
    try:
        wait_task(unpulled_node.ecs, unpulled_node.cluster, arn, "RUNNING")
        query = urllib.parse.urlencode({"cluster": unpulled_node.cluster, "task": arn})
        reply = signed_request(unpulled_node.server, "GET", "/berth/v1/pulls", query=query)
        assert reply.status == 200, reply.body
        # The image is in the agent's cache since the test before: no layers pulled.
        (pull,) = json.loads(reply.body)["containers"]
        assert pull["name"] == "main" and pull["image"] == unpulled_node.weights_image
        assert pull["cached"] is True and pull["layers"] == [], pull

        # And `task run --wait` says so.
        proc = berth_cli(unpulled_node, "task", "run", "--wait", "--cluster", unpulled_node.cluster,
                         register(unpulled_node, unpulled_node.weights_image, ["sleep", "3"]))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (f"main: image {unpulled_node.weights_image} found in the node's cache"
                in proc.stdout.splitlines()), proc.stdout

        missing = signed_request(unpulled_node.server, "GET", "/berth/v1/pulls",
                                 query=urllib.parse.urlencode({"cluster": unpulled_node.cluster}))
        assert missing.status == 400
        assert json.loads(missing.body)["__type"] == "InvalidParameterException"
        unsigned = signed_request(unpulled_node.server, "GET", "/berth/v1/pulls", query=query,
                                  sign=False)
        assert unsigned.status in (400, 403), unsigned.body
    finally:
        unpulled_node.ecs.stop_task(cluster=unpulled_node.cluster, task=arn)
        wait_task(unpulled_node.ecs, unpulled_node.cluster, arn, "STOPPED")


def scrape(node, token):
    request = urllib.request.Request(f"http://{node.agent_address}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(reply.read().decode())
                for s in family.samples}


def test_the_agent_exports_its_own_metrics(unpulled_node):
    family = register(unpulled_node, unpulled_node.image, ["sleep", "30"],
                      healthCheck={"command": ["CMD-SHELL", "true"], "interval": 5,
                                   "timeout": 2, "retries": 1})
    arn = unpulled_node.ecs.run_task(cluster=unpulled_node.cluster,
                                  taskDefinition=family)["tasks"][0]["taskArn"]
    try:
        wait_task(unpulled_node.ecs, unpulled_node.cluster, arn, "RUNNING")
        with open(os.path.join(unpulled_node.agent.data_dir, "metrics-token")) as f:
            token = f.read().strip()
        passed = ("berth_agent_health_checks_total", (("result", "passed"),))
        deadline = time.monotonic() + 30
        samples = scrape(unpulled_node, token)
        while samples.get(passed, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
            samples = scrape(unpulled_node, token)
        assert samples.get(passed, 0) >= 1, "no passed health check counted"
        assert samples[("berth_agent_image_pulls_total", (("result", "pulled"),))] >= 1
        assert samples[("berth_agent_image_pull_bytes_total", ())] > 0
        assert samples[("berth_agent_layer_pull_seconds_count", ())] >= 1
        assert samples[("berth_agent_container_starts_total", (("result", "started"),))] >= 1

        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(unpulled_node, None)
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as wrong:
            scrape(unpulled_node, "not-the-token")
        assert wrong.value.code == 401
    finally:
        unpulled_node.ecs.stop_task(cluster=unpulled_node.cluster, task=arn)
        wait_task(unpulled_node.ecs, unpulled_node.cluster, arn, "STOPPED")
