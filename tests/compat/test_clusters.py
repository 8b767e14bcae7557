"""Clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster,
UpdateClusterSettings, DeleteCluster."""

import pytest

from berth_compat import (VALIDATION_CODES, assert_refused, cluster_arn, tags_as_dict,
                          unique)


def list_all_clusters(ecs, **kwargs):
    arns, token = [], None
    while True:
        page = ecs.list_clusters(**kwargs, **({"nextToken": token} if token else {}))
        arns += page["clusterArns"]
        token = page.get("nextToken")
        if not token:
            return arns


def describe_one(ecs, name, include=None):
    resp = ecs.describe_clusters(clusters=[name], **({"include": include} if include else {}))
    assert resp["failures"] == [], resp
    assert len(resp["clusters"]) == 1, resp
    return resp["clusters"][0]


def test_create_cluster_returns_an_active_empty_cluster(ecs):
    name = unique("create")
    cluster = ecs.create_cluster(clusterName=name)["cluster"]
    assert cluster["clusterArn"] == cluster_arn(name)
    assert cluster["clusterName"] == name
    assert cluster["status"] == "ACTIVE"
    assert cluster["registeredContainerInstancesCount"] == 0
    assert cluster["runningTasksCount"] == 0
    assert cluster["pendingTasksCount"] == 0
    assert cluster["activeServicesCount"] == 0
    assert cluster.get("statistics", []) == []


def test_create_cluster_twice_returns_the_same_cluster(ecs):
    name = unique("twice")
    first = ecs.create_cluster(clusterName=name)["cluster"]
    second = ecs.create_cluster(clusterName=name)["cluster"]
    assert second["clusterArn"] == first["clusterArn"]
    assert second["status"] == "ACTIVE"
    assert list_all_clusters(ecs).count(first["clusterArn"]) == 1


def test_create_cluster_without_a_name_creates_default(ecs):
    cluster = ecs.create_cluster()["cluster"]
    assert cluster["clusterName"] == "default"
    assert cluster["clusterArn"] == cluster_arn("default")
    # DescribeClusters without `clusters` describes the default cluster.
    resp = ecs.describe_clusters()
    assert [c["clusterName"] for c in resp["clusters"]] == ["default"]
    assert resp["clusters"][0]["status"] == "ACTIVE"


def test_describe_clusters_by_name_and_by_arn(ecs):
    name = unique("describe")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    by_name = describe_one(ecs, name)
    by_arn = describe_one(ecs, arn)
    assert by_name == by_arn
    assert by_name["clusterArn"] == arn
    assert by_name["clusterName"] == name
    assert by_name["status"] == "ACTIVE"


def test_describe_unknown_cluster_is_a_missing_failure(ecs):
    known = unique("known")
    missing = unique("missing")
    ecs.create_cluster(clusterName=known)
    resp = ecs.describe_clusters(clusters=[known, missing])
    assert [c["clusterName"] for c in resp["clusters"]] == [known]
    assert len(resp["failures"]) == 1, resp
    assert resp["failures"][0]["reason"] == "MISSING"
    assert resp["failures"][0]["arn"].endswith(f":cluster/{missing}")


def test_describe_clusters_includes_tags_only_when_asked(ecs):
    name = unique("tags")
    tags = [{"key": "team", "value": "ml"}, {"key": "cost-center", "value": "42"}]
    ecs.create_cluster(clusterName=name, tags=tags)
    with_tags = describe_one(ecs, name, include=["TAGS"])
    assert tags_as_dict(with_tags["tags"]) == tags_as_dict(tags)
    without = describe_one(ecs, name)
    assert not without.get("tags"), without


def test_describe_clusters_includes_settings_statistics_configurations(ecs):
    name = unique("include")
    ecs.create_cluster(
        clusterName=name,
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}})
    cluster = describe_one(ecs, name, include=["SETTINGS", "STATISTICS", "CONFIGURATIONS", "TAGS"])
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert cluster["configuration"]["executeCommandConfiguration"]["logging"] == "DEFAULT"
    assert isinstance(cluster["statistics"], list)


def test_describe_clusters_refuses_unknown_include_value(ecs_unvalidated):
    assert_refused(ecs_unvalidated.describe_clusters,
                   VALIDATION_CODES + ("SerializationException",),
                   clusters=["default"], include=["EVERYTHING"])


