"""Several `berth server`s on one etcd cluster: one leads (a lease-backed key),
the others forward every request to it; when the leader dies or is cut off,
another takes over from the state in etcd, and a deposed leader writes
nothing (every write is fenced by its leadership key).

Three servers on a 3-member etcd (scripts/etcd-cluster.sh), a short lease
(--leader-lease-seconds 2) to keep it fast.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import botocore.exceptions
import pytest

from berth_compat import BerthServer, aws_cli_env, free_port, unique
from test_cli import berth
from test_etcd_store import etcd_cluster, run_etcd_cluster
from test_tasks import add_instance, neuron_ids, taskdef

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry"))
from berth_registry import (Registry, ecr_client_for, read_oci_layout, registry_for,  # noqa: E402
                            registry_login, repository_uri, sha256, small_image,
                            write_oci_layout)
from test_skopeo import Skopeo, login as skopeo_login  # noqa: E402

LEASE_SECONDS = 2


@pytest.fixture(scope="module")
def etcd_endpoints():
    yield from run_etcd_cluster()


def health(server):
    with urllib.request.urlopen(server.endpoint + "/berth/v1/health", timeout=3) as reply:
        return json.loads(reply.read())


def roles(servers):
    """{endpoint: health} of the servers that answer."""
    out = {}
    for s in servers:
        if not s.alive():
            continue
        try:
            out[s.endpoint] = health(s)
        except OSError:
            pass
    return out


def wait_for_one_leader(servers, timeout=10, exclude=()):
    """The one server that leads, once the live ones agree on it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = roles(servers)
        leaders = [s for s in servers if s.alive() and s not in exclude and
                   last.get(s.endpoint, {}).get("role") == "leader"]
        if len(leaders) == 1:
            address = leaders[0].endpoint.removeprefix("http://")
            if all(h["role"] == "follower" and h["leader"] == address
                   for e, h in last.items() if e != leaders[0].endpoint
                   and not any(x.endpoint == e for x in exclude)):
                return leaders[0]
        time.sleep(0.1)
    pytest.fail(f"no single leader within {timeout} s: {last}")


