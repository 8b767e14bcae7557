"""Gangs through berth's own API and CLI against a real server: a gang's
record (GET /berth/v1/gangs, `berth gang`) after RunTask, the gang stopped
together when a user stops one rank, and the refusals. Instances are
registered through the API alone (no agent), so a stop asked of a task is
final at once and the server's gang controller (a pass a second) acts on it."""

import json

from berth_compat import unique, wait_for
from test_cli import berth, client_env, one_error_line
from test_tasks import add_instance, taskdef


def run_gang(ecs, cluster, family, name, size, restarts="0"):
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, count=size,
                        tags=[{"key": "berth:gang", "value": name},
                              {"key": "berth:gang-max-restarts", "value": restarts}])
    assert resp["failures"] == [] and len(resp["tasks"]) == size, resp
    return resp["tasks"]


def gang_json(server, cluster, name):
    proc = berth("gang", "--json", "--cluster", cluster, name, env=client_env(server))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["gang"]


def test_a_gang_is_shown_with_its_ranks(server, ecs, ecs_unvalidated):
    cluster = unique("gangs")
    ecs.create_cluster(clusterName=cluster)
    for _ in range(2):
        add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=16)
    tasks = run_gang(ecs, cluster, family, "llama", 2, restarts="3")

    gang = gang_json(server, cluster, "llama")
    assert gang["gangName"] == "llama" and gang["status"] == "RUNNING"
    assert gang["size"] == 2 and gang["attempt"] == 0 and gang["maxRestarts"] == 3
    ranks = gang["attempts"][0]["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1]
    by_arn = {t["taskArn"]: t for t in tasks}
    for r in ranks:
        assert r["containerInstanceArn"] == by_arn[r["taskArn"]]["containerInstanceArn"]
        assert len(r["neuronDeviceIds"]) == 16

    table = berth("gang", "--cluster", cluster, "llama", env=client_env(server))
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("gang llama: RUNNING, 2 ranks, attempt 0 (at most 3 restarts)")
    assert "neuron:0,1,2" in table.stdout
    listing = berth("gang", "--cluster", cluster, env=client_env(server))
    assert listing.stdout.splitlines()[1].split()[:4] == ["llama", "RUNNING", "2", "0"]


def test_stopping_one_rank_stops_the_gang(server, ecs, ecs_unvalidated):
    cluster = unique("gangs")
    ecs.create_cluster(clusterName=cluster)
    for _ in range(3):
        add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    tasks = run_gang(ecs, cluster, family, "g", 3, restarts="2")
    ecs.stop_task(cluster=cluster, task=tasks[1]["taskArn"], reason="enough")
    others = [t["taskArn"] for t in tasks if t != tasks[1]]

    def all_stopped():
        described = ecs.describe_tasks(cluster=cluster, tasks=others)["tasks"]
        return all(t["desiredStatus"] == "STOPPED" for t in described) and described
    for t in wait_for("the other ranks to stop", all_stopped):
        assert t["stoppedReason"].startswith("berth gang g (attempt 0): rank "), t
        assert t["stoppedReason"].endswith(" was stopped: enough"), t
    gang = wait_for("the gang to end",
                    lambda: (g := gang_json(server, cluster, "g"))["status"] == "STOPPED" and g)
    assert len(gang["attempts"]) == 1, "a user's stop is not restarted"


def test_refusals_are_one_line_and_change_nothing(server, ecs, ecs_unvalidated):
    cluster = unique("gangs")
    ecs.create_cluster(clusterName=cluster)
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    proc = berth("gang", "--cluster", cluster, "nope", env=client_env(server))
    assert one_error_line(proc, "gang") == (
        f"GangNotFoundException: gangs: no gang named 'nope' in cluster {cluster} "
        "(gangs are kept an hour after they end)")
    proc = berth("gang", "--cluster", unique("missing"), env=client_env(server))
    assert one_error_line(proc, "gang").startswith("ClusterNotFoundException: ")
    proc = berth("gang", "--cluster", cluster, env=client_env(server, secret_key="wrong"))
    assert "Signature" in one_error_line(proc, "gang")
    for bad in ("-1", "three", "1001"):
        try:
            run_gang(ecs, cluster, family, "bad", 1, restarts=bad)
            raise AssertionError(f"berth:gang-max-restarts={bad} was accepted")
        except ecs.exceptions.InvalidParameterException as e:
            assert "berth:gang-max-restarts" in str(e)
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []
    listing = berth("gang", "--cluster", cluster, env=client_env(server))
    assert listing.stdout == "NAME  STATUS  SIZE  ATTEMPT  REASON\n"
