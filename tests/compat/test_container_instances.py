"""Container instances: RegisterContainerInstance, DescribeContainerInstances,
ListContainerInstances, UpdateContainerInstancesState,
DeregisterContainerInstance."""

import datetime
import json
import re

import pytest

from berth_compat import (VALIDATION_CODES, assert_refused, cluster_arn, resource_values,
                          tags_as_dict, unique)

TOTAL_RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 16000},
    {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
    {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
]
PLATFORM_DEVICES = [{"id": "0", "type": "GPU"}, {"id": "1", "type": "GPU"}]
ATTRIBUTES = [
    {"name": "ecs.instance-type", "value": "trn1.32xlarge"},
    {"name": "rack", "value": "r12"},
    {"name": "has-efa"},
]
VERSION_INFO = {"agentVersion": "1.70.0", "agentHash": "abc1234", "dockerVersion": "runc-1.1"}


def register(ecs, cluster, **overrides):
    args = dict(cluster=cluster, totalResources=TOTAL_RESOURCES, platformDevices=PLATFORM_DEVICES,
                attributes=ATTRIBUTES, versionInfo=VERSION_INFO)
    args.update(overrides)
    args = {k: v for k, v in args.items() if v is not None}
    return ecs.register_container_instance(**args)["containerInstance"]


@pytest.fixture
def cluster(ecs):
    name = unique("ci")
    ecs.create_cluster(clusterName=name)
    return name


def describe_one(ecs, cluster, instance, include=None):
    resp = ecs.describe_container_instances(
        cluster=cluster, containerInstances=[instance], **({"include": include} if include else {}))
    assert resp["failures"] == [], resp
    assert len(resp["containerInstances"]) == 1
    return resp["containerInstances"][0]


def list_all_instances(ecs, cluster, **kwargs):
    arns, token = [], None
    while True:
        page = ecs.list_container_instances(
            cluster=cluster, **kwargs, **({"nextToken": token} if token else {}))
        arns += page["containerInstanceArns"]
        token = page.get("nextToken")
        if not token:
            return arns


def instance_id(arn):
    return arn.rsplit("/", 1)[1]


def attribute_pairs(attributes):
    return {(a["name"], a.get("value")) for a in attributes}


def cluster_count(ecs, cluster):
    return ecs.describe_clusters(clusters=[cluster])["clusters"][0][
        "registeredContainerInstancesCount"]


def test_register_returns_the_instance_as_given(ecs, cluster):
    ci = register(ecs, cluster)
    assert re.fullmatch(
        rf"arn:aws:ecs:us-east-1:000000000000:container-instance/{cluster}/[A-Za-z0-9-]+",
        ci["containerInstanceArn"]), ci["containerInstanceArn"]
    assert ci["status"] == "ACTIVE"
    assert resource_values(ci["registeredResources"]) == resource_values(TOTAL_RESOURCES)
    assert ci["runningTasksCount"] == 0
    assert ci["pendingTasksCount"] == 0
    assert isinstance(ci["agentConnected"], bool)
    assert attribute_pairs(ATTRIBUTES) <= attribute_pairs(ci["attributes"])
    assert ci["versionInfo"] == VERSION_INFO


def test_describe_shows_registered_and_remaining_resources(ecs, cluster):
    arn = register(ecs, cluster)["containerInstanceArn"]
    ci = describe_one(ecs, cluster, arn)
    assert ci["containerInstanceArn"] == arn
    assert ci["status"] == "ACTIVE"
    registered = resource_values(ci["registeredResources"])
    assert registered == resource_values(TOTAL_RESOURCES)
    # Nothing runs on it yet: everything registered is still available.
    assert resource_values(ci["remainingResources"]) == registered
    assert (ci["runningTasksCount"], ci["pendingTasksCount"]) == (0, 0)
    assert ci["version"] == 1  # registered once, changed by nothing since
    assert isinstance(ci["agentConnected"], bool)
    assert attribute_pairs(ATTRIBUTES) <= attribute_pairs(ci["attributes"])
    assert ci["versionInfo"] == VERSION_INFO
    assert isinstance(ci["registeredAt"], datetime.datetime)


def test_describe_by_id_and_by_arn(ecs, cluster):
    arn = register(ecs, cluster)["containerInstanceArn"]
    assert describe_one(ecs, cluster, instance_id(arn)) == describe_one(ecs, cluster, arn)
    assert describe_one(ecs, cluster_arn(cluster), arn)["containerInstanceArn"] == arn


def test_describe_includes_tags_when_asked(ecs, cluster):
    tags = [{"key": "node-group", "value": "trn1-a"}]
    arn = register(ecs, cluster, tags=tags)["containerInstanceArn"]
    ci = describe_one(ecs, cluster, arn, include=["TAGS"])
    assert tags_as_dict(ci["tags"]) == {"node-group": "trn1-a"}
    assert not describe_one(ecs, cluster, arn).get("tags")
    listed = ecs.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags_as_dict(listed) == {"node-group": "trn1-a"}


def test_describe_unknown_instance_is_a_missing_failure(ecs, cluster):
    arn = register(ecs, cluster)["containerInstanceArn"]
    ghost = "0123456789abcdef0123456789abcdef"
    resp = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn, ghost])
    assert [c["containerInstanceArn"] for c in resp["containerInstances"]] == [arn]
    assert [f["reason"] for f in resp["failures"]] == ["MISSING"]
    assert ghost in resp["failures"][0]["arn"]


