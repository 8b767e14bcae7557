"""Tasks: RunTask, StartTask, StopTask, DescribeTasks, ListTasks, with
berth's device accounting (NEURON_DEVICE platform devices, neuronDeviceIds)
and gangs."""

import json

import pytest

from berth_compat import VALIDATION_CODES, assert_refused, tags_as_dict, unique

RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
    {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
    {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
]
NEURON_16 = [{"id": str(i), "type": "NEURON_DEVICE"} for i in range(16)]


@pytest.fixture
def cluster(ecs):
    name = unique("tasks")
    ecs.create_cluster(clusterName=name)
    return name


def add_instance(ecs_unvalidated, cluster, instance_type="trn1.32xlarge", devices=NEURON_16,
                 resources=RESOURCES, attributes=()):
    attrs = [{"name": "ecs.instance-type", "value": instance_type}, *attributes]
    return ecs_unvalidated.register_container_instance(
        cluster=cluster, totalResources=resources, platformDevices=devices,
        attributes=attrs)["containerInstance"]["containerInstanceArn"]


def taskdef(ecs_unvalidated, cpu=256, memory=512, neuron=None, devices=None, **extra):
    container = {"name": "train", "image": "busybox", "cpu": cpu, "memory": memory,
                 "essential": True}
    if neuron is not None:
        container["resourceRequirements"] = [{"type": "NeuronDevice", "value": str(neuron)}]
    if devices:
        container["linuxParameters"] = {"devices": [{"hostPath": d} for d in devices]}
    family = unique("fam")
    ecs_unvalidated.register_task_definition(family=family, containerDefinitions=[container],
                                             **extra)
    return family


def raw_run(raw, **body):
    resp = raw.call("RunTask", body)
    assert resp.status == 200, resp
    return resp.json


def neuron_ids(task):
    return {int(i) for c in task["containers"] for i in c.get("neuronDeviceIds", [])}


def test_neuron_device_counts_are_disjoint_and_exhaust(ecs, ecs_unvalidated, raw, cluster):
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=8)
    first = raw_run(raw, cluster=cluster, taskDefinition=family)
    second = raw_run(raw, cluster=cluster, taskDefinition=family)
    assert len(first["tasks"]) == 1 and len(second["tasks"]) == 1
    a, b = neuron_ids(first["tasks"][0]), neuron_ids(second["tasks"][0])
    assert len(a) == 8 and len(b) == 8 and not (a & b)
    third = ecs.run_task(cluster=cluster, taskDefinition=family)
    assert third["tasks"] == []
    assert third["failures"][0]["reason"] == "RESOURCE:NEURON_DEVICE"


def test_exact_neuron_device_is_booked_once(ecs, ecs_unvalidated, raw, cluster):
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, devices=["/dev/neuron3"])
    first = raw_run(raw, cluster=cluster, taskDefinition=family)
    assert neuron_ids(first["tasks"][0]) == {3}
    second = ecs.run_task(cluster=cluster, taskDefinition=family)
    assert second["tasks"] == []
    assert second["failures"][0]["reason"] == "RESOURCE:NEURON_DEVICE"


def test_cpu_and_memory_failures(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster)
    big_cpu = taskdef(ecs_unvalidated, cpu=8192)
    resp = ecs.run_task(cluster=cluster, taskDefinition=big_cpu)
    assert resp["failures"][0]["reason"] == "RESOURCE:CPU"
    big_mem = taskdef(ecs_unvalidated, memory=100000)
    resp = ecs.run_task(cluster=cluster, taskDefinition=big_mem)
    assert resp["failures"][0]["reason"] == "RESOURCE:MEMORY"


