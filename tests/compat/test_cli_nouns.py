"""`berth NOUN VERB` against a real server: for each noun a table, the same
through `--output json`, and an error as one line with exit status 1.
Instances are registered through the API alone (no agent)."""

import json
import subprocess
import time

import pytest

from berth_compat import unique
from test_cli import BERTH_BIN, berth, client_env, one_error_line
from test_tasks import add_instance, taskdef


def ok(proc):
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def table(proc):
    """The rows of a table, split on runs of spaces."""
    return [line.split() for line in ok(proc).splitlines()]


@pytest.fixture
def env(server):
    return client_env(server)


def test_cluster_verbs(env):
    name = unique("nouns")
    assert "Status:" in ok(berth("cluster", "create", name, env=env))
    rows = table(berth("cluster", "ls", env=env))
    assert rows[0] == ["NAME", "STATUS", "NODES", "RUNNING", "PENDING", "SERVICES"]
    assert [name, "ACTIVE", "0", "0", "0", "0"] in rows
    shown = json.loads(ok(berth("cluster", "show", "--output", "json", name, env=env)))
    assert shown["clusters"][0]["clusterName"] == name
    assert f"Name:           {name}" in ok(berth("cluster", "show", name, env=env))
    assert "INACTIVE" in ok(berth("cluster", "rm", name, env=env))
    absent = unique("absent")
    missing = berth("cluster", "show", absent, env=env)
    assert one_error_line(missing, "cluster show") == f"cluster {absent}: not found"


def test_node_verbs_show_devices_and_their_tasks(env, ecs, ecs_unvalidated):
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    arn = add_instance(ecs_unvalidated, cluster,
                       devices=[{"id": str(i), "type": "NEURON_DEVICE"} for i in range(2)])
    node = arn.rsplit("/", 1)[1]
    family = taskdef(ecs_unvalidated, neuron=1)
    task = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]
    task_id = task["taskArn"].rsplit("/", 1)[1]
    # The raw JSON carries the device ids (boto3's model drops them).
    raw_task = json.loads(ok(berth("task", "show", "-o", "json", "--cluster", cluster, task_id,
                                   env=env)))["tasks"][0]
    held = raw_task["containers"][0]["neuronDeviceIds"][0]

    rows = table(berth("node", "ls", "--cluster", cluster, env=env))
    assert rows[0][:3] == ["ID", "EC2", "STATUS"] and rows[1][0] == node
    assert rows[1][-1] == "neuron:2"
    listed = json.loads(ok(berth("node", "ls", "-o", "json", "--cluster", cluster, env=env)))
    assert listed["containerInstances"][0]["containerInstanceArn"] == arn

    shown = ok(berth("node", "show", "--cluster", cluster, node, env=env))
    devices = {(line.split()[0], line.split()[1]): line.split()[2:]
               for line in shown.splitlines() if line.startswith("neuron ")}
    assert devices == {("neuron", held): [task_id, "train"],
                       ("neuron", str(1 - int(held))): ["-", "-"]}
    shown_json = json.loads(ok(berth("node", "show", "-o", "json", "--cluster", cluster, node,
                                     env=env)))
    assert [t["taskArn"] for t in shown_json["tasks"]] == [task["taskArn"]]

    assert table(berth("node", "drain", "--cluster", cluster, node, env=env))[1][2] == "DRAINING"
    assert table(berth("node", "activate", "--cluster", cluster, node, env=env))[1][2] == "ACTIVE"
    missing = berth("node", "show", "--cluster", cluster, "no-such-node", env=env)
    assert one_error_line(missing, "node show").startswith("node no-such-node: ")


def test_taskdef_verbs(env, tmp_path):
    family = unique("nounfam")
    spec = tmp_path / "def.json"
    spec.write_text(json.dumps({"family": family, "containerDefinitions": [
        {"name": "main", "image": "busybox", "cpu": 128, "memory": 256, "essential": True}]}))
    assert f"Family:        {family}" in ok(berth("taskdef", "register", str(spec), env=env))
    assert table(berth("taskdef", "ls", family, env=env)) == [["FAMILY", "REVISION"], [family, "1"]]
    listed = json.loads(ok(berth("taskdef", "ls", "-o", "json", family, env=env)))
    assert listed["taskDefinitionArns"][0].endswith(f"/{family}:1")
    shown = table(berth("taskdef", "show", f"{family}:1", env=env))
    assert ["main", "busybox", "128", "256", "yes"] in shown
    spec.write_text("{not json")
    assert one_error_line(berth("taskdef", "register", str(spec), env=env),
                          "taskdef register").startswith(f"{spec}: not JSON")
    missing = berth("taskdef", "show", unique("absent"), env=env)
    assert "ClientException" in one_error_line(missing, "taskdef show")


