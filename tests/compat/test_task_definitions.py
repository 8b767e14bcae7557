"""Task definitions: RegisterTaskDefinition, DescribeTaskDefinition,
ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition,
DeleteTaskDefinitions, and the validation a registration goes through."""

import copy
import datetime
import json

import pytest
from botocore.exceptions import ClientError

from berth_compat import (EXAMPLE_TASKDEF, VALIDATION_CODES, assert_contains, assert_refused,
                          error_code, tags_as_dict, task_definition_arn, unique)


def container(name="main", **extra):
    c = {"name": name, "image": "public.ecr.aws/docker/library/busybox:latest",
         "memory": 128, "essential": True, "command": ["sleep", "60"]}
    c.update(extra)
    return c


def register(ecs, family, containers=None, **extra):
    return ecs.register_task_definition(
        family=family, containerDefinitions=containers or [container()], **extra)


def list_all_task_definitions(ecs, **kwargs):
    arns, token = [], None
    while True:
        page = ecs.list_task_definitions(**kwargs, **({"nextToken": token} if token else {}))
        arns += page["taskDefinitionArns"]
        token = page.get("nextToken")
        if not token:
            return arns


def list_all_families(ecs, **kwargs):
    families, token = [], None
    while True:
        page = ecs.list_task_definition_families(
            **kwargs, **({"nextToken": token} if token else {}))
        families += page["families"]
        token = page.get("nextToken")
        if not token:
            return families


# --- register and describe -------------------------------------------------


def test_register_returns_the_new_revision(ecs):
    family = unique("reg")
    resp = register(ecs, family, cpu="256", memory="512")
    td = resp["taskDefinition"]
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)
    assert td["family"] == family
    assert td["revision"] == 1
    assert td["status"] == "ACTIVE"
    assert td["cpu"] == "256"
    assert td["memory"] == "512"
    assert [c["name"] for c in td["containerDefinitions"]] == ["main"]
    c = td["containerDefinitions"][0]
    assert c["image"] == "public.ecr.aws/docker/library/busybox:latest"
    assert c["memory"] == 128
    assert c["essential"] is True
    assert c["command"] == ["sleep", "60"]
    assert "EC2" in td["compatibilities"]
    assert isinstance(td["requiresAttributes"], list)
    assert isinstance(td["registeredAt"], datetime.datetime)
    # registeredAt is the registration time, not some fixed value.
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - td["registeredAt"]).total_seconds()) < 300


def test_revisions_increment_per_family(ecs):
    family_a, family_b = unique("rev-a"), unique("rev-b")
    revisions_a = [register(ecs, family_a)["taskDefinition"]["revision"] for _ in range(3)]
    revision_b = register(ecs, family_b)["taskDefinition"]["revision"]
    assert revisions_a == [1, 2, 3]
    assert revision_b == 1


def test_describe_by_family_revision_and_arn(ecs):
    family = unique("desc")
    first = register(ecs, family, [container(command=["echo", "one"])])["taskDefinition"]
    second = register(ecs, family, [container(command=["echo", "two"])])["taskDefinition"]
    latest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert latest == second
    assert ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"] == first
    by_arn = ecs.describe_task_definition(taskDefinition=first["taskDefinitionArn"])
    assert by_arn["taskDefinition"] == first
    assert by_arn["taskDefinition"]["containerDefinitions"][0]["command"] == ["echo", "one"]


def test_describe_unknown_task_definition_is_a_client_exception(ecs):
    family = unique("unknown")
    assert_refused(ecs.describe_task_definition, "ClientException", taskDefinition=family)
    register(ecs, family)
    assert_refused(ecs.describe_task_definition, "ClientException", taskDefinition=f"{family}:2")


def test_tags_are_returned_when_included(ecs):
    family = unique("tagged")
    tags = [{"key": "project", "value": "llama"}, {"key": "owner", "value": "ml-team"}]
    register(ecs, family, tags=tags)
    with_tags = ecs.describe_task_definition(taskDefinition=family, include=["TAGS"])
    assert tags_as_dict(with_tags["tags"]) == tags_as_dict(tags)
    without = ecs.describe_task_definition(taskDefinition=family)
    assert not without.get("tags")


def test_describe_refuses_unknown_include_value(ecs, ecs_unvalidated):
    family = unique("include")
    register(ecs, family)
    assert_refused(ecs_unvalidated.describe_task_definition,
                   VALIDATION_CODES + ("SerializationException",),
                   taskDefinition=family, include=["EVERYTHING"])