@pytest.fixture
def servers(tmp_path, isolated_aws_env, etcd_endpoints):
    store = f"etcd://{etcd_endpoints}/{unique('ha')}/"
    # One registry folder for all, as a shared mount would be.
    args = ["--store", store, "--leader-lease-seconds", str(LEASE_SECONDS),
            "--registry-root", tmp_path / "registry"]
    started = []
    try:
        for i in range(3):
            srv = BerthServer(tmp_path / f"s{i}", tmp_path, args)
            if started:
                # One set of access keys for all: any server takes any request.
                os.makedirs(srv.data_dir, exist_ok=True)
                shutil.copy(started[0].credentials_path, srv.credentials_path)
            srv.start()
            started.append(srv)
        yield started
    finally:
        for srv in started:
            if srv.proc is not None and srv.proc.poll() is None:
                try:
                    os.kill(srv.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
            srv.stop()


@contextlib.contextmanager
def leading_alone(tmp_path, etcd_endpoints):
    """One server on a root of its own, once it leads."""
    srv = BerthServer(tmp_path / "data", tmp_path, [
        "--store", f"etcd://{etcd_endpoints}/{unique('alone')}/",
        "--leader-lease-seconds", str(LEASE_SECONDS)])
    srv.start()
    try:
        wait_for_one_leader([srv])
        yield srv
    finally:
        srv.stop()


def retrying(servers, call, timeout=30):
    """call(server) on the first server that answers, moving along the list
    on connection errors and 5xx, as a client given several servers does."""
    deadline = time.monotonic() + timeout
    i = 0
    while True:
        srv = servers[i % len(servers)]
        i += 1
        try:
            reply = call(srv)
            if not hasattr(reply, "status") or reply.status < 500:
                return reply
            error = AssertionError(f"{reply.status}: {reply.body}")
        except (OSError, http.client.HTTPException) as e:
            error = e
        except (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError) as e:
            error = e
        except botocore.exceptions.ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status < 500:
                raise
            error = e
        if time.monotonic() > deadline:
            raise error
        time.sleep(0.1)


def test_one_leader_and_every_server_serves(servers):
    leader = wait_for_one_leader(servers)
    for s in servers:
        h = health(s)
        assert h["store"] == "etcd"
        assert h["leader"] == leader.endpoint.removeprefix("http://")
        assert "secret" not in json.dumps(h).lower()
    followers = [s for s in servers if s is not leader]

    # boto3 through a follower: the write lands, every server sees it.
    name = unique("ha")
    followers[0].client().create_cluster(clusterName=name)
    for s in servers:
        got = s.client().describe_clusters(clusters=[name])["clusters"]
        assert got and got[0]["status"] == "ACTIVE"

    # The aws CLI through the other follower.
    env = aws_cli_env(followers[1].access_key, followers[1].secret_key)
    out = subprocess.run(
        ["aws", "--endpoint-url", followers[1].endpoint, "ecs", "register-task-definition",
         "--family", name, "--container-definitions",
         json.dumps([{"name": "c", "image": "busybox", "memory": 64}])],
        env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["taskDefinition"]["revision"] == 1
    described = leader.client().describe_task_definition(taskDefinition=f"{name}:1")
    assert described["taskDefinition"]["family"] == name


def list_all(call, key, **kwargs):
    """Every page of a List call."""
    out, token = [], None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        out += page[key]
        token = page.get("nextToken")
        if not token:
            return out


def test_sigkill_the_leader_during_writes_loses_nothing_acknowledged(servers):
    leader = wait_for_one_leader(servers)
    cluster = unique("ha")
    retrying(servers, lambda s: s.client().create_cluster(clusterName=cluster))
    for _ in range(8):  # 8 x 16 Neuron devices
        retrying(servers, lambda s: add_instance(s.client(validate=False), cluster))
    family = unique("fam")
    repo = unique("repo")
    ecr_client_for(leader).create_repository(repositoryName=repo)
    _, token = registry_login(ecr_client_for(leader))

    acknowledged_revisions = []
    acknowledged_tasks = {}  # clientToken -> task ARN
    acknowledged_blobs = {}  # digest -> bytes
    stop = threading.Event()
    errors = []

    def task_writer(name):
        n = 0
        try:
            while not stop.is_set():
                n += 1
                td = retrying(servers, lambda s: s.client().register_task_definition(
                    family=family, containerDefinitions=[
                        {"name": "c", "image": "busybox", "memory": 6, "cpu": 1,
                         "resourceRequirements": [{"type": "NeuronDevice", "value": "1"}],
                         "environment": [{"name": "N", "value": f"{name}-{n}"}]}]))
                acknowledged_revisions.append(td["taskDefinition"]["revision"])
                token = f"{name}-{n}"
                # botocore's model here has no clientToken: a raw request.
                reply = retrying(servers, lambda s: s.raw().call("RunTask", dict(
                    cluster=cluster, taskDefinition=td["taskDefinition"]["taskDefinitionArn"],
                    clientToken=token)))
                assert reply.status == 200, reply
                run = reply.json
                if run["tasks"]:
                    acknowledged_tasks[token] = run["tasks"][0]["taskArn"]
                else:  # every device taken: refused, and that is an answer too
                    assert "RESOURCE" in json.dumps(run["failures"]), run["failures"]
        except Exception as e:  # reported below
            errors.append(e)

    def blob_pusher():
        n = 0
        try:
            while not stop.is_set():
                n += 1
                data = os.urandom(1000 + n)
                digest = sha256(data)
                reply = retrying(servers, lambda s: Registry(s.port, "AWS", token).request(
                    "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data,
                    {"Content-Type": "application/octet-stream"}))
                assert reply.status == 201, reply
                acknowledged_blobs[digest] = data
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=task_writer, args=(w,)) for w in ("a", "b")]
    threads.append(threading.Thread(target=blob_pusher))
    for t in threads:
        t.start()
    time.sleep(1.5)
    leader.proc.kill()
    killed_at = time.monotonic()
    leader.proc.wait()
    new_leader = wait_for_one_leader(servers, timeout=10, exclude=[leader])
    took = time.monotonic() - killed_at
    assert took < 10, f"a new leader after {took:.1f} s"
    time.sleep(1.5)  # writes go on through the new leader
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(acknowledged_revisions) > 4 and acknowledged_tasks and acknowledged_blobs

    ecs = new_leader.client()
    revisions = [int(arn.rsplit(":", 1)[1]) for arn in
                 list_all(ecs.list_task_definitions, "taskDefinitionArns", familyPrefix=family)]
    # Every acknowledged revision is there, and revisions have no holes (a
    # retried registration may have added one more than was acknowledged).
    assert set(acknowledged_revisions) <= set(revisions)
    assert sorted(revisions) == list(range(1, max(revisions) + 1))
    # Every acknowledged task is there, once per clientToken, and no Neuron
    # device is held by two of them.
    arns = list(acknowledged_tasks.values())
    listed = list_all(ecs.list_tasks, "taskArns", cluster=cluster)
    assert set(arns) <= set(listed)
    held = {}
    for i in range(0, len(listed), 100):
        reply = new_leader.raw().call("DescribeTasks", dict(cluster=cluster,
                                                            tasks=listed[i:i + 100]))
        assert reply.status == 200 and not reply.json["failures"], reply
        for task in reply.json["tasks"]:
            assert len(neuron_ids(task)) == 1, task
            for device in neuron_ids(task):
                key = (task["containerInstanceArn"], device)
                assert key not in held, f"device {key} held by {held.get(key)} and {task['taskArn']}"
                held[key] = task["taskArn"]
    # Every acknowledged blob is served by the new leader, from the folder
    # the old one wrote it to.
    registry = Registry(new_leader.port, "AWS", token)
    for digest, data in acknowledged_blobs.items():
        got = registry.get_blob(repo, digest)
        assert got.status == 200 and got.body == data, (digest, got)


