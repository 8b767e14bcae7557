"""ECS services end to end: a real server and real agents (runc, conmon)
keep services' tasks running, roll deployments, scale, drain, replace the
tasks of a lost node or of failed health checks, roll back a broken
deployment, run DAEMON services and keep a deployment on the image digest
its first task pulled, driven through the aws CLI (its waiters included)
and boto3."""

import contextlib
import json
import os
import signal
import subprocess
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError

import busybox_image
from berth_compat import AWS_CLI, aws_cli_env, unique

STOPPED_BY_SCHEDULER = "ServiceSchedulerInitiated"


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """Runs the aws CLI against a node's server: aws(node, "ecs", ...) ->
    (exit code, parsed JSON output or None, stderr). Its waiters are the
    installed ones (the same acceptors) polling every second instead of every
    15 s, through AWS_DATA_PATH."""
    data_path = tmp_path_factory.mktemp("aws-data")
    loader = botocore.session.get_session().get_component("data_loader")
    waiters = loader.load_service_model("ecs", "waiters-2", "2014-11-13")
    for waiter in waiters["waiters"].values():
        waiter["delay"] = 1
        waiter["maxAttempts"] = 120
    os.makedirs(data_path / "ecs" / "2014-11-13")
    with open(data_path / "ecs" / "2014-11-13" / "waiters-2.json", "w") as f:
        json.dump(waiters, f)

    def run(node, *args):
        proc = subprocess.run(
            [AWS_CLI, "--endpoint-url", node.server.endpoint, "--output", "json", *args],
            env=aws_cli_env(node.server.access_key, node.server.secret_key,
                            {"AWS_DATA_PATH": str(data_path)}),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.returncode, out, proc.stderr

    return run


def register(node, family, command, **container):
    """Registers a revision of family with one essential busybox container;
    returns its ARN."""
    d = {"name": "main", "image": node.image, "memory": 64, "essential": True,
         "command": command, "stopTimeout": 2}
    d.update(container)
    return node.ecs.register_task_definition(
        family=family, containerDefinitions=[d])["taskDefinition"]["taskDefinitionArn"]


def describe_service(node, name):
    return node.ecs.describe_services(cluster=node.cluster, services=[name])["services"][0]


def describe_tasks(node, arns):
    if not arns:
        return []
    return node.ecs.describe_tasks(cluster=node.cluster, tasks=list(arns))["tasks"]


def running_tasks(node, name):
    """The service's tasks whose lastStatus is RUNNING, as DescribeTasks shows them."""
    arns = node.ecs.list_tasks(cluster=node.cluster, serviceName=name,
                               desiredStatus="RUNNING")["taskArns"]
    return [t for t in describe_tasks(node, arns) if t["lastStatus"] == "RUNNING"]


def wait_until(what, predicate, timeout=60, interval=0.5):
    """predicate()'s first true value; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}", pytrace=False)


def wait_stable(node, name, timeout=90):
    node.ecs.get_waiter("services_stable").wait(
        cluster=node.cluster, services=[name],
        WaiterConfig={"Delay": 1, "MaxAttempts": timeout})


def wait_completed(node, name):
    """The service once its PRIMARY deployment's rollout is COMPLETED (the
    scheduler's pass after the counts settle announces it)."""
    def completed():
        s = describe_service(node, name)
        return s if [d["rolloutState"] for d in s["deployments"]] == ["COMPLETED"] else None
    return wait_until(f"service {name} COMPLETED", completed)


def messages(service):
    return [e["message"] for e in service["events"]]


def summary(service):
    """What a failure message needs of a service: its deployments and newest events."""
    keys = ("id", "status", "taskDefinition", "desiredCount", "runningCount", "pendingCount",
            "failedTasks", "rolloutState", "rolloutStateReason")
    return {"taskDefinition": service["taskDefinition"],
            "deployments": [{k: d.get(k) for k in keys} for d in service["deployments"]],
            "events": messages(service)[:8]}


def task_id(arn):
    return arn.rsplit("/", 1)[1]


def container(task):
    return task["containers"][0]


def runc_status(agent, runtime_id):
    """The container's runc status under agent's runc root, or "" when runc
    no longer has it."""
    out = subprocess.run(["runc", "--root", os.path.join(agent.data_dir, "runtime", "runc"),
                          "state", runtime_id], capture_output=True, text=True)
    return json.loads(out.stdout)["status"] if out.returncode == 0 else ""


@contextlib.contextmanager
def deleted_afterwards(node, name):
    """Deletes the service (force) when the test ends, passed or failed, and
    waits a while for its tasks to stop so that the next test starts on an
    idle node (the fixture's clean-up removes whatever is left)."""
    try:
        yield
    finally:
        try:
            node.ecs.delete_service(cluster=node.cluster, service=name, force=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and describe_service(
                    node, name)["status"] != "INACTIVE":
                time.sleep(0.5)
        except ClientError:
            pass


def test_a_rolling_deployment_through_the_aws_cli_replaces_every_task(node, aws):
    family = unique("roll")
    register(node, family, ["sleep", "3600"])
    name = unique("roll")
    with deleted_afterwards(node, name):
        rc, out, err = aws(node, "ecs", "create-service", "--cluster", node.cluster,
                           "--service-name", name, "--task-definition", f"{family}:1",
                           "--desired-count", "2", "--deployment-configuration",
                           "maximumPercent=200,minimumHealthyPercent=50")
        assert rc == 0, err
        first_deployment = out["service"]["deployments"][0]["id"]
        rc, _, err = aws(node, "ecs", "wait", "services-stable", "--cluster", node.cluster,
                         "--services", name)
        assert rc == 0, err
        wait_completed(node, name)
        old = running_tasks(node, name)
        assert len(old) == 2
        assert all(t["taskDefinitionArn"].endswith(f"/{family}:1") for t in old), old
        assert {t["startedBy"] for t in old} == {first_deployment}

        register(node, family, ["sleep", "3601"])
        rc, out, err = aws(node, "ecs", "update-service", "--cluster", node.cluster,
                           "--service", name, "--task-definition", f"{family}:2")
        assert rc == 0, err
        assert out["service"]["taskDefinition"].endswith(f"/{family}:2")
        assert [d["status"] for d in out["service"]["deployments"]] == ["PRIMARY", "ACTIVE"]
        second_deployment = out["service"]["deployments"][0]["id"]
        rc, _, err = aws(node, "ecs", "wait", "services-stable", "--cluster", node.cluster,
                         "--services", name)
        assert rc == 0, err

        service = wait_completed(node, name)
        [deployment] = service["deployments"]
        assert deployment["id"] == second_deployment
        assert deployment["status"] == "PRIMARY"
        assert deployment["taskDefinition"].endswith(f"/{family}:2")
        assert deployment["runningCount"] == 2 and deployment["desiredCount"] == 2
        assert service["runningCount"] == 2 and service["pendingCount"] == 0
        new = running_tasks(node, name)
        assert len(new) == 2
        assert all(t["taskDefinitionArn"].endswith(f"/{family}:2") for t in new), new
        assert {t["startedBy"] for t in new} == {second_deployment}

        # The old tasks were stopped by the scheduler, the second only once a
        # new one ran: minimumHealthyPercent 50 of 2 keeps one healthy task.
        stopped = describe_tasks(node, [t["taskArn"] for t in old])
        assert {t["lastStatus"] for t in stopped} == {"STOPPED"}, stopped
        assert {t["stopCode"] for t in stopped} == {STOPPED_BY_SCHEDULER}, stopped
        last_stop = max(t["stoppingAt"] for t in stopped)
        assert last_stop >= min(t["startedAt"] for t in new), (stopped, new)

        # Events, newest first: the steady state, the stops of the old tasks
        # and the start of the new ones, and before them the first rollout.
        events = service["events"]
        assert [e["createdAt"] for e in events] == sorted(
            (e["createdAt"] for e in events), reverse=True)
        said = messages(service)
        assert said[0] == f"(service {name}) has reached a steady state.", said
        assert said.count(f"(service {name}) has reached a steady state.") == 2, said
        started = [m for m in said if m.startswith(f"(service {name}) has started 2 tasks: ")]
        assert len(started) == 2, said
        assert all(f"(task {task_id(t['taskArn'])})" in started[0] for t in new), said
        stops = [m for m in said if m.startswith(f"(service {name}) has stopped ")]
        assert stops, said
        for t in old:
            assert any(f"(task {task_id(t['taskArn'])})" in m for m in stops), (t, said)


def test_scaling_out_and_in_stops_the_newest_tasks(node):
    family = unique("scale")
    arn = register(node, family, ["sleep", "3600"])
    name = unique("scale")
    with deleted_afterwards(node, name):
        node.ecs.create_service(cluster=node.cluster, serviceName=name, taskDefinition=arn,
                                desiredCount=1)
        wait_stable(node, name)
        [original] = running_tasks(node, name)

        service = node.ecs.update_service(cluster=node.cluster, service=name,
                                          desiredCount=3)["service"]
        assert service["desiredCount"] == 3
        wait_stable(node, name)
        three = running_tasks(node, name)
        assert len(three) == 3
        added = [t for t in three if t["taskArn"] != original["taskArn"]]
        assert len(added) == 2, three
        assert all(t["createdAt"] >= original["createdAt"] for t in added)
        # Scaling out adds tasks to the deployment; it does not make another.
        assert len(describe_service(node, name)["deployments"]) == 1

        node.ecs.update_service(cluster=node.cluster, service=name, desiredCount=1)
        wait_stable(node, name)
        remaining = running_tasks(node, name)
        assert [t["taskArn"] for t in remaining] == [original["taskArn"]]
        for t in describe_tasks(node, [t["taskArn"] for t in added]):
            assert t["lastStatus"] == "STOPPED" or t["desiredStatus"] == "STOPPED", t
            assert t["stopCode"] == STOPPED_BY_SCHEDULER, t
            assert t["stoppedReason"].startswith(
                "Scaling activity initiated by (deployment ecs-svc/"), t
        node.ecs.get_waiter("tasks_stopped").wait(
            cluster=node.cluster, tasks=[t["taskArn"] for t in added],
            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        service = wait_completed(node, name)
        assert service["desiredCount"] == 1 and service["runningCount"] == 1
        said = messages(service)
        assert any(m.startswith(f"(service {name}) has stopped 2 running tasks: ")
                   for m in said), said


def test_delete_service_needs_force_while_scaled_above_zero(node, aws):
    family = unique("del")
    register(node, family, ["sleep", "3600"])
    name = unique("del")
    with deleted_afterwards(node, name):
        rc, _, err = aws(node, "ecs", "create-service", "--cluster", node.cluster,
                         "--service-name", name, "--task-definition", family,
                         "--desired-count", "2")
        assert rc == 0, err
        rc, _, err = aws(node, "ecs", "wait", "services-stable", "--cluster", node.cluster,
                         "--services", name)
        assert rc == 0, err
        before = sorted(t["taskArn"] for t in running_tasks(node, name))
        assert len(before) == 2

        rc, out, err = aws(node, "ecs", "delete-service", "--cluster", node.cluster,
                           "--service", name)
        assert rc != 0 and out is None
        assert "InvalidParameterException" in err, err
        assert "The service cannot be stopped while it is scaled above 0." in err, err
        service = describe_service(node, name)
        assert service["status"] == "ACTIVE" and service["desiredCount"] == 2, service
        assert sorted(t["taskArn"] for t in running_tasks(node, name)) == before

        rc, out, err = aws(node, "ecs", "delete-service", "--cluster", node.cluster,
                           "--service", name, "--force")
        assert rc == 0, err
        assert out["service"]["status"] == "DRAINING", out
        assert out["service"]["desiredCount"] == 0
        rc, _, err = aws(node, "ecs", "wait", "services-inactive", "--cluster", node.cluster,
                         "--services", name)
        assert rc == 0, err
        service = describe_service(node, name)
        assert service["status"] == "INACTIVE", service
        stopped = describe_tasks(node, before)
        assert {t["lastStatus"] for t in stopped} == {"STOPPED"}, stopped
        assert {t["stopCode"] for t in stopped} == {STOPPED_BY_SCHEDULER}, stopped
        rc, out, err = aws(node, "ecs", "list-services", "--cluster", node.cluster)
        assert rc == 0 and service["serviceArn"] not in out["serviceArns"], (out, err)


def test_a_lost_nodes_task_is_replaced_on_another_and_its_container_stops_on_return(
        two_nodes):
    nodes = two_nodes
    arn = register(nodes, unique("lost"), ["sleep", "3600"])
    name = unique("lost")
    nodes.ecs.create_service(cluster=nodes.cluster, serviceName=name, taskDefinition=arn,
                             desiredCount=1)
    wait_stable(nodes, name)
    [task] = running_tasks(nodes, name)
    lost = nodes.agent_of(task["containerInstanceArn"])
    [other] = [a for a in nodes.agents if a is not lost]
    runtime_id = container(task)["runtimeId"]
    lost.kill(signal.SIGKILL)

    # The lost node's task stops (its container, with no agent to stop it,
    # runs on under conmon) and the service starts a replacement on the
    # other node.
    def stopped():
        t = describe_tasks(nodes, [task["taskArn"]])[0]
        return t if t["lastStatus"] == "STOPPED" else None
    gone = wait_until("the lost node's task to stop", stopped, timeout=30, interval=0.2)
    assert gone["stopCode"] == "TerminationNotice", gone
    assert "was lost" in gone["stoppedReason"], gone

    def replaced():
        running = running_tasks(nodes, name)
        return running if running and running[0]["taskArn"] != task["taskArn"] else None
    [replacement] = wait_until("a replacement RUNNING", replaced, timeout=60)
    assert replacement["containerInstanceArn"] == other.instance_arn, replacement
    assert replacement["startedBy"] == task["startedBy"]
    assert runc_status(lost, runtime_id) == "running"

    # The lost agent returns: the task is not among its assignments, so it
    # stops the orphan container. The API shows the old task STOPPED and one
    # RUNNING task all along.
    lost.start()
    lost.wait_joined(nodes.ecs)
    deadline = time.monotonic() + 60
    while runc_status(lost, runtime_id) == "running" and time.monotonic() < deadline:
        [old] = describe_tasks(nodes, [task["taskArn"]])
        assert old["lastStatus"] == "STOPPED", old
        assert [t["taskArn"] for t in running_tasks(nodes, name)] == [replacement["taskArn"]]
        time.sleep(0.2)
    assert runc_status(lost, runtime_id) != "running", lost.log_tail()
    wait_stable(nodes, name)
    [old] = describe_tasks(nodes, [task["taskArn"]])
    for key in ("lastStatus", "desiredStatus", "stopCode", "stoppedReason", "stoppedAt"):
        assert old[key] == gone[key], key
    assert [t["taskArn"] for t in running_tasks(nodes, name)] == [replacement["taskArn"]]
    service = describe_service(nodes, name)
    assert service["runningCount"] == 1 and service["desiredCount"] == 1
    nodes.ecs.delete_service(cluster=nodes.cluster, service=name, force=True)


def test_an_unhealthy_task_is_replaced(node):
    # Healthy at first; sick from 12 s on: the check (every 5 s, ECS's
    # shortest interval) fails once and the task is UNHEALTHY.
    arn = register(node, unique("sick"), ["sh", "-c", "sleep 12; touch /tmp/sick; sleep 3600"],
                   healthCheck={"command": ["CMD-SHELL", "test ! -f /tmp/sick"], "interval": 5,
                                "timeout": 2, "retries": 1, "startPeriod": 0})
    name = unique("sick")
    with deleted_afterwards(node, name):
        node.ecs.create_service(cluster=node.cluster, serviceName=name, taskDefinition=arn,
                                desiredCount=1)
        [first] = wait_until("a RUNNING task", lambda: running_tasks(node, name))

        def health(status):
            def check():
                t = describe_tasks(node, [first["taskArn"]])[0]
                return t if t.get("healthStatus") == status else None
            return check
        wait_until("HEALTHY", health("HEALTHY"), timeout=30, interval=0.25)
        sick = wait_until("UNHEALTHY", health("UNHEALTHY"), timeout=30, interval=0.25)
        assert container(sick)["healthStatus"] == "UNHEALTHY", sick

        def stopped():
            t = describe_tasks(node, [first["taskArn"]])[0]
            return t if t["desiredStatus"] == "STOPPED" else None
        stopping = wait_until("the service to stop the UNHEALTHY task", stopped, timeout=30)
        assert stopping["stopCode"] == STOPPED_BY_SCHEDULER, stopping
        assert stopping["stoppedReason"] == "Task failed container health checks", stopping

        def replaced():
            running = [t for t in running_tasks(node, name) if t["taskArn"] != first["taskArn"]]
            return running or None
        [replacement] = wait_until("a replacement RUNNING", replaced, timeout=60)
        assert replacement["startedBy"] == first["startedBy"]
        node.ecs.get_waiter("tasks_stopped").wait(
            cluster=node.cluster, tasks=[first["taskArn"]],
            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        said = messages(describe_service(node, name))
        assert any(m.startswith(f"(service {name}) has stopped 1 running tasks: ")
                   and f"(task {task_id(first['taskArn'])})" in m for m in said), said


def test_the_circuit_breaker_rolls_back_a_deployment_whose_tasks_fail_to_start(node, aws):
    family = unique("breaker")
    register(node, family, ["sleep", "3600"])
    name = unique("breaker")
    with deleted_afterwards(node, name):
        service = node.ecs.create_service(
            cluster=node.cluster, serviceName=name, taskDefinition=f"{family}:1", desiredCount=1,
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200, "minimumHealthyPercent": 100})["service"]
        good_deployment = service["deployments"][0]["id"]
        wait_stable(node, name)
        wait_completed(node, name)  # the deployment a rollback goes back to
        assert len(running_tasks(node, name)) == 1

        # Revision 2's image is not in the registry: its tasks stop before
        # they run.
        register(node, family, ["sleep", "3600"],
                 image=f"127.0.0.1:{node.server.port}/busybox:no-such-tag")
        service = node.ecs.update_service(cluster=node.cluster, service=name,
                                          taskDefinition=f"{family}:2")["service"]
        broken = service["deployments"][0]
        assert broken["taskDefinition"].endswith(f"/{family}:2")
        assert broken["rolloutState"] == "IN_PROGRESS"

        # Until it trips, the broken deployment counts its failed tasks; once
        # it has, whenever it is still shown it is FAILED. Every moment one
        # task of revision 1 runs (minimumHealthyPercent 100).
        most_failed = 0
        deadline = time.monotonic() + 90
        while True:
            service = describe_service(node, name)
            shown = [d for d in service["deployments"] if d["id"] == broken["id"]]
            if shown and shown[0]["status"] == "PRIMARY":
                assert shown[0]["rolloutState"] == "IN_PROGRESS", shown
                most_failed = max(most_failed, shown[0].get("failedTasks", 0))
            elif shown:
                assert shown[0]["rolloutState"] == "FAILED", shown
                assert shown[0]["rolloutStateReason"].startswith(
                    "ECS deployment circuit breaker"), shown
                assert shown[0].get("failedTasks", 0) >= 3, shown
            running = running_tasks(node, name)
            assert any(t["taskDefinitionArn"].endswith(f"/{family}:1") for t in running), running
            if service["taskDefinition"].endswith(f"/{family}:1"):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"no rollback within 90 s: {summary(service)}", pytrace=False)
            time.sleep(0.25)
        assert most_failed >= 1, "failedTasks never counted a failure"
        failed = [t for t in describe_tasks(node, node.ecs.list_tasks(
            cluster=node.cluster, serviceName=name, desiredStatus="STOPPED")["taskArns"])
            if t["startedBy"] == broken["id"]]
        assert len(failed) >= 3, failed
        for t in failed:
            assert t["stopCode"] == "TaskFailedToStart", t
            assert t["stoppedReason"].startswith("CannotPullContainerError"), t
            assert "startedAt" not in t, t

        rc, _, err = aws(node, "ecs", "wait", "services-stable", "--cluster", node.cluster,
                         "--services", name)
        assert rc == 0, err
        service = wait_completed(node, name)
        assert service["taskDefinition"].endswith(f"/{family}:1"), service
        [primary] = service["deployments"]
        assert primary["taskDefinition"].endswith(f"/{family}:1")
        assert primary["id"] != broken["id"]
        running = running_tasks(node, name)
        assert len(running) == 1 and running[0]["taskDefinitionArn"].endswith(f"/{family}:1")
        said = messages(service)
        assert (f"(service {name}) (deployment {broken['id']}) deployment failed: "
                "tasks failed to start.") in said, said
        rolling_back = [m for m in said
                        if m.startswith(f"(service {name}) rolling back to deployment ecs-svc/")]
        assert rolling_back, said
        assert said.index(rolling_back[0]) < said.index(
            f"(service {name}) (deployment {broken['id']}) deployment failed: "
            "tasks failed to start."), said
        back_to = rolling_back[0].rsplit(" ", 1)[1].rstrip(".")
        assert back_to in (good_deployment, primary["id"]), said


def test_a_daemon_service_runs_one_task_per_instance_and_leaves_a_draining_one(
        two_nodes):
    nodes = two_nodes
    arn = register(nodes, unique("daemon"), ["sleep", "3600"])
    name = unique("daemon")
    service = nodes.ecs.create_service(cluster=nodes.cluster, serviceName=name,
                                       taskDefinition=arn,
                                       schedulingStrategy="DAEMON")["service"]
    assert service["schedulingStrategy"] == "DAEMON"

    def one_per_instance():
        running = running_tasks(nodes, name)
        placed = sorted(t["containerInstanceArn"] for t in running)
        return running if placed == sorted(nodes.instances) else None
    wait_until("a task RUNNING on each instance", one_per_instance, timeout=60)
    wait_stable(nodes, name)
    service = describe_service(nodes, name)
    # A DAEMON service's desiredCount is the number of instances it runs on.
    assert service["desiredCount"] == 2 and service["runningCount"] == 2, service

    draining, staying = nodes.agents
    [drained] = [t for t in running_tasks(nodes, name)
                 if t["containerInstanceArn"] == draining.instance_arn]
    [kept] = [t for t in running_tasks(nodes, name)
              if t["containerInstanceArn"] == staying.instance_arn]
    nodes.ecs.update_container_instances_state(
        cluster=nodes.cluster, containerInstances=[draining.instance_arn], status="DRAINING")
    nodes.ecs.get_waiter("tasks_stopped").wait(
        cluster=nodes.cluster, tasks=[drained["taskArn"]],
        WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    [stopped] = describe_tasks(nodes, [drained["taskArn"]])
    assert stopped["stopCode"] == STOPPED_BY_SCHEDULER, stopped

    def settled():
        s = describe_service(nodes, name)
        return s if s["desiredCount"] == 1 and s["runningCount"] == 1 else None
    wait_until("desiredCount 1", settled, timeout=30)
    wait_stable(nodes, name)
    # A few scheduler passes later the task is still not replaced elsewhere.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert [t["taskArn"] for t in running_tasks(nodes, name)] == [kept["taskArn"]]
        time.sleep(0.5)
    nodes.ecs.delete_service(cluster=nodes.cluster, service=name, force=True)


@pytest.mark.parametrize("consistency", ["enabled", "disabled"])
def test_later_tasks_run_the_digest_the_first_task_pulled_unless_disabled(two_nodes,
                                                                          consistency):
    """versionConsistency: once the first task of a deployment has pulled
    the tag, the service's later tasks run that digest even after the tag
    moved; with "disabled" a task pulls the tag as it is. The later task
    runs on the other node, which has not pulled the tag before (an agent
    keeps the tags it pulled)."""
    nodes = two_nodes
    repo = unique("consistent")
    first = busybox_image.build(env=("BUILD=1",))
    second = busybox_image.build(env=("BUILD=2",))
    nodes.registry.push_image(repo, first, "latest")
    family, name = unique("consistent"), unique("consistent")
    raw = nodes.server.raw()
    # Debian's boto3 predates versionConsistency: these requests are hand-signed.
    registered = raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": [{
            "name": "main", "image": f"127.0.0.1:{nodes.server.port}/{repo}:latest",
            "memory": 64, "command": ["sleep", "3600"], "stopTimeout": 2,
            "versionConsistency": consistency}]})
    assert registered.status == 200, registered

    def revision_images():
        service = raw.call("DescribeServices", {"cluster": nodes.cluster,
                                                "services": [name]}).json["services"][0]
        arn = service["currentServiceRevisions"][0]["arn"]
        return raw.call("DescribeServiceRevisions", {"serviceRevisionArns": [arn]}).json[
            "serviceRevisions"][0]["containerImages"]

    with deleted_afterwards(nodes, name):
        nodes.ecs.create_service(cluster=nodes.cluster, serviceName=name, taskDefinition=family,
                                 desiredCount=1,
                                 placementConstraints=[{"type": "distinctInstance"}])
        [task] = wait_until("the first task to run", lambda: running_tasks(nodes, name))
        assert container(task)["imageDigest"] == first.digest
        if consistency == "enabled":
            images = wait_until("the revision to record the digest",
                                lambda: [i for i in revision_images() if "imageDigest" in i])
            assert images == [{"containerName": "main", "imageDigest": first.digest,
                               "image": f"127.0.0.1:{nodes.server.port}/{repo}:latest"}]
        nodes.registry.push_image(repo, second, "latest")  # the tag moves
        nodes.ecs.update_service(cluster=nodes.cluster, service=name, desiredCount=2)
        tasks = wait_until("a second task to run",
                           lambda: (lambda t: t if len(t) == 2 else None)(
                               running_tasks(nodes, name)))
        [later] = [t for t in tasks if t["taskArn"] != task["taskArn"]]
        assert later["containerInstanceArn"] != task["containerInstanceArn"]
        expected = first.digest if consistency == "enabled" else second.digest
        assert container(later)["imageDigest"] == expected, \
            summary(describe_service(nodes, name))
