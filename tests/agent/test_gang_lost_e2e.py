"""A gang whose node dies, with real agents in one cluster (an agent silent
for 3 s is lost). On two nodes, the gang of 2 fails when one node's agent is
SIGKILLed, the rank on the other node is stopped by berth, and once the lost
agent comes back (its orphan container stopped) the gang is placed again on
both as its next attempt. On three, the next attempt goes to the third node
at once, never to the lost one."""

import signal
import time

from berth_compat import unique
from test_gang_e2e import gang_record
from test_services_e2e import runc_status, wait_until


def test_a_lost_nodes_gang_is_stopped_and_placed_again_when_it_returns(two_nodes):
    nodes = two_nodes
    ecs = nodes.ecs
    family = unique("gang-lost")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "main", "image": nodes.image, "memory": 64, "essential": True,
         "stopTimeout": 2, "command": ["sleep", "3600"]}])
    name = unique("lost")
    out = ecs.run_task(cluster=nodes.cluster, taskDefinition=family, count=2,
                       tags=[{"key": "berth:gang", "value": name},
                             {"key": "berth:gang-max-restarts", "value": "2"}])
    assert out["failures"] == [], out
    tasks = {t["taskArn"]: t for t in out["tasks"]}

    def all_running():
        found = ecs.describe_tasks(cluster=nodes.cluster, tasks=list(tasks))["tasks"]
        return found if all(t["lastStatus"] == "RUNNING" for t in found) else None
    running = wait_until("both ranks RUNNING", all_running, timeout=60, interval=0.2)
    lost_task = running[0]
    lost = nodes.agent_of(lost_task["containerInstanceArn"])
    runtime_id = lost_task["containers"][0]["runtimeId"]
    lost.kill(signal.SIGKILL)

    # The lost node's rank stops as lost; berth stops the other one.
    def attempt_over():
        found = ecs.describe_tasks(cluster=nodes.cluster, tasks=list(tasks))["tasks"]
        return found if all(t["lastStatus"] == "STOPPED" for t in found) else None
    stopped = {t["taskArn"]: t for t in wait_until("the attempt to stop", attempt_over,
                                                    timeout=60, interval=0.2)}
    assert stopped[lost_task["taskArn"]]["stopCode"] == "TerminationNotice"
    [survivor] = [t for arn, t in stopped.items() if arn != lost_task["taskArn"]]
    assert survivor["stoppedReason"].startswith(f"berth gang {name} (attempt 0): rank "), survivor
    assert " failed: Container instance " in survivor["stoppedReason"], survivor

    # One node is not enough for the next attempt: it waits.
    waiting = wait_until("the gang to wait for capacity",
                         lambda: (g := gang_record(nodes, name))["status"] == "RESTARTING"
                         and "waiting for capacity" in g.get("reason", "") and g,
                         timeout=30, interval=0.3)
    assert len(waiting["attempts"]) == 1

    # The node comes back: its orphan stops, and the gang runs again on both.
    lost.start()
    lost.wait_joined(ecs)
    gang = wait_until("attempt 1 RUNNING on both nodes",
                      lambda: (g := gang_record(nodes, name))["attempt"] == 1
                      and all(r.get("lastStatus") == "RUNNING"
                              for r in g["attempts"][1]["ranks"]) and g,
                      timeout=90, interval=0.3)
    ranks = gang["attempts"][1]["ranks"]
    assert {r["containerInstanceArn"] for r in ranks} == {a.instance_arn for a in nodes.agents}
    deadline = time.monotonic() + 60
    while runc_status(lost, runtime_id) == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runc_status(lost, runtime_id) != "running", lost.log_tail()
    for rank in ranks:
        ecs.stop_task(cluster=nodes.cluster, task=rank["taskArn"])
    final = wait_until("the gang to end", lambda: (g := gang_record(nodes, name))["status"]
                       == "STOPPED" and g, timeout=60, interval=0.3)
    assert len(final["attempts"]) == 2


def test_a_lost_nodes_gang_moves_to_a_third_node_at_once(three_nodes):
    nodes = three_nodes
    ecs = nodes.ecs
    family = unique("gang-third")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "main", "image": nodes.image, "memory": 64, "essential": True,
         "resourceRequirements": [{"type": "NeuronDevice", "value": "16"}],
         "stopTimeout": 2, "command": ["sleep", "3600"]}])
    name = unique("third")
    out = ecs.run_task(cluster=nodes.cluster, taskDefinition=family, count=2,
                       tags=[{"key": "berth:gang", "value": name},
                             {"key": "berth:gang-max-restarts", "value": "1"}])
    assert out["failures"] == [], out
    first = [t["taskArn"] for t in out["tasks"]]

    def all_running():
        found = ecs.describe_tasks(cluster=nodes.cluster, tasks=first)["tasks"]
        return found if all(t["lastStatus"] == "RUNNING" for t in found) else None
    running = wait_until("both ranks RUNNING", all_running, timeout=60, interval=0.2)
    lost = nodes.agent_of(running[0]["containerInstanceArn"])
    lost.kill(signal.SIGKILL)

    # Attempt 1 runs on the two nodes that are left, never on the lost one.
    gang = wait_until("attempt 1 RUNNING",
                      lambda: (g := gang_record(nodes, name))["attempt"] == 1
                      and all(r.get("lastStatus") == "RUNNING"
                              for r in g["attempts"][1]["ranks"]) and g,
                      timeout=90, interval=0.3)
    placed = {r["containerInstanceArn"] for r in gang["attempts"][1]["ranks"]}
    assert lost.instance_arn not in placed
    assert placed == {a.instance_arn for a in nodes.agents if a is not lost}
    for rank in gang["attempts"][1]["ranks"]:
        ecs.stop_task(cluster=nodes.cluster, task=rank["taskArn"])