def test_a_paused_leader_is_fenced_and_follows_when_it_wakes(servers):
    leader = wait_for_one_leader(servers)
    os.kill(leader.proc.pid, signal.SIGSTOP)
    try:
        new_leader = wait_for_one_leader(servers, timeout=10, exclude=[leader])
        name = unique("after")
        new_leader.client().create_cluster(clusterName=name)

        # A write sent to the paused leader waits in its socket; when it
        # wakes, its lease is gone: the write is either refused (its fenced
        # commit fails) or relayed to the new leader, never written by it.
        stale = unique("stale")
        result = {}

        def send():
            try:
                leader.client().create_cluster(clusterName=stale)
                result["ok"] = True
            except Exception as e:  # an error reply or a closed connection
                result["error"] = e

        t = threading.Thread(target=send)
        t.start()
        time.sleep(0.5)
    finally:
        os.kill(leader.proc.pid, signal.SIGCONT)
    t.join(timeout=60)
    assert result, "no reply from the woken server"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        h = health(leader)
        if h["role"] == "follower" and h["leader"] == new_leader.endpoint.removeprefix("http://"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the woken server did not become a follower: {health(leader)}")
    assert leader.alive(), leader.log_tail()
    assert wait_for_one_leader(servers) is new_leader

    got = new_leader.client().describe_clusters(clusters=[stale])["clusters"]
    if result.get("ok"):
        assert got and got[0]["status"] == "ACTIVE"
    # Whatever happened to it, the state is the leader's: the cluster made
    # after the pause is there, through every server.
    for s in servers:
        assert s.client().describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"
    # And the woken server leads again later from the store, when asked to.
    new_leader.stop()
    again = wait_for_one_leader(servers, timeout=10, exclude=[new_leader])
    assert again.client().describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"


def test_the_cli_moves_along_its_server_list(servers):
    leader = wait_for_one_leader(servers)
    name = unique("cli")
    leader.client().create_cluster(clusterName=name)
    # A server that is gone first, then a follower: AWS_ENDPOINT_URL and
    # --endpoint take a comma-separated list.
    follower = next(s for s in servers if s is not leader)
    endpoints = f"http://127.0.0.1:{free_port()},{follower.endpoint}"
    env = aws_cli_env(leader.access_key, leader.secret_key, {"AWS_ENDPOINT_URL": endpoints})
    proc = berth("cluster", "ls", env=env)
    assert proc.returncode == 0, proc.stderr
    assert name in proc.stdout
    proc = berth("cluster", "ls", "--endpoint", f"{leader.endpoint},{follower.endpoint}",
                 env=aws_cli_env(leader.access_key, leader.secret_key))
    assert proc.returncode == 0, proc.stderr
    assert name in proc.stdout


def test_a_change_too_large_for_etcd_is_refused_clearly_and_the_server_leads_on(
        tmp_path, isolated_aws_env, etcd_endpoints):
    # A 70-rank gang is one change over etcd's default 128 operations a
    # transaction: refused before anything is written, with an error that
    # says so. The server, still the leader, reloads its state from the store
    # and goes on; nothing of the gang is kept.
    with leading_alone(tmp_path, etcd_endpoints) as srv:
        ecs, unvalidated = srv.client(), srv.client(validate=False)
        cluster = unique("gang")
        ecs.create_cluster(clusterName=cluster)
        for _ in range(70):
            add_instance(unvalidated, cluster)
        family = taskdef(unvalidated)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            ecs.run_task(cluster=cluster, taskDefinition=family, count=70,
                         tags=[{"key": "berth:gang", "value": "big"}])
        error = refused.value.response["Error"]
        assert error["Code"] == "ServerException", error
        assert "not stored" in error["Message"] and "--max-txn-ops" in error["Message"], error
        assert srv.alive(), srv.log_tail()
        # It leads on (no lease to wait out, see the log below).
        resp = retrying([srv], lambda s: s.client().run_task(
            cluster=cluster, taskDefinition=family, count=2,
            tags=[{"key": "berth:gang", "value": "small"}]))
        assert resp["failures"] == [] and len(resp["tasks"]) == 2
        assert len(ecs.list_tasks(cluster=cluster)["taskArns"]) == 2
        assert len(ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]) == 70
        log = open(srv.log_path).read()
        assert "reloading the state from the store" in log
        assert "giving up the leadership" not in log


