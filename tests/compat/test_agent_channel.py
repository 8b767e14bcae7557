"""The channel between the server and node agents (src/agent/README.md):
join -> instance credential, long-polled assignments, state reports,
StopTask through the agent, liveness, and logs forwarded to the agent's own
log server. The agent is simulated here with botocore's SigV4 signing."""

import datetime
import http.client
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse

import boto3
import botocore.config
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from berth_compat import (BERTH_BIN, REGION, BerthServer, RawResponse, _DatedSigV4Auth,
                          assert_refused, free_port, make_ecs_client, unique)

RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
    {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
    {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
]
# trn1.32xlarge: 16 devices on a 2D torus (4x4), each linked to 4 others.
NEURON_16_TORUS = [
    {"id": str(i), "type": "NEURON_DEVICE",
     "connectedTo": sorted({str((i + 1) % 4 + i // 4 * 4), str((i - 1) % 4 + i // 4 * 4),
                            str((i + 4) % 16), str((i - 4) % 16)}, key=int)}
    for i in range(16)
]


def signed_request(server, method, path, *, query="", body=b"", key=None, secret=None,
                   sign=True, content_type="application/json", timeout=60):
    """Sends method path?query to the server, SigV4-signed (service ecs) with
    key/secret (default: the server's user key). Returns a RawResponse."""
    key = key or server.access_key
    secret = secret or server.secret_key
    host = f"127.0.0.1:{server.port}"
    target = path + (f"?{query}" if query else "")
    headers = {"Host": host}
    if body:
        headers["Content-Type"] = content_type
    if sign:
        request = AWSRequest(method=method, url=f"http://{host}{target}", data=body,
                             headers=headers)
        _DatedSigV4Auth(Credentials(key, secret), "ecs", REGION,
                        datetime.datetime.utcnow()).add_auth(request)
        headers = dict(request.headers.items())
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, target, body=body or None, headers=headers)
        resp = conn.getresponse()
        return RawResponse(resp.status, resp.getheaders(), resp.read())
    finally:
        conn.close()


def join(server, cluster, instance_arn, endpoint="127.0.0.1:9", **kw):
    body = json.dumps({"cluster": cluster, "containerInstanceArn": instance_arn,
                       "agentEndpoint": endpoint}).encode()
    return signed_request(server, "POST", "/berth/v1/agent/credentials", body=body, **kw)


class Agent:
    """A simulated node agent: the instance credential and what it calls."""

    def __init__(self, server, cluster, instance_arn, endpoint="127.0.0.1:9"):
        self.server = server
        self.cluster = cluster
        self.instance_arn = instance_arn
        resp = join(server, cluster, instance_arn, endpoint)
        assert resp.status == 200, resp
        self.key = resp.json["accessKeyId"]
        self.secret = resp.json["secretAccessKey"]
        self.version = ""

    def poll(self, version=None, wait=0, timeout=60, delta=False):
        version = self.version if version is None else version
        params = {"version": version, "waitSeconds": wait}
        if delta:
            params["delta"] = 1
        query = urllib.parse.urlencode(params)
        return signed_request(self.server, "GET", "/berth/v1/agent/tasks", query=query,
                              key=self.key, secret=self.secret, timeout=timeout)

    def poll_ok(self, **kw):
        resp = self.poll(**kw)
        assert resp.status == 200, resp
        self.version = resp.json["version"]
        return resp.json

    def ecs(self):
        return make_ecs_client(self.server.endpoint, self.key, self.secret)


def register(raw, cluster, devices=NEURON_16_TORUS):
    # Raw: botocore's model has no connectedTo, so boto3 would drop or refuse it.
    resp = raw.call("RegisterContainerInstance", {
        "cluster": cluster, "totalResources": RESOURCES, "platformDevices": devices,
        "attributes": [{"name": "ecs.instance-type", "value": "trn1.32xlarge"}]})
    assert resp.status == 200, resp
    return resp.json["containerInstance"]["containerInstanceArn"]


def taskdef(ecs, cpu=1024, memory=1024, neuron=None):
    container = {"name": "train", "image": "busybox", "cpu": cpu, "memory": memory,
                 "essential": True}
    if neuron is not None:
        container["resourceRequirements"] = [{"type": "NeuronDevice", "value": str(neuron)}]
    family = unique("agentfam")
    ecs.register_task_definition(family=family, containerDefinitions=[container])
    return family


def remaining(ecs, cluster, arn):
    instance = ecs.describe_container_instances(
        cluster=cluster, containerInstances=[arn])["containerInstances"][0]
    return {r["name"]: r.get("integerValue") for r in instance["remainingResources"]
            if r["type"] == "INTEGER"}


def describe(ecs, cluster, arn):
    return ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]


