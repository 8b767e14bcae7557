"""The event stream against a real server: GET /berth/v1/events (signed)
returns the events of the changes made, a long poll is answered when a change
happens, a client resumes with after= (also across a server restart, with ids
that keep increasing), unsigned requests and bad parameters are refused, and
`berth events` prints them."""

import json
import queue
import subprocess
import threading
import time
import urllib.parse

from berth_compat import BERTH_BIN, BerthServer, make_ecs_client, unique
from test_agent_channel import signed_request
from test_cli import berth, client_env
from test_task_definitions import delete_task_definitions
from test_tasks import add_instance, taskdef


def events(server, **params):
    resp = signed_request(server, "GET", "/berth/v1/events",
                          query=urllib.parse.urlencode(params), timeout=60)
    assert resp.status == 200, resp
    return resp.json


def kinds(page):
    return [e["kind"] for e in page["events"]]


def test_runtask_and_stoptask_are_events(server, ecs, ecs_unvalidated):
    cluster = unique("events")
    ecs.create_cluster(clusterName=cluster)
    instance = add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    task = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    ecs.stop_task(cluster=cluster, task=task, reason="done with it")

    page = events(server, cluster=cluster, after=0)
    assert kinds(page) == ["ClusterCreated", "InstanceRegistered", "TaskPlaced",
                           "TaskStopped"], page
    placed, stopped = page["events"][2], page["events"][3]
    assert placed["resources"] == [task, instance] and placed["cluster"] == cluster
    assert "done with it" in stopped["message"] and "UserInitiated" in stopped["message"]
    assert int(placed["id"]) < int(stopped["id"]) and abs(placed["time"] - time.time()) < 60
    assert page["nextAfter"] == stopped["id"] and page["truncated"] is False
    # Resume: after the last id seen, nothing more; after the first, the rest.
    assert events(server, cluster=cluster, after=page["nextAfter"])["events"] == []
    assert kinds(events(server, cluster=cluster, after=placed["id"])) == ["TaskStopped"]
    # Without after (and since), the stream starts at its end.
    assert events(server, cluster=cluster)["events"] == []
    # since= starts at a time; a cluster by ARN is the same cluster.
    arn = ecs.describe_clusters(clusters=[cluster])["clusters"][0]["clusterArn"]
    assert len(events(server, cluster=arn, since=time.time() - 600)["events"]) == 4


def test_task_definition_changes_are_events_of_no_cluster(server, ecs, ecs_unvalidated, raw):
    start = events(server)["nextAfter"]
    family = taskdef(ecs_unvalidated)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    assert delete_task_definitions(raw, [f"{family}:1"]).status == 200
    ours = [e for e in events(server, after=start)["events"]
            if any(f"task-definition/{family}:1" in r for r in e["resources"])]
    assert [e["kind"] for e in ours] == ["TaskDefinitionRegistered", "TaskDefinitionDeregistered",
                                         "TaskDefinitionDeleted"], ours
    assert all(e["cluster"] == "" for e in ours), ours
    assert ours[0]["message"] == f"task definition {family}:1 registered"
    # A cluster's stream does not carry them.
    cluster = unique("events")
    ecs.create_cluster(clusterName=cluster)
    assert kinds(events(server, cluster=cluster, after=start)) == ["ClusterCreated"]


def test_a_long_poll_is_answered_when_a_change_happens(server, ecs, ecs_unvalidated):
    cluster = unique("events")
    ecs.create_cluster(clusterName=cluster)
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    after = events(server, cluster=cluster, after=0)["nextAfter"]
    got = {}

    def poll():
        started = time.monotonic()
        got["page"] = events(server, cluster=cluster, after=after, waitSeconds=20)
        got["seconds"] = time.monotonic() - started
    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(1)
    # A change in another cluster does not answer this cluster's poll.
    other = unique("events")
    ecs.create_cluster(clusterName=other)
    add_instance(ecs_unvalidated, other)
    time.sleep(0.5)
    assert waiter.is_alive()
    ecs.run_task(cluster=cluster, taskDefinition=family)
    waiter.join(15)
    assert not waiter.is_alive()
    assert kinds(got["page"]) == ["TaskPlaced"] and got["seconds"] < 10, got
    # A poll with nothing new is answered empty when its time is up.
    started = time.monotonic()
    page = events(server, cluster=cluster, after=got["page"]["nextAfter"], waitSeconds=1)
    assert page["events"] == [] and 0.9 < time.monotonic() - started < 5