def test_list_clusters_contains_created_clusters(ecs):
    names = [unique("list") for _ in range(3)]
    for name in names:
        ecs.create_cluster(clusterName=name)
    arns = list_all_clusters(ecs)
    for name in names:
        assert cluster_arn(name) in arns


def test_list_clusters_paginates_with_max_results(ecs):
    names = [unique("page") for _ in range(5)]
    for name in names:
        ecs.create_cluster(clusterName=name)
    seen, token, pages = [], None, 0
    while True:
        page = ecs.list_clusters(maxResults=2, **({"nextToken": token} if token else {}))
        pages += 1
        assert len(page["clusterArns"]) <= 2
        seen += page["clusterArns"]
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 1000, "ListClusters never stops paging"
    assert pages >= 3  # at least 5 clusters, 2 a page
    assert len(seen) == len(set(seen)), "a cluster was listed on two pages"
    for name in names:
        assert cluster_arn(name) in seen


def test_list_clusters_refuses_a_bogus_next_token(ecs):
    assert_refused(ecs.list_clusters, "InvalidParameterException",
                   nextToken="bm90IGEgcmVhbCB0b2tlbg==")


@pytest.mark.parametrize("max_results", [0, 101])
def test_list_clusters_refuses_max_results_out_of_range(ecs, max_results):
    assert_refused(ecs.list_clusters, VALIDATION_CODES, maxResults=max_results)


def test_aws_cli_list_clusters_follows_next_token(ecs, aws):
    names = [unique("cli-page") for _ in range(3)]
    for name in names:
        ecs.create_cluster(clusterName=name)
    rc, out, err = aws("ecs", "list-clusters", "--page-size", "1")
    assert rc == 0, err
    assert "nextToken" not in out and "NextToken" not in out
    for name in names:
        assert cluster_arn(name) in out["clusterArns"]
    assert len(out["clusterArns"]) == len(set(out["clusterArns"]))


def test_aws_cli_create_and_describe_cluster(aws):
    name = unique("cli")
    rc, out, err = aws("ecs", "create-cluster", "--cluster-name", name,
                       "--tags", "key=owner,value=cli")
    assert rc == 0, err
    assert out["cluster"]["clusterArn"] == cluster_arn(name)
    rc, out, err = aws("ecs", "describe-clusters", "--clusters", name, "--include", "TAGS")
    assert rc == 0, err
    assert out["clusters"][0]["status"] == "ACTIVE"
    assert tags_as_dict(out["clusters"][0]["tags"]) == {"owner": "cli"}


@pytest.mark.parametrize("bad_name", ["has space", "slash/inside", "x" * 256, "ümlaut"])
def test_create_cluster_refuses_invalid_names(ecs, bad_name):
    assert_refused(ecs.create_cluster, VALIDATION_CODES, clusterName=bad_name)
    assert cluster_arn(bad_name) not in list_all_clusters(ecs)


def test_cluster_name_of_255_characters_is_accepted(ecs):
    name = unique("long")
    name = name + "x" * (255 - len(name))
    assert ecs.create_cluster(clusterName=name)["cluster"]["clusterName"] == name


def test_update_cluster_settings(ecs):
    name = unique("settings")
    ecs.create_cluster(clusterName=name)
    resp = ecs.update_cluster_settings(
        cluster=name, settings=[{"name": "containerInsights", "value": "enabled"}])
    assert resp["cluster"]["clusterArn"] == cluster_arn(name)
    assert {"name": "containerInsights", "value": "enabled"} in resp["cluster"]["settings"]
    cluster = describe_one(ecs, name, include=["SETTINGS"])
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    ecs.update_cluster_settings(
        cluster=name, settings=[{"name": "containerInsights", "value": "disabled"}])
    cluster = describe_one(ecs, name, include=["SETTINGS"])
    assert {"name": "containerInsights", "value": "disabled"} in cluster["settings"]
    assert {"name": "containerInsights", "value": "enabled"} not in cluster["settings"]


def test_update_cluster_configuration_and_settings(ecs):
    name = unique("update")
    ecs.create_cluster(clusterName=name)
    resp = ecs.update_cluster(
        cluster=name,
        settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "NONE"}})
    assert resp["cluster"]["clusterName"] == name
    cluster = describe_one(ecs, name, include=["SETTINGS", "CONFIGURATIONS"])
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert cluster["configuration"]["executeCommandConfiguration"]["logging"] == "NONE"


