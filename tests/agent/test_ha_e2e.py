"""An agent given three servers on one etcd cluster (--server URL1,URL2,URL3):
when the leader is killed, the agent carries on with the new leader through
any server: its running container keeps running, it stops a task the new
leader stops and starts the new leader's tasks; and the new leader serves
the layers pushed through the old one, from the registry folder all
servers share (--registry-root)."""

import os
import shutil
import signal
import time

import pytest

import busybox_image
from berth_agent import AgentProcess, agent_ecs_client, cleanup_agent_host, wait_task
from berth_compat import BerthServer, unique
from berth_registry import registry_for
from fake_devices import make_neuron_tree
from test_etcd_store import run_etcd_cluster
from test_ha import wait_for_one_leader


class ServerList:
    """What AgentProcess needs of a server, for several."""

    def __init__(self, servers):
        self.endpoint = ",".join(s.endpoint for s in servers)
        self.credentials_path = servers[0].credentials_path


@pytest.fixture
def ha_node(tmp_path, isolated_aws_env):
    for endpoints in run_etcd_cluster():
        store = f"etcd://{endpoints}/{unique('ha')}/"
        shared_registry = tmp_path / "registry"
        servers = []
        agent = None
        try:
            for i in range(3):
                srv = BerthServer(tmp_path / f"s{i}", tmp_path, [
                    "--store", store, "--leader-lease-seconds", "2",
                    "--registry-root", shared_registry, "--create-repository-on-push"])
                if servers:
                    os.makedirs(srv.data_dir, exist_ok=True)
                    shutil.copy(servers[0].credentials_path, srv.credentials_path)
                srv.start()
                servers.append(srv)
            leader = wait_for_one_leader(servers)
            ecs = agent_ecs_client(leader)
            cluster = unique("ha")
            ecs.create_cluster(clusterName=cluster)
            image = busybox_image.build()
            registry_for(leader).push_image("busybox", image, "test")
            make_neuron_tree(str(tmp_path / "devices"), 16)
            agent = AgentProcess(ServerList(servers), tmp_path / "agent", tmp_path, cluster,
                                 tmp_path / "devices", extra_args=["--retention", "3600"])
            agent.start()
            agent.wait_joined(ecs)
            yield servers, leader, agent, cluster, image
        finally:
            if agent is not None:
                agent.kill()
            cleanup_agent_host(tmp_path / "agent")
            for srv in servers:
                srv.stop()


def register(ecs, image):
    td = ecs.register_task_definition(family=unique("ha"), containerDefinitions=[
        {"name": "main", "image": image, "memory": 64, "essential": True,
         "command": ["sleep", "600"]}])
    return td["taskDefinition"]["taskDefinitionArn"]


def test_agent_follows_the_new_leader_and_keeps_its_containers(ha_node):
    servers, leader, agent, cluster, pushed = ha_node
    others = [s for s in servers if s is not leader]
    # The image through a server that stays up: a follower relays pulls.
    image = f"127.0.0.1:{others[-1].port}/busybox:test"
    ecs = agent_ecs_client(leader)
    first = ecs.run_task(cluster=cluster, taskDefinition=register(ecs, image))["tasks"][0]
    wait_task(ecs, cluster, first["taskArn"], "RUNNING")

    leader.proc.send_signal(signal.SIGKILL)
    leader.proc.wait()
    new_leader = wait_for_one_leader(others, timeout=10)
    ecs = agent_ecs_client(new_leader)

    # The container runs on; the agent polls the new leader (through its list).
    deadline = time.monotonic() + 30
    while True:
        instance = ecs.describe_container_instances(
            cluster=cluster, containerInstances=[agent.instance_arn])["containerInstances"][0]
        if instance["agentConnected"]:
            break
        assert time.monotonic() < deadline, f"agent not back: {agent.log_tail()}"
        time.sleep(0.5)
    task = ecs.describe_tasks(cluster=cluster, tasks=[first["taskArn"]])["tasks"][0]
    assert task["lastStatus"] == "RUNNING", task

    # The new leader's decisions reach it: a stop, and a new task whose
    # layers the new leader serves from the shared registry folder.
    second = ecs.run_task(cluster=cluster, taskDefinition=register(ecs, image))["tasks"][0]
    wait_task(ecs, cluster, second["taskArn"], "RUNNING", timeout=90)
    ecs.stop_task(cluster=cluster, task=first["taskArn"], reason="after failover")
    stopped = wait_task(ecs, cluster, first["taskArn"], "STOPPED")
    assert stopped["stoppedReason"] == "after failover"
    assert agent.proc.poll() is None, agent.log_tail()

    # Every layer pushed through the dead leader is served by the new one.
    registry = registry_for(new_leader)
    for blob in pushed.blobs:
        got = registry.get_blob("busybox", blob.digest)
        assert got.status == 200 and got.body == blob.data, got