def test_run_task_shape_and_instance_accounting(ecs, ecs_unvalidated, cluster):
    instance = add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, cpu=1024, memory=2048)
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, startedBy="me",
                        tags=[{"key": "team", "value": "ml"}])
    task = resp["tasks"][0]
    assert task["lastStatus"] == "PENDING" and task["desiredStatus"] == "RUNNING"
    assert task["containerInstanceArn"] == instance
    assert task["cpu"] == "1024" and task["memory"] == "2048"
    assert task["group"] == f"family:{family}" and task["startedBy"] == "me"
    assert task["launchType"] == "EC2"
    assert f":task/{cluster}/" in task["taskArn"]
    assert task["containers"][0]["name"] == "train"
    assert tags_as_dict(task["tags"]) == {"team": "ml"}
    ci = ecs.describe_container_instances(cluster=cluster,
                                          containerInstances=[instance])["containerInstances"][0]
    remaining = {r["name"]: r.get("integerValue") for r in ci["remainingResources"]}
    assert remaining["CPU"] == 4096 - 1024 and remaining["MEMORY"] == 8192 - 2048
    assert ci["pendingTasksCount"] == 1
    c = ecs.describe_clusters(clusters=[cluster])["clusters"][0]
    assert c["pendingTasksCount"] == 1


def test_member_of_instance_type(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster, instance_type="inf2.xlarge")
    trn = add_instance(ecs_unvalidated, cluster, instance_type="trn1.32xlarge")
    family = taskdef(ecs_unvalidated)
    for _ in range(3):
        resp = ecs.run_task(cluster=cluster, taskDefinition=family, placementConstraints=[
            {"type": "memberOf", "expression": "attribute:ecs.instance-type == trn1.32xlarge"}])
        assert resp["tasks"][0]["containerInstanceArn"] == trn
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.instance-type == p5.48xlarge"}])
    assert resp["tasks"] == [] and resp["failures"][0]["reason"] == "ATTRIBUTE"
    arns = ecs.list_container_instances(
        cluster=cluster, filter="attribute:ecs.instance-type == trn1.32xlarge")
    assert arns["containerInstanceArns"] == [trn]
    err = assert_refused(ecs.list_container_instances, "InvalidParameterException",
                         cluster=cluster, filter="attribute:ecs.instance-type ==")
    assert "position" in str(err)


def test_stop_task_frees_resources(ecs, ecs_unvalidated, cluster):
    instance = add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=16)
    first = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]
    assert ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"] == []
    stopped = ecs.stop_task(cluster=cluster, task=first["taskArn"], reason="done")["task"]
    assert stopped["desiredStatus"] == "STOPPED" and stopped["lastStatus"] == "STOPPED"
    assert stopped["stopCode"] == "UserInitiated" and stopped["stoppedReason"] == "done"
    assert ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"]
    described = ecs.describe_tasks(cluster=cluster, tasks=[first["taskArn"]])["tasks"][0]
    assert described["lastStatus"] == "STOPPED" and "stoppedAt" in described
    assert instance


def test_describe_and_list_tasks(ecs, ecs_unvalidated, cluster):
    instance = add_instance(ecs_unvalidated, cluster)
    fam_a, fam_b = taskdef(ecs_unvalidated, cpu=10, memory=10), taskdef(ecs_unvalidated, cpu=10,
                                                                        memory=10)
    a = [t["taskArn"] for t in ecs.run_task(cluster=cluster, taskDefinition=fam_a, count=5,
                                             startedBy="alice")["tasks"]]
    b = [t["taskArn"] for t in ecs.run_task(cluster=cluster, taskDefinition=fam_b,
                                             count=2)["tasks"]]
    assert len(a) == 5 and len(b) == 2
    resp = ecs.describe_tasks(cluster=cluster, tasks=a + ["nope"], include=["TAGS"])
    assert sorted(t["taskArn"] for t in resp["tasks"]) == sorted(a)
    assert resp["failures"][0]["reason"] == "MISSING"
    assert sorted(ecs.list_tasks(cluster=cluster, family=fam_a)["taskArns"]) == sorted(a)
    assert sorted(ecs.list_tasks(cluster=cluster, startedBy="alice")["taskArns"]) == sorted(a)
    assert len(ecs.list_tasks(cluster=cluster, containerInstance=instance)["taskArns"]) == 7
    # A service that does not exist has no tasks to list (test_services.py
    # lists those of one that does).
    assert_refused(ecs.list_tasks, "ServiceNotFoundException", cluster=cluster, serviceName="svc")
    seen, token = [], None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = ecs.list_tasks(cluster=cluster, maxResults=3, **kwargs)
        assert len(page["taskArns"]) <= 3
        seen += page["taskArns"]
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == sorted(a + b)
    ecs.stop_task(cluster=cluster, task=b[0])
    assert ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED")["taskArns"] == [b[0]]
    assert len(ecs.list_tasks(cluster=cluster)["taskArns"]) == 6


