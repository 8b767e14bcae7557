"""Service deployments and revisions (ECS, 2024): ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions, and the Service's
currentServiceDeployment / currentServiceRevisions. Each deployment of a
berth service is a service deployment targeting a revision of the same
number. Debian's botocore predates these operations: hand-signed requests."""


import pytest

from berth_compat import ACCOUNT, REGION, unique, wait_for

DIGEST = "sha256:" + "ab" * 32


def ok(resp):
    assert resp.status == 200, resp
    return resp.json


@pytest.fixture
def service(raw):
    """(cluster, service name, family) of a service with no tasks to run."""
    cluster, name, family = unique("sd"), unique("web"), unique("sdfam")
    ok(raw.call("CreateCluster", {"clusterName": cluster}))
    ok(raw.call("RegisterTaskDefinition", {"family": family, "containerDefinitions": [
        {"name": "app", "image": "127.0.0.1:5000/app:1", "memory": 64},
        {"name": "pinned", "image": f"127.0.0.1:5000/pinned@{DIGEST}", "memory": 64},
        {"name": "log", "image": "127.0.0.1:5000/log:1", "memory": 64,
         "versionConsistency": "disabled"}]}))
    ok(raw.call("CreateService", {"cluster": cluster, "serviceName": name,
                                  "taskDefinition": family, "desiredCount": 0}))
    yield cluster, name, family
    raw.call("DeleteService", {"cluster": cluster, "service": name, "force": True})


def listed(raw, cluster, name, **filters):
    return ok(raw.call("ListServiceDeployments", {"cluster": cluster, "service": name,
                                                  **filters}))["serviceDeployments"]


def settled(raw, cluster, name, count):
    """The list once it has count deployments and none IN_PROGRESS."""
    def check():
        got = listed(raw, cluster, name)
        return got if len(got) == count and all(d["status"] != "IN_PROGRESS" for d in got) else None
    return wait_for(f"{count} settled deployments of {name}", check)


def test_a_service_lists_its_deployments_newest_first(raw, service):
    cluster, name, family = service
    first = settled(raw, cluster, name, 1)[0]
    prefix = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{cluster}/{name}/"
    assert first["serviceDeploymentArn"].startswith(prefix)
    assert first["serviceArn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}"
    assert first["clusterArn"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"
    assert first["status"] == "SUCCESSFUL"
    assert first["finishedAt"] >= first["startedAt"] >= first["createdAt"] - 1

    ok(raw.call("UpdateService", {"cluster": cluster, "service": name,
                                  "forceNewDeployment": True}))
    both = settled(raw, cluster, name, 2)
    assert both[1]["serviceDeploymentArn"] == first["serviceDeploymentArn"]
    assert both[0]["createdAt"] >= both[1]["createdAt"]

    svc = ok(raw.call("DescribeServices", {"cluster": cluster, "services": [name]}))["services"][0]
    assert svc["currentServiceDeployment"] == both[0]["serviceDeploymentArn"]
    assert [r["arn"] for r in svc["currentServiceRevisions"]] == \
        [both[0]["targetServiceRevisionArn"]]

    # Filters and pages.
    assert listed(raw, cluster, name, status=["IN_PROGRESS"]) == []
    assert len(listed(raw, cluster, name, status=["SUCCESSFUL"])) == 2
    assert listed(raw, cluster, name, createdAt={"after": both[0]["createdAt"] + 1}) == []
    page = ok(raw.call("ListServiceDeployments", {"cluster": cluster, "service": name,
                                                  "maxResults": 1}))
    assert [d["serviceDeploymentArn"] for d in page["serviceDeployments"]] == \
        [both[0]["serviceDeploymentArn"]]
    rest = ok(raw.call("ListServiceDeployments", {"cluster": cluster, "service": name,
                                                  "maxResults": 1, "nextToken": page["nextToken"]}))
    assert [d["serviceDeploymentArn"] for d in rest["serviceDeployments"]] == \
        [both[1]["serviceDeploymentArn"]]
    assert "nextToken" not in rest


def test_describe_deployments_and_revisions(raw, service):
    cluster, name, family = service
    deployment = settled(raw, cluster, name, 1)[0]
    missing = deployment["serviceDeploymentArn"].rsplit("/", 1)[0] + "/123"
    described = ok(raw.call("DescribeServiceDeployments", {
        "serviceDeploymentArns": [deployment["serviceDeploymentArn"], missing]}))
    assert described["failures"] == [{"arn": missing, "reason": "MISSING"}]
    d = described["serviceDeployments"][0]
    assert d["status"] == "SUCCESSFUL"
    assert d["targetServiceRevision"]["arn"] == deployment["targetServiceRevisionArn"]
    assert d["targetServiceRevision"]["requestedTaskCount"] == 0
    assert d["sourceServiceRevisions"] == []
    assert d["deploymentConfiguration"]["maximumPercent"] == 200
    assert d["deploymentCircuitBreaker"] == {"status": "DISABLED"}

    revision = ok(raw.call("DescribeServiceRevisions", {
        "serviceRevisionArns": [deployment["targetServiceRevisionArn"]]}))
    assert revision["failures"] == []
    r = revision["serviceRevisions"][0]
    assert r["taskDefinition"].endswith(f":task-definition/{family}:1")
    assert r["launchType"] == "EC2"
    # A container named by digest and one that opted out are known at once;
    # "app" waits for the digest its first task resolves.
    images = {i["containerName"]: i for i in wait_for("the revision's images", lambda: ok(
        raw.call("DescribeServiceRevisions", {
            "serviceRevisionArns": [deployment["targetServiceRevisionArn"]]}))[
        "serviceRevisions"][0]["containerImages"])}
    assert images["pinned"]["imageDigest"] == DIGEST
    assert "imageDigest" not in images["log"]
    assert "app" not in images


@pytest.mark.parametrize("operation,member", [
    ("DescribeServiceDeployments", "serviceDeploymentArns"),
    ("DescribeServiceRevisions", "serviceRevisionArns"),
])
def test_describe_refuses_what_is_not_an_arn_of_its_kind(raw, operation, member):
    for arns in (["web"], [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/c/web"], [],
                 [f"arn:aws:ecs:{REGION}:{ACCOUNT}:x/c/s/1"] * 21):
        resp = raw.call(operation, {member: arns})
        assert resp.status == 400, (arns, resp)
        assert resp.error_type == "InvalidParameterException", resp


def test_list_names_a_missing_service(raw, service):
    cluster, _, _ = service
    resp = raw.call("ListServiceDeployments", {"cluster": cluster, "service": unique("none")})
    assert resp.error_type == "ServiceNotFoundException", resp
    resp = raw.call("ListServiceDeployments", {"cluster": cluster, "service": "x",
                                               "status": ["DONE"]})
    assert resp.error_type == "InvalidParameterException", resp


def test_the_history_survives_a_restart(fresh_server):
    raw = fresh_server.raw()
    cluster, name, family = unique("sd"), unique("web"), unique("sdfam")
    ok(raw.call("CreateCluster", {"clusterName": cluster}))
    ok(raw.call("RegisterTaskDefinition", {"family": family, "containerDefinitions": [
        {"name": "app", "image": "busybox", "memory": 64}]}))
    ok(raw.call("CreateService", {"cluster": cluster, "serviceName": name,
                                  "taskDefinition": family, "desiredCount": 0}))
    before = settled(raw, cluster, name, 1)
    fresh_server.restart()
    assert listed(fresh_server.raw(), cluster, name) == before