def test_a_follower_relays_registry_pushes_and_pulls_to_the_leader(servers):
    leader = wait_for_one_leader(servers)
    follower = next(s for s in servers if s is not leader)
    repo = unique("repo")
    ecr_client_for(follower).create_repository(repositoryName=repo)
    registry = registry_for(follower)  # logged in through the follower too
    # Larger than any request a server buffers (16 MiB): streamed through.
    big = os.urandom(20 << 20)
    digest = registry.push_blob(repo, big)
    small = os.urandom(1000)
    small_digest = registry.push_blob_post_put(repo, small)
    for srv in (leader, follower):
        got = registry_for(srv).get_blob(repo, digest)
        assert got.status == 200 and got.body == big, got
        assert registry_for(srv).get_blob(repo, small_digest).body == small
    # Refused by the leader before the body is all sent: the refusal comes
    # back, nothing hangs.
    stranger = Registry(follower.port, "AWS", "not-a-token")
    refused = stranger.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", big,
                               {"Content-Type": "application/octet-stream"}, timeout=30)
    assert refused.status == 401, refused


def test_an_upload_begun_on_a_dead_leader_completes_on_the_next(servers):
    leader = wait_for_one_leader(servers)
    repo = unique("repo")
    ecr_client_for(leader).create_repository(repositoryName=repo)
    _, token = registry_login(ecr_client_for(leader))
    data = os.urandom(3 << 20)
    digest = sha256(data)
    first = Registry(leader.port, "AWS", token)
    started = first.start_upload(repo)
    assert started.status == 202, started
    location = first.location_path(started)
    half = len(data) // 2
    patched = first.patch_chunk(location, data[:half], 0)
    assert patched.status == 202, patched

    leader.proc.kill()
    leader.proc.wait()
    follower = next(s for s in servers if s is not leader)
    wait_for_one_leader(servers, timeout=10, exclude=[leader])
    # Through a follower: the upload's bytes so far are in the shared folder.
    other = Registry(follower.port, "AWS", token)
    status = other.request("GET", location)
    assert status.status == 204, status
    assert status.headers["range"] == f"0-{half - 1}", status.headers
    patched = other.patch_chunk(other.location_path(status), data[half:], half)
    assert patched.status == 202, patched
    done = other.request("PUT", other.with_query(other.location_path(patched), digest=digest))
    assert done.status == 201, done
    for srv in servers:
        if srv is not leader:
            got = Registry(srv.port, "AWS", token).get_blob(repo, digest)
            assert got.status == 200 and got.body == data


