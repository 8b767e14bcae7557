"""EFA devices (berth's collective-network devices, platformDevices of type
EFA) through boto3 against a real server, with instances registered through
the API: a task that maps /dev/infiniband/uverbsN or asks with
resourceRequirements type EFA gets exactly its share, two tasks never share
one, a task that does not fit fails with RESOURCE:EFA, the reservations
survive a restart of the server and are free again when the task stops."""

import pytest

from berth_compat import assert_refused, unique
from test_tasks import NEURON_16, add_instance, raw_run

EFA_8 = [{"id": str(i), "type": "EFA"} for i in range(8)]
TRN1 = NEURON_16 + EFA_8  # a trn1.32xlarge


def efa_taskdef(ecs, efa=None, devices=(), neuron=None):
    container = {"name": "train", "image": "busybox", "cpu": 256, "memory": 512}
    requirements = []
    if efa is not None:
        requirements.append({"type": "EFA", "value": str(efa)})
    if neuron is not None:
        requirements.append({"type": "NeuronDevice", "value": str(neuron)})
    if requirements:
        container["resourceRequirements"] = requirements
    if devices:
        container["linuxParameters"] = {"devices": [{"hostPath": d} for d in devices]}
    family = unique("efa")
    ecs.register_task_definition(family=family, containerDefinitions=[container])
    return family


def efa_ids(task):
    """berth's efaDeviceIds (raw JSON: boto3 drops members its model lacks)."""
    return sorted(int(i) for c in task["containers"] for i in c.get("efaDeviceIds", []))


@pytest.fixture
def cluster(ecs):
    name = unique("efa")
    ecs.create_cluster(clusterName=name)
    return name


def test_registered_efa_devices_are_shown(ecs, ecs_unvalidated, cluster):
    arn = add_instance(ecs_unvalidated, cluster, devices=TRN1)
    ci = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])
    # The ECS model has no output member for platformDevices; the instance
    # answers to placement as the tests below show.
    assert ci["containerInstances"][0]["containerInstanceArn"] == arn


def test_counts_are_disjoint_and_the_third_task_fails(ecs, ecs_unvalidated, raw, cluster):
    add_instance(ecs_unvalidated, cluster, devices=TRN1)
    family = efa_taskdef(ecs, efa=4, neuron=4)  # Neuron devices are left for a third
    first = raw_run(raw, cluster=cluster, taskDefinition=family)["tasks"][0]
    second = raw_run(raw, cluster=cluster, taskDefinition=family)["tasks"][0]
    assert efa_ids(first) == [0, 1, 2, 3] and efa_ids(second) == [4, 5, 6, 7]
    third = ecs.run_task(cluster=cluster, taskDefinition=family)
    assert third["tasks"] == []
    assert third["failures"][0]["reason"] == "RESOURCE:EFA"
    assert "needs 4 free EFA devices, has 0" in third["failures"][0]["detail"]


def test_an_exact_device_is_booked_once_and_freed_by_stopping(ecs, ecs_unvalidated, raw,
                                                              cluster):
    add_instance(ecs_unvalidated, cluster, devices=TRN1)
    family = efa_taskdef(ecs, devices=["/dev/infiniband/uverbs5"])
    first = raw_run(raw, cluster=cluster, taskDefinition=family)["tasks"][0]
    assert efa_ids(first) == [5]
    again = ecs.run_task(cluster=cluster, taskDefinition=family)
    assert again["failures"][0]["reason"] == "RESOURCE:EFA"
    assert "EFA device 5 is taken" in again["failures"][0]["detail"]
    # ALL needs every one free.
    everything = efa_taskdef(ecs, efa="ALL")
    assert ecs.run_task(cluster=cluster, taskDefinition=everything)["failures"][0]["reason"] == \
        "RESOURCE:EFA"
    ecs.stop_task(cluster=cluster, task=first["taskArn"], reason="done")
    later = raw_run(raw, cluster=cluster, taskDefinition=everything)
    assert later["failures"] == [] and efa_ids(later["tasks"][0]) == list(range(8))


def test_an_instance_without_efa_cannot_take_an_efa_task(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster, devices=NEURON_16)
    resp = ecs.run_task(cluster=cluster, taskDefinition=efa_taskdef(ecs, efa=1))
    assert resp["failures"][0]["reason"] == "RESOURCE:EFA"
    assert "has no EFA devices" in resp["failures"][0]["detail"]


def test_a_gang_gets_the_efa_devices_of_every_rank(ecs, ecs_unvalidated, raw, cluster):
    for _ in range(2):
        add_instance(ecs_unvalidated, cluster, devices=TRN1)
    family = efa_taskdef(ecs, efa="ALL", neuron="ALL")
    resp = raw_run(raw, cluster=cluster, taskDefinition=family, count=2,
                   tags=[{"key": "berth:gang", "value": unique("g")}])
    assert resp["failures"] == [] and len(resp["tasks"]) == 2
    assert len({t["containerInstanceArn"] for t in resp["tasks"]}) == 2
    for task in resp["tasks"]:
        assert efa_ids(task) == list(range(8))
    more = ecs.run_task(cluster=cluster, taskDefinition=efa_taskdef(ecs, efa=1))
    assert more["failures"][0]["reason"] == "RESOURCE:EFA"


def test_bad_requests_are_refused(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster, devices=TRN1)
    refused = ("ClientException", "InvalidParameterException")
    container = {"name": "c", "image": "busybox", "memory": 512,
                 "resourceRequirements": [{"type": "EFA", "value": "0"}]}
    e = assert_refused(ecs.register_task_definition, refused,
                       family=unique("bad"), containerDefinitions=[container])
    assert "must be a positive integer or \"ALL\"" in str(e)
    container = {"name": "c", "image": "busybox", "memory": 512,
                 "linuxParameters": {"devices": [{"hostPath": "/dev/infiniband"}]}}
    e = assert_refused(ecs.register_task_definition, refused,
                       family=unique("bad"), containerDefinitions=[container])
    assert "map its EFA devices (/dev/infiniband/uverbsN)" in str(e)
    family = efa_taskdef(ecs)
    assert_refused(ecs.run_task, {"InvalidParameterException"}, cluster=cluster,
                   taskDefinition=family, overrides={"containerOverrides": [
                       {"name": "train", "resourceRequirements": [{"type": "EFA",
                                                                   "value": "some"}]}]})
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []


def test_reservations_survive_a_restart(fresh_server):
    ecs = fresh_server.client()
    unvalidated = fresh_server.client(validate=False)
    raw = fresh_server.raw()
    name = unique("efa")
    ecs.create_cluster(clusterName=name)
    add_instance(unvalidated, name, devices=TRN1)
    family = efa_taskdef(ecs, efa=6)
    first = raw_run(raw, cluster=name, taskDefinition=family)["tasks"][0]
    assert efa_ids(first) == [0, 1, 2, 3, 4, 5]
    fresh_server.restart()
    ecs = fresh_server.client()
    raw = fresh_server.raw()
    described = raw.call("DescribeTasks", {"cluster": name, "tasks": [first["taskArn"]]}).json
    assert efa_ids(described["tasks"][0]) == [0, 1, 2, 3, 4, 5]
    resp = ecs.run_task(cluster=name, taskDefinition=family)
    assert resp["failures"][0]["reason"] == "RESOURCE:EFA"
    two = raw_run(raw, cluster=name, taskDefinition=efa_taskdef(ecs, efa=2))["tasks"][0]
    assert efa_ids(two) == [6, 7]