def test_describe_in_unknown_cluster_is_cluster_not_found(ecs):
    assert_refused(ecs.describe_container_instances, "ClusterNotFoundException",
                   cluster=unique("nocluster"), containerInstances=["0123456789abcdef"])


def test_register_in_unknown_cluster_is_cluster_not_found(ecs):
    name = unique("nocluster")
    assert_refused(ecs.register_container_instance, "ClusterNotFoundException",
                   cluster=name, totalResources=TOTAL_RESOURCES)
    assert [f["reason"] for f in ecs.describe_clusters(clusters=[name])["failures"]] == ["MISSING"]


def test_register_without_cluster_uses_and_creates_default(fresh_server):
    ecs = fresh_server.client()
    assert [f["reason"] for f in ecs.describe_clusters(clusters=["default"])["failures"]] == [
        "MISSING"]
    arn = ecs.register_container_instance(totalResources=TOTAL_RESOURCES)[
        "containerInstance"]["containerInstanceArn"]
    assert arn.startswith("arn:aws:ecs:us-east-1:000000000000:container-instance/default/")
    default = ecs.describe_clusters()["clusters"][0]
    assert default["clusterName"] == "default"
    assert default["status"] == "ACTIVE"
    assert default["registeredContainerInstancesCount"] == 1
    # Calls without `cluster` mean default too.
    assert ecs.list_container_instances()["containerInstanceArns"] == [arn]
    assert ecs.describe_container_instances(
        containerInstances=[arn])["containerInstances"][0]["containerInstanceArn"] == arn


def test_reregister_with_the_arn_keeps_the_same_instance(ecs, cluster):
    arn = register(ecs, cluster)["containerInstanceArn"]
    more = [{"name": "CPU", "type": "INTEGER", "integerValue": 8192},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 32000},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2376"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []}]
    again = register(ecs, cluster, containerInstanceArn=arn, totalResources=more)
    assert again["containerInstanceArn"] == arn
    assert list_all_instances(ecs, cluster) == [arn]
    assert cluster_count(ecs, cluster) == 1
    ci = describe_one(ecs, cluster, arn)
    assert ci["status"] == "ACTIVE"
    assert resource_values(ci["registeredResources"]) == resource_values(more)


def test_registered_instance_count_follows_registrations(ecs, cluster):
    assert cluster_count(ecs, cluster) == 0
    a = register(ecs, cluster)["containerInstanceArn"]
    b = register(ecs, cluster)["containerInstanceArn"]
    assert a != b
    assert cluster_count(ecs, cluster) == 2
    ecs.deregister_container_instance(cluster=cluster, containerInstance=a)
    assert cluster_count(ecs, cluster) == 1