def test_skopeo_pushes_through_one_server_and_pulls_through_each(servers, tmp_path):
    leader = wait_for_one_leader(servers)
    follower = next(s for s in servers if s is not leader)
    repo = unique("skopeo")
    ecr_client_for(follower).create_repository(repositoryName=repo)
    image = small_image()
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    home = tmp_path / "skopeo-home"
    home.mkdir()
    skopeo = Skopeo(str(tmp_path / "auth.json"), str(home))
    for srv in servers:
        skopeo_login(srv, skopeo)
    skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false",
               "--preserve-digests", f"oci:{source}:latest",
               f"docker://{repository_uri(follower, repo)}:v1")
    for i, srv in enumerate(servers):
        copy = str(tmp_path / f"copy{i}")
        skopeo.run("copy", "--authfile", skopeo.authfile, "--src-tls-verify=false",
                   f"docker://{repository_uri(srv, repo)}:v1", f"oci:{copy}:v1")
        index, blobs = read_oci_layout(copy)
        assert [m["digest"] for m in index["manifests"]] == [image.digest]
        for blob in image.blobs:
            assert blobs.get(blob.digest) == blob.data, f"{blob} differs through {srv.endpoint}"


def test_etcd_quorum_lost_refuses_writes_clearly_then_recovers(tmp_path, isolated_aws_env):
    for endpoints, etcd_dir in etcd_cluster():
        with leading_alone(tmp_path, endpoints) as srv:
            ecs = srv.client()
            before = unique("before")
            ecs.create_cluster(clusterName=before)
            members = [int(open(os.path.join(etcd_dir, f"m{i}.pid")).read()) for i in range(3)]

            # One member killed: two are a quorum, berth carries on.
            os.kill(members[0], signal.SIGKILL)
            one_down = unique("onedown")
            retrying([srv], lambda s: s.client().create_cluster(clusterName=one_down))

            # A second one stopped: no quorum. Writes are refused with a
            # ServerException naming etcd; reads answer the last state or
            # are refused as clearly, never anything else.
            os.kill(members[1], signal.SIGSTOP)
            try:
                with pytest.raises(botocore.exceptions.ClientError) as refused:
                    ecs.create_cluster(clusterName=unique("lost"))
                error = refused.value.response["Error"]
                assert error["Code"] in ("ServerException", "ServiceUnavailableException"), error
                assert "etcd" in error["Message"], error
                assert health(srv)["storeState"].startswith("etcd: "), health(srv)
                for _ in range(3):
                    try:
                        got = ecs.describe_clusters(clusters=[before, one_down])["clusters"]
                        assert [c["status"] for c in got] == ["ACTIVE", "ACTIVE"], got
                    except botocore.exceptions.ClientError as e:
                        assert e.response["ResponseMetadata"]["HTTPStatusCode"] >= 500, e
                        assert e.response["Error"]["Message"], e
                    time.sleep(LEASE_SECONDS)
                assert srv.alive(), srv.log_tail()
            finally:
                os.kill(members[1], signal.SIGCONT)

            # Restored: berth leads again from the store and writes go through.
            after = unique("after")
            retrying([srv], lambda s: s.client().create_cluster(clusterName=after), timeout=30)
            got = ecs.describe_clusters(clusters=[before, one_down, after])["clusters"]
            assert [c["status"] for c in got] == ["ACTIVE"] * 3, got