def test_task_verbs(env, ecs, ecs_unvalidated):
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    run = table(berth("task", "run", "--cluster", cluster, family, env=env))
    assert run[0][0] == "ID" and len(run) == 2
    task_id = run[1][0]
    rows = table(berth("task", "ls", "--cluster", cluster, env=env))
    assert rows[1][:2] == [task_id, f"{family}:1"]
    shown = json.loads(ok(berth("task", "show", "-o", "json", "--cluster", cluster, task_id,
                                env=env)))
    assert shown["tasks"][0]["taskArn"].endswith(task_id)
    stopped = ok(berth("task", "stop", "--cluster", cluster, "--reason", "enough", task_id,
                       env=env))
    assert "Reason:" in stopped and "enough" in stopped
    missing = berth("task", "show", "--cluster", cluster, "no-such-task", env=env)
    assert one_error_line(missing, "task show") == (
        f"task no-such-task: not found in cluster {cluster}")


def test_task_run_wait_refuses_what_it_cannot_follow(env, ecs, ecs_unvalidated):
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    many = berth("task", "run", "--cluster", cluster, "--wait", "--count", "2", family, env=env)
    assert one_error_line(many, "task run") == "--wait follows one task: not with --count"
    as_json = berth("task", "run", "--cluster", cluster, "--wait", "-o", "json", family, env=env)
    assert one_error_line(as_json, "task run") == (
        "--wait prints the task's output: not with --output json")
    # Refused before RunTask: nothing was started.
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []


def test_task_run_wait_ends_when_the_task_stops(env, ecs, ecs_unvalidated):
    """No agent runs the task, so it stays PENDING until stopped: --wait
    prints PENDING, then STOPPED, the reason on stderr, and exits 1."""
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    proc = subprocess.Popen([BERTH_BIN, "task", "run", "--cluster", cluster, "--wait", family],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        arns = []
        while not arns and time.monotonic() < deadline:
            arns = ecs.list_tasks(cluster=cluster)["taskArns"]
            time.sleep(0.2)
        assert arns
        time.sleep(1.5)  # seen PENDING at least once
        ecs.stop_task(cluster=cluster, task=arns[0], reason="not today")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1, (out, err)
    lines = out.splitlines()
    assert lines[0] == "task " + arns[0].rsplit("/", 1)[1]
    assert lines[1:] == ["PENDING", "STOPPED"] or lines[1:] == ["PROVISIONING", "PENDING",
                                                                "STOPPED"], out
    assert err == "not today\n"


def test_service_verbs(env, ecs, ecs_unvalidated):
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    family = taskdef(ecs_unvalidated)
    name = unique("svc")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0)
    rows = table(berth("service", "ls", "--cluster", cluster, env=env))
    assert rows[0][0] == "NAME" and rows[1][:2] == [name, "ACTIVE"]
    shown = ok(berth("service", "show", "--cluster", cluster, name, env=env))
    assert "Deployments:" in shown and "PRIMARY" in shown
    listed = json.loads(ok(berth("service", "ls", "-o", "json", "--cluster", cluster, env=env)))
    assert listed["services"][0]["serviceName"] == name
    ok(berth("service", "rm", "--cluster", cluster, "--force", name, env=env))
    missing = berth("service", "show", "--cluster", cluster, unique("absent"), env=env)
    assert "not found in cluster" in one_error_line(missing, "service show")


