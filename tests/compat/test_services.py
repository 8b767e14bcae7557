"""Services: CreateService, UpdateService, DeleteService, DescribeServices,
ListServices, ListTasks --service-name, tags on service ARNs, the cluster's
service counts, and the aws CLI waiters services-stable / services-inactive.
No controller starts a service's tasks yet: these test the API."""

import pytest

from berth_compat import (ACCOUNT, REGION, VALIDATION_CODES, assert_refused, cluster_arn,
                          tags_as_dict, unique, wait_for)

RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
]


def service_arn(cluster, name):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}"


@pytest.fixture
def cluster(ecs):
    name = unique("svc")
    ecs.create_cluster(clusterName=name)
    return name


@pytest.fixture
def family(ecs):
    name = unique("svcfam")
    ecs.register_task_definition(family=name, containerDefinitions=[
        {"name": "app", "image": "busybox", "cpu": 128, "memory": 128, "essential": True}])
    return name


def describe_one(ecs, cluster, name, **kwargs):
    resp = ecs.describe_services(cluster=cluster, services=[name], **kwargs)
    assert resp["failures"] == [], resp
    assert len(resp["services"]) == 1
    return resp["services"][0]


def nothing_stored(ecs, cluster, name):
    resp = ecs.describe_services(cluster=cluster, services=[name])
    return resp["services"] == [] and resp["failures"][0]["reason"] == "MISSING"