def test_client_token_idempotency(ecs, ecs_unvalidated, raw, cluster):
    # The installed botocore model has no RunTask clientToken (newer ones
    # do), so boto3 will not send it: raw requests.
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    body = dict(cluster=cluster, taskDefinition=family, count=2, clientToken="tok-1")
    first = raw_run(raw, **body)
    again = raw_run(raw, **body)
    assert len(first["tasks"]) == 2
    assert sorted(t["taskArn"] for t in first["tasks"]) == sorted(
        t["taskArn"] for t in again["tasks"])
    assert len(ecs.list_tasks(cluster=cluster)["taskArns"]) == 2
    other = raw.call("RunTask", dict(body, count=1))
    assert other.status == 400 and other.error_type == "InvalidParameterException"


@pytest.mark.parametrize("count", [0, 11])
def test_count_out_of_range(ecs_unvalidated, cluster, count):
    family = taskdef(ecs_unvalidated)
    assert_refused(ecs_unvalidated.run_task, "InvalidParameterException", cluster=cluster,
                   taskDefinition=family, count=count)


def test_override_of_unknown_container(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    assert_refused(ecs.run_task, "InvalidParameterException", cluster=cluster,
                   taskDefinition=family,
                   overrides={"containerOverrides": [{"name": "nope", "command": ["x"]}]})


def test_overrides_change_the_reservation(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, overrides={
        "containerOverrides": [{"name": "train", "cpu": 5000}]})
    assert resp["failures"][0]["reason"] == "RESOURCE:CPU"


def test_unknown_cluster_and_task_definition(ecs, ecs_unvalidated, cluster):
    family = taskdef(ecs_unvalidated)
    assert_refused(ecs.run_task, "ClusterNotFoundException", cluster=unique("none"),
                   taskDefinition=family)
    assert_refused(ecs.run_task, VALIDATION_CODES, cluster=cluster,
                   taskDefinition=unique("nofamily"))
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    assert_refused(ecs.run_task, VALIDATION_CODES, cluster=cluster,
                   taskDefinition=f"{family}:1")


def test_gang_all_or_none(ecs, ecs_unvalidated, cluster):
    for _ in range(3):
        add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=16)
    gang = [{"key": "berth:gang", "value": "g1"}]
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, count=3, tags=gang)
    assert len(resp["tasks"]) == 3 and resp["failures"] == []
    assert len({t["containerInstanceArn"] for t in resp["tasks"]}) == 3
    ranks = sorted(tags_as_dict(t["tags"])["berth:gang-rank"] for t in resp["tasks"])
    assert ranks == ["0", "1", "2"]
    # No instance is free now: another gang of 2 places nothing, and leaves
    # nothing reserved (a single task still fits nowhere either).
    other = [{"key": "berth:gang", "value": "g1-more"}]
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, count=2, tags=other)
    assert resp["tasks"] == [] and len(resp["failures"]) == 2
    # A gang's name is taken while it runs.
    err = assert_refused(ecs.run_task, "InvalidParameterException", cluster=cluster,
                         taskDefinition=family, count=1, tags=gang)
    assert "berth:gang g1: a gang of that name is RUNNING" in str(err)


