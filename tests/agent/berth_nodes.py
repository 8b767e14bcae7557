"""A real `berth server` with real `berth agent`s on fake trn1.32xlarge
device trees (16 Neuron devices each) and the busybox image in its
registry: what the agent's end-to-end suite (tests/agent/conftest.py) and
the dashboard's browser suite (tests/ui) start."""

import contextlib
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("../compat", "../registry", "."):
    p = os.path.abspath(os.path.join(HERE, d))
    if p not in sys.path:
        sys.path.insert(0, p)

import busybox_image  # noqa: E402
from berth_agent import (  # noqa: E402
    AgentProcess, agent_ecs_client, cleanup_agent_host, require_container_host)
from berth_compat import BerthServer, unique  # noqa: E402
from berth_registry import registry_for  # noqa: E402
from fake_devices import make_neuron_tree  # noqa: E402


class Node:
    """One server and one agent; `image` is the busybox image's reference."""

    def __init__(self, server, agent, ecs, cluster, image, registry, base):
        self.server = server
        self.agent = agent
        self.ecs = ecs
        self.cluster = cluster
        self.image = image
        self.registry = registry
        self.base = base


class Nodes:
    """One server and several agents joined to one cluster on this host, each
    with its own data folder, fake device tree and log port; `instances`
    maps each agent's container instance ARN to it."""

    def __init__(self, server, agents, ecs, cluster, image, registry, base):
        self.server = server
        self.agents = agents
        self.ecs = ecs
        self.cluster = cluster
        self.image = image
        self.registry = registry
        self.base = base
        self.instances = {a.instance_arn: a for a in agents}

    def agent_of(self, instance_arn):
        return self.instances[instance_arn]


@contextlib.contextmanager
def started_agents(base, server_args, agent_dirs, agent_args=("--retention", "3600"),
                   ca_file=None):
    """A server (with server_args; ca_file: the CA its clients trust when it
    serves https), a cluster, the busybox image and one agent (with
    agent_args, or the entry's own) per (data folder, device tree, log
    folder[, agent args]) of agent_dirs, each joined; all of it stopped and
    cleaned up afterwards, also on failure."""
    server = BerthServer(base / "server", base,
                         extra_args=["--create-repository-on-push", *server_args],
                         ca_file=ca_file)
    agents = []
    try:
        server.start()
        ecs = agent_ecs_client(server)
        cluster = unique("node")
        ecs.create_cluster(clusterName=cluster)
        registry = registry_for(server)
        registry.push_image("busybox", busybox_image.build(), "test")
        for data_dir, devices, log_dir, *own_args in agent_dirs:
            make_neuron_tree(str(devices), 16)
            agents.append(AgentProcess(server, data_dir, log_dir, cluster, devices,
                                       extra_args=own_args[0] if own_args else agent_args))
            agents[-1].start()
            agents[-1].wait_joined(ecs)
        yield Nodes(server, agents, ecs, cluster, f"127.0.0.1:{server.port}/busybox:test",
                    registry, base)
    finally:
        for agent in agents:
            agent.kill()
        for data_dir, *_ in agent_dirs:
            cleanup_agent_host(data_dir)
        server.stop()


NODE_LOG_MAX_BYTES = 1 << 20


@contextlib.contextmanager
def started_node(base, server_args, agent_args=("--retention", "3600"), ca_file=None):
    """A server (with server_args, trusted through ca_file when it serves
    https), a cluster, the busybox image and an agent (with agent_args) that
    joined it; all of it stopped and cleaned up afterwards."""
    with started_agents(base, server_args, [(base / "agent", base / "devices", base)],
                        agent_args, ca_file) as nodes:
        yield Node(nodes.server, nodes.agents[0], nodes.ecs, nodes.cluster, nodes.image,
                   nodes.registry, base)


@pytest.fixture(scope="module")
def node(tmp_path_factory, isolated_aws_env):
    """One node (server, cluster, image, agent) per test module."""
    require_container_host()
    # A container's log capped at NODE_LOG_MAX_BYTES: test_agent_e2e's
    # chatty task fills it several times over.
    with started_node(tmp_path_factory.mktemp("node"), ["--agent-heartbeat-timeout", "4"],
                      ["--retention", "3600", "--container-log-max-bytes",
                       str(NODE_LOG_MAX_BYTES)]) as started:
        yield started
