"""Several `berth server`s on one etcd cluster: one leads (a lease-backed key),
the others forward every request to it; when the leader dies or is cut off,
another takes over from the state in etcd, and a deposed leader writes
nothing (every write is fenced by its leadership key).

Three servers on a 3-member etcd (scripts/etcd-cluster.sh), a short lease
(--leader-lease-seconds 2) to keep it fast.
"""

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
from test_etcd_store import run_etcd_cluster
from test_tasks import add_instance, taskdef

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry"))
from berth_registry import Registry, ecr_client_for, registry_for  # noqa: E402

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
    args = ["--store", store, "--leader-lease-seconds", str(LEASE_SECONDS)]
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


def test_sigkill_the_leader_during_writes_loses_nothing_acknowledged(servers):
    leader = wait_for_one_leader(servers)
    cluster = unique("ha")
    retrying(servers, lambda s: s.client().create_cluster(clusterName=cluster))
    retrying(servers, lambda s: add_instance(s.client(validate=False), cluster))
    family = unique("fam")

    acknowledged_revisions = []
    acknowledged_tasks = {}  # clientToken -> task ARN
    stop = threading.Event()
    errors = []

    def writer():
        n = 0
        try:
            while not stop.is_set():
                n += 1
                td = retrying(servers, lambda s: s.client().register_task_definition(
                    family=family, containerDefinitions=[
                        {"name": "c", "image": "busybox", "memory": 6, "cpu": 1,
                         "environment": [{"name": "N", "value": str(n)}]}]))
                acknowledged_revisions.append(td["taskDefinition"]["revision"])
                token = f"tok-{n}"
                # botocore's model here has no clientToken: a raw request.
                reply = retrying(servers, lambda s: s.raw().call("RunTask", dict(
                    cluster=cluster, taskDefinition=td["taskDefinition"]["taskDefinitionArn"],
                    clientToken=token)))
                assert reply.status == 200, reply
                run = reply.json
                assert not run["failures"], run["failures"]
                acknowledged_tasks[token] = run["tasks"][0]["taskArn"]
        except Exception as e:  # reported below
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.5)
    leader.proc.kill()
    killed_at = time.monotonic()
    leader.proc.wait()
    new_leader = wait_for_one_leader(servers, timeout=10, exclude=[leader])
    took = time.monotonic() - killed_at
    assert took < 10, f"a new leader after {took:.1f} s"
    time.sleep(1.5)  # writes go on through the new leader
    stop.set()
    thread.join(timeout=60)
    assert not errors, errors
    assert len(acknowledged_revisions) > 2

    ecs = new_leader.client()
    revisions = []
    token = None
    while True:
        page = ecs.list_task_definitions(familyPrefix=family, **({"nextToken": token} if token
                                                                  else {}))
        revisions += [int(arn.rsplit(":", 1)[1]) for arn in page["taskDefinitionArns"]]
        token = page.get("nextToken")
        if not token:
            break
    # Every acknowledged revision is there, and revisions have no holes (a
    # retried registration may have added one more than was acknowledged).
    assert set(acknowledged_revisions) <= set(revisions)
    assert sorted(revisions) == list(range(1, max(revisions) + 1))
    # Every acknowledged task is there, once per clientToken.
    arns = list(acknowledged_tasks.values())
    for i in range(0, len(arns), 100):
        got = ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + 100])
        assert not got["failures"], got["failures"]
    listed = []
    token = None
    while True:
        page = ecs.list_tasks(cluster=cluster, **({"nextToken": token} if token else {}))
        listed += page["taskArns"]
        token = page.get("nextToken")
        if not token:
            break
    assert len(listed) >= len(arns)


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


def test_a_change_etcd_refuses_does_not_stop_the_server(tmp_path, isolated_aws_env,
                                                         etcd_endpoints):
    # A 70-rank gang is one change over etcd's default 128 operations a
    # transaction: refused. The server that made it in memory stops leading
    # (its reply is an error, nothing of it is kept), then leads again from
    # the store, a lease later, instead of stopping.
    srv = BerthServer(tmp_path / "data", tmp_path, [
        "--store", f"etcd://{etcd_endpoints}/{unique('big')}/",
        "--leader-lease-seconds", str(LEASE_SECONDS)])
    srv.start()
    try:
        wait_for_one_leader([srv])
        ecs, unvalidated = srv.client(), srv.client(validate=False)
        cluster = unique("gang")
        ecs.create_cluster(clusterName=cluster)
        for _ in range(70):
            add_instance(unvalidated, cluster)
        family = taskdef(unvalidated)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            ecs.run_task(cluster=cluster, taskDefinition=family, count=70,
                         tags=[{"key": "berth:gang", "value": "big"}])
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
        assert srv.alive(), srv.log_tail()
        wait_for_one_leader([srv], timeout=4 * LEASE_SECONDS + 5)
        assert ecs.list_tasks(cluster=cluster)["taskArns"] == []
        assert len(ecs.list_container_instances(cluster=cluster)["containerInstanceArns"]) == 70
        # And it goes on: a small gang fits.
        resp = ecs.run_task(cluster=cluster, taskDefinition=family, count=2,
                            tags=[{"key": "berth:gang", "value": "small"}])
        assert resp["failures"] == [] and len(resp["tasks"]) == 2
        assert "giving up the leadership" in open(srv.log_path).read()
    finally:
        srv.stop()


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