def test_container_memory_may_come_from_the_task(ecs):
    family = unique("taskmem")
    no_memory = {"name": "main", "image": "busybox", "essential": True}
    td = register(ecs, family, [no_memory], memory="1024")["taskDefinition"]
    assert td["memory"] == "1024"
    assert "memory" not in td["containerDefinitions"][0]


def test_memory_reservation_alone_is_enough(ecs):
    family = unique("reservation")
    c = {"name": "main", "image": "busybox", "memoryReservation": 256}
    td = register(ecs, family, [c])["taskDefinition"]
    assert td["containerDefinitions"][0]["memoryReservation"] == 256


def test_essential_defaults_to_true(ecs):
    family = unique("essential")
    c = {"name": "main", "image": "busybox", "memory": 64}
    td = register(ecs, family, [c])["taskDefinition"]
    assert td["containerDefinitions"][0]["essential"] is True


def test_depends_on_between_containers_is_accepted(ecs):
    family = unique("depends")
    containers = [
        container("setup", essential=False, command=["true"]),
        container("train", dependsOn=[{"containerName": "setup", "condition": "SUCCESS"}]),
    ]
    td = register(ecs, family, containers)["taskDefinition"]
    assert td["containerDefinitions"][1]["dependsOn"] == [
        {"containerName": "setup", "condition": "SUCCESS"}]


# --- the example Neuron training task definition ----------------------------


def load_example():
    with open(EXAMPLE_TASKDEF) as f:
        return json.load(f)


def check_round_trip(sent, td, tags):
    """Every field sent appears unchanged in the described task definition."""
    body = {k: v for k, v in sent.items() if k != "tags"}
    assert_contains(body, td)
    if "tags" in sent:
        assert tags_as_dict(tags) == tags_as_dict(sent["tags"])
    assert td["taskDefinitionArn"] == task_definition_arn(sent["family"], td["revision"])
    assert td["status"] == "ACTIVE"
    assert isinstance(td["requiresAttributes"], list)
    assert "EC2" in td["compatibilities"]
    assert td["registeredAt"]


def neuron_devices(td):
    return sorted(d["hostPath"] for c in td["containerDefinitions"]
                  for d in (c.get("linuxParameters") or {}).get("devices", []))


def test_example_task_definition_round_trips(ecs):
    sent = load_example()
    sent["family"] = unique(sent["family"][:200])
    registered = ecs.register_task_definition(**copy.deepcopy(sent))
    assert registered["taskDefinition"]["revision"] == 1
    described = ecs.describe_task_definition(taskDefinition=sent["family"], include=["TAGS"])
    check_round_trip(sent, described["taskDefinition"], described.get("tags"))
    assert described["taskDefinition"] == registered["taskDefinition"]
    # trn1.32xlarge: all 16 Neuron devices are mapped.
    assert neuron_devices(described["taskDefinition"]) == sorted(
        f"/dev/neuron{i}" for i in range(16))


def test_example_task_definition_round_trips_through_the_aws_cli(aws, tmp_path):
    sent = load_example()
    sent["family"] = unique(sent["family"][:200])
    path = tmp_path / "taskdef.json"
    path.write_text(json.dumps(sent))
    rc, out, err = aws("ecs", "register-task-definition", "--cli-input-json", f"file://{path}")
    assert rc == 0, err
    arn = out["taskDefinition"]["taskDefinitionArn"]
    rc, out, err = aws("ecs", "describe-task-definition", "--task-definition", arn,
                       "--include", "TAGS")
    assert rc == 0, err
    check_round_trip(sent, out["taskDefinition"], out.get("tags"))


def test_task_definition_survives_a_restart(fresh_server):
    ecs = fresh_server.client()
    sent = load_example()
    family = sent["family"]
    ecs.register_task_definition(**copy.deepcopy(sent))
    ecs.register_task_definition(**copy.deepcopy(sent))
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    before = [ecs.describe_task_definition(taskDefinition=f"{family}:{rev}", include=["TAGS"])
              for rev in (1, 2)]
    listed = (list_all_task_definitions(ecs, familyPrefix=family),
              list_all_task_definitions(ecs, familyPrefix=family, status="INACTIVE"))

    fresh_server.restart()

    after = [ecs.describe_task_definition(taskDefinition=f"{family}:{rev}", include=["TAGS"])
             for rev in (1, 2)]
    for b, a in zip(before, after):
        b.pop("ResponseMetadata")
        a.pop("ResponseMetadata")
    assert after == before
    assert (list_all_task_definitions(ecs, familyPrefix=family),
            list_all_task_definitions(ecs, familyPrefix=family, status="INACTIVE")) == listed
    # Revision numbers carry on; none is reused.
    assert ecs.register_task_definition(**sent)["taskDefinition"]["revision"] == 3