def test_list_container_instances_paginates(ecs, cluster):
    arns = {register(ecs, cluster)["containerInstanceArn"] for _ in range(5)}
    seen, token, pages = [], None, 0
    while True:
        page = ecs.list_container_instances(cluster=cluster, maxResults=2,
                                            **({"nextToken": token} if token else {}))
        assert len(page["containerInstanceArns"]) <= 2
        seen += page["containerInstanceArns"]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 20
    assert pages == 3
    assert sorted(seen) == sorted(arns)


def test_list_container_instances_refuses_a_bogus_next_token(ecs, cluster):
    register(ecs, cluster)
    assert_refused(ecs.list_container_instances, "InvalidParameterException",
                   cluster=cluster, nextToken="garbage")


def test_list_container_instances_in_unknown_cluster_is_cluster_not_found(ecs):
    assert_refused(ecs.list_container_instances, "ClusterNotFoundException",
                   cluster=unique("nocluster"))


def test_drain_and_reactivate(ecs, cluster):
    a = register(ecs, cluster)["containerInstanceArn"]
    b = register(ecs, cluster)["containerInstanceArn"]
    resp = ecs.update_container_instances_state(
        cluster=cluster, containerInstances=[a], status="DRAINING")
    assert resp["failures"] == []
    assert [(c["containerInstanceArn"], c["status"]) for c in resp["containerInstances"]] == [
        (a, "DRAINING")]
    assert describe_one(ecs, cluster, a)["status"] == "DRAINING"
    assert list_all_instances(ecs, cluster, status="DRAINING") == [a]
    assert list_all_instances(ecs, cluster, status="ACTIVE") == [b]
    ecs.update_container_instances_state(
        cluster=cluster, containerInstances=[a], status="ACTIVE")
    assert describe_one(ecs, cluster, a)["status"] == "ACTIVE"
    assert list_all_instances(ecs, cluster, status="DRAINING") == []


def test_update_state_of_unknown_instance_is_a_missing_failure(ecs, cluster):
    a = register(ecs, cluster)["containerInstanceArn"]
    resp = ecs.update_container_instances_state(
        cluster=cluster, containerInstances=[a, "0123456789abcdef0123456789abcdef"],
        status="DRAINING")
    assert [c["containerInstanceArn"] for c in resp["containerInstances"]] == [a]
    assert [f["reason"] for f in resp["failures"]] == ["MISSING"]


@pytest.mark.parametrize("status", ["REGISTERING", "DEREGISTERING", "INACTIVE"])
def test_update_state_accepts_only_active_or_draining(ecs, ecs_unvalidated, cluster, status):
    a = register(ecs, cluster)["containerInstanceArn"]
    assert_refused(ecs_unvalidated.update_container_instances_state,
                   VALIDATION_CODES + ("SerializationException",),
                   cluster=cluster, containerInstances=[a], status=status)
    assert describe_one(ecs, cluster, a)["status"] == "ACTIVE"


def test_deregister(ecs, cluster):
    keep = register(ecs, cluster)["containerInstanceArn"]
    gone = register(ecs, cluster)["containerInstanceArn"]
    resp = ecs.deregister_container_instance(cluster=cluster, containerInstance=gone)
    assert resp["containerInstance"]["containerInstanceArn"] == gone
    assert resp["containerInstance"]["status"] == "INACTIVE"
    after = ecs.describe_container_instances(cluster=cluster, containerInstances=[gone])
    if after["containerInstances"]:
        assert after["containerInstances"][0]["status"] == "INACTIVE"
    else:
        assert [f["reason"] for f in after["failures"]] == ["MISSING"]
    assert list_all_instances(ecs, cluster) == [keep]
    assert cluster_count(ecs, cluster) == 1