def test_service_create_and_update(env, ecs, ecs_unvalidated):
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    family = taskdef(ecs_unvalidated)
    name = unique("svc")
    created = ok(berth("service", "create", "--cluster", cluster, name, "--task-definition",
                       family, "--desired-count", "0", "--max-percent", "150",
                       "--min-healthy-percent", "50", "--circuit-breaker", "--rollback",
                       env=env))
    assert "Name:" in created and name in created and "Deployments:" in created
    assert "0 desired" in created
    service = ecs.describe_services(cluster=cluster, services=[name])["services"][0]
    config = service["deploymentConfiguration"]
    assert (config["maximumPercent"], config["minimumHealthyPercent"]) == (150, 50)
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}

    updated = json.loads(ok(berth("service", "update", "-o", "json", "--cluster", cluster, name,
                                  "--desired-count", "2", env=env)))
    assert updated["service"]["desiredCount"] == 2
    second = taskdef(ecs_unvalidated)
    shown = ok(berth("service", "update", "--cluster", cluster, name, "--task-definition",
                     f"{second}:1", "--force-new-deployment", env=env))
    assert f"{second}:1" in shown and "2 desired" in shown

    daemon = unique("daemon")
    made = json.loads(ok(berth("service", "create", "-o", "json", "--cluster", cluster, daemon,
                               "--task-definition", family, "--scheduling-strategy", "DAEMON",
                               env=env)))
    assert made["service"]["schedulingStrategy"] == "DAEMON"

    def refused(*args):
        return one_error_line(berth("service", *args, "--cluster", cluster, env=env),
                              f"service {args[0]}")

    assert refused("create", unique("svc"), "--task-definition", family, "--desired-count",
                   "lots") == "--desired-count lots: not a whole number from 0 to 10000"
    assert refused("create", unique("svc"), "--task-definition", family,
                   "--scheduling-strategy", "SOMETIMES") == (
        "--scheduling-strategy SOMETIMES: REPLICA or DAEMON")
    assert refused("create", unique("svc"), "--task-definition", family, "--rollback") == (
        "--rollback needs --circuit-breaker")
    assert refused("create", unique("svc")) == "--task-definition is required"
    assert refused("update", name).startswith("nothing to change")
    assert refused("update", name, "--desired-count", "-3").startswith("--desired-count -3: ")
    # What the server refuses arrives as one line too.
    assert "ServiceNotFoundException" in refused("update", unique("absent"),
                                                 "--desired-count", "1")


def test_gang_verbs(env, ecs, ecs_unvalidated):
    cluster = unique("nouns")
    ecs.create_cluster(clusterName=cluster)
    for _ in range(2):
        add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=1)
    ecs.run_task(cluster=cluster, taskDefinition=family, count=2,
                 tags=[{"key": "berth:gang", "value": "g1"}])
    assert table(berth("gang", "ls", "--cluster", cluster, env=env))[1][:3] == ["g1", "RUNNING",
                                                                             "2"]
    shown = json.loads(ok(berth("gang", "show", "-o", "json", "--cluster", cluster, "g1",
                                env=env)))
    assert shown["gang"]["size"] == 2
    assert ok(berth("gang", "show", "--cluster", cluster, "g1", env=env)).startswith("gang g1: ")
    missing = berth("gang", "show", "--cluster", cluster, "nope", env=env)
    assert one_error_line(missing, "gang show")


def test_image_verbs(env, aws):
    repo = unique("nounrepo")
    rc, _, err = aws("ecr", "create-repository", "--repository-name", repo)
    assert rc == 0, err
    assert table(berth("image", "ls", repo, env=env)) == [["REPOSITORY", "TAG", "DIGEST"]]
    listed = json.loads(ok(berth("image", "ls", "-o", "json", repo, env=env)))
    assert listed == {"repositories": [{"repositoryName": repo, "imageIds": []}]}
    missing = berth("image", "ls", unique("absent"), env=env)
    assert "RepositoryNotFoundException" in one_error_line(missing, "image ls")


def test_every_verb_has_an_example_in_its_help():
    for noun, verbs in {"cluster": ["ls", "show", "create", "rm"],
                        "node": ["ls", "show", "drain", "activate"],
                        "taskdef": ["ls", "show", "register"],
                        "task": ["ls", "show", "run", "stop"],
                        "service": ["ls", "show", "create", "update", "rm"], "gang": ["ls", "show"],
                        "image": ["ls"]}.items():
        for verb in verbs:
            out = ok(berth(noun, verb, "--help"))
            assert f"Example:\n  berth {noun} {verb}" in out, (noun, verb, out)


def test_a_bad_output_format_is_refused():
    proc = berth("cluster", "ls", "--output", "yaml")
    assert proc.returncode != 0 and "yaml" in proc.stderr