def test_create_service_returns_every_member(ecs, cluster, family):
    name = unique("web")
    svc = ecs.create_service(
        cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0,
        placementConstraints=[{"type": "memberOf",
                               "expression": "attribute:ecs.instance-type =~ trn1.*"}],
        placementStrategy=[{"type": "spread", "field": "instanceId"}],
        deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50},
        healthCheckGracePeriodSeconds=30, enableECSManagedTags=True, propagateTags="SERVICE",
        enableExecuteCommand=True, role="ecsServiceRole",
        tags=[{"key": "team", "value": "ml"}])["service"]
    assert svc["serviceArn"] == service_arn(cluster, name)
    assert svc["serviceName"] == name
    assert svc["clusterArn"] == cluster_arn(cluster)
    assert svc["status"] == "ACTIVE"
    assert svc["desiredCount"] == 0 and svc["runningCount"] == 0 and svc["pendingCount"] == 0
    assert svc["launchType"] == "EC2"
    assert svc["schedulingStrategy"] == "REPLICA"
    assert svc["taskDefinition"].endswith(f"task-definition/{family}:1")
    assert svc["deploymentConfiguration"]["maximumPercent"] == 150
    assert svc["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert svc["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": False, "rollback": False}
    assert svc["placementConstraints"][0]["type"] == "memberOf"
    assert svc["placementStrategy"] == [{"type": "spread", "field": "instanceId"}]
    assert svc["healthCheckGracePeriodSeconds"] == 30
    assert svc["enableECSManagedTags"] is True
    assert svc["propagateTags"] == "SERVICE"
    assert svc["enableExecuteCommand"] is True
    assert svc["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/ecsServiceRole"
    assert svc["deploymentController"] == {"type": "ECS"}
    assert svc["events"] == []
    assert svc["createdAt"] is not None and svc["createdBy"].startswith("arn:aws:iam::")
    assert tags_as_dict(svc["tags"]) == {"team": "ml"}
    [deployment] = svc["deployments"]
    assert deployment["id"].startswith("ecs-svc/") and deployment["id"][8:].isdigit()
    assert deployment["status"] == "PRIMARY"
    assert deployment["taskDefinition"] == svc["taskDefinition"]
    assert deployment["desiredCount"] == 0
    assert deployment["runningCount"] == 0 and deployment["pendingCount"] == 0
    assert deployment["rolloutState"] == "IN_PROGRESS"
    assert deployment["createdAt"] and deployment["updatedAt"]
    # Described the same way, tags only when asked for.
    described = describe_one(ecs, cluster, name)
    assert "tags" not in described
    assert described["deployments"][0]["id"] == deployment["id"]
    with_tags = describe_one(ecs, cluster, service_arn(cluster, name), include=["TAGS"])
    assert tags_as_dict(with_tags["tags"]) == {"team": "ml"}


def test_create_service_is_idempotent_with_the_same_parameters(ecs, cluster, family):
    name = unique("idem")
    args = dict(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0)
    first = ecs.create_service(**args)["service"]
    again = ecs.create_service(**args)["service"]
    assert again["serviceArn"] == first["serviceArn"]
    assert again["deployments"][0]["id"] == first["deployments"][0]["id"]
    # The same members in another order, by the cluster's ARN: the same request.
    reordered = ecs.create_service(desiredCount=0, taskDefinition=family, serviceName=name,
                                   cluster=cluster_arn(cluster))["service"]
    assert reordered["deployments"] == first["deployments"]
    err = assert_refused(ecs.create_service, "InvalidParameterException",
                         **{**args, "desiredCount": 1})
    assert "not idempotent" in str(err)
    assert describe_one(ecs, cluster, name)["desiredCount"] == 0


def test_create_service_errors(ecs, cluster, family):
    assert_refused(ecs.create_service, "ClusterNotFoundException", cluster=unique("none"),
                   serviceName="x", taskDefinition=family, desiredCount=0)
    assert_refused(ecs.create_service, "ClientException", cluster=cluster,
                   serviceName=unique("x"), taskDefinition=unique("nofamily"), desiredCount=0)
    assert_refused(ecs.create_service, "ClientException", cluster=cluster,
                   serviceName=unique("x"), taskDefinition=f"{family}:9", desiredCount=0)
    for bad in ("has space", "dots.dot", "a" * 256, "slash/name"):
        assert_refused(ecs.create_service, "InvalidParameterException", cluster=cluster,
                       serviceName=bad, taskDefinition=family, desiredCount=0)
        assert ecs.list_services(cluster=cluster)["serviceArns"] == []
    # 255 characters is the longest name.
    long_name = "b" * 255
    svc = ecs.create_service(cluster=cluster, serviceName=long_name, taskDefinition=family,
                             desiredCount=0)["service"]
    assert svc["serviceName"] == long_name


@pytest.mark.parametrize("extra, words", [
    ({"desiredCount": -1}, "desiredCount"),
    ({"desiredCount": 5001}, "desiredCount"),
    ({"desiredCount": 0, "deploymentConfiguration": {"maximumPercent": 99}}, "maximumPercent"),
    ({"desiredCount": 0, "deploymentConfiguration": {"minimumHealthyPercent": 101}},
     "minimumHealthyPercent"),
    ({"desiredCount": 0, "deploymentConfiguration": {"minimumHealthyPercent": -1}},
     "minimumHealthyPercent"),
    ({"desiredCount": 0, "placementStrategy": [{"type": "binpack", "field": "disk"}]}, "binpack"),
    ({"desiredCount": 0, "placementConstraints": [{"type": "memberOf", "expression": "(("}]},
     "placementConstraints[0]"),
    ({"desiredCount": 0, "placementConstraints": [{"type": "memberOf"}]}, "expression"),
    ({"desiredCount": 0, "placementConstraints": [{"type": "distinctInstance"}] * 11},
     "at most 10"),
    ({"desiredCount": 0, "placementStrategy": [{"type": "random"}] * 6}, "at most 5"),
    ({"desiredCount": 0, "launchType": "FARGATE"}, "EC2"),
    ({"desiredCount": 0, "platformVersion": "LATEST"}, "platform version"),
    ({"desiredCount": 0, "deploymentController": {"type": "EXTERNAL"}}, "ECS"),
    ({"desiredCount": 0, "capacityProviderStrategy": [{"capacityProvider": "cp"}]},
     "capacityProviderStrategy"),
    ({"desiredCount": 0, "healthCheckGracePeriodSeconds": -5}, "healthCheckGracePeriodSeconds"),
    ({"desiredCount": 0, "networkConfiguration": {
        "awsvpcConfiguration": {"subnets": ["s-1"]}}}, "networkMode"),
    ({"desiredCount": 0, "tags": [{"key": "aws:x", "value": "y"}]}, "aws:"),
    ({}, "desiredCount is required"),
    ({"schedulingStrategy": "DAEMON", "desiredCount": 2}, "DAEMON"),
    ({"schedulingStrategy": "DAEMON", "placementStrategy": [{"type": "random"}]}, "DAEMON"),
    ({"schedulingStrategy": "DAEMON", "deploymentConfiguration": {"maximumPercent": 200}},
     "DAEMON"),
])
def test_create_service_bad_values_are_refused_and_nothing_stored(ecs_unvalidated, cluster,
                                                                  family, extra, words):
    name = unique("bad")
    err = assert_refused(ecs_unvalidated.create_service, VALIDATION_CODES, cluster=cluster,
                         serviceName=name, taskDefinition=family, **extra)
    assert words in str(err), err
    assert nothing_stored(ecs_unvalidated, cluster, name)


@pytest.mark.parametrize("member, value", [
    ("desiredCount", "3"), ("desiredCount", 1.5), ("serviceName", 7), ("taskDefinition", []),
    ("deploymentConfiguration", "fast"), ("deploymentConfiguration", {"maximumPercent": "200"}),
    ("placementConstraints", {"type": "memberOf"}), ("placementStrategy", [{"type": "best"}]),
    ("placementStrategy", "spread"), ("schedulingStrategy", "ALL"), ("launchType", "EC3"),
    ("tags", [{"key": 1}]), ("enableExecuteCommand", "yes"), ("propagateTags", "ALL"),
    ("healthCheckGracePeriodSeconds", "30"), ("loadBalancers", {}), ("role", 5),
    ("deploymentController", {"type": "MINE"}), ("enableECSManagedTags", 1),
    ("serviceRegistries", "r"), ("networkConfiguration", []),
])
def test_create_service_wrong_types_are_refused(raw, ecs, cluster, family, member, value):
    name = unique("typed")
    body = dict(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0)
    body[member] = value
    resp = raw.call("CreateService", body)
    assert resp.status == 400, resp
    assert resp.error_type in ("SerializationException", *VALIDATION_CODES), resp
    assert nothing_stored(ecs, cluster, name)


def test_ten_thousand_placement_constraints_are_refused(ecs_unvalidated, cluster, family):
    name = unique("many")
    constraints = [{"type": "memberOf", "expression": "attribute:a == b"}] * 10000
    err = assert_refused(ecs_unvalidated.create_service, VALIDATION_CODES, cluster=cluster,
                         serviceName=name, taskDefinition=family, desiredCount=0,
                         placementConstraints=constraints)
    assert "at most 10" in str(err)
    assert nothing_stored(ecs_unvalidated, cluster, name)


def test_daemon_service(ecs, cluster, family):
    name = unique("daemon")
    svc = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family,
                             schedulingStrategy="DAEMON")["service"]
    assert svc["schedulingStrategy"] == "DAEMON"
    assert svc["desiredCount"] == 0
    assert svc["deploymentConfiguration"]["maximumPercent"] == 100
    assert svc["deploymentConfiguration"]["minimumHealthyPercent"] == 0
    assert_refused(ecs.update_service, "InvalidParameterException", cluster=cluster,
                   service=name, desiredCount=3)


def test_update_service(ecs, cluster, family):
    name = unique("upd")
    created = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family,
                                 desiredCount=0)["service"]
    first_id = created["deployments"][0]["id"]
    # A count or settings change keeps the deployment.
    svc = ecs.update_service(cluster=cluster, service=name, desiredCount=2,
                             deploymentConfiguration={"minimumHealthyPercent": 50},
                             enableExecuteCommand=True)["service"]
    assert svc["desiredCount"] == 2
    assert [d["id"] for d in svc["deployments"]] == [first_id]
    assert svc["deployments"][0]["desiredCount"] == 2
    assert svc["deploymentConfiguration"] == {
        "maximumPercent": 200, "minimumHealthyPercent": 50,
        "deploymentCircuitBreaker": {"enable": False, "rollback": False}}
    assert svc["enableExecuteCommand"] is True
    # A new task definition: a new PRIMARY, the old one ACTIVE.
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "app", "image": "busybox:2", "cpu": 128, "memory": 128}])
    svc = ecs.update_service(cluster=cluster, service=service_arn(cluster, name),
                             taskDefinition=family)["service"]
    assert svc["taskDefinition"].endswith(f"{family}:2")
    assert [d["status"] for d in svc["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert svc["deployments"][1]["id"] == first_id
    assert svc["deployments"][0]["taskDefinition"].endswith(f"{family}:2")
    assert svc["deployments"][0]["desiredCount"] == 2
    # forceNewDeployment: another one.
    svc = ecs.update_service(cluster=cluster, service=name, forceNewDeployment=True)["service"]
    assert [d["status"] for d in svc["deployments"]] == ["PRIMARY", "ACTIVE", "ACTIVE"]
    assert len({d["id"] for d in svc["deployments"]}) == 3
    # Bad updates change nothing.
    assert_refused(ecs.update_service, "InvalidParameterException", cluster=cluster,
                   service=name, deploymentConfiguration={"maximumPercent": 50})
    assert_refused(ecs.update_service, "ClientException", cluster=cluster, service=name,
                   taskDefinition=unique("nofamily"))
    assert_refused(ecs.update_service, "InvalidParameterException", cluster=cluster,
                   service=name, placementStrategy=[{"type": "binpack", "field": "disk"}])
    after = describe_one(ecs, cluster, name)
    assert after["deploymentConfiguration"]["maximumPercent"] == 200
    assert len(after["deployments"]) == 3
    assert after["placementStrategy"] == []


def test_update_service_errors(ecs, cluster, family):
    assert_refused(ecs.update_service, "ServiceNotFoundException", cluster=cluster,
                   service=unique("none"), desiredCount=1)
    assert_refused(ecs.update_service, "ClusterNotFoundException", cluster=unique("none"),
                   service="x", desiredCount=1)
    name = unique("gone")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0)
    ecs.delete_service(cluster=cluster, service=name)
    assert_refused(ecs.update_service, "ServiceNotActiveException", cluster=cluster,
                   service=name, desiredCount=1)


def test_delete_service_with_and_without_force(ecs, cluster, family):
    name = unique("del")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=2)
    err = assert_refused(ecs.delete_service, "InvalidParameterException", cluster=cluster,
                         service=name)
    assert "scaled above 0" in str(err)
    assert describe_one(ecs, cluster, name)["status"] == "ACTIVE"
    svc = ecs.delete_service(cluster=cluster, service=name, force=True)["service"]
    assert svc["status"] == "INACTIVE" and svc["desiredCount"] == 0
    # Still described for a while, no longer listed, deleted only once.
    assert describe_one(ecs, cluster, name)["status"] == "INACTIVE"
    assert ecs.list_services(cluster=cluster)["serviceArns"] == []
    assert_refused(ecs.delete_service, "ServiceNotFoundException", cluster=cluster, service=name)
    # The name is free again.
    again = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family,
                               desiredCount=0)["service"]
    assert again["status"] == "ACTIVE"
    scaled = ecs.create_service(cluster=cluster, serviceName=unique("zero"),
                                taskDefinition=family, desiredCount=0)["service"]
    assert ecs.delete_service(cluster=cluster, service=scaled["serviceArn"])[
        "service"]["status"] == "INACTIVE"
    assert_refused(ecs.delete_service, "ServiceNotFoundException", cluster=cluster,
                   service=unique("none"))


