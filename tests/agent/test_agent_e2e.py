"""The node agent end to end: real server, agent, runc, conmon and overlay
mounts, driven through boto3, the aws CLI and `berth logs`."""

import json
import os
import signal
import subprocess
import time

import pytest

import busybox_image
from berth_agent import container, logs, wait_task
from berth_compat import AWS_CLI, aws_cli_env, unique
from berth_nodes import NODE_LOG_MAX_BYTES


def register(node, containers, **extra):
    family = unique("e2e")
    defs = []
    for c in containers:
        d = {"name": "main", "image": node.image, "memory": 64, "essential": True}
        d.update(c)
        defs.append(d)
    td = node.ecs.register_task_definition(family=family, containerDefinitions=defs, **extra)
    return td["taskDefinition"]["taskDefinitionArn"]


def run(node, containers, **extra):
    arn = register(node, containers, **extra)
    out = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn)
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]


def test_registers_the_node_with_its_devices(node):
    arns = node.ecs.list_container_instances(cluster=node.cluster)["containerInstanceArns"]
    inst = node.ecs.describe_container_instances(
        cluster=node.cluster, containerInstances=arns)["containerInstances"][0]
    attrs = {a["name"]: a.get("value") for a in inst["attributes"]}
    assert attrs["ecs.instance-type"] == "trn1.32xlarge"
    assert attrs["ecs.os-type"] == "linux"
    assert inst["agentConnected"] is True
    cpu = next(r for r in inst["registeredResources"] if r["name"] == "CPU")["integerValue"]
    assert cpu == 1024 * os.cpu_count()