# --- list ------------------------------------------------------------------


def test_list_task_definitions_filters_and_sorts(ecs):
    family = unique("list")
    other = unique("list-other")
    for _ in range(3):
        register(ecs, family)
    register(ecs, other)
    asc = list_all_task_definitions(ecs, familyPrefix=family)
    assert asc == [task_definition_arn(family, r) for r in (1, 2, 3)]
    desc = list_all_task_definitions(ecs, familyPrefix=family, sort="DESC")
    assert desc == list(reversed(asc))
    everything = list_all_task_definitions(ecs)
    assert set(asc) <= set(everything)
    assert task_definition_arn(other, 1) in everything


def test_list_task_definitions_paginates(ecs):
    family = unique("many")
    for _ in range(25):
        register(ecs, family)
    pages, token = [], None
    while True:
        page = ecs.list_task_definitions(familyPrefix=family, maxResults=10,
                                         **({"nextToken": token} if token else {}))
        pages.append(page["taskDefinitionArns"])
        token = page.get("nextToken")
        if not token:
            break
        assert len(pages) < 10, "ListTaskDefinitions never stops paging"
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == [task_definition_arn(family, r) for r in range(1, 26)]


def test_list_task_definitions_paginates_descending(ecs):
    family = unique("many-desc")
    for _ in range(12):
        register(ecs, family)
    arns = list_all_task_definitions(ecs, familyPrefix=family, sort="DESC", maxResults=5)
    assert arns == [task_definition_arn(family, r) for r in range(12, 0, -1)]


def test_list_task_definitions_refuses_a_bogus_next_token(ecs):
    assert_refused(ecs.list_task_definitions, "InvalidParameterException",
                   nextToken="definitely-not-a-token")


def test_aws_cli_lists_every_page(ecs, aws):
    family = unique("cli-many")
    for _ in range(25):
        register(ecs, family)
    # --page-size makes the CLI ask 10 at a time; without --max-items it
    # follows nextToken to the end and prints everything.
    rc, out, err = aws("ecs", "list-task-definitions", "--family-prefix", family,
                       "--page-size", "10")
    assert rc == 0, err
    assert out["taskDefinitionArns"] == [task_definition_arn(family, r) for r in range(1, 26)]
    rc, out, err = aws("ecs", "list-task-definitions", "--family-prefix", family)
    assert rc == 0, err
    assert len(out["taskDefinitionArns"]) == 25


def test_list_task_definition_families(ecs):
    prefix = unique("fam")
    active, retired = f"{prefix}-active", f"{prefix}-retired"
    register(ecs, active)
    register(ecs, retired)
    ecs.deregister_task_definition(taskDefinition=f"{retired}:1")
    assert list_all_families(ecs, familyPrefix=prefix, status="ALL") == sorted([active, retired])
    assert list_all_families(ecs, familyPrefix=prefix, status="ACTIVE") == [active]
    assert list_all_families(ecs, familyPrefix=prefix, status="INACTIVE") == [retired]
    assert list_all_families(ecs, familyPrefix=unique("nothing-like-it")) == []


def test_list_task_definition_families_paginates(ecs):
    prefix = unique("famp")
    families = sorted(f"{prefix}-{i:02d}" for i in range(7))
    for family in families:
        register(ecs, family)
    seen, token, pages = [], None, 0
    while True:
        page = ecs.list_task_definition_families(
            familyPrefix=prefix, maxResults=3, **({"nextToken": token} if token else {}))
        assert len(page["families"]) <= 3
        seen += page["families"]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
        assert pages < 20
    assert seen == families
    assert pages >= 3


# --- deregister and delete -------------------------------------------------


def test_deregister_marks_inactive_and_family_describe_skips_it(ecs):
    family = unique("dereg")
    register(ecs, family)
    register(ecs, family)
    resp = ecs.deregister_task_definition(taskDefinition=f"{family}:2")
    assert resp["taskDefinition"]["status"] == "INACTIVE"
    assert resp["taskDefinition"]["revision"] == 2
    # The inactive revision is still described by family:revision...
    assert ecs.describe_task_definition(
        taskDefinition=f"{family}:2")["taskDefinition"]["status"] == "INACTIVE"
    # ...but the family alone means its latest ACTIVE revision.
    latest = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert (latest["revision"], latest["status"]) == (1, "ACTIVE")
    assert list_all_task_definitions(ecs, familyPrefix=family) == [task_definition_arn(family, 1)]
    assert list_all_task_definitions(ecs, familyPrefix=family, status="INACTIVE") == [
        task_definition_arn(family, 2)]
    # A new registration does not reuse revision 2.
    assert register(ecs, family)["taskDefinition"]["revision"] == 3