def test_service_with_active_tasks_drains_then_goes_inactive(ecs, ecs_unvalidated, cluster,
                                                             family):
    ecs_unvalidated.register_container_instance(cluster=cluster, totalResources=RESOURCES)
    name = unique("drain")
    svc = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family,
                             desiredCount=0)["service"]
    deployment = svc["deployments"][0]["id"]
    # Tasks of the service's group (as its controller will start them).
    task = ecs.run_task(cluster=cluster, taskDefinition=family, group=f"service:{name}",
                        startedBy=deployment)["tasks"][0]
    other = ecs.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]
    svc = describe_one(ecs, cluster, name)
    assert svc["pendingCount"] == 1 and svc["runningCount"] == 0
    assert svc["deployments"][0]["pendingCount"] == 1
    listed = ecs.list_tasks(cluster=cluster, serviceName=name)["taskArns"]
    assert listed == [task["taskArn"]]
    assert other["taskArn"] not in listed
    assert_refused(ecs.list_tasks, "ServiceNotFoundException", cluster=cluster,
                   serviceName=unique("none"))
    assert ecs.delete_service(cluster=cluster, service=name)["service"]["status"] == "DRAINING"
    assert_refused(ecs.create_service, "InvalidParameterException", cluster=cluster,
                   serviceName=name, taskDefinition=family, desiredCount=0)
    cluster_view = ecs.describe_clusters(clusters=[cluster], include=["STATISTICS"])["clusters"][0]
    assert cluster_view["activeServicesCount"] == 0
    stats = {s["name"]: s["value"] for s in cluster_view["statistics"]}
    assert stats["drainingEC2ServiceCount"] == "1"
    ecs.stop_task(cluster=cluster, task=task["taskArn"])
    assert describe_one(ecs, cluster, name)["status"] == "INACTIVE"
    ecs.stop_task(cluster=cluster, task=other["taskArn"])