def test_runs_a_task_to_its_exit_code_and_keeps_its_logs(node):
    arn = run(node, [{"command": ["sh", "-c", "echo hello from the task; echo to stderr >&2; exit 3"]}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    main = container(task)
    assert main["exitCode"] == 3, task
    assert task["stopCode"] == "EssentialContainerExited", task
    assert task["pullStartedAt"] <= task["pullStoppedAt"]
    assert main["runtimeId"]
    out = logs(node, arn)
    assert "hello from the task\n" in out and "to stderr\n" in out


def test_bundle_follows_the_task_definition(node):
    volume = node.base / "shared-volume"
    volume.mkdir()
    volume.chmod(0o777)  # the container runs as uid 1000
    arn = run(node, [{
        "command": ["sh", "-c",
                    "id -u; pwd; echo $GREETING; cat /etc/hostname; "
                    "echo written > /shared/out.txt; touch /ro-test 2>/dev/null || echo read-only; "
                    "grep -c ' /dev/shm ' /proc/mounts; ls /scratch && echo tmpfs-ok"],
        "environment": [{"name": "GREETING", "value": "hi from env"}],
        "workingDirectory": "/tmp",
        "user": "trainer",
        "hostname": "trainer-0",
        "readonlyRootFilesystem": True,
        "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}],
        "linuxParameters": {"sharedMemorySize": 64,
                            "tmpfs": [{"containerPath": "/scratch", "size": 16}]},
    }], volumes=[{"name": "shared", "host": {"sourcePath": str(volume)}}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert container(task)["exitCode"] == 0, (task, logs(node, arn))
    out = logs(node, arn).splitlines()
    assert out[:4] == ["1000", "/tmp", "hi from env", "trainer-0"], out
    assert "read-only" in out and "tmpfs-ok" in out
    assert (volume / "out.txt").read_text() == "written\n"


def test_neuron_devices_are_given_exclusively(node):
    # 16 devices: two tasks of 8 run side by side, a third is refused.
    want = [{"command": ["sh", "-c", "ls /dev | grep neuron | sort; sleep 30"],
             "resourceRequirements": [{"type": "NeuronDevice", "value": "8"}]}]
    arn = register(node, want)
    first = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn)["tasks"][0]["taskArn"]
    second = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn)["tasks"][0]["taskArn"]
    third = node.ecs.run_task(cluster=node.cluster, taskDefinition=arn)
    assert not third["tasks"]
    assert third["failures"] and "NEURON" in third["failures"][0]["reason"].upper(), third
    seen = []
    for t in (first, second):
        wait_task(node.ecs, node.cluster, t, "RUNNING")
        # neuronDeviceIds is berth's own member: boto3 drops it, raw JSON has it.
        raw = node.server.raw().call("DescribeTasks", {"cluster": node.cluster, "tasks": [t]})
        ids = sorted(int(i) for i in container(raw.json["tasks"][0])["neuronDeviceIds"])
        assert len(ids) == 8
        deadline = time.monotonic() + 20
        while True:
            visible = [line for line in logs(node, t).splitlines() if line.startswith("neuron")]
            if len(visible) == 8 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sorted(int(v[len("neuron"):]) for v in visible) == ids
        seen.append(set(ids))
    assert not seen[0] & seen[1]
    for t in (first, second):
        node.ecs.stop_task(cluster=node.cluster, task=t, reason="test done")
    for t in (first, second):
        wait_task(node.ecs, node.cluster, t, "STOPPED", timeout=60)


def test_stop_task_terminates_the_container(node):
    arn = run(node, [{"command": ["sh", "-c", "trap 'echo got TERM; exit 143' TERM; "
                                              "while true; do sleep 0.1; done"],
                      "stopTimeout": 10}])
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    node.ecs.stop_task(cluster=node.cluster, task=arn, reason="enough training")
    proc = subprocess.run([AWS_CLI, "--endpoint-url", node.server.endpoint, "ecs", "wait",
                           "tasks-stopped", "--cluster", node.cluster, "--tasks", arn],
                          env=aws_cli_env(node.server.access_key, node.server.secret_key),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    task = node.ecs.describe_tasks(cluster=node.cluster, tasks=[arn])["tasks"][0]
    assert task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "enough training"
    assert container(task)["exitCode"] == 143
    assert "got TERM" in logs(node, arn)


def test_a_chatty_container_cannot_fill_the_disk(node):
    # About 6 MiB of log records against the node's 1 MiB cap: conmon starts
    # the file over each time it is full; the latest lines are kept and read.
    arn = run(node, [{"command": ["sh", "-c",
                                  "i=0; while [ $i -lt 40000 ]; do "
                                  "echo line $i $(printf '%080d' 0); i=$((i+1)); done; "
                                  "echo the last line"]}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert container(task)["exitCode"] == 0, task
    task_id = arn.rsplit("/", 1)[1]
    runtime = os.path.join(node.agent.data_dir, "runtime", "containers")
    files = [os.path.join(runtime, d, "ctr.log") for d in os.listdir(runtime) if task_id in d]
    assert files, os.listdir(runtime)
    for path in files:
        assert os.path.getsize(path) <= NODE_LOG_MAX_BYTES, path
    out = logs(node, arn)
    assert out.endswith("the last line\n"), out[-200:]
    assert "line 0 " not in out


def test_logs_follow_a_running_container(node):
    arn = run(node, [{"command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; sleep 0.5; done"]}])
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    out = logs(node, arn, "-f")
    assert out.splitlines() == [f"line {i}" for i in range(1, 6)]


def test_agent_restart_adopts_containers_and_records_exits(node):
    marker = node.base / "starts"
    marker.mkdir(exist_ok=True)
    volumes = [{"name": "m", "host": {"sourcePath": str(marker)}}]
    mounts = [{"sourceVolume": "m", "containerPath": "/m"}]
    # One task outlives the agent's absence (its non-essential sidecar
    # does not); the other exits while it is away.
    long_arn = run(node, [{"command": ["sh", "-c", "echo start >> /m/long; sleep 600"],
                           "mountPoints": mounts},
                          {"name": "side", "essential": False,
                           "command": ["sh", "-c", "sleep 3; exit 5"]}], volumes=volumes)
    short_arn = run(node, [{"command": ["sh", "-c", "echo start >> /m/short; sleep 3; exit 7"],
                            "mountPoints": mounts}], volumes=volumes)
    wait_task(node.ecs, node.cluster, long_arn, "RUNNING")
    wait_task(node.ecs, node.cluster, short_arn, "RUNNING")
    node.agent.kill(signal.SIGKILL)
    # The short task exits while no agent watches. Meanwhile the instance
    # goes agentConnected=false (heartbeat timeout 4 s) and takes no task.
    inst_arn = node.ecs.list_container_instances(cluster=node.cluster)["containerInstanceArns"][0]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        inst = node.ecs.describe_container_instances(
            cluster=node.cluster, containerInstances=[inst_arn])["containerInstances"][0]
        if not inst["agentConnected"]:
            break
        time.sleep(0.2)
    assert not inst["agentConnected"], inst
    refused = node.ecs.run_task(cluster=node.cluster, taskDefinition=register(node, [{}]))
    assert not refused["tasks"] and refused["failures"][0]["reason"] == "AGENT", refused
    node.agent.start()
    task = wait_task(node.ecs, node.cluster, short_arn, "STOPPED", timeout=60)
    assert container(task)["exitCode"] == 7
    # The sidecar's exit is reported as its own container state change:
    # the task runs on, with the sidecar STOPPED.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        long_task = node.ecs.describe_tasks(cluster=node.cluster, tasks=[long_arn])["tasks"][0]
        if container(long_task, "side")["lastStatus"] == "STOPPED":
            break
        time.sleep(0.2)
    assert container(long_task, "side")["lastStatus"] == "STOPPED", long_task
    assert container(long_task, "side")["exitCode"] == 5, long_task
    assert long_task["lastStatus"] == "RUNNING"
    assert container(long_task)["lastStatus"] == "RUNNING"
    time.sleep(1)
    assert (marker / "long").read_text() == "start\n"  # never started twice
    assert (marker / "short").read_text() == "start\n"
    node.ecs.stop_task(cluster=node.cluster, task=long_arn)
    wait_task(node.ecs, node.cluster, long_arn, "STOPPED", timeout=60)


def test_a_killed_container_stops_its_task(node):
    arn = run(node, [{"command": ["sleep", "600"]}])
    task = wait_task(node.ecs, node.cluster, arn, "RUNNING")
    runtime_id = container(task)["runtimeId"]
    runc_root = os.path.join(node.agent.data_dir, "runtime", "runc")
    subprocess.run(["runc", "--root", runc_root, "kill", runtime_id, "KILL"], check=True)
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert container(task)["exitCode"] == 137
    assert task["stopCode"] == "EssentialContainerExited"


def test_memory_limit_kills_with_out_of_memory_error(node):
    arn = run(node, [{"memory": 16,
                      "command": ["sh", "-c", "head -c 200m /dev/zero | tail > /dev/null"]}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert "OutOfMemoryError" in (container(task).get("reason") or ""), task


def test_ulimit_above_the_host_stops_the_task_with_a_reason(node):
    arn = run(node, [{"ulimits": [{"name": "nofile", "softLimit": 1024,
                                   "hardLimit": 2 ** 31 - 1}]}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert "nofile" in task["stoppedReason"] and "host" in task["stoppedReason"], task
    assert task["stopCode"] == "TaskFailedToStart"


def test_image_whiteouts_apply(node):
    image = busybox_image.build(extra_layers=[
        [("etc/doomed.txt", "file", b"x", 0o644), ("opt", "dir", None, 0o755),
         ("opt/old.txt", "file", b"old", 0o644)],
        [("etc/.wh.doomed.txt", "file", b"", 0o644), ("opt", "dir", None, 0o755),
         ("opt/.wh..wh..opq", "file", b"", 0o644), ("opt/new.txt", "file", b"new", 0o644)],
    ])
    node.registry.push_image("whiteout", image, "v1")
    arn = run(node, [{"image": f"127.0.0.1:{node.server.port}/whiteout:v1",
                      "command": ["sh", "-c", "ls /etc; ls /opt"]}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert container(task)["exitCode"] == 0
    out = logs(node, arn).split()
    assert "doomed.txt" not in out and "old.txt" not in out and "new.txt" in out


@pytest.mark.parametrize("entries, what", [
    ([("../escaped.txt", "file", b"evil", 0o644)], "../escaped.txt"),
    ([("link", "symlink", "../../../../../../tmp", 0o777),
      ("link/escaped.txt", "file", b"evil", 0o644)], "link"),
])
def test_malicious_layers_are_refused(node, entries, what):
    image = busybox_image.build(extra_layers=[entries])
    repo = unique("evil")
    node.registry.push_image(repo, image, "v1")
    arn = run(node, [{"image": f"127.0.0.1:{node.server.port}/{repo}:v1"}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert task["stoppedReason"].startswith("CannotPullContainerError"), task
    assert what in task["stoppedReason"], task
    assert not os.path.exists("/tmp/escaped.txt")


def test_missing_image_fails_the_pull(node):
    arn = run(node, [{"image": f"127.0.0.1:{node.server.port}/busybox:no-such-tag"}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert task["stoppedReason"].startswith("CannotPullContainerError"), task
    assert task["stopCode"] == "TaskFailedToStart"


def test_stopped_tasks_are_removed_after_the_retention(node):
    node.agent.stop()
    node.agent.extra_args = ["--retention", "1"]
    node.agent.start()
    node.agent.wait_joined(node.ecs)
    arn = run(node, [{"command": ["sh", "-c", "echo short-lived"]}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    task_dir = os.path.join(node.agent.data_dir, "tasks", arn.rsplit("/", 1)[1])
    container_dir = os.path.join(node.agent.data_dir, "runtime", "containers",
                                 container(task)["runtimeId"])
    deadline = time.monotonic() + 20
    while (os.path.exists(task_dir) or os.path.exists(container_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(task_dir), "task folder kept past its retention"
    assert not os.path.exists(container_dir), "bundle and log kept past their retention"
    assert not any(os.path.exists(f"/sys/fs/cgroup/{c}/berth/{arn.rsplit('/', 1)[1]}")
                   for c in ("memory", "cpu", "pids"))


def runc_status(node, runtime_id):
    """The container's runc status, or "" when runc no longer has it."""
    runc_root = os.path.join(node.agent.data_dir, "runtime", "runc")
    out = subprocess.run(["runc", "--root", runc_root, "state", runtime_id], capture_output=True,
                         text=True)
    return json.loads(out.stdout)["status"] if out.returncode == 0 else ""


def test_a_lost_agents_tasks_stop_and_its_return_stops_their_containers(quickly_lost_node):
    node = quickly_lost_node
    arn = run(node, [{"command": ["sleep", "600"], "stopTimeout": 2}])
    task = wait_task(node.ecs, node.cluster, arn, "RUNNING")
    runtime_id = container(task)["runtimeId"]
    inst_arn = task["containerInstanceArn"]
    inst_id = inst_arn.rsplit("/", 1)[1]
    node.agent.kill(signal.SIGKILL)

    # Lost after 3 s of silence (looked for every second): the task stops
    # while its container, with no agent to stop it, still runs.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task = node.ecs.describe_tasks(cluster=node.cluster, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            break
        time.sleep(0.2)
    assert task["lastStatus"] == "STOPPED", task
    assert task["desiredStatus"] == "STOPPED"
    assert task["stopCode"] == "TerminationNotice"
    assert task["stoppedReason"].startswith(
        f"Container instance {inst_id} was lost: its agent has been silent for "), task
    assert "stoppedAt" in task
    assert container(task)["lastStatus"] == "STOPPED"
    assert runc_status(node, runtime_id) == "running"
    inst = node.ecs.describe_container_instances(
        cluster=node.cluster, containerInstances=[inst_arn])["containerInstances"][0]
    assert inst["status"] == "ACTIVE" and not inst["agentConnected"], inst
    assert inst["runningTasksCount"] == 0 and inst["pendingTasksCount"] == 0
    remaining = {r["name"]: r.get("integerValue") for r in inst["remainingResources"]}
    registered = {r["name"]: r.get("integerValue") for r in inst["registeredResources"]}
    assert remaining["CPU"] == registered["CPU"]
    assert remaining["MEMORY"] == registered["MEMORY"]

    # The agent comes back: the task is not among its assignments any more,
    # so it stops the container and reports it, which adds the exit code and
    # changes nothing else.
    node.agent.start()
    node.agent.wait_joined(node.ecs)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and runc_status(node, runtime_id) == "running":
        time.sleep(0.2)
    assert runc_status(node, runtime_id) != "running", node.agent.log_tail()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = node.ecs.describe_tasks(cluster=node.cluster, tasks=[arn])["tasks"][0]
        if "exitCode" in container(after):
            break
        time.sleep(0.2)
    assert container(after)["exitCode"] in (137, 143), after
    for key in ("lastStatus", "desiredStatus", "stopCode", "stoppedReason", "stoppedAt"):
        assert after[key] == task[key], key
    assert node.ecs.list_tasks(cluster=node.cluster)["taskArns"] == []
    # The instance runs tasks again.
    again = run(node, [{"command": ["true"]}])
    assert wait_task(node.ecs, node.cluster, again, "STOPPED")["stopCode"] == \
        "EssentialContainerExited"


def test_containers_start_in_depends_on_order(node):
    volume = node.base / "order-volume"
    volume.mkdir()
    mount = [{"sourceVolume": "shared", "containerPath": "/shared"}]
    append = "echo {0} >> /shared/order"
    # Names sort against the order they must start in.
    arn = run(node, [
        {"name": "a-app", "command": ["sh", "-c", append.format("app")], "mountPoints": mount,
         "dependsOn": [{"containerName": "b-db", "condition": "COMPLETE"}]},
        {"name": "b-db", "essential": False, "mountPoints": mount,
         "command": ["sh", "-c", "sleep 1; " + append.format("db") + "; exit 5"],
         "dependsOn": [{"containerName": "c-init", "condition": "SUCCESS"}]},
        {"name": "c-init", "essential": False, "mountPoints": mount,
         "command": ["sh", "-c", "sleep 1; " + append.format("init")]},
    ], volumes=[{"name": "shared", "host": {"sourcePath": str(volume)}}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert (volume / "order").read_text().split() == ["init", "db", "app"], task
    assert container(task, "a-app")["exitCode"] == 0, task
    assert container(task, "b-db")["exitCode"] == 5, task  # COMPLETE takes any exit code


def test_a_failed_success_dependency_stops_the_task_with_its_reason(node):
    arn = run(node, [
        {"name": "app", "command": ["sh", "-c", "echo should not run"],
         "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]},
        {"name": "migrate", "essential": False, "command": ["sh", "-c", "exit 4"]},
    ])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert "'migrate'" in task["stoppedReason"] and "code 4" in task["stoppedReason"], task
    assert container(task, "migrate")["exitCode"] == 4
    assert "runtimeId" not in container(task, "app"), task


def wait_health(node, arn, health, timeout=40):
    deadline = time.monotonic() + timeout
    task = None
    while time.monotonic() < deadline:
        task = node.ecs.describe_tasks(cluster=node.cluster, tasks=[arn])["tasks"][0]
        if task.get("healthStatus") == health:
            return task
        time.sleep(0.5)
    pytest.fail(f"task not {health} within {timeout} s: {task!r}", pytrace=False)


def test_health_checks_are_shown_by_describe_tasks(node):
    # interval 5 s is ECS's minimum; both tasks run side by side.
    healthy = run(node, [
        # PID 1 ignores SIGTERM: a short stopTimeout lets the stop end soon.
        {"name": "web", "command": ["sh", "-c", "touch /tmp/ready; sleep 120"], "stopTimeout": 2,
         "healthCheck": {"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5}},
        {"name": "app", "command": ["sleep", "120"], "stopTimeout": 2,
         "dependsOn": [{"containerName": "web", "condition": "HEALTHY"}]},
    ])
    # The check outlives its 2 s timeout: killed, and a failure.
    unhealthy = run(node, [
        {"command": ["sleep", "120"], "stopTimeout": 2,
         "healthCheck": {"command": ["CMD", "sleep", "30"], "interval": 5, "timeout": 2,
                         "retries": 1}},
    ])
    try:
        assert wait_health(node, unhealthy, "UNKNOWN", timeout=20)["lastStatus"] == "RUNNING"
        task = wait_health(node, healthy, "HEALTHY")
        assert container(task, "web")["healthStatus"] == "HEALTHY", task
        assert container(task, "app")["healthStatus"] == "UNKNOWN", task  # no check
        task = wait_task(node.ecs, node.cluster, healthy, "RUNNING")
        assert container(task, "app")["runtimeId"], task  # started once web was HEALTHY

        task = wait_health(node, unhealthy, "UNHEALTHY")
        assert container(task)["healthStatus"] == "UNHEALTHY", task
        # A task run outside a service keeps running while unhealthy.
        assert task["lastStatus"] == "RUNNING", task
    finally:
        for arn in (healthy, unhealthy):
            node.ecs.stop_task(cluster=node.cluster, task=arn, reason="test over")
    for arn in (healthy, unhealthy):
        wait_task(node.ecs, node.cluster, arn, "STOPPED")


def service_tasks(node, service, status="RUNNING"):
    return node.ecs.list_tasks(cluster=node.cluster, serviceName=service,
                               desiredStatus=status)["taskArns"]


def wait_until(what, predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def test_a_replica_service_keeps_its_tasks_running(node):
    arn = register(node, [{"command": ["sleep", "3600"], "stopTimeout": 2}])
    name = unique("svc")
    node.ecs.create_service(cluster=node.cluster, serviceName=name, taskDefinition=arn,
                            desiredCount=2)
    node.ecs.get_waiter("services_stable").wait(
        cluster=node.cluster, services=[name], WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    # The waiter looks at the counts; the scheduler's next pass (a second
    # apart) announces the steady state.
    def completed():
        s = node.ecs.describe_services(cluster=node.cluster, services=[name])["services"][0]
        return s if s["deployments"][0]["rolloutState"] == "COMPLETED" else None
    service = wait_until("COMPLETED", completed)
    assert service["runningCount"] == 2
    messages = [e["message"] for e in service["events"]]
    assert messages[0] == f"(service {name}) has reached a steady state."
    assert any(m.startswith(f"(service {name}) has started 2 tasks:") for m in messages)

    # A task stopped from outside is replaced.
    first = service_tasks(node, name)
    assert len(first) == 2
    node.ecs.stop_task(cluster=node.cluster, task=first[0], reason="chaos")
    wait_until("a replacement", lambda: first[0] not in service_tasks(node, name)
               and len(service_tasks(node, name)) == 2)
    node.ecs.get_waiter("services_stable").wait(
        cluster=node.cluster, services=[name], WaiterConfig={"Delay": 1, "MaxAttempts": 90})

    # Scaled to zero, its tasks stop on the scheduler's behalf.
    running = service_tasks(node, name)
    node.ecs.update_service(cluster=node.cluster, service=name, desiredCount=0)
    node.ecs.get_waiter("tasks_stopped").wait(
        cluster=node.cluster, tasks=running, WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    stopped = node.ecs.describe_tasks(cluster=node.cluster, tasks=running)["tasks"]
    assert {t["stopCode"] for t in stopped} == {"ServiceSchedulerInitiated"}
    assert all(t["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
               for t in stopped)

    node.ecs.delete_service(cluster=node.cluster, service=name)
    wait_until("INACTIVE", lambda: node.ecs.describe_services(
        cluster=node.cluster, services=[name])["services"][0]["status"] == "INACTIVE")
