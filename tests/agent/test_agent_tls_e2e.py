"""A node over TLS end to end: `berth server --tls-cert ... --agent-ca-file
CA` and `berth agent --server https://... --server-ca-file CA --tls-cert
...`, with a CA the test makes. The agent joins, pulls the image from the
server's https registry and runs a task; `berth logs` and `berth exec`
(a WebSocket over TLS from the CLI to the server, and from the server to
the agent) reach it; SIGHUP renews the agent's certificate; an agent that
does not trust the CA does not join."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from berth_agent import AgentProcess, cleanup_agent_host, container, require_container_host, wait_task
from berth_compat import BERTH_BIN, aws_cli_env, unique
from berth_nodes import started_node
from berth_tls import CertificateAuthority, peer_serial
from fake_devices import make_neuron_tree


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory, isolated_aws_env):
    require_container_host()
    base = tmp_path_factory.mktemp("tls-node")
    ca = CertificateAuthority(base / "ca")
    server_cert, server_key = ca.server(5001)
    agent_cert, agent_key = ca.server(5002, prefix="agent")
    with started_node(base,
                      ["--tls-cert", server_cert, "--tls-key", server_key,
                       "--agent-ca-file", ca.cert, "--agent-heartbeat-timeout", "4"],
                      ["--retention", "3600", "--server-ca-file", ca.cert,
                       "--tls-cert", agent_cert, "--tls-key", agent_key],
                      ca_file=ca.cert) as node:
        node.ca = ca
        yield node


def berth(node, *args, timeout=60):
    """The berth CLI against the node's server, trusting its CA through
    AWS_CA_BUNDLE as the aws CLI would."""
    env = aws_cli_env(node.server.access_key, node.server.secret_key,
                      {"AWS_ENDPOINT_URL": node.server.endpoint,
                       "AWS_CA_BUNDLE": node.ca.cert})
    return subprocess.run([BERTH_BIN, *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def run(node, command):
    td = node.ecs.register_task_definition(
        family=unique("tls"),
        containerDefinitions=[{"name": "main", "image": node.image, "memory": 64,
                               "essential": True, "command": command}])
    out = node.ecs.run_task(cluster=node.cluster,
                            taskDefinition=td["taskDefinition"]["taskDefinitionArn"])
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]


def agent_port(node):
    """The port of the agent's own listener, from its "agent joined" line."""
    log = node.agent.log_text()
    return int(log.split("logs=https://127.0.0.1:", 1)[1].split()[0])


def test_the_agent_joins_over_tls_and_serves_tls(tls_node):
    assert tls_node.server.endpoint.startswith("https://")
    log = tls_node.agent.log_text()
    assert "agent joined" in log
    assert "logs=https://127.0.0.1:" in log, log
    assert peer_serial(agent_port(tls_node), tls_node.ca.cert) == 5002  # the agent's own
    assert "endpoint=https://127.0.0.1:" in tls_node.server.log_tail(20000)


def test_a_task_runs_and_its_logs_come_over_tls(tls_node):
    arn = run(tls_node, ["sh", "-c", "echo hello over tls"])
    task = wait_task(tls_node.ecs, tls_node.cluster, arn, "STOPPED")
    assert container(task)["exitCode"] == 0, task
    proc = berth(tls_node, "logs", "--cluster", tls_node.cluster, arn)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello over tls\n"


def test_exec_goes_over_tls_both_hops(tls_node):
    arn = run(tls_node, ["sleep", "300"])
    try:
        wait_task(tls_node.ecs, tls_node.cluster, arn, "RUNNING")
        proc = berth(tls_node, "exec", "--cluster", tls_node.cluster, arn, "--",
                     "sh", "-c", "echo exec over tls; exit 5")
        assert proc.stdout == "exec over tls\n", proc.stderr
        assert proc.returncode == 5, proc.stderr
    finally:
        tls_node.ecs.stop_task(cluster=tls_node.cluster, task=arn)
        wait_task(tls_node.ecs, tls_node.cluster, arn, "STOPPED")


def test_sighup_reloads_the_agents_certificate(tls_node):
    ca, agent = tls_node.ca, tls_node.agent
    cert_at = agent.extra_args[agent.extra_args.index("--tls-cert") + 1]
    key_at = agent.extra_args[agent.extra_args.index("--tls-key") + 1]
    new_cert, new_key = ca.server(5003, prefix="agent-renewed")
    shutil.copy(new_key, key_at)
    shutil.copy(new_cert, cert_at)
    agent.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while peer_serial(agent_port(tls_node), ca.cert) != 5003:
        assert time.monotonic() < deadline, agent.log_tail()
        time.sleep(0.1)
    assert agent.proc.poll() is None
    assert "SIGHUP: tls certificate reloaded for new connections" in agent.log_text()
    # The server verifies the renewed certificate as it did the first.
    arn = run(tls_node, ["sh", "-c", "echo after the renewal"])
    wait_task(tls_node.ecs, tls_node.cluster, arn, "STOPPED")
    proc = berth(tls_node, "logs", "--cluster", tls_node.cluster, arn)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "after the renewal\n"


def test_an_agent_that_does_not_trust_the_server_does_not_join(tls_node, tmp_path):
    devices = tmp_path / "devices"
    make_neuron_tree(str(devices), 1)
    agent = AgentProcess(tls_node.server, tmp_path / "data", tmp_path, tls_node.cluster, devices)
    agent.start()
    try:
        deadline = time.monotonic() + 20
        while "certificate verify failed" not in agent.log_text():
            assert agent.proc.poll() is None, agent.log_tail()
            assert time.monotonic() < deadline, agent.log_tail()
            time.sleep(0.2)
        assert "agent joined" not in agent.log_text()
        assert not os.path.exists(tmp_path / "data" / "instance.json")
    finally:
        agent.kill()
        cleanup_agent_host(tmp_path / "data")