def test_describe_services_failures_and_limits(ecs, cluster, family):
    name = unique("desc")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0)
    missing = unique("missing")
    resp = ecs.describe_services(cluster=cluster, services=[name, missing])
    assert [s["serviceName"] for s in resp["services"]] == [name]
    assert resp["failures"] == [{"arn": service_arn(cluster, missing), "reason": "MISSING"}]
    assert_refused(ecs.describe_services, "InvalidParameterException", cluster=cluster,
                   services=[name] * 11)
    assert_refused(ecs.describe_services, "ClusterNotFoundException", cluster=unique("none"),
                   services=[name])


def test_list_services_filters_and_pagination(ecs, cluster, family):
    names = sorted(unique(f"list{i}") for i in range(12))
    for n in names:
        ecs.create_service(cluster=cluster, serviceName=n, taskDefinition=family,
                           desiredCount=0)
    daemon = unique("zdaemon")
    ecs.create_service(cluster=cluster, serviceName=daemon, taskDefinition=family,
                       schedulingStrategy="DAEMON")
    first = ecs.list_services(cluster=cluster)
    assert len(first["serviceArns"]) == 10 and first.get("nextToken")
    second = ecs.list_services(cluster=cluster, nextToken=first["nextToken"])
    everything = first["serviceArns"] + second["serviceArns"]
    assert "nextToken" not in second
    assert sorted(everything) == sorted(
        [service_arn(cluster, n) for n in names] + [service_arn(cluster, daemon)])
    paginator = ecs.get_paginator("list_services")
    pages = [p["serviceArns"] for p in paginator.paginate(
        cluster=cluster, PaginationConfig={"PageSize": 5})]
    assert [len(p) for p in pages] == [5, 5, 3]
    assert sum(pages, []) == everything
    assert ecs.list_services(cluster=cluster, schedulingStrategy="DAEMON")["serviceArns"] == [
        service_arn(cluster, daemon)]
    assert len(ecs.list_services(cluster=cluster, schedulingStrategy="REPLICA",
                                 maxResults=100)["serviceArns"]) == 12
    assert ecs.list_services(cluster=cluster, launchType="FARGATE")["serviceArns"] == []
    assert len(ecs.list_services(cluster=cluster, launchType="EC2",
                                 maxResults=100)["serviceArns"]) == 13
    assert_refused(ecs.list_services, "InvalidParameterException", cluster=cluster,
                   nextToken="bogus")
    assert len(sum((p["serviceArns"] for p in paginator.paginate(cluster=cluster)), [])) == 13


