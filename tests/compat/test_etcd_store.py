"""`berth server --store etcd://...`: the control plane's state in a real
3-member etcd cluster (scripts/etcd-cluster.sh, on free loopback ports).

Several servers sharing one root (one leads, the others relay to it) are
tested in test_ha.py.
"""

import os
import subprocess

import pytest

from berth_compat import BERTH_BIN, REPO_ROOT, BerthServer, unique
from test_tasks import add_instance, taskdef


def etcd_cluster(*args):
    """Starts scripts/etcd-cluster.sh with args; yields (endpoints
    comma-separated, the cluster's folder: mN.pid holds member N's pid), and
    stops the cluster afterwards."""
    script = os.path.join(REPO_ROOT, "scripts", "etcd-cluster.sh")
    proc = subprocess.Popen(["bash", script, "--watch-pid", str(os.getpid()), *args],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("etcd-cluster: ready "):
            pytest.fail("scripts/etcd-cluster.sh did not start etcd (scripts/setup.sh installs "
                        "etcd-server and etcd-client)", pytrace=False)
        yield line.split()[2], line.split()[3]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_etcd_cluster(*args):
    """etcd_cluster's endpoints alone."""
    for endpoints, _ in etcd_cluster(*args):
        yield endpoints


@pytest.fixture(scope="module")
def etcd_endpoints():
    """A 3-member etcd cluster for this module."""
    yield from run_etcd_cluster()


@pytest.fixture
def etcd_store(etcd_endpoints):
    """A --store URL with a root of this test's own."""
    return f"etcd://{etcd_endpoints}/{unique('berth')}/"


def test_state_lives_in_etcd_not_in_the_data_folder(tmp_path, isolated_aws_env, etcd_store):
    first = BerthServer(tmp_path / "a", tmp_path, ["--store", etcd_store])
    first.start()
    try:
        ecs = first.client()
        name = unique("etcd")
        ecs.create_cluster(clusterName=name)
        ecs.register_task_definition(family=name, containerDefinitions=[
            {"name": "c", "image": "busybox", "memory": 64}])
        first.restart()
        ecs = first.client()
        assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"
    finally:
        first.stop()

    # Another data folder, the same etcd root: the same clusters.
    second = BerthServer(tmp_path / "b", tmp_path, ["--store", etcd_store])
    second.start()
    try:
        ecs = second.client()
        assert name in [arn.split("/")[-1] for arn in ecs.list_clusters()["clusterArns"]]
        families = ecs.list_task_definition_families(familyPrefix=name)["families"]
        assert families == [name]
    finally:
        second.stop()


def test_server_speaks_tls_to_etcd_with_a_client_certificate(tmp_path, isolated_aws_env):
    certs = tmp_path / "certs"  # the script makes a CA and certificates there
    for endpoints in run_etcd_cluster("--tls", str(certs)):
        srv = BerthServer(tmp_path / "data", tmp_path, [
            "--store", f"etcd://{endpoints}", "--etcd-ca", certs / "ca.pem",
            "--etcd-cert", certs / "client.pem", "--etcd-key", certs / "client-key.pem"])
        srv.start()
        try:
            name = unique("tls")
            srv.client().create_cluster(clusterName=name)
            srv.restart()
            assert srv.client().describe_clusters(clusters=[name])["clusters"][0]["status"] == \
                "ACTIVE"
        finally:
            srv.stop()
        # Without the client certificate the members refuse it.
        assert "etcd 127.0.0.1:" in server_error(tmp_path, "--store", f"etcd://{endpoints}",
                                                 "--etcd-ca", str(certs / "ca.pem"))


def test_a_large_gang_fits_once_etcd_and_berth_allow_more_txn_ops(tmp_path, isolated_aws_env):
    # 70 ranks: 70 tasks and 70 events in one change, over etcd's default of
    # 128 operations a transaction (which would stop the server).
    ranks = 70
    for endpoints in run_etcd_cluster("--", "--max-txn-ops=1024"):
        srv = BerthServer(tmp_path / "data", tmp_path,
                          ["--store", f"etcd://{endpoints}", "--etcd-max-txn-ops", "1024"])
        srv.start()
        try:
            ecs, unvalidated = srv.client(), srv.client(validate=False)
            cluster = unique("gang")
            ecs.create_cluster(clusterName=cluster)
            for _ in range(ranks):
                add_instance(unvalidated, cluster)
            resp = ecs.run_task(cluster=cluster, taskDefinition=taskdef(unvalidated), count=ranks,
                                tags=[{"key": "berth:gang", "value": "big"}])
            assert resp["failures"] == [] and len(resp["tasks"]) == ranks
            srv.restart()
            assert len(srv.client().list_tasks(cluster=cluster)["taskArns"]) == ranks
        finally:
            srv.stop()


def server_error(tmp_path, *args):
    """The error output of a `berth server` that must fail to start."""
    result = subprocess.run(
        [BERTH_BIN, "server", "--listen", "127.0.0.1:0", "--data", str(tmp_path), *args],
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    return result.stderr


def test_etcd_tls_flags_need_an_etcd_store(tmp_path):
    assert "--etcd-ca, --etcd-cert and --etcd-key need --store etcd://" in server_error(
        tmp_path, "--etcd-ca", "/nonexistent/ca.pem")


def test_unreachable_etcd_fails_clearly(tmp_path):
    assert "etcd 127.0.0.1:1: range: connect 127.0.0.1:1" in server_error(
        tmp_path, "--store", "etcd://127.0.0.1:1")