@pytest.fixture
def cluster(ecs):
    name = unique("agents")
    ecs.create_cluster(clusterName=name)
    return name


@pytest.fixture
def joined(server, ecs, raw, cluster):
    """An instance with 16 linked Neuron devices and its joined agent."""
    return Agent(server, cluster, register(raw, cluster))


def test_join_records_agent_and_keeps_topology(server, ecs, raw, cluster, joined):
    assert joined.key.startswith("BERTHAGENT")
    assert len(joined.secret) == 64
    # The same instance joins again with the same credential (derived, not stored).
    again = join(server, cluster, joined.instance_arn)
    assert again.status == 200 and again.json["secretAccessKey"] == joined.secret, again
    view = raw.call("DescribeContainerInstances", {
        "cluster": cluster, "containerInstances": [joined.instance_arn]}).json
    instance = view["containerInstances"][0]
    assert instance["agentConnected"] is True
    assert "berthAgent" not in instance
    devices = {d["id"]: d for d in instance["platformDevices"]}
    assert devices["5"]["connectedTo"] == ["1", "4", "6", "9"]


def test_neuron_devices_are_placed_along_links(ecs, raw, cluster, joined):
    family = taskdef(ecs, neuron=2)
    # Raw: neuronDeviceIds is berth's, and boto3 drops members its model lacks.
    task = raw.call("RunTask", {"cluster": cluster, "taskDefinition": family}).json["tasks"][0]
    ids = sorted(int(i) for c in task["containers"] for i in c["neuronDeviceIds"])
    linked = {d["id"]: d["connectedTo"] for d in NEURON_16_TORUS}
    assert str(ids[1]) in linked[str(ids[0])], ids


def test_poll_returns_assignments_and_long_poll_wakes_on_run_task(ecs, cluster, joined):
    first = joined.poll_ok()
    assert first["tasks"] == []
    family = taskdef(ecs)

    # A held poll returns when a task is placed, not when its time is up.
    result = {}
    poller = threading.Thread(target=lambda: result.update(
        resp=joined.poll(wait=20), at=time.monotonic()))
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive(), "a poll with the current version must be held"
    placed_at = time.monotonic()
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    poller.join(timeout=10)
    assert not poller.is_alive()
    assert result["at"] - placed_at < 3
    resp = result["resp"]
    assert resp.status == 200, resp
    assert resp.json["version"] != first["version"]
    [task] = resp.json["tasks"]
    assert task["taskArn"] == arn
    assert task["desiredStatus"] == "RUNNING" and task["lastStatus"] == "PENDING"
    assert task["taskDefinition"]["family"] == family
    assert task["taskDefinition"]["containerDefinitions"][0]["image"] == "busybox"
    assert "overrides" in task and "berthReservation" not in task

    # The same version with no wait answers at once, unchanged.
    same = joined.poll(version=resp.json["version"], wait=0)
    assert same.json == resp.json


def test_a_delta_poll_names_the_tasks_the_agent_has_by_arn(ecs, cluster, joined):
    family = taskdef(ecs, cpu=256)
    first = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    full = joined.poll_ok(delta=True)  # no version yet: every task in full
    assert [t["taskArn"] for t in full["tasks"]] == [first]

    second = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    delta = joined.poll_ok(delta=True)
    assert [t["taskArn"] for t in delta["tasks"]] == [second]
    assert delta["tasks"][0]["taskDefinition"]["family"] == family
    assert delta["unchangedTaskArns"] == [first]

    # Stopping one sends it again in full, with its new desired status.
    ecs.stop_task(cluster=cluster, task=first, reason="enough")
    stopped = joined.poll_ok(delta=True)
    assert [(t["taskArn"], t["desiredStatus"]) for t in stopped["tasks"]] == [(first, "STOPPED")]
    assert stopped["unchangedTaskArns"] == [second]

    # A version other than the last one answered gets every task in full.
    stale = joined.poll(version=full["version"], delta=True)
    assert stale.status == 200, stale
    assert sorted(t["taskArn"] for t in stale.json["tasks"]) == sorted([first, second])
    assert not stale.json.get("unchangedTaskArns")
    # Without delta=1, every task in full, as before.
    plain = joined.poll(wait=0)
    assert sorted(t["taskArn"] for t in plain.json["tasks"]) == sorted([first, second])
    assert "unchangedTaskArns" not in plain.json