def test_service_tags(ecs, cluster, family):
    name = unique("tagged")
    arn = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family,
                             desiredCount=0, tags=[{"key": "a", "value": "1"}])[
        "service"]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}, {"key": "a", "value": "3"}])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"a": "3", "b": "2"}
    ecs.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"b": "2"}
    assert tags_as_dict(describe_one(ecs, cluster, name, include=["TAGS"])["tags"]) == {"b": "2"}
    assert_refused(ecs.tag_resource, "InvalidParameterException", resourceArn=arn,
                   tags=[{"key": "aws:reserved", "value": "x"}])
    assert_refused(ecs.list_tags_for_resource, "ResourceNotFoundException",
                   resourceArn=service_arn(cluster, unique("none")))
    ecs.delete_service(cluster=cluster, service=name)
    assert_refused(ecs.list_tags_for_resource, "ResourceNotFoundException", resourceArn=arn)


def test_cluster_counts_services_and_refuses_deletion(ecs, cluster, family):
    name = unique("counted")
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0)
    view = ecs.describe_clusters(clusters=[cluster], include=["STATISTICS"])["clusters"][0]
    assert view["activeServicesCount"] == 1
    stats = {s["name"]: s["value"] for s in view["statistics"]}
    assert stats["activeEC2ServiceCount"] == "1"
    assert_refused(ecs.delete_cluster, "ClusterContainsServicesException", cluster=cluster)
    ecs.delete_service(cluster=cluster, service=name)
    assert ecs.describe_clusters(clusters=[cluster])["clusters"][0]["activeServicesCount"] == 0
    assert ecs.delete_cluster(cluster=cluster)["cluster"]["status"] == "INACTIVE"


