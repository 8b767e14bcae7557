"""Least privilege: read-only access keys (`berth_access = read-only` in the
credentials file), node credentials that may only pull from the registry,
and the audit trail of every request that changes something."""

import json
import os
import re
import subprocess
import sys

import botocore.exceptions
import pytest

from berth_compat import BERTH_BIN, BerthServer, aws_cli_env, make_ecs_client, unique
from test_agent_channel import Agent, register, signed_request
from test_cli import berth

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry"))
from berth_registry import (Registry, make_ecr_client, registry_login,  # noqa: E402
                            small_image)

VIEWER_KEY = "AKIAVIEWER0000000001"
VIEWER_SECRET = "viewer-secret-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory, isolated_aws_env):
    """A server whose credentials file has its own [default] key and a
    read-only [viewer] key."""
    base = tmp_path_factory.mktemp("access")
    srv = BerthServer(base / "data", base)
    srv.start()  # writes [default]
    srv.stop()
    with open(srv.credentials_path, "a") as f:
        f.write(f"\n[viewer]\naws_access_key_id = {VIEWER_KEY}\n"
                f"aws_secret_access_key = {VIEWER_SECRET}\nberth_access = read-only\n")
    srv.start()
    yield srv  # stopped below whatever the tests did
    srv.stop()


@pytest.fixture
def viewer(server):
    return make_ecs_client(server.endpoint, VIEWER_KEY, VIEWER_SECRET)


def pushed_image(server):
    """A new repository with an image tagged v1, pushed with the full key."""
    ecr = make_ecr_client(server.endpoint, server.access_key, server.secret_key)
    repo = unique("img")
    ecr.create_repository(repositoryName=repo)
    _, token = registry_login(ecr)
    image = small_image()
    Registry(server.port, "AWS", token).push_image(repo, image, "v1")
    return repo, image


def audit_lines(server):
    with open(server.log_path) as f:
        return [line for line in f if " audit key=" in line]


def test_a_read_only_key_reads_and_is_refused_every_change(server, viewer):
    ecs = server.client()
    name = unique("ro")
    ecs.create_cluster(clusterName=name)
    assert viewer.describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"
    assert name in " ".join(viewer.list_clusters()["clusterArns"])

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        viewer.create_cluster(clusterName=unique("nope"))
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert VIEWER_KEY in refused.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        viewer.delete_cluster(cluster=name)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
#Nothing changed.
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"