def test_gang_on_one_attribute_value(ecs, ecs_unvalidated, raw, cluster):
    zone = lambda z: [{"name": "ecs.availability-zone", "value": z}]
    in_b = {add_instance(ecs_unvalidated, cluster, attributes=zone("us-east-1b"))
            for _ in range(2)}
    add_instance(ecs_unvalidated, cluster, attributes=zone("us-east-1a"))
    family = taskdef(ecs_unvalidated, neuron=16)
    tags = [{"key": "berth:gang", "value": "g2"},
            {"key": "berth:gang-same-attribute", "value": "ecs.availability-zone"}]
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, count=3, tags=tags)
    assert resp["tasks"] == [] and len(resp["failures"]) == 3
    resp = raw_run(raw, cluster=cluster, taskDefinition=family, count=2, tags=tags)
    assert {t["containerInstanceArn"] for t in resp["tasks"]} == in_b
    assert {t["berthGang"]["attributeValue"] for t in resp["tasks"]} == {"us-east-1b"}
    assert sorted(t["berthGang"]["rank"] for t in resp["tasks"]) == [0, 1]


def remaining_ports(ecs, cluster, instance):
    found = ecs.describe_container_instances(cluster=cluster, containerInstances=[instance])
    resources = found["containerInstances"][0]["remainingResources"]
    return set(next(r for r in resources if r["name"] == "PORTS")["stringSetValue"])


def test_gang_rendezvous_environment_and_ports(fresh_server):
    ecs = fresh_server.client()
    cluster = unique("gangenv")
    ecs.create_cluster(clusterName=cluster)
    address = {}
    for i in (1, 2):
        arn = add_instance(fresh_server.client(validate=False), cluster,
                           attributes=[{"name": "berth.address", "value": f"10.0.0.{i}"}])
        address[arn] = f"10.0.0.{i}"
    family = unique("gang")
    ecs.register_task_definition(family=family, networkMode="host", containerDefinitions=[
        {"name": "train", "image": "busybox", "memory": 512,
         "environment": [{"name": "NODE_RANK", "value": "from-definition"}]},
        {"name": "side", "image": "busybox", "memory": 64}])
    resp = ecs.run_task(cluster=cluster, taskDefinition=family, count=2,
                        tags=[{"key": "berth:gang", "value": "llm"}],
                        overrides={"containerOverrides": [
                            {"name": "side", "environment": [{"name": "RANK", "value": "x"}]}]})
    assert resp["failures"] == [] and len(resp["tasks"]) == 2
    by_rank = {int(tags_as_dict(t["tags"])["berth:gang-rank"]): t for t in resp["tasks"]}
    hosts = [address[by_rank[r]["containerInstanceArn"]] for r in (0, 1)]
    described = ecs.describe_tasks(cluster=cluster, tasks=[t["taskArn"] for t in resp["tasks"]])
    rank_of = {t["taskArn"]: str(r) for r, t in by_rank.items()}
    for task in described["tasks"]:
        rank = rank_of[task["taskArn"]]
        env = {o["name"]: {e["name"]: e["value"] for e in o.get("environment", [])}
               for o in task["overrides"]["containerOverrides"]}
        berth_vars = {
            "RANK": rank, "WORLD_SIZE": "2", "NODE_RANK": rank, "MASTER_ADDR": hosts[0],
            "MASTER_PORT": "29500", "BERTH_GANG": "llm", "BERTH_GANG_RANK": rank,
            "BERTH_GANG_SIZE": "2", "BERTH_GANG_ATTEMPT": "0",
            "BERTH_GANG_HOSTS": ",".join(hosts),
            "NEURON_RT_ROOT_COMM_ID": f"{hosts[0]}:29501"}
        # The definition's NODE_RANK and the request's RANK are kept as set.
        assert env["train"] == {k: v for k, v in berth_vars.items() if k != "NODE_RANK"}
        assert env["side"] == dict(berth_vars, RANK="x")

    # Rank 0's instance holds the two ports, also after a restart, until the
    # task stops.
    rank0 = by_rank[0]["containerInstanceArn"]
    rank1 = by_rank[1]["containerInstanceArn"]
    assert remaining_ports(ecs, cluster, rank0) == {"22", "29500", "29501"}
    assert remaining_ports(ecs, cluster, rank1) == {"22"}
    fresh_server.restart()
    ecs = fresh_server.client()
    assert remaining_ports(ecs, cluster, rank0) == {"22", "29500", "29501"}
    ecs.stop_task(cluster=cluster, task=by_rank[0]["taskArn"])
    assert remaining_ports(ecs, cluster, rank0) == {"22"}


