"""What a newer SDK sends: members berth's ECS model (Debian's botocore,
December 2022) does not define are kept verbatim and returned with the
resource; the members ECS added since that berth acts on are defined and
validated like the rest.

Debian's boto3 and aws CLI validate against that same old model and will not
send an unknown member, so these requests are hand-signed (RawClient); the
JavaScript SDK suite (tests/js) sends the newer members as a client does."""

import re
import subprocess
import uuid

import pytest

from berth_compat import BERTH_BIN, VALIDATION_CODES, unique

RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
]

# Values of every JSON kind, nested, as a client might send them.
VERBATIM = {"n": 1.5, "big": 12345678901234, "s": "ünïcode ✓", "t": True, "none": None,
            "list": [1, "two", {"three": [3]}], "deep": {"a": {"b": {"c": []}}}}


def member_name(prefix):
    """A member name no other test sends (the log test counts lines per name)."""
    return prefix + uuid.uuid4().hex[:8]


def ok(resp):
    assert resp.status == 200, resp
    return resp.json


def container(**extra):
    return {"name": "app", "image": "busybox", "cpu": 128, "memory": 128, **extra}


def test_task_definition_keeps_unknown_members_where_they_were_sent(raw):
    family = unique("newer")
    top, inner, nested = member_name("future"), member_name("containerFuture"), member_name("knob")
    body = {"family": family, top: VERBATIM,
            "containerDefinitions": [container(**{inner: ["x"],
                                                  "linuxParameters": {nested: {"on": True}}})]}
    registered = ok(raw.call("RegisterTaskDefinition", body))["taskDefinition"]
    described = ok(raw.call("DescribeTaskDefinition", {"taskDefinition": family}))["taskDefinition"]
    for td in (registered, described):
        assert td[top] == VERBATIM
        assert td["containerDefinitions"][0][inner] == ["x"]
        assert td["containerDefinitions"][0]["linuxParameters"][nested] == {"on": True}
        assert td["revision"] == 1 and td["status"] == "ACTIVE"


def test_an_unknown_member_never_overrides_what_berth_sets(raw):
    family = unique("forged")
    td = ok(raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": [container()],
        "status": "INACTIVE", "revision": 99, "@unknownMembers": {"revision": 7}}))["taskDefinition"]
    assert td["status"] == "ACTIVE" and td["revision"] == 1
    assert td["@unknownMembers"] == {"revision": 7}, "the client's own member, verbatim"


def test_clusters_instances_tasks_and_services_keep_them(raw):
    cluster = unique("newer")
    member = member_name("future")
    created = ok(raw.call("CreateCluster", {"clusterName": cluster, member: {"v": 1}}))["cluster"]
    assert created[member] == {"v": 1}
    ok(raw.call("UpdateCluster", {"cluster": cluster, member: {"v": 2}}))
    shown = ok(raw.call("DescribeClusters", {"clusters": [cluster]}))["clusters"][0]
    assert shown[member] == {"v": 2}, "an update replaces what it names"

    instance = ok(raw.call("RegisterContainerInstance", {
        "cluster": cluster, "totalResources": RESOURCES, member: "instance"}))["containerInstance"]
    assert instance[member] == "instance"
    arn = instance["containerInstanceArn"]
    listed = ok(raw.call("DescribeContainerInstances", {"cluster": cluster,
                                                        "containerInstances": [arn]}))
    assert listed["containerInstances"][0][member] == "instance"

    family = unique("newerfam")
    ok(raw.call("RegisterTaskDefinition", {"family": family, "containerDefinitions": [container()]}))
    run = ok(raw.call("RunTask", {"cluster": cluster, "taskDefinition": family,
                                  member: [{"size": 10}]}))
    assert run["failures"] == [], run
    task_arn = run["tasks"][0]["taskArn"]
    task = ok(raw.call("DescribeTasks", {"cluster": cluster, "tasks": [task_arn]}))["tasks"][0]
    assert task[member] == [{"size": 10}]
    ok(raw.call("StopTask", {"cluster": cluster, "task": task_arn}))

    service = unique("web")
    ok(raw.call("CreateService", {"cluster": cluster, "serviceName": service,
                                  "taskDefinition": family, "desiredCount": 0,
                                  member: {"mode": "a"}}))
    ok(raw.call("UpdateService", {"cluster": cluster, "service": service, member: {"mode": "b"}}))
    svc = ok(raw.call("DescribeServices", {"cluster": cluster, "services": [service]}))
    assert svc["services"][0][member] == {"mode": "b"}
    ok(raw.call("DeleteService", {"cluster": cluster, "service": service}))
    ok(raw.call("DeregisterContainerInstance", {"cluster": cluster, "containerInstance": arn,
                                                "force": True}))


def test_a_known_member_of_the_wrong_type_is_still_refused_naming_it(raw):
    family = unique("wrongtype")
    resp = raw.call("RegisterTaskDefinition", {
        "family": family, member_name("future"): 1,
        "containerDefinitions": [container(memory="lots", **{member_name("future"): 2})]})
    assert resp.status == 400, resp
    assert resp.error_type == "SerializationException", resp
    assert "containerDefinitions[0].memory" in resp.json["message"]
    missing = raw.call("DescribeTaskDefinition", {"taskDefinition": family})
    assert missing.error_type == "ClientException", "nothing was registered"