#The aws CLI says the same.
    out = subprocess.run(["aws", "--endpoint-url", server.endpoint, "ecs", "register-task-definition",
                          "--family", unique("ro"), "--container-definitions",
                          json.dumps([{"name": "c", "image": "busybox", "memory": 64}])],
                         env=aws_cli_env(VIEWER_KEY, VIEWER_SECRET), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert "AccessDeniedException" in out.stderr, out.stderr


def test_a_read_only_key_pulls_and_cannot_push(server):
    repo, image = pushed_image(server)

    viewer_ecr = make_ecr_client(server.endpoint, VIEWER_KEY, VIEWER_SECRET)
    assert viewer_ecr.describe_images(repositoryName=repo)["imageDetails"]
    _, viewer_token = registry_login(viewer_ecr)
    registry = Registry(server.port, "AWS", viewer_token)
    got = registry.get_manifest(repo, "v1")
    assert got.status == 200 and got.body == image.manifest
    refused = registry.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert refused.status == 403 and refused.error_codes == ["DENIED"], refused
    assert VIEWER_KEY in refused.body.decode()
    refused = registry.put_manifest(repo, "v2", image.manifest, image.media_type)
    assert refused.status == 403 and refused.error_codes == ["DENIED"], refused
    assert registry.get_manifest(repo, "v2").status == 404
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        viewer_ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_node_credential_pulls_and_cannot_push(server):
    ecs = server.client()
    cluster = unique("node")
    ecs.create_cluster(clusterName=cluster)
    agent = Agent(server, cluster, register(server.raw(), cluster))
    repo, image = pushed_image(server)

    _, node_token = registry_login(make_ecr_client(server.endpoint, agent.key, agent.secret))
    registry = Registry(server.port, "AWS", node_token)
    assert registry.get_manifest(repo, "v1").status == 200
    blob = image.layers[0]
    assert registry.get_blob(repo, blob.digest).body == blob.data
    refused = registry.request("POST", f"/v2/{repo}/blobs/uploads/?digest={blob.digest}",
                               blob.data, {"Content-Type": "application/octet-stream"})
    assert refused.status == 403 and refused.error_codes == ["DENIED"], refused
    assert agent.key in refused.body.decode()
    refused = registry.request("DELETE", f"/v2/{repo}/manifests/{image.digest}")
    assert refused.status == 403 and refused.error_codes == ["DENIED"], refused
    assert registry.get_manifest(repo, "v1").status == 200


def test_every_change_is_audited_with_key_operation_resource_and_result(server, viewer):
    name = unique("audited")
    server.client().create_cluster(clusterName=name)
    with pytest.raises(botocore.exceptions.ClientError):
        viewer.delete_cluster(cluster=name)
    viewer.describe_clusters(clusters=[name])  # a read: not audited

    lines = audit_lines(server)
    made = [l for l in lines if f'resource="clusterName={name}"' in l]
    assert len(made) == 1, lines[-10:]
    assert re.search(rf'audit key={server.access_key} operation=CreateCluster '
                     rf'resource="clusterName={name}" result=ok', made[0]), made[0]
    refused = [l for l in lines if f'resource="cluster={name}"' in l]
    assert len(refused) == 1, lines[-10:]
    assert f"key={VIEWER_KEY} operation=DeleteCluster" in refused[0]
    assert "result=AccessDeniedException" in refused[0]
    assert not any("DescribeClusters" in l for l in lines)
#A registry change too, with its status.
    repo = unique("audited")
    make_ecr_client(server.endpoint, server.access_key, server.secret_key).create_repository(
        repositoryName=repo)
    _, viewer_token = registry_login(make_ecr_client(server.endpoint, VIEWER_KEY, VIEWER_SECRET))
    Registry(server.port, "AWS", viewer_token).request("POST", f"/v2/{repo}/blobs/uploads/")
    assert any(f"key={VIEWER_KEY} operation=\"POST /v2/{repo}/blobs/uploads/\"" in l
               and "result=403" in l for l in audit_lines(server)), audit_lines(server)[-5:]


def test_audit_records_are_kept_at_log_level_warn(tmp_path, isolated_aws_env, monkeypatch):
    monkeypatch.setenv("BERTH_LOG_LEVEL", "warn")
    srv = BerthServer(tmp_path / "data", tmp_path)
    srv.start()
    try:
        name = unique("quiet")
        srv.client().create_cluster(clusterName=name)
        assert any(f'resource="clusterName={name}" result=ok' in l for l in audit_lines(srv))
    finally:
        srv.stop()


def test_an_unknown_berth_access_value_stops_the_server_with_the_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = s\nberth_access = reader\n")
    proc = subprocess.run([BERTH_BIN, "server", "--listen",
                           "127.0.0.1:0", "--data", str(data)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert f"{data / 'credentials'}:4: [default] berth_access is" in proc.stderr, proc.stderr
    assert "reader" in proc.stderr and "it must be full or read-only" in proc.stderr


def test_a_read_only_key_cannot_exec_nor_collect_garbage(server):
    env = aws_cli_env(VIEWER_KEY, VIEWER_SECRET, {"AWS_ENDPOINT_URL": server.endpoint})
    proc = berth("exec", "0123456789abcdef0123456789abcdef", "--container", "main", "--", "true",
                 env=env)
    assert proc.returncode == 1
    assert "AccessDeniedException" in proc.stderr or "read-only" in proc.stderr, proc.stderr
    assert VIEWER_KEY in proc.stderr, proc.stderr
    reply = signed_request(server, "POST", "/berth/v1/registry/gc", body=b"{}", key=VIEWER_KEY,
                           secret=VIEWER_SECRET)
    assert reply.status in (400, 403) and reply.json["__type"] == "AccessDeniedException", reply
    assert any(f"key={VIEWER_KEY} operation=Exec" in l and "result=AccessDeniedException" in l
               for l in audit_lines(server))