def test_family_with_no_active_revision_cannot_be_described_by_family(ecs):
    family = unique("allgone")
    register(ecs, family)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    assert_refused(ecs.describe_task_definition, "ClientException", taskDefinition=family)


def test_deregister_needs_a_revision(ecs):
    family = unique("norev")
    register(ecs, family)
    assert_refused(ecs.deregister_task_definition, VALIDATION_CODES, taskDefinition=family)
    assert list_all_task_definitions(ecs, familyPrefix=family) == [task_definition_arn(family, 1)]


def test_deregister_unknown_revision_is_refused(ecs):
    assert_refused(ecs.deregister_task_definition, VALIDATION_CODES,
                   taskDefinition=f"{unique('ghost')}:1")


# DeleteTaskDefinitions is newer than the ECS model in Debian's botocore and
# awscli, so it is sent by hand.


def delete_task_definitions(raw, names):
    resp = raw.call("DeleteTaskDefinitions", {"taskDefinitions": names})
    assert "x-amzn-requestid" in resp.headers
    return resp


def test_delete_task_definitions_deletes_inactive_revisions(ecs, raw):
    family = unique("delete")
    register(ecs, family)
    register(ecs, family)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    resp = delete_task_definitions(raw, [f"{family}:1"])
    assert resp.status == 200, resp
    body = resp.json
    assert body.get("failures", []) == []
    assert [(td["taskDefinitionArn"], td["status"]) for td in body["taskDefinitions"]] == [
        (task_definition_arn(family, 1), "DELETE_IN_PROGRESS")]
    assert list_all_task_definitions(ecs, familyPrefix=family) == [task_definition_arn(family, 2)]
    # The family keeps counting: a deleted revision number is never reused.
    assert register(ecs, family)["taskDefinition"]["revision"] == 3


def test_delete_task_definitions_refuses_active_revisions(ecs, raw):
    family = unique("delete-active")
    register(ecs, family)
    resp = delete_task_definitions(raw, [f"{family}:1"])
    if resp.status == 200:
        # Reported as a failure for that revision...
        assert resp.json.get("taskDefinitions", []) == []
        assert len(resp.json["failures"]) == 1, resp
    else:
        # ...or the whole request is refused.
        assert resp.status == 400, resp
        assert resp.error_type in VALIDATION_CODES, resp
    # Either way the revision is untouched.
    td = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert td["status"] == "ACTIVE"


def test_delete_task_definitions_needs_a_revision(ecs, raw):
    family = unique("delete-norev")
    register(ecs, family)
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    resp = delete_task_definitions(raw, [family])
    if resp.status == 200:
        assert resp.json.get("taskDefinitions", []) == []
        assert len(resp.json["failures"]) == 1, resp
    else:
        assert resp.status == 400 and resp.error_type in VALIDATION_CODES, resp
    td = ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert td["status"] == "INACTIVE"


# --- validation: a refused registration changes nothing ---------------------


def family_is_untouched(ecs, family):
    assert list_all_task_definitions(ecs, familyPrefix=family) == []
    assert list_all_task_definitions(ecs, familyPrefix=family, status="INACTIVE") == []
    assert list_all_families(ecs, familyPrefix=family, status="ALL") == []


def _cycle():
    return [container("a", dependsOn=[{"containerName": "b", "condition": "START"}]),
            container("b", dependsOn=[{"containerName": "a", "condition": "START"}])]


def _device(**device):
    return [container(linuxParameters={"devices": [device]})]


