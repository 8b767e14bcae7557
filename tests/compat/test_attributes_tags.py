"""Attributes (PutAttributes, DeleteAttributes, ListAttributes) and tags
(TagResource, UntagResource, ListTagsForResource)."""

import pytest

from berth_compat import (VALIDATION_CODES, assert_refused, cluster_arn, tags_as_dict,
                          task_definition_arn, unique)

RESOURCES = [{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
             {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}]


@pytest.fixture
def cluster(ecs):
    name = unique("attr")
    ecs.create_cluster(clusterName=name)
    return name


@pytest.fixture
def instance(ecs, cluster):
    return ecs.register_container_instance(cluster=cluster, totalResources=RESOURCES)[
        "containerInstance"]["containerInstanceArn"]


def short_id(arn):
    return arn.rsplit("/", 1)[1]


def list_attributes(ecs, cluster, **filters):
    out, token = [], None
    while True:
        page = ecs.list_attributes(cluster=cluster, targetType="container-instance", **filters,
                                   **({"nextToken": token} if token else {}))
        out += page["attributes"]
        token = page.get("nextToken")
        if not token:
            return out


def on_target(attributes, arn):
    """(name, value) pairs of attributes whose target is the instance arn."""
    return {(a["name"], a.get("value")) for a in attributes
            if a.get("targetId") in (arn, short_id(arn))}


def described_attributes(ecs, cluster, arn):
    ci = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])
    return {(a["name"], a.get("value")) for a in ci["containerInstances"][0]["attributes"]}


# --- attributes --------------------------------------------------------------


def test_put_attributes_by_arn(ecs, cluster, instance):
    attrs = [{"name": "rack", "value": "r1", "targetId": instance},
             {"name": "gpu-model", "value": "none", "targetId": instance}]
    resp = ecs.put_attributes(cluster=cluster, attributes=attrs)
    assert {(a["name"], a["value"]) for a in resp["attributes"]} == {
        ("rack", "r1"), ("gpu-model", "none")}
    listed = list_attributes(ecs, cluster)
    assert on_target(listed, instance) >= {("rack", "r1"), ("gpu-model", "none")}
    assert all(a["targetType"] == "container-instance" for a in listed)
    assert described_attributes(ecs, cluster, instance) >= {("rack", "r1"), ("gpu-model", "none")}


def test_put_attributes_by_short_id_and_target_type(ecs, cluster, instance):
    ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "zone", "value": "z2", "targetType": "container-instance",
         "targetId": short_id(instance)}])
    assert ("zone", "z2") in described_attributes(ecs, cluster, instance)


def test_put_attribute_without_value(ecs, cluster, instance):
    ecs.put_attributes(cluster=cluster, attributes=[{"name": "has-efa", "targetId": instance}])
    assert ("has-efa", None) in described_attributes(ecs, cluster, instance)


def test_put_attributes_replaces_the_value(ecs, cluster, instance):
    ecs.put_attributes(cluster=cluster,
                       attributes=[{"name": "rack", "value": "r1", "targetId": instance}])
    ecs.put_attributes(cluster=cluster,
                       attributes=[{"name": "rack", "value": "r9", "targetId": instance}])
    assert [v for n, v in described_attributes(ecs, cluster, instance) if n == "rack"] == ["r9"]
    assert [v for n, v in on_target(list_attributes(ecs, cluster, attributeName="rack"),
                                    instance)] == ["r9"]


def test_list_attributes_filters_by_name_and_value(ecs, cluster):
    a, b = (ecs.register_container_instance(cluster=cluster, totalResources=RESOURCES)[
        "containerInstance"]["containerInstanceArn"] for _ in range(2))
    ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "stack", "value": "prod", "targetId": a},
        {"name": "stack", "value": "dev", "targetId": b},
        {"name": "other", "value": "prod", "targetId": b}])
    by_name = list_attributes(ecs, cluster, attributeName="stack")
    assert {(short_id(x["targetId"]), x["value"]) for x in by_name} == {
        (short_id(a), "prod"), (short_id(b), "dev")}
    by_value = list_attributes(ecs, cluster, attributeName="stack", attributeValue="prod")
    assert [(short_id(x["targetId"]), x["name"], x["value"]) for x in by_value] == [
        (short_id(a), "stack", "prod")]
    assert list_attributes(ecs, cluster, attributeName="nonexistent") == []