def test_resume_after_a_restart_misses_nothing(fresh_server):
    server = fresh_server
    ecs = server.client(validate=False)
    ecs.create_cluster(clusterName="r")
    add_instance(ecs, "r")
    first = events(server, after=0)
    server.restart()
    ecs = server.client(validate=False)
    add_instance(ecs, "r")
    page = events(server, after=first["nextAfter"])
    assert kinds(page) == ["InstanceRegistered"]
    assert int(page["events"][0]["id"]) > int(first["nextAfter"])
    assert kinds(events(server, after=0)) == ["ClusterCreated", "InstanceRegistered",
                                              "InstanceRegistered"]


def test_refusals(server):
    resp = signed_request(server, "GET", "/berth/v1/events", sign=False)
    assert resp.status == 400 or resp.status == 403, resp
    assert resp.error_type in ("MissingAuthenticationTokenException",
                                 "IncompleteSignatureException", "InvalidSignatureException",
                                 "AccessDeniedException"), resp
    for query, words in [("after=x", "after must be an event id"),
                         ("after=-1", "after must be an event id"),
                         ("waitSeconds=soon", "waitSeconds must be"),
                         ("since=yesterday", "since must be a time"),
                         ("cluster=", "cluster is empty"),
                         ("color=red", "unknown parameter 'color'")]:
        resp = signed_request(server, "GET", "/berth/v1/events", query=query)
        assert resp.status == 400 and resp.error_type == "InvalidParameterException", resp
        assert words in resp.json["message"], (query, resp.json)
    resp = signed_request(server, "POST", "/berth/v1/events", body=b"{}")
    assert resp.status == 405, resp


def test_berth_events_prints_one_line_per_event(server, ecs, ecs_unvalidated):
    cluster = unique("events")
    ecs.create_cluster(clusterName=cluster)
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    task = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    proc = berth("events", "--cluster", cluster, env=client_env(server))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stdout
    assert lines[2].split()[1] == "TaskPlaced"
    assert f"task/{task.rsplit('/', 1)[1]}" in lines[2]
    assert lines[2][:4].isdigit() and lines[2][10] == "T"
    as_json = berth("events", "--json", "--since", "10m", "--cluster", cluster,
                    env=client_env(server))
    assert [json.loads(l)["kind"] for l in as_json.stdout.splitlines()] == [
        "ClusterCreated", "InstanceRegistered", "TaskPlaced"]
    bad = berth("events", "--since", "whenever", env=client_env(server))
    assert bad.returncode == 1 and "--since must be" in bad.stderr, bad.stderr


def test_berth_events_follow_resumes_across_a_server_restart(fresh_server):
    server = fresh_server
    ecs = server.client(validate=False)
    ecs.create_cluster(clusterName="f")
    add_instance(ecs, "f")
    proc = subprocess.Popen([BERTH_BIN, "events", "-f", "--cluster", "f"],
                            env=client_env(server), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    try:
        assert "ClusterCreated" in lines.get(timeout=20)
        assert "InstanceRegistered" in lines.get(timeout=20)
        server.restart()  # the held poll breaks; the client reconnects
        ecs = server.client(validate=False)
        add_instance(ecs, "f")
        second = lines.get(timeout=30)
        assert "InstanceRegistered" in second
        ecs.run_task(cluster="f", taskDefinition=taskdef(ecs))
        assert "TaskPlaced" in lines.get(timeout=30)
        assert lines.empty()  # nothing repeated, nothing missed
    finally:
        proc.kill()
        proc.wait()


def test_the_retention_flags_cap_the_stream(tmp_path, isolated_aws_env):
    # At most 1,000 events kept: 1,100 clusters later, a client resuming
    # from the start is told it missed the oldest.
    srv = BerthServer(tmp_path / "data", tmp_path, extra_args=["--event-retention-max", "1000",
                                                               "--event-retention", "2"])
    try:
        srv.start()
        ecs = make_ecs_client(srv.endpoint, srv.access_key, srv.secret_key)
        prefix = unique("cap")
        for i in range(1100):
            ecs.create_cluster(clusterName=f"{prefix}-{i}")
        page = events(srv, after=0)
        assert page["truncated"] is True, page["events"][:1]
        assert int(page["events"][0]["id"]) > 100
        assert page["events"][0]["kind"] == "ClusterCreated"
    finally:
        srv.stop()


def test_bad_retention_flags_are_refused_naming_the_flag(tmp_path):
    for flag, value in (("--event-retention", "0"), ("--event-retention-max", "10"),
                        ("--event-retention", "soon")):
        proc = subprocess.run([BERTH_BIN, "server", "--data", str(tmp_path / "d"), flag, value],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode != 0, (flag, value)
        # As for every flag: what is wrong with it, then where help is.
        assert proc.stderr.splitlines()[0].startswith(f"{flag}: "), proc.stderr