INVALID_REGISTRATIONS = {
    # case: (request body without family, accepted error codes)
    "missing containerDefinitions": ({}, VALIDATION_CODES),
    "empty containerDefinitions": ({"containerDefinitions": []}, VALIDATION_CODES),
    "duplicate container names": (
        {"containerDefinitions": [container("same"), container("same")]}, VALIDATION_CODES),
    "no essential container": (
        {"containerDefinitions": [container("a", essential=False),
                                  container("b", essential=False)]}, VALIDATION_CODES),
    "container without memory and no task memory": (
        {"containerDefinitions": [{"name": "main", "image": "busybox"}]}, VALIDATION_CODES),
    "dependsOn cycle": ({"containerDefinitions": _cycle()}, VALIDATION_CODES),
    "dependsOn unknown container": (
        {"containerDefinitions": [container(
            dependsOn=[{"containerName": "nowhere", "condition": "START"}])]}, VALIDATION_CODES),
    "device without hostPath": (
        {"containerDefinitions": _device(containerPath="/dev/neuron0")}, VALIDATION_CODES),
    "device with bad permission": (
        {"containerDefinitions": _device(hostPath="/dev/neuron0", permissions=["execute"])},
        VALIDATION_CODES + ("SerializationException",)),
    "memory of the wrong type": (
        {"containerDefinitions": [container(memory="lots")]},
        ("SerializationException", "InvalidParameterException")),
    "container name with a space": (
        {"containerDefinitions": [container("bad name")]}, VALIDATION_CODES),
    "container without image": (
        {"containerDefinitions": [{"name": "main", "memory": 128}]}, VALIDATION_CODES),
    "unknown ulimit": (
        {"containerDefinitions": [container(
            ulimits=[{"name": "gpus", "softLimit": 1, "hardLimit": 1}])]},
        VALIDATION_CODES + ("SerializationException",)),
    "mount point of an undefined volume": (
        {"containerDefinitions": [container(
            mountPoints=[{"sourceVolume": "nowhere", "containerPath": "/data"}])]},
        VALIDATION_CODES),
}


@pytest.mark.parametrize("case", sorted(INVALID_REGISTRATIONS))
def test_invalid_registration_is_refused_and_changes_nothing(ecs, ecs_unvalidated, case):
    body, codes = INVALID_REGISTRATIONS[case]
    family = unique("invalid")
    assert_refused(ecs_unvalidated.register_task_definition, codes,
                   family=family, **copy.deepcopy(body))
    family_is_untouched(ecs, family)


def test_container_definitions_that_are_not_a_list_are_refused(raw, ecs):
    # An SDK cannot even send this; a hand-written request can.
    family = unique("notalist")
    resp = raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": {"name": "main", "image": "busybox"}})
    assert resp.status == 400, resp
    assert resp.error_type in ("SerializationException", "InvalidParameterException"), resp
    family_is_untouched(ecs, family)


@pytest.mark.parametrize("family", ["", "x" * 256, "has space", "colon:inside", "slash/inside"],
                         ids=["empty", "256 chars", "space", "colon", "slash"])
def test_invalid_family_is_refused(ecs, ecs_unvalidated, family):
    assert_refused(ecs_unvalidated.register_task_definition, VALIDATION_CODES,
                   family=family, containerDefinitions=[container()])
    # (Listed without a prefix: the invalid name may be refused as a filter too.)
    assert family not in list_all_families(ecs, status="ALL")


def test_family_of_255_characters_is_accepted(ecs):
    family = unique("long")
    family += "x" * (255 - len(family))
    td = register(ecs, family)["taskDefinition"]
    assert td["family"] == family
    assert td["taskDefinitionArn"] == task_definition_arn(family, 1)


def test_ten_thousand_containers_are_refused_and_the_server_still_answers(ecs, ecs_unvalidated):
    family = unique("huge")
    containers = [{"name": f"c{i}", "image": "busybox", "memory": 4} for i in range(10000)]
    with pytest.raises(ClientError) as info:
        ecs_unvalidated.register_task_definition(family=family, containerDefinitions=containers)
    # A validation error, or 413 if the server's body limit is what stops it.
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert status == 413 or (status == 400 and error_code(info.value) in VALIDATION_CODES), \
        info.value
    family_is_untouched(ecs, family)
    assert register(ecs, unique("after-huge"))["taskDefinition"]["revision"] == 1


def test_refused_revision_does_not_consume_a_revision_number(ecs, ecs_unvalidated):
    family = unique("gap")
    register(ecs, family)
    assert_refused(ecs_unvalidated.register_task_definition, VALIDATION_CODES,
                   family=family, containerDefinitions=[container("x"), container("x")])
    assert register(ecs, family)["taskDefinition"]["revision"] == 2
    assert list_all_task_definitions(ecs, familyPrefix=family) == [
        task_definition_arn(family, 1), task_definition_arn(family, 2)]


def test_registration_keeps_members_the_model_does_not_define(raw, ecs):
    family = unique("extra")
    resp = raw.call("RegisterTaskDefinition", {
        "family": family, "containerDefinitions": [container()], "notAField": {"x": 1}})
    assert resp.status == 200, resp
    assert resp.json["taskDefinition"]["revision"] == 1
    assert resp.json["taskDefinition"]["notAField"] == {"x": 1}  # test_newer_members.py has more