def test_long_poll_times_out_with_the_same_version(joined):
    current = joined.poll_ok()
    started = time.monotonic()
    resp = joined.poll(wait=1)
    assert resp.status == 200, resp
    assert resp.json["version"] == current["version"]
    assert 0.8 <= time.monotonic() - started < 5


def test_state_reports_move_the_task_and_free_resources(ecs, cluster, joined):
    family = taskdef(ecs)
    before = remaining(ecs, cluster, joined.instance_arn)
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    assert remaining(ecs, cluster, joined.instance_arn)["CPU"] == before["CPU"] - 1024
    agent = joined.ecs()
    now = datetime.datetime.now(datetime.timezone.utc)
    reply = agent.submit_task_state_change(
        cluster=cluster, task=arn, status="RUNNING", pullStartedAt=now, pullStoppedAt=now,
        containers=[{"containerName": "train", "status": "RUNNING", "runtimeId": "rt-1",
                     "imageDigest": "sha256:" + "a" * 64}])
    assert reply["acknowledgment"] == "ACK"
    task = describe(ecs, cluster, arn)
    assert task["lastStatus"] == "RUNNING" and task["connectivity"] == "CONNECTED"
    assert "startedAt" in task and "pullStartedAt" in task
    assert task["containers"][0]["runtimeId"] == "rt-1"
    [c] = ecs.describe_clusters(clusters=[cluster])["clusters"]
    assert (c["pendingTasksCount"], c["runningTasksCount"]) == (0, 1)
    [ci] = ecs.describe_container_instances(
        cluster=cluster, containerInstances=[joined.instance_arn])["containerInstances"]
    assert (ci["pendingTasksCount"], ci["runningTasksCount"]) == (0, 1)

    agent.submit_container_state_change(cluster=cluster, task=arn, containerName="train",
                                        status="STOPPED", exitCode=3, reason="exit 3")
    agent.submit_task_state_change(cluster=cluster, task=arn, status="STOPPED",
                                   reason="Essential container in task exited")
    task = describe(ecs, cluster, arn)
    assert task["lastStatus"] == "STOPPED" and task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["containers"][0]["exitCode"] == 3
    assert task["containers"][0]["lastStatus"] == "STOPPED"
    assert remaining(ecs, cluster, joined.instance_arn) == before
    assert joined.poll_ok()["tasks"] == []
    [c] = ecs.describe_clusters(clusters=[cluster])["clusters"]
    assert (c["pendingTasksCount"], c["runningTasksCount"]) == (0, 0)

    # Regressions and repeats are acknowledged and change nothing.
    agent.submit_task_state_change(cluster=cluster, task=arn, status="RUNNING")
    agent.submit_container_state_change(cluster=cluster, task=arn, containerName="train",
                                        status="RUNNING")
    assert describe(ecs, cluster, arn) == task