def test_an_unknown_member_of_ten_mebibytes_is_refused_by_the_size_limit(raw):
    family = unique("huge")
    resp = raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": [container()],
        member_name("future"): "x" * (10 << 20)})
    assert resp.status == 413, resp
    assert resp.error_type == "RequestEntityTooLargeException", resp
    assert raw.call("DescribeTaskDefinition", {"taskDefinition": family}).status == 400


def test_an_unknown_member_nested_too_deep_is_refused(raw):
    family = unique("deep")
    deep = {}
    for _ in range(30):
        deep = {"d": deep}
    resp = raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": [container()], "futureDeep": deep})
    assert resp.status == 400, resp
    assert resp.error_type == "SerializationException", resp
    assert resp.json["message"].startswith("futureDeep: ")


def test_each_unknown_member_is_logged_once_by_name(server, raw):
    member = member_name("logged")
    for i in range(3):
        ok(raw.call("RegisterTaskDefinition", {
            "family": unique("logged"), "containerDefinitions": [container()], member: i}))
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        lines = [line for line in f if f"RegisterTaskDefinitionRequest.{member}" in line]
    assert len(lines) == 1, lines
    assert re.search(r"\binfo\b", lines[0]) and "operation=RegisterTaskDefinition" in lines[0]


def test_unknown_members_survive_a_restart(fresh_server):
    raw = fresh_server.raw()
    family = unique("durable")
    ok(raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": [container(futureField={"k": [1, 2]})],
        "futureTop": VERBATIM}))
    fresh_server.restart()
    raw = fresh_server.raw()
    td = ok(raw.call("DescribeTaskDefinition", {"taskDefinition": family}))["taskDefinition"]
    assert td["futureTop"] == VERBATIM
    assert td["containerDefinitions"][0]["futureField"] == {"k": [1, 2]}


# --- members ECS added since the embedded model, defined and validated -----

def test_newer_task_definition_members_round_trip(raw):
    family = unique("members")
    policy = {"enabled": True, "ignoredExitCodes": [0, 143], "restartAttemptPeriod": 60}
    body = {"family": family, "networkMode": "host", "enableFaultInjection": True,
            "containerDefinitions": [container(
                restartPolicy=policy, versionConsistency="disabled",
                credentialSpecs=["credentialspec:arn:aws:ssm:us-east-1:000000000000:parameter/c"])]}
    ok(raw.call("RegisterTaskDefinition", body))
    td = ok(raw.call("DescribeTaskDefinition", {"taskDefinition": family}))["taskDefinition"]
    assert td["enableFaultInjection"] is True
    c = td["containerDefinitions"][0]
    assert c["restartPolicy"] == policy
    assert c["versionConsistency"] == "disabled"
    assert c["credentialSpecs"] == body["containerDefinitions"][0]["credentialSpecs"]


@pytest.mark.parametrize("change,field", [
    ({"versionConsistency": "sometimes"}, "versionConsistency"),
    ({"restartPolicy": {"enabled": True, "restartAttemptPeriod": 30}}, "restartAttemptPeriod"),
    ({"restartPolicy": {"enabled": True, "restartAttemptPeriod": 1801}}, "restartAttemptPeriod"),
    ({"restartPolicy": {"enabled": True, "ignoredExitCodes": list(range(51))}},
     "ignoredExitCodes"),
    ({"restartPolicy": {"ignoredExitCodes": [1]}}, "enabled"),
    ({"credentialSpecs": "credentialspec:x"}, "credentialSpecs"),
    ({"portMappings": [{"containerPortRange": "8000-8010"}]}, "port ranges are not supported"),
])
def test_newer_container_members_are_validated(raw, change, field):
    family = unique("badmember")
    resp = raw.call("RegisterTaskDefinition", {"family": family,
                                               "containerDefinitions": [container(**change)]})
    assert resp.status == 400, resp
    assert resp.error_type in VALIDATION_CODES + ("SerializationException",), resp
    assert field in resp.json["message"], resp
    assert raw.call("DescribeTaskDefinition", {"taskDefinition": family}).status == 400


@pytest.mark.parametrize("extra,error", [
    ({"enableFaultInjection": "yes"}, "enableFaultInjection: expected boolean"),
    ({"enableFaultInjection": True}, "network mode 'awsvpc' or 'host'"),
])
def test_fault_injection_is_validated(raw, extra, error):
    resp = raw.call("RegisterTaskDefinition", {"family": unique("fault"),
                                               "containerDefinitions": [container()], **extra})
    assert resp.status == 400, resp
    assert error in resp.json["message"], resp


def test_container_insights_enhanced(ecs):
    name = unique("insights")
    cluster = ecs.create_cluster(
        clusterName=name, settings=[{"name": "containerInsights", "value": "enhanced"}])["cluster"]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    ecs.update_cluster_settings(cluster=name,
                                settings=[{"name": "containerInsights", "value": "enabled"}])
    shown = ecs.describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"][0]
    assert shown["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    with pytest.raises(Exception) as info:
        ecs.update_cluster_settings(cluster=name,
                                    settings=[{"name": "containerInsights", "value": "lots"}])
    assert "enhanced" in str(info.value)


def test_berth_version_names_the_models():
    out = subprocess.run([BERTH_BIN, "version"], capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith("berth ")
    ecs_line = next(line for line in lines if line.startswith("ecs model: "))
    assert "API 2014-11-13 from botocore" in ecs_line and "additions" in ecs_line
    ecr_line = next(line for line in lines if line.startswith("ecr model: "))
    assert "API 2015-09-21 from botocore" in ecr_line