def test_deregister_by_id_with_force(ecs, cluster):
    arn = register(ecs, cluster)["containerInstanceArn"]
    resp = ecs.deregister_container_instance(
        cluster=cluster, containerInstance=instance_id(arn), force=True)
    assert resp["containerInstance"]["containerInstanceArn"] == arn
    assert list_all_instances(ecs, cluster) == []


def test_deregister_unknown_instance_is_refused(ecs, cluster):
    assert_refused(ecs.deregister_container_instance, VALIDATION_CODES,
                   cluster=cluster, containerInstance="0123456789abcdef0123456789abcdef")


def test_delete_cluster_with_instances_is_refused(ecs, cluster):
    arn = register(ecs, cluster)["containerInstanceArn"]
    assert_refused(ecs.delete_cluster, "ClusterContainsContainerInstancesException",
                   cluster=cluster)
    assert describe_one(ecs, cluster, arn)["status"] == "ACTIVE"
    assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["status"] == "ACTIVE"
    # A draining instance still counts.
    ecs.update_container_instances_state(
        cluster=cluster, containerInstances=[arn], status="DRAINING")
    assert_refused(ecs.delete_cluster, "ClusterContainsContainerInstancesException",
                   cluster=cluster)


@pytest.mark.parametrize("resources", [
    [{"name": "CPU", "type": "INTEGER", "integerValue": -1}],
    [{"name": "CPU", "type": "NUMBERISH", "integerValue": 1}],
], ids=["negative cpu", "unknown resource type"])
def test_register_refuses_invalid_resources(ecs, cluster, resources):
    assert_refused(ecs.register_container_instance, VALIDATION_CODES,
                   cluster=cluster, totalResources=resources)
    assert list_all_instances(ecs, cluster) == []


def test_aws_cli_register_and_describe(aws, cluster, tmp_path):
    path = tmp_path / "resources.json"
    path.write_text(json.dumps(TOTAL_RESOURCES))
    rc, out, err = aws("ecs", "register-container-instance", "--cluster", cluster,
                       "--total-resources", f"file://{path}",
                       "--attributes", "name=rack,value=r7")
    assert rc == 0, err
    arn = out["containerInstance"]["containerInstanceArn"]
    rc, out, err = aws("ecs", "describe-container-instances", "--cluster", cluster,
                       "--container-instances", arn)
    assert rc == 0, err
    ci = out["containerInstances"][0]
    assert resource_values(ci["registeredResources"]) == resource_values(TOTAL_RESOURCES)
    assert ("rack", "r7") in attribute_pairs(ci["attributes"])
    rc, out, err = aws("ecs", "list-container-instances", "--cluster", cluster)
    assert rc == 0, err
    assert out["containerInstanceArns"] == [arn]


def test_container_instance_survives_a_restart(fresh_server):
    ecs = fresh_server.client()
    name = unique("durable")
    ecs.create_cluster(clusterName=name)
    arn = register(ecs, name, tags=[{"key": "k", "value": "v"}])["containerInstanceArn"]
    other = register(ecs, name)["containerInstanceArn"]
    ecs.update_container_instances_state(cluster=name, containerInstances=[arn],
                                         status="DRAINING")
    ecs.put_attributes(cluster=name, attributes=[
        {"name": "zone", "value": "b", "targetType": "container-instance", "targetId": arn}])
    gone = register(ecs, name)["containerInstanceArn"]
    ecs.deregister_container_instance(cluster=name, containerInstance=gone)

    def snapshot():
        ci = ecs.describe_container_instances(
            cluster=name, containerInstances=[arn, other], include=["TAGS"])["containerInstances"]
        for c in ci:
            c.pop("agentConnected")  # no agent is connected either time, but it is not state
        return ci, sorted(list_all_instances(ecs, name)), cluster_count(ecs, name)

    before = snapshot()
    fresh_server.restart()
    after = snapshot()
    assert after == before
    assert after[1] == sorted([arn, other])
    assert after[0][0]["status"] == "DRAINING"
    assert ("zone", "b") in attribute_pairs(after[0][0]["attributes"])