def test_list_attributes_paginates(ecs, cluster, instance):
    ecs.put_attributes(cluster=cluster, attributes=[
        {"name": f"label-{i}", "value": "x", "targetId": instance} for i in range(7)])
    seen, token, pages = [], None, 0
    while True:
        page = ecs.list_attributes(cluster=cluster, targetType="container-instance",
                                   maxResults=3, **({"nextToken": token} if token else {}))
        assert len(page["attributes"]) <= 3
        seen += [(a["name"], a.get("value"), a.get("targetId")) for a in page["attributes"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 50
    assert len(seen) == len(set(seen)), "an attribute was listed on two pages"
    assert {f"label-{i}" for i in range(7)} <= {name for name, _, _ in seen}
    assert pages >= 3


def test_list_attributes_value_filter_needs_a_name(ecs, cluster, instance):
    assert_refused(ecs.list_attributes, VALIDATION_CODES, cluster=cluster,
                   targetType="container-instance", attributeValue="prod")


def test_delete_attributes(ecs, cluster, instance):
    ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "temp", "value": "1", "targetId": instance},
        {"name": "keep", "value": "1", "targetId": instance}])
    resp = ecs.delete_attributes(cluster=cluster,
                                 attributes=[{"name": "temp", "targetId": instance}])
    assert [a["name"] for a in resp["attributes"]] == ["temp"]
    attrs = described_attributes(ecs, cluster, instance)
    assert ("keep", "1") in attrs
    assert "temp" not in {n for n, _ in attrs}
    assert on_target(list_attributes(ecs, cluster, attributeName="temp"), instance) == set()


def test_put_attributes_on_unknown_target(ecs, cluster, instance):
    ghost = instance.rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"
    assert_refused(ecs.put_attributes, "TargetNotFoundException", cluster=cluster,
                   attributes=[{"name": "rack", "value": "r1", "targetId": ghost}])


def test_put_attributes_in_unknown_cluster(ecs, instance):
    assert_refused(ecs.put_attributes, "ClusterNotFoundException", cluster=unique("nope"),
                   attributes=[{"name": "rack", "value": "r1", "targetId": instance}])


def test_list_attributes_in_unknown_cluster(ecs):
    assert_refused(ecs.list_attributes, "ClusterNotFoundException", cluster=unique("nope"),
                   targetType="container-instance")


@pytest.mark.parametrize("attribute", [
    {"name": "has space", "value": "x"},
    {"name": "n" * 129, "value": "x"},
    {"name": "ok", "value": "v" * 129},
    {"name": "ok", "value": " leading-space"},
], ids=["name with space", "name too long", "value too long", "value starts with space"])
def test_put_attributes_refuses_invalid_attributes(ecs, cluster, instance, attribute):
    good = {"name": "fine", "value": "fine", "targetId": instance}
    assert_refused(ecs.put_attributes, "InvalidParameterException", cluster=cluster,
                   attributes=[good, dict(attribute, targetId=instance)])
    # All or nothing: the valid attribute in the same call was not applied.
    assert "fine" not in {n for n, _ in described_attributes(ecs, cluster, instance)}


def test_put_attributes_by_short_id_needs_target_type(ecs, ecs_unvalidated, cluster, instance):
    assert_refused(ecs_unvalidated.put_attributes, VALIDATION_CODES, cluster=cluster,
                   attributes=[{"name": "rack", "value": "r1", "targetId": short_id(instance)}])
    assert "rack" not in {n for n, _ in described_attributes(ecs, cluster, instance)}


# --- tags --------------------------------------------------------------------


def test_tag_and_untag_a_cluster(ecs):
    name = unique("tags")
    arn = ecs.create_cluster(clusterName=name, tags=[{"key": "a", "value": "1"}])[
        "cluster"]["clusterArn"]
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"a": "1"}
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "b", "value": "2"}, {"key": "a", "value": "9"}])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"a": "9", "b": "2"}
    described = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"][0]
    assert tags_as_dict(described["tags"]) == {"a": "9", "b": "2"}
    ecs.untag_resource(resourceArn=arn, tagKeys=["a", "not-there"])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"b": "2"}