def test_stop_task_goes_through_the_agent(server, ecs, aws, cluster, joined):
    family = taskdef(ecs)
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    agent = joined.ecs()
    agent.submit_task_state_change(cluster=cluster, task=arn, status="RUNNING")
    rc, _, err = aws("ecs", "wait", "tasks-running", "--cluster", cluster, "--tasks", arn)
    assert rc == 0, err
    joined.poll_ok()

    result = {}
    poller = threading.Thread(target=lambda: result.update(resp=joined.poll(wait=20)))
    poller.start()
    time.sleep(0.3)
    stopped = ecs.stop_task(cluster=cluster, task=arn, reason="enough")["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["lastStatus"] == "RUNNING"
    assert stopped["stopCode"] == "UserInitiated"
    poller.join(timeout=10)
    [seen] = result["resp"].json["tasks"]
    assert seen["desiredStatus"] == "STOPPED"

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    waiter = subprocess.Popen(
        ["/usr/bin/aws", "--endpoint-url", server.endpoint, "ecs", "wait", "tasks-stopped",
         "--cluster", cluster, "--tasks", arn],
        env={**env, "AWS_ACCESS_KEY_ID": server.access_key,
             "AWS_SECRET_ACCESS_KEY": server.secret_key, "AWS_DEFAULT_REGION": REGION,
             "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull},
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1)
    assert waiter.poll() is None, "the task is not stopped until the agent says so"
    agent.submit_task_state_change(
        cluster=cluster, task=arn, status="STOPPED", reason="stopped",
        containers=[{"containerName": "train", "status": "STOPPED", "exitCode": 143}])
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    task = describe(ecs, cluster, arn)
    assert task["lastStatus"] == "STOPPED"
    assert task["stopCode"] == "UserInitiated" and task["stoppedReason"] == "enough"
    assert task["containers"][0]["exitCode"] == 143


def test_agent_key_is_restricted(server, ecs, raw, cluster, joined):
    agent = joined.ecs()
    family = taskdef(ecs)
    assert_refused(agent.run_task, "AccessDeniedException", cluster=cluster,
                   taskDefinition=family)
    assert_refused(agent.describe_clusters, "AccessDeniedException", clusters=[cluster])
    assert_refused(agent.create_cluster, "AccessDeniedException", clusterName=unique("nope"))
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []

    # Not another instance's task.
    other = Agent(server, cluster, register(raw, cluster))
    arn = ecs.start_task(cluster=cluster, taskDefinition=family,
                         containerInstances=[other.instance_arn])["tasks"][0]["taskArn"]
    assert_refused(agent.submit_task_state_change, "AccessDeniedException", cluster=cluster,
                   task=arn, status="RUNNING")
    assert describe(ecs, cluster, arn)["lastStatus"] == "PENDING"
    # ... and its agent may.
    other.ecs().submit_task_state_change(cluster=cluster, task=arn, status="RUNNING")

    # It can pull: ECR GetAuthorizationToken.
    ecr = boto3.session.Session(aws_access_key_id=joined.key,
                                aws_secret_access_key=joined.secret,
                                region_name=REGION).client(
        "ecr", endpoint_url=server.endpoint,
        config=botocore.config.Config(retries={"max_attempts": 1}))
    assert ecr.get_authorization_token()["authorizationData"]

    # A user key does not poll; an agent key does not join.
    resp = signed_request(server, "GET", "/berth/v1/agent/tasks")
    assert resp.status in (400, 403) and resp.error_type == "AccessDeniedException", resp
    resp = join(server, cluster, joined.instance_arn, key=joined.key, secret=joined.secret)
    assert resp.status in (400, 403) and resp.error_type == "AccessDeniedException", resp


def test_deregistered_instance_cannot_poll(ecs, cluster, joined):
    joined.poll_ok()
    result = {}
    poller = threading.Thread(target=lambda: result.update(resp=joined.poll(wait=20)))
    poller.start()
    time.sleep(0.3)
    ecs.deregister_container_instance(cluster=cluster, containerInstance=joined.instance_arn,
                                      force=True)
    poller.join(timeout=10)
    assert not poller.is_alive(), "the held poll is answered at deregistration"
    assert result["resp"].status in (400, 403), result["resp"]
    resp = joined.poll()
    assert resp.status in (400, 403), resp
    assert resp.error_type == "UnrecognizedClientException", resp


def test_join_refuses_bad_input(server, ecs, raw, cluster):
    arn = register(raw, cluster)
    path = "/berth/v1/agent/credentials"
    cases = [
        (b"{not json", "SerializationException"),
        (b"[]", "SerializationException"),
        (json.dumps({"cluster": cluster, "agentEndpoint": "h:1"}).encode(),
         "InvalidParameterException"),
        (json.dumps({"cluster": cluster, "containerInstanceArn": arn}).encode(),
         "InvalidParameterException"),
        (json.dumps({"cluster": cluster, "containerInstanceArn": arn,
                     "agentEndpoint": "no-port"}).encode(), "InvalidParameterException"),
        (json.dumps({"cluster": cluster, "containerInstanceArn": 7,
                     "agentEndpoint": "h:1"}).encode(), "InvalidParameterException"),
        (json.dumps({"cluster": unique("missing"), "containerInstanceArn": arn,
                     "agentEndpoint": "h:1"}).encode(), "ClusterNotFoundException"),
        (json.dumps({"cluster": cluster, "containerInstanceArn": "0" * 32,
                     "agentEndpoint": "h:1"}).encode(), "InvalidParameterException"),
    ]
    for body, code in cases:
        resp = signed_request(server, "POST", path, body=body)
        assert 400 <= resp.status < 500 and resp.error_type == code, (body, resp)
        assert resp.json["message"], resp
    resp = signed_request(server, "POST", path, body=b"{}", sign=False)
    assert resp.error_type == "MissingAuthenticationTokenException", resp
    resp = join(server, cluster, arn, secret=server.secret_key + "x")
    assert resp.error_type == "InvalidSignatureException", resp
    # Nothing joined: placement, the view and the agent count stay as before.
    instance = ecs.describe_container_instances(cluster=cluster,
                                                containerInstances=[arn])["containerInstances"][0]
    assert instance["agentConnected"] is True and instance["version"] == 1


def test_poll_and_submit_refuse_bad_input(server, ecs, cluster, joined):
    resp = signed_request(server, "GET", "/berth/v1/agent/tasks", query="waitSeconds=soon",
                          key=joined.key, secret=joined.secret)
    assert resp.status == 400 and resp.error_type == "InvalidParameterException", resp
    resp = signed_request(server, "GET", "/berth/v1/agent/tasks", sign=False)
    assert resp.error_type == "MissingAuthenticationTokenException", resp
    resp = signed_request(server, "GET", "/berth/v1/agent/tasks", key=joined.key,
                          secret="0" * 64)
    assert resp.error_type == "InvalidSignatureException", resp
    resp = signed_request(server, "DELETE", "/berth/v1/agent/tasks", key=joined.key,
                          secret=joined.secret)
    assert resp.status == 404, resp

    family = taskdef(ecs)
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    before = describe(ecs, cluster, arn)
    agent = joined.ecs()
    assert_refused(agent.submit_task_state_change, "InvalidParameterException",
                   cluster=cluster, task="0" * 32, status="RUNNING")
    assert_refused(agent.submit_task_state_change, "InvalidParameterException",
                   cluster=cluster, task=arn, status="EXPLODED")
    assert_refused(agent.submit_task_state_change, "InvalidParameterException",
                   cluster=cluster, task=arn, status="RUNNING",
                   containers=[{"containerName": "nope", "status": "RUNNING"}])
    assert_refused(agent.submit_container_state_change, "InvalidParameterException",
                   cluster=cluster, task=arn, containerName="nope", status="RUNNING")
    assert describe(ecs, cluster, arn) == before


def heartbeat_flag_supported():
    try:
        out = subprocess.run([BERTH_BIN, "server", "--help"], capture_output=True, timeout=10)
    except OSError:
        return False
    return b"--agent-heartbeat-timeout" in out.stdout + out.stderr


@pytest.mark.skipif(not heartbeat_flag_supported(),
                    reason="berth server has no --agent-heartbeat-timeout flag yet "
                           "(covered by server_api_test EcsAgentsTest.SilentAgentIsDisconnected...)")
def test_silent_agent_is_disconnected_and_takes_no_tasks(tmp_path, isolated_aws_env):
    srv = BerthServer(tmp_path / "data", tmp_path, ["--agent-heartbeat-timeout", "2"])
    srv.start()
    try:
        ecs = srv.client()
        cluster = unique("hb")
        ecs.create_cluster(clusterName=cluster)
        agent = Agent(srv, cluster, register(srv.raw(), cluster))
        family = taskdef(ecs)
        agent.poll_ok()

        def connected():
            return ecs.describe_container_instances(
                cluster=cluster,
                containerInstances=[agent.instance_arn])["containerInstances"][0][
                    "agentConnected"]

        assert connected()
        time.sleep(3)
        assert not connected()
        reply = ecs.run_task(cluster=cluster, taskDefinition=family)
        assert reply["tasks"] == [] and reply["failures"][0]["reason"] == "AGENT", reply
        agent.poll_ok()
        assert connected()
        assert len(ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"]) == 1
    finally:
        srv.stop()


class LogServer:
    """The agent's log server, as far as the server sees it: records the
    requests and answers with a fixed body and the log headers."""

    def __init__(self, status=200, body=b"hello from the container\n"):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(
                    (self.path, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("X-Berth-Log-Offset", "42")
                self.send_header("X-Berth-Log-Complete", "true")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def logs(server, **params):
    return signed_request(server, "GET", "/berth/v1/logs",
                          query=urllib.parse.urlencode(params), timeout=60)


def test_logs_are_forwarded_to_the_agent(server, ecs, raw, cluster):
    log_server = LogServer()
    try:
        agent = Agent(server, cluster, register(raw, cluster), endpoint=log_server.endpoint)
        family = taskdef(ecs)
        arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
        task_id = arn.rsplit("/", 1)[1]
        resp = logs(server, cluster=cluster, task=arn, container="train", offset=5,
                    waitSeconds=1)
        assert resp.status == 200, resp
        assert resp.body == b"hello from the container\n"
        assert resp.headers["x-berth-log-offset"] == "42"
        assert resp.headers["x-berth-log-complete"] == "true"

        [(path, headers)] = log_server.requests
        parsed = urllib.parse.urlsplit(path)
        assert parsed.path == "/berth/v1/agent/logs"
        assert urllib.parse.parse_qs(parsed.query) == {
            "task": [task_id], "container": ["train"], "offset": ["5"], "waitSeconds": ["1"]}
        auth = headers["authorization"]
        assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={agent.key}/"), auth
        assert "/us-east-1/ecs/aws4_request" in auth
        # The signature is the agent credential's: re-sign and compare.
        when = datetime.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
        check = AWSRequest(method="GET", url=f"http://{headers['host']}{path}",
                           headers={"Host": headers["host"]})
        _DatedSigV4Auth(Credentials(agent.key, agent.secret), "ecs", REGION,
                        when).add_auth(check)
        assert check.headers["Authorization"] == auth

        # Task by id, default offset.
        assert logs(server, cluster=cluster, task=task_id, container="train").status == 200
    finally:
        log_server.close()


def test_logs_refuse_bad_input_and_report_unreachable_agents(server, ecs, raw, cluster):
    family = taskdef(ecs)
    closed = f"127.0.0.1:{free_port()}"
    agent = Agent(server, cluster, register(raw, cluster), endpoint=closed)
    arn = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]

    resp = logs(server, cluster=cluster, task=arn, container="train")
    assert resp.status in (502, 503) and resp.error_type == "ServerException", resp
    assert closed in resp.json["message"] and "unreachable" in resp.json["message"], resp

    for params, code in [
        ({"cluster": cluster, "task": "0" * 32, "container": "train"},
         "InvalidParameterException"),
        ({"cluster": cluster, "task": arn, "container": "nope"}, "InvalidParameterException"),
        ({"cluster": cluster, "container": "train"}, "InvalidParameterException"),
        ({"cluster": cluster, "task": arn}, "InvalidParameterException"),
        ({"cluster": cluster, "task": arn, "container": "train", "offset": "-1"},
         "InvalidParameterException"),
        ({"cluster": unique("missing"), "task": arn, "container": "train"},
         "ClusterNotFoundException"),
    ]:
        resp = logs(server, **params)
        assert resp.status == 400 and resp.error_type == code, (params, resp)

    resp = signed_request(server, "GET", "/berth/v1/logs",
                          query=f"cluster={cluster}&task={arn}&container=train", sign=False)
    assert resp.error_type == "MissingAuthenticationTokenException", resp
    resp = signed_request(server, "GET", "/berth/v1/logs",
                          query=urllib.parse.urlencode(
                              {"cluster": cluster, "task": arn, "container": "train"}),
                          key=agent.key, secret=agent.secret)
    assert resp.error_type == "AccessDeniedException", resp

    # A task on an instance no agent joined has no logs.
    modelled = register(raw, cluster)
    other = ecs.start_task(cluster=cluster, taskDefinition=family,
                           containerInstances=[modelled])["tasks"][0]["taskArn"]
    resp = logs(server, cluster=cluster, task=other, container="train")
    assert resp.status == 400 and resp.error_type == "InvalidParameterException", resp
    assert "no berth agent" in resp.json["message"], resp
