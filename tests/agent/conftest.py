"""Fixtures for the agent's end-to-end suite: a real `berth server`, a real
`berth agent` (root, runc, conmon, overlay) on a fake trn1.32xlarge device
tree, and a busybox image in the server's registry."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("../compat", "../registry", "."):
    p = os.path.abspath(os.path.join(HERE, d))
    if p not in sys.path:
        sys.path.insert(0, p)

from berth_agent import require_container_host  # noqa: E402
from berth_compat import load_compat_conftest  # noqa: E402
from berth_nodes import Node, Nodes, node, started_agents, started_node  # noqa: E402,F401

isolated_aws_env = load_compat_conftest().isolated_aws_env


@pytest.fixture
def fresh_node(tmp_path_factory, isolated_aws_env):
    """A node of the test's own, for a test that stops its server or agent."""
    require_container_host()
    with started_node(tmp_path_factory.mktemp("fresh"),
                      ["--agent-heartbeat-timeout", "4"]) as started:
        yield started


@pytest.fixture
def quickly_lost_node(tmp_path_factory, isolated_aws_env):
    """A node whose server counts its agent lost after 3 s without a poll."""
    require_container_host()
    with started_node(tmp_path_factory.mktemp("lost"),
                      ["--agent-heartbeat-timeout", "2", "--agent-lost-after", "3"]) as started:
        yield started


@pytest.fixture(scope="module")
def restart_node(tmp_path_factory, isolated_aws_env):
    """A node whose agent shrinks every restartAttemptPeriod 50-fold (ECS's
    60 s minimum becomes 1.2 s), so restart policies are tested in seconds."""
    require_container_host()
    with started_node(tmp_path_factory.mktemp("restart"), ["--agent-heartbeat-timeout", "4"],
                      ["--retention", "3600", "--restart-period-scale", "0.02"]) as started:
        yield started


def nodes_in_one_cluster(tmp_path_factory, names):
    """Agents in one cluster, one per name (folders NAME/: data, devices,
    logs); the server counts an agent lost after 3 s without a poll."""
    require_container_host()
    base = tmp_path_factory.mktemp("-".join(names))
    dirs = []
    for name in names:
        (base / name).mkdir()
        dirs.append((base / name / "data", base / name / "devices", base / name))
    return started_agents(base, ["--agent-heartbeat-timeout", "2", "--agent-lost-after", "3"],
                          dirs)


@pytest.fixture
def two_nodes(tmp_path_factory, isolated_aws_env):
    """Two agents in one cluster (a/ and b/), lost after 3 s of silence."""
    with nodes_in_one_cluster(tmp_path_factory, ["a", "b"]) as started:
        yield started


@pytest.fixture
def three_nodes(tmp_path_factory, isolated_aws_env):
    """Three agents in one cluster (a/, b/ and c/), lost after 3 s of silence."""
    with nodes_in_one_cluster(tmp_path_factory, ["a", "b", "c"]) as started:
        yield started

