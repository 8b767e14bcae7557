"""Container restart policies end to end: real server, agent, runc and conmon.

The agent runs with --restart-period-scale 0.02, so a restartAttemptPeriod
of 60 s (ECS's least) is 1.2 s and 300 s is 6 s. The aws CLI and boto3 of
this host predate restartPolicy and restartCount: definitions are registered
and tasks described with hand-built JSON."""

import signal
import subprocess
import time

import pytest

from berth_agent import container, logs, wait_task
from berth_compat import BERTH_BIN, aws_cli_env, unique

# Counts its runs in its own root file system, which a restart in place keeps.
COUNT_RUNS = 'n=$(cat /runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > /runs; echo "run $n"; '


def run_with_policy(node, command, policy):
    """Runs a task of one busybox container with the given restartPolicy;
    its ARN."""
    family = unique("restart")
    reply = node.server.raw().call("RegisterTaskDefinition", {
        "family": family,
        "containerDefinitions": [{"name": "main", "image": node.image, "memory": 64,
                                  "essential": True, "command": ["sh", "-c", command],
                                  "restartPolicy": policy}]})
    assert reply.status == 200, reply
    registered = reply.json["taskDefinition"]
    assert registered["containerDefinitions"][0]["restartPolicy"] == policy
    out = node.ecs.run_task(cluster=node.cluster, taskDefinition=registered["taskDefinitionArn"])
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]


def raw_task(node, arn):
    """The task as DescribeTasks answers it, members boto3 does not know included."""
    reply = node.server.raw().call("DescribeTasks", {"cluster": node.cluster, "tasks": [arn]})
    assert reply.status == 200, reply
    return reply.json["tasks"][0]


def wait_restart_count(node, arn, count, timeout=30):
    """The raw task once its container's restartCount is count; it must stay RUNNING."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = raw_task(node, arn)
        assert task["lastStatus"] == "RUNNING", task
        if container(task).get("restartCount") == count:
            return task
        time.sleep(0.2)
    pytest.fail(f"restartCount never reached {count}: {raw_task(node, arn)!r}\n"
                f"{node.agent.log_tail()}", pytrace=False)


def follow_logs(node, arn):
    """`berth logs -f` of the task, running in the background."""
    return subprocess.Popen(
        [BERTH_BIN, "logs", "--cluster", node.cluster, arn, "-f"],
        env=aws_cli_env(node.server.access_key, node.server.secret_key,
                        {"AWS_ENDPOINT_URL": node.server.endpoint}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_container_that_ran_past_its_period_is_restarted_in_place(restart_node):
    node = restart_node
    # Run 1 fails after 2 s (past the 1.2 s period): restarted. Run 2 exits 0
    # after 4 s, an ignored code: the task stops.
    arn = run_with_policy(
        node, COUNT_RUNS + 'if [ $n = 1 ]; then sleep 2; exit 5; fi; sleep 4; exit 0',
        {"enabled": True, "ignoredExitCodes": [0], "restartAttemptPeriod": 60})
    first = container(wait_task(node.ecs, node.cluster, arn, "RUNNING"))
    follower = follow_logs(node, arn)
    try:
        task = wait_restart_count(node, arn, 1)
        main = container(task)
        assert main["lastStatus"] == "RUNNING"
        assert main["runtimeId"] == first["runtimeId"]  # the same container, run again
        assert "exitCode" not in main, main
        # The same task: the restart made none besides it.
        listed = node.ecs.list_tasks(cluster=node.cluster, family=task["group"].split(":", 1)[1])
        assert listed["taskArns"] == [arn]
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    # `logs -f` followed the container across its restart to its final exit.
    assert follower.returncode == 0, err
    assert out.splitlines() == ["run 1", "run 2"]

    stopped = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert stopped["stopCode"] == "EssentialContainerExited", stopped
    assert container(stopped)["exitCode"] == 0
    assert container(raw_task(node, arn))["restartCount"] == 1
    assert logs(node, arn).splitlines() == ["run 1", "run 2"]
    restarted = [line for line in node.agent.log_text().splitlines()
                 if "container restarted" in line and arn.rsplit("/", 1)[1] in line]
    assert len(restarted) == 1, restarted
    assert "exitCode=5" in restarted[0] and "restartCount=1" in restarted[0]


def test_an_ignored_exit_code_is_not_restarted(restart_node):
    node = restart_node
    arn = run_with_policy(node, COUNT_RUNS + "sleep 2; exit 3",
                          {"enabled": True, "ignoredExitCodes": [3], "restartAttemptPeriod": 60})
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert task["stopCode"] == "EssentialContainerExited", task
    assert container(task)["exitCode"] == 3
    assert container(raw_task(node, arn))["restartCount"] == 0
    assert logs(node, arn).splitlines() == ["run 1"]


def test_an_exit_before_the_period_is_not_restarted(restart_node):
    node = restart_node
    # ECS's default period, 300 s, is 6 s here; the container exits after 1.
    arn = run_with_policy(node, COUNT_RUNS + "sleep 1; exit 4", {"enabled": True})
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED")
    assert task["stoppedReason"] == "Essential container in task exited", task
    assert container(task)["exitCode"] == 4
    assert container(raw_task(node, arn))["restartCount"] == 0
    assert logs(node, arn).splitlines() == ["run 1"]
    assert "exited before running for restartAttemptPeriod" in node.agent.log_text()


def test_an_agent_restart_keeps_the_restart_count(restart_node):
    node = restart_node
    # Runs 1 and 2 fail after 2 s each; run 3 stays.
    arn = run_with_policy(
        node, COUNT_RUNS + 'if [ $n -le 2 ]; then sleep 2; exit 6; fi; sleep 600',
        {"enabled": True, "restartAttemptPeriod": 60})
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    wait_restart_count(node, arn, 1)
    # Run 2 fails while no agent watches; the next agent restarts it and
    # counts on from the count it finds in the task's state file.
    node.agent.kill(signal.SIGKILL)
    time.sleep(3)
    node.agent.start()
    node.agent.wait_joined(node.ecs)
    wait_restart_count(node, arn, 2)
    deadline = time.monotonic() + 10
    while logs(node, arn).splitlines() != ["run 1", "run 2", "run 3"]:
        assert time.monotonic() < deadline, logs(node, arn)
        time.sleep(0.2)
    node.ecs.stop_task(cluster=node.cluster, task=arn, reason="test done")
    stopped = raw_task(node, wait_task(node.ecs, node.cluster, arn, "STOPPED")["taskArn"])
    assert container(stopped)["restartCount"] == 2
