"""What a newer ECR SDK sends. The tag mutability exclusion filters (2025):
IMMUTABLE_WITH_EXCLUSION keeps every tag fixed except those a WILDCARD
filter matches, MUTABLE_WITH_EXCLUSION lets every tag move except those.
Members the model does not define are kept with the repository. Debian's
botocore predates both, so the ECR calls are hand-signed; the pushes are
the OCI distribution API's, as docker and skopeo make them."""

import pytest

from berth_compat import unique
from berth_registry import assert_oci_error, small_image

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921"


@pytest.fixture
def ecr_raw(server):
    """ecr_raw(operation, body) -> RawResponse, signed for ECR."""
    raw = server.raw()

    def call(operation, body):
        return raw.call(operation, body, target=f"{ECR_TARGET}.{operation}", service="ecr")
    return call


@pytest.fixture
def exclusion_repo(ecr):
    """exclusion_repo() -> a new repository name, force-deleted afterwards."""
    names = []

    def new_name():
        names.append(unique("excl"))
        return names[-1]
    yield new_name
    for name in names:
        try:
            ecr.delete_repository(repositoryName=name, force=True)
        except Exception:
            pass


def filters(*patterns):
    return [{"filterType": "WILDCARD", "filter": p} for p in patterns]


def moves(registry, repo, image, tag):
    """Whether pushing image over tag succeeds; a refusal is ECR's."""
    for blob in image.blobs:
        if not registry.blob_exists(repo, blob.digest):
            registry.push_blob(repo, blob.data)
    resp = registry.put_manifest(repo, tag, image.manifest, image.media_type)
    if resp.status == 201:
        return True
    assert_oci_error(resp, (400, 403, 409), ("TAG_INVALID", "DENIED"))
    return False


def test_exclusions_decide_which_tags_move(registry, ecr_raw, exclusion_repo):
    name = exclusion_repo()
    created = ecr_raw("CreateRepository", {
        "repositoryName": name, "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": filters("latest", "dev-*")})
    assert created.status == 200, created
    repository = created.json["repository"]
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repository["imageTagMutabilityExclusionFilters"] == filters("latest", "dev-*")

    first, second = small_image(), small_image()
    registry.push_image(name, first, "v1", "latest", "dev-1")
    assert not moves(registry, name, second, "v1"), "an immutable tag moved"
    assert moves(registry, name, second, "latest")
    assert moves(registry, name, second, "dev-1")
    assert registry.get_manifest(name, "v1").body == first.manifest

    # The other way round: only release tags are fixed now.
    put = ecr_raw("PutImageTagMutability", {
        "repositoryName": name, "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": filters("release-*")})
    assert put.status == 200, put
    assert put.json["imageTagMutabilityExclusionFilters"] == filters("release-*")
    registry.push_image(name, first, "release-1")
    assert not moves(registry, name, second, "release-1")
    assert moves(registry, name, second, "v1")
    described = ecr_raw("DescribeRepositories", {"repositoryNames": [name]})
    assert described.json["repositories"][0]["imageTagMutabilityExclusionFilters"] == \
        filters("release-*")

    # Back to MUTABLE: the filters go with the setting.
    assert ecr_raw("PutImageTagMutability", {
        "repositoryName": name, "imageTagMutability": "MUTABLE"}).status == 200
    described = ecr_raw("DescribeRepositories", {"repositoryNames": [name]})
    assert "imageTagMutabilityExclusionFilters" not in described.json["repositories"][0]
    assert moves(registry, name, second, "release-1")


@pytest.mark.parametrize("mutability,given,problem", [
    ("IMMUTABLE_WITH_EXCLUSION", None, "needs at least one exclusion filter"),
    ("IMMUTABLE", filters("latest"), "apply only to"),
    ("MUTABLE_WITH_EXCLUSION", filters("a/b"), "imageTagMutabilityExclusionFilters[0].filter"),
    ("MUTABLE_WITH_EXCLUSION", filters(*"abcdef"), "length less than or equal to 5"),
    ("MUTABLE_WITH_EXCLUSION", [{"filterType": "REGEX", "filter": "a"}], "WILDCARD"),
])
def test_bad_exclusions_are_refused_and_create_nothing(ecr_raw, exclusion_repo, mutability,
                                                       given, problem):
    name = exclusion_repo()
    body = {"repositoryName": name, "imageTagMutability": mutability}
    if given is not None:
        body["imageTagMutabilityExclusionFilters"] = given
    resp = ecr_raw("CreateRepository", body)
    assert resp.status == 400, resp
    assert resp.error_type == "InvalidParameterException", resp
    assert problem in resp.json["message"], resp
    missing = ecr_raw("DescribeRepositories", {"repositoryNames": [name]})
    assert missing.error_type == "RepositoryNotFoundException", missing


def test_members_ecr_does_not_define_are_kept_within_a_mebibyte(ecr_raw, exclusion_repo):
    """A newer SDK's member is kept with the repository; ECR takes 16 MiB
    requests (for layer parts), but what is kept stays within 1 MiB."""
    name = exclusion_repo()
    created = ecr_raw("CreateRepository", {"repositoryName": name,
                                           "futureSetting": {"mode": "strict", "n": [1]}})
    assert created.status == 200, created
    assert created.json["repository"]["futureSetting"] == {"mode": "strict", "n": [1]}
    described = ecr_raw("DescribeRepositories", {"repositoryNames": [name]})
    assert described.json["repositories"][0]["futureSetting"] == {"mode": "strict", "n": [1]}

    huge = exclusion_repo()
    resp = ecr_raw("CreateRepository", {"repositoryName": huge, "futureBlob": "x" * (10 << 20)})
    assert resp.status == 413, resp
    assert resp.error_type == "RequestEntityTooLargeException", resp
    missing = ecr_raw("DescribeRepositories", {"repositoryNames": [huge]})
    assert missing.error_type == "RepositoryNotFoundException", missing