def test_start_task_on_named_instance(ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster)
    target = add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=16)
    resp = ecs.start_task(cluster=cluster, taskDefinition=family, containerInstances=[target])
    assert resp["tasks"][0]["containerInstanceArn"] == target
    resp = ecs.start_task(cluster=cluster, taskDefinition=family, containerInstances=[target])
    assert resp["tasks"] == [] and resp["failures"][0]["reason"] == "RESOURCE:NEURON_DEVICE"


def test_cluster_with_tasks_is_not_deleted(ecs, ecs_unvalidated, cluster):
    instance = add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    task = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]
    assert_refused(ecs.deregister_container_instance, "InvalidParameterException",
                   cluster=cluster, containerInstance=instance)
    assert_refused(ecs.delete_cluster, "ClusterContainsContainerInstancesException",
                   cluster=cluster)
    # A forced deregistration stops the task (no agent would ever run it),
    # after which the cluster holds no task.
    ecs.deregister_container_instance(cluster=cluster, containerInstance=instance, force=True)
    stopped = ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    ecs.delete_cluster(cluster=cluster)


def test_aws_cli_run_task_and_wait_stopped(aws, ecs, ecs_unvalidated, cluster):
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated)
    rc, out, err = aws("ecs", "run-task", "--cluster", cluster, "--task-definition", family)
    assert rc == 0, err
    arn = out["tasks"][0]["taskArn"]
    rc, out, err = aws("ecs", "stop-task", "--cluster", cluster, "--task", arn)
    assert rc == 0, err
    rc, _, err = aws("ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", arn)
    assert rc == 0, err


def test_concurrent_run_tasks_never_share_a_device(ecs_unvalidated, raw, cluster):
    from concurrent.futures import ThreadPoolExecutor
    add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, cpu=1, memory=6, neuron=1)
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(
            lambda _: raw_run(raw, cluster=cluster, taskDefinition=family), range(20)))
    placed = [neuron_ids(t) for r in replies for t in r["tasks"]]
    refused = [f["reason"] for r in replies for f in r["failures"]]
    assert len(placed) == 16 and refused == ["RESOURCE:NEURON_DEVICE"] * 4
    assert set().union(*placed) == set(range(16))


def test_tasks_and_reservations_survive_a_restart(fresh_server):
    ecs, loose = fresh_server.client(), fresh_server.client(validate=False)
    name = unique("restart")
    ecs.create_cluster(clusterName=name)
    instance = add_instance(loose, name)
    family = taskdef(loose, neuron=16, cpu=1024, memory=2048)
    arn = ecs.run_task(cluster=name, taskDefinition=family)["tasks"][0]["taskArn"]
    fresh_server.restart()
    ecs = fresh_server.client()
    assert ecs.describe_tasks(cluster=name, tasks=[arn])["tasks"][0]["lastStatus"] == "PENDING"
    assert ecs.list_tasks(cluster=name)["taskArns"] == [arn]
    resp = ecs.run_task(cluster=name, taskDefinition=family)
    assert resp["failures"][0]["reason"] == "RESOURCE:NEURON_DEVICE"

    # What an instance has left is derived from its tasks again on start.
    def described():
        ci = ecs.describe_container_instances(cluster=name,
                                              containerInstances=[instance])["containerInstances"][0]
        registered = {r["name"]: r.get("integerValue") for r in ci["registeredResources"]}
        remaining = {r["name"]: r.get("integerValue") for r in ci["remainingResources"]}
        return ci, registered, remaining
    ci, registered, remaining = described()
    assert ci["pendingTasksCount"] == 1
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["pendingTasksCount"] == 1
    assert remaining["CPU"] == registered["CPU"] - 1024
    assert remaining["MEMORY"] == registered["MEMORY"] - 2048
    ecs.stop_task(cluster=name, task=arn)
    fresh_server.restart()
    ecs = fresh_server.client()
    ci, registered, remaining = described()
    assert ci["pendingTasksCount"] == 0
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["pendingTasksCount"] == 0
    assert remaining["CPU"] == registered["CPU"]
    assert remaining["MEMORY"] == registered["MEMORY"]
    assert ecs.run_task(cluster=name, taskDefinition=family)["failures"] == []