def test_update_unknown_cluster_is_cluster_not_found(ecs):
    missing = unique("nope")
    assert_refused(ecs.update_cluster_settings, "ClusterNotFoundException",
                   cluster=missing, settings=[{"name": "containerInsights", "value": "enabled"}])
    assert_refused(ecs.update_cluster, "ClusterNotFoundException",
                   cluster=missing, settings=[{"name": "containerInsights", "value": "enabled"}])
    # ...and neither created it.
    assert describe_failures(ecs, missing) == ["MISSING"]


def test_update_cluster_settings_refuses_unknown_setting(ecs_unvalidated):
    name = unique("badsetting")
    ecs_unvalidated.create_cluster(clusterName=name)
    assert_refused(ecs_unvalidated.update_cluster_settings,
                   VALIDATION_CODES + ("SerializationException",),
                   cluster=name, settings=[{"name": "fastMode", "value": "enabled"}])


def describe_failures(ecs, name):
    return [f["reason"] for f in ecs.describe_clusters(clusters=[name])["failures"]]


def test_delete_cluster(ecs):
    name = unique("delete")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    deleted = ecs.delete_cluster(cluster=name)["cluster"]
    assert deleted["clusterArn"] == arn
    assert deleted["status"] == "INACTIVE"
    # A deleted cluster is still described, as INACTIVE, and no longer listed.
    resp = ecs.describe_clusters(clusters=[name])
    assert [c["status"] for c in resp["clusters"]] == ["INACTIVE"]
    assert arn not in list_all_clusters(ecs)


def test_delete_cluster_by_arn(ecs):
    name = unique("delete-arn")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    assert ecs.delete_cluster(cluster=arn)["cluster"]["status"] == "INACTIVE"


def test_recreate_a_deleted_cluster(ecs):
    name = unique("again")
    arn = ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]
    ecs.delete_cluster(cluster=name)
    again = ecs.create_cluster(clusterName=name)["cluster"]
    assert again["clusterArn"] == arn
    assert again["status"] == "ACTIVE"
    assert describe_one(ecs, name)["status"] == "ACTIVE"
    assert list_all_clusters(ecs).count(arn) == 1


def test_delete_unknown_cluster_is_cluster_not_found(ecs):
    assert_refused(ecs.delete_cluster, "ClusterNotFoundException", cluster=unique("ghost"))


def test_delete_cluster_with_a_container_instance_is_refused(ecs):
    name = unique("busy")
    ecs.create_cluster(clusterName=name)
    instance = ecs.register_container_instance(
        cluster=name,
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}],
    )["containerInstance"]["containerInstanceArn"]
    assert_refused(ecs.delete_cluster, "ClusterContainsContainerInstancesException", cluster=name)
    cluster = describe_one(ecs, name)
    assert cluster["status"] == "ACTIVE"
    assert cluster["registeredContainerInstancesCount"] == 1
    # Once the instance is gone the cluster can be deleted.
    ecs.deregister_container_instance(cluster=name, containerInstance=instance, force=True)
    assert ecs.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"


def test_cluster_survives_a_restart(fresh_server):
    ecs = fresh_server.client()
    name = unique("durable")
    ecs.create_cluster(clusterName=name, tags=[{"key": "k", "value": "v"}],
                       settings=[{"name": "containerInsights", "value": "enabled"}])
    gone = unique("gone")
    ecs.create_cluster(clusterName=gone)
    ecs.delete_cluster(cluster=gone)
    include = ["TAGS", "SETTINGS", "CONFIGURATIONS"]
    before = ecs.describe_clusters(clusters=[name, gone], include=include)
    listed_before = sorted(list_all_clusters(ecs))

    credentials = (fresh_server.access_key, fresh_server.secret_key)

    fresh_server.restart()

    # The same credentials, so a client made before the restart still works.
    assert (fresh_server.access_key, fresh_server.secret_key) == credentials
    after = ecs.describe_clusters(clusters=[name, gone], include=include)
    assert after["clusters"] == before["clusters"]
    assert after["failures"] == before["failures"]
    assert sorted(list_all_clusters(ecs)) == listed_before