def test_tag_a_task_definition(ecs):
    family = unique("tags-td")
    ecs.register_task_definition(
        family=family, tags=[{"key": "stage", "value": "dev"}],
        containerDefinitions=[{"name": "main", "image": "busybox", "memory": 64}])
    arn = task_definition_arn(family, 1)
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"stage": "dev"}
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "stage", "value": "prod"}])
    described = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
    assert tags_as_dict(described["tags"]) == {"stage": "prod"}
    ecs.untag_resource(resourceArn=arn, tagKeys=["stage"])
    assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_tag_a_container_instance(ecs, cluster, instance):
    ecs.tag_resource(resourceArn=instance, tags=[{"key": "node", "value": "n1"}])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=instance)["tags"]) == {
        "node": "n1"}
    ci = ecs.describe_container_instances(cluster=cluster, containerInstances=[instance],
                                          include=["TAGS"])["containerInstances"][0]
    assert tags_as_dict(ci["tags"]) == {"node": "n1"}


def test_tag_value_may_be_empty(ecs):
    arn = ecs.create_cluster(clusterName=unique("emptyval"))["cluster"]["clusterArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "flag", "value": ""}])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"flag": ""}


def test_tag_unknown_cluster(ecs):
    arn = cluster_arn(unique("ghost"))
    assert_refused(ecs.tag_resource, ("ClusterNotFoundException", "ResourceNotFoundException"),
                   resourceArn=arn, tags=[{"key": "a", "value": "1"}])
    assert_refused(ecs.list_tags_for_resource,
                   ("ClusterNotFoundException", "ResourceNotFoundException"), resourceArn=arn)


def test_tag_unknown_task_definition(ecs):
    arn = task_definition_arn(unique("ghost"), 1)
    assert_refused(ecs.tag_resource,
                   VALIDATION_CODES + ("ResourceNotFoundException",),
                   resourceArn=arn, tags=[{"key": "a", "value": "1"}])


@pytest.mark.parametrize("resource_arn", [
    "not-an-arn", "arn:aws:ecs:us-east-1:000000000000:spaceship/x",
], ids=["not an arn", "unknown resource type"])
def test_tag_malformed_arn(ecs, resource_arn):
    assert_refused(ecs.tag_resource, ("InvalidParameterException",),
                   resourceArn=resource_arn, tags=[{"key": "a", "value": "1"}])


@pytest.mark.parametrize("tags", [
    [{"key": "aws:reserved", "value": "x"}],
    [{"key": f"k{i}", "value": "v"} for i in range(51)],
    [{"key": "k" * 129, "value": "v"}],
    [{"key": "k", "value": "v" * 257}],
], ids=["aws: prefix", "51 tags", "key too long", "value too long"])
def test_tag_resource_refuses_invalid_tags(ecs, ecs_unvalidated, tags):
    name = unique("badtags")
    arn = ecs.create_cluster(clusterName=name, tags=[{"key": "kept", "value": "yes"}])[
        "cluster"]["clusterArn"]
    assert_refused(ecs_unvalidated.tag_resource, VALIDATION_CODES,
                   resourceArn=arn, tags=tags)
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"kept": "yes"}


def test_fifty_tags_are_accepted(ecs):
    arn = ecs.create_cluster(clusterName=unique("fifty"))["cluster"]["clusterArn"]
    tags = [{"key": f"k{i}", "value": "v"} for i in range(50)]
    ecs.tag_resource(resourceArn=arn, tags=tags)
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == tags_as_dict(tags)


def test_tags_beyond_fifty_in_total_are_refused(ecs, ecs_unvalidated):
    arn = ecs.create_cluster(clusterName=unique("fiftyone"))["cluster"]["clusterArn"]
    first = [{"key": f"k{i}", "value": "v"} for i in range(50)]
    ecs.tag_resource(resourceArn=arn, tags=first)
    assert_refused(ecs_unvalidated.tag_resource, VALIDATION_CODES,
                   resourceArn=arn, tags=[{"key": "one-more", "value": "v"}])
    assert tags_as_dict(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == tags_as_dict(first)


def test_aws_cli_tag_round_trip(ecs, aws):
    arn = ecs.create_cluster(clusterName=unique("cli-tags"))["cluster"]["clusterArn"]
    rc, _, err = aws("ecs", "tag-resource", "--resource-arn", arn,
                     "--tags", "key=team,value=ml", "key=env,value=test")
    assert rc == 0, err
    rc, out, err = aws("ecs", "list-tags-for-resource", "--resource-arn", arn)
    assert rc == 0, err
    assert tags_as_dict(out["tags"]) == {"team": "ml", "env": "test"}
    rc, _, err = aws("ecs", "untag-resource", "--resource-arn", arn, "--tag-keys", "env")
    assert rc == 0, err
    rc, out, err = aws("ecs", "list-tags-for-resource", "--resource-arn", arn)
    assert tags_as_dict(out["tags"]) == {"team": "ml"}