def test_force_deregister_stops_tasks_no_agent_will_run(ecs, ecs_unvalidated, cluster):
    # ECS leaves the tasks of a force-deregistered instance; on an instance
    # without an agent nothing would ever run or stop them, so berth stops
    # them and frees what they hold.
    gone = add_instance(ecs_unvalidated, cluster)
    family = taskdef(ecs_unvalidated, neuron=4)
    run = ecs.run_task(cluster=cluster, taskDefinition=family, count=2)
    arns = [t["taskArn"] for t in run["tasks"]]
    assert len(arns) == 2
    with pytest.raises(Exception):
        ecs.deregister_container_instance(cluster=cluster, containerInstance=gone)
    resp = ecs.deregister_container_instance(cluster=cluster, containerInstance=gone, force=True)
    instance = resp["containerInstance"]
    assert instance["status"] == "INACTIVE"
    assert instance["pendingTasksCount"] == 0 and instance["runningTasksCount"] == 0
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    assert [t["lastStatus"] for t in tasks] == ["STOPPED", "STOPPED"]
    assert {t["desiredStatus"] for t in tasks} == {"STOPPED"}
    assert {t["stoppedReason"] for t in tasks} == {"Container instance deregistered"}
    assert ecs.list_tasks(cluster=cluster)["taskArns"] == []
    # A new instance takes the same tasks again: nothing is held elsewhere.
    add_instance(ecs_unvalidated, cluster)
    again = ecs.run_task(cluster=cluster, taskDefinition=family, count=4)
    assert len(again["tasks"]) == 4 and again["failures"] == []


def test_bad_requests_reserve_nothing(ecs, ecs_unvalidated, cluster):
    instance = add_instance(ecs_unvalidated, cluster)

    def state():
        [ci] = ecs.describe_container_instances(
            cluster=cluster, containerInstances=[instance])["containerInstances"]
        return ci["remainingResources"], ci["pendingTasksCount"], ecs.list_tasks(
            cluster=cluster)["taskArns"]

    before = state()
    family = taskdef(ecs_unvalidated)
    refused = [
        # A container memory override below ECS's 6 MiB minimum.
        dict(overrides={"containerOverrides": [{"name": "train", "memory": 2}]}),
        # Constraint syntax errors name the position; 10 KiB is over the limit.
        dict(placementConstraints=[{"type": "memberOf",
                                    "expression": "attribute:ecs.instance-type =="}]),
        dict(placementConstraints=[{"type": "memberOf",
                                    "expression": "attribute:a == b or " * 512 + "x"}]),
        dict(placementConstraints=[{"type": "sometimes"}]),
        # Spread on a field that is not instanceId, host or attribute:<name>.
        dict(placementStrategy=[{"type": "spread", "field": "colour"}]),
        dict(placementStrategy=[{"type": "binpack", "field": "gpu"}]),
    ]
    for body in refused:
        err = assert_refused(ecs_unvalidated.run_task, "InvalidParameterException",
                             cluster=cluster, taskDefinition=family, **body)
        assert err, body
    syntax = assert_refused(ecs_unvalidated.run_task, "InvalidParameterException", cluster=cluster,
                            taskDefinition=family, placementConstraints=[
                                {"type": "memberOf", "expression": "attribute:x == (a"}])
    assert "position" in str(syntax), syntax

    # A device the instance does not have is a failure, not a reservation.
    beyond = taskdef(ecs_unvalidated, devices=["/dev/neuron16"])
    resp = ecs.run_task(cluster=cluster, taskDefinition=beyond)
    assert resp["tasks"] == []
    [failure] = resp["failures"]
    assert failure["reason"] == "RESOURCE:NEURON_DEVICE", failure
    assert state() == before