def test_services_survive_a_restart(fresh_server):
    ecs = fresh_server.client()
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])
    ecs.create_service(cluster="c", serviceName="s", taskDefinition="f",
                       desiredCount=0, tags=[{"key": "k", "value": "v"}])
    # Settled first: the scheduler completes the deployment within a pass,
    # which may fall before or after the restart.
    svc = wait_for("the deployment to complete", lambda: next(
        (s for s in [describe_one(ecs, "c", "s")]
         if s["deployments"][0]["rolloutState"] == "COMPLETED"), None))
    fresh_server.restart()
    ecs = fresh_server.client()
    again = describe_one(ecs, "c", "s", include=["TAGS"])
    assert again["deployments"] == svc["deployments"]
    assert tags_as_dict(again["tags"]) == {"k": "v"}
    assert ecs.list_services(cluster="c")["serviceArns"] == [svc["serviceArn"]]


def test_aws_cli_services_and_waiters(aws, cluster, family):
    name = unique("cli")
    rc, out, err = aws("ecs", "create-service", "--cluster", cluster, "--service-name", name,
                       "--task-definition", family, "--desired-count", "0")
    assert rc == 0, err
    assert out["service"]["serviceName"] == name
    rc, _, err = aws("ecs", "wait", "services-stable", "--cluster", cluster, "--services", name)
    assert rc == 0, err
    rc, out, err = aws("ecs", "list-services", "--cluster", cluster)
    assert rc == 0 and out["serviceArns"] == [service_arn(cluster, name)], err
    rc, out, err = aws("ecs", "update-service", "--cluster", cluster, "--service", name,
                       "--force-new-deployment")
    assert rc == 0 and len(out["service"]["deployments"]) == 2, err
    rc, out, err = aws("ecs", "delete-service", "--cluster", cluster, "--service", name)
    assert rc == 0, err
    rc, _, err = aws("ecs", "wait", "services-inactive", "--cluster", cluster, "--services", name)
    assert rc == 0, err
    rc, out, err = aws("ecs", "create-service", "--cluster", cluster, "--service-name", "x" * 256,
                       "--task-definition", family, "--desired-count", "0")
    assert rc != 0 and "InvalidParameterException" in err
