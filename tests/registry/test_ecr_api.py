"""The ECR API (AWS JSON 1.1, AmazonEC2ContainerRegistry_V20150921) through
boto3 and /usr/bin/aws: repositories, images, the layer upload API,
tag mutability, lifecycle policies and previews, resource tags.

Images are pushed through the OCI distribution API (the way docker, skopeo
and containerd push) or through the ECR layer API (the way SDK-only tools
push); both must show the same images.
"""

import base64
import datetime
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from berth_compat import ACCOUNT, REGION, assert_refused, unique
from berth_registry import (
    DOCKER_MANIFEST, KIB, OCI_CONFIG, OCI_MANIFEST, Registry, build_image,
    random_bytes, repository_uri, run_aws_text, sha256,
    small_image)


def image_ids(entries):
    """{(digest, tag or None)} from a list of ImageIdentifier dicts."""
    return {(e.get("imageDigest"), e.get("imageTag")) for e in entries}


def all_pages(call, key, **kwargs):
    """Collects key over every page of call (nextToken pagination)."""
    items, token, pages = [], None, 0
    while True:
        args = dict(kwargs)
        if token:
            args["nextToken"] = token
        resp = call(**args)
        items.extend(resp.get(key, []))
        pages += 1
        token = resp.get("nextToken")
        if not token:
            return items, pages
        assert pages < 500, "pagination does not end"


@pytest.fixture
def pushed(registry, repo):
    """repo with one small image pushed through /v2/ as tag v1."""
    image = small_image()
    registry.push_image(repo, image, "v1")
    return repo, image


# --- repositories -------------------------------------------------------------

def test_create_repository(ecr, server):
    name = unique("create")
    try:
        repo = ecr.create_repository(repositoryName=name)["repository"]
        assert repo["repositoryName"] == name
        assert repo["repositoryArn"] == f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}"
        assert repo["registryId"] == ACCOUNT
        assert repo["repositoryUri"] == repository_uri(server, name)
        assert repo.get("imageTagMutability", "MUTABLE") == "MUTABLE"
        assert isinstance(repo["createdAt"], datetime.datetime)
        described = ecr.describe_repositories(repositoryNames=[name])["repositories"]
        assert [(r["repositoryName"], r["repositoryUri"], r["repositoryArn"]) for r in described] == [
            (name, repo["repositoryUri"], repo["repositoryArn"])]
    finally:
        ecr.delete_repository(repositoryName=name, force=True)


def test_create_existing_repository_is_refused(ecr, repo):
    assert_refused(ecr.create_repository, "RepositoryAlreadyExistsException", repositoryName=repo)


def test_create_repository_with_tags_and_immutability(ecr, make_repo):
    name = make_repo("tagged", imageTagMutability="IMMUTABLE",
                     tags=[{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "test"}])
    repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ml", "env": "test"}


def test_describe_repositories_pagination(ecr, make_repo):
    names = {make_repo("page") for _ in range(3)}
    repos, pages = all_pages(ecr.describe_repositories, "repositories", maxResults=1)
    listed = [r["repositoryName"] for r in repos]
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    assert names <= set(listed)
    assert pages >= len(listed)
    paginated = [r["repositoryName"]
                 for page in ecr.get_paginator("describe_repositories").paginate(
                     PaginationConfig={"PageSize": 2})
                 for r in page["repositories"]]
    assert sorted(paginated) == sorted(listed)


def test_describe_unknown_repository(ecr, repo):
    assert_refused(ecr.describe_repositories, "RepositoryNotFoundException",
                   repositoryNames=[repo, unique("nosuch")])


def test_delete_repository(ecr, registry, make_repo):
    empty = make_repo("empty")
    deleted = ecr.delete_repository(repositoryName=empty)["repository"]
    assert deleted["repositoryName"] == empty
    assert_refused(ecr.describe_repositories, "RepositoryNotFoundException", repositoryNames=[empty])
    assert_refused(ecr.delete_repository, "RepositoryNotFoundException", repositoryName=empty)


def test_delete_non_empty_repository_needs_force(ecr, registry, make_repo):
    name = make_repo("full")
    image = small_image()
    registry.push_image(name, image, "v1")
    assert_refused(ecr.delete_repository, "RepositoryNotEmptyException", repositoryName=name)
    assert registry.get_manifest(name, "v1").body == image.manifest, "refused delete removed the image"

    ecr.delete_repository(repositoryName=name, force=True)
    assert_refused(ecr.describe_repositories, "RepositoryNotFoundException", repositoryNames=[name])
    resp = registry.get_manifest(name, "v1")
    assert resp.status == 404 and "NAME_UNKNOWN" in resp.error_codes, resp

    # A repository created again under the same name starts empty.
    ecr.create_repository(repositoryName=name)
    assert ecr.describe_images(repositoryName=name)["imageDetails"] == []
    assert registry.get_manifest(name, "v1").status == 404


INVALID_REPOSITORY_NAMES = ["UPPER", "a..b", "-a", "a-", "a/", "/a", "a//b", "a b", "a" * 257, "a"]


@pytest.mark.parametrize("name", INVALID_REPOSITORY_NAMES,
                         ids=lambda n: n if len(n) < 20 else f"{len(n)}-chars")
def test_invalid_repository_names(ecr_unvalidated, name):
    assert_refused(ecr_unvalidated.create_repository, "InvalidParameterException", repositoryName=name)
    assert_refused(ecr_unvalidated.describe_repositories, "InvalidParameterException",
                   repositoryNames=[name])
    assert_refused(ecr_unvalidated.describe_images, "InvalidParameterException", repositoryName=name)


UNKNOWN_REPOSITORY_CALLS = {
    "delete_repository": lambda ecr, n: ecr.delete_repository(repositoryName=n),
    "describe_images": lambda ecr, n: ecr.describe_images(repositoryName=n),
    "list_images": lambda ecr, n: ecr.list_images(repositoryName=n),
    "batch_get_image": lambda ecr, n: ecr.batch_get_image(
        repositoryName=n, imageIds=[{"imageTag": "v1"}]),
    "batch_delete_image": lambda ecr, n: ecr.batch_delete_image(
        repositoryName=n, imageIds=[{"imageTag": "v1"}]),
    "put_image": lambda ecr, n: ecr.put_image(
        repositoryName=n, imageManifest=small_image().manifest.decode(), imageTag="v1"),
    "batch_check_layer_availability": lambda ecr, n: ecr.batch_check_layer_availability(
        repositoryName=n, layerDigests=[sha256(b"x")]),
    "initiate_layer_upload": lambda ecr, n: ecr.initiate_layer_upload(repositoryName=n),
    "get_download_url_for_layer": lambda ecr, n: ecr.get_download_url_for_layer(
        repositoryName=n, layerDigest=sha256(b"x")),
    "put_image_tag_mutability": lambda ecr, n: ecr.put_image_tag_mutability(
        repositoryName=n, imageTagMutability="IMMUTABLE"),
    "put_lifecycle_policy": lambda ecr, n: ecr.put_lifecycle_policy(
        repositoryName=n, lifecyclePolicyText=json.dumps(policy("x", 1))),
    "get_lifecycle_policy": lambda ecr, n: ecr.get_lifecycle_policy(repositoryName=n),
    "start_lifecycle_policy_preview": lambda ecr, n: ecr.start_lifecycle_policy_preview(
        repositoryName=n, lifecyclePolicyText=json.dumps(policy("x", 1))),
}


@pytest.mark.parametrize("call", sorted(UNKNOWN_REPOSITORY_CALLS))
def test_unknown_repository_is_repository_not_found(ecr, call):
    assert_refused(UNKNOWN_REPOSITORY_CALLS[call], "RepositoryNotFoundException", ecr, unique("nosuch"))


# --- authorization ------------------------------------------------------------

def test_get_authorization_token(ecr, server):
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1, data
    token = base64.b64decode(data[0]["authorizationToken"]).decode()
    user, _, password = token.partition(":")
    assert user == "AWS" and password
    assert data[0]["proxyEndpoint"] == f"http://127.0.0.1:{server.port}"
    expires = data[0]["expiresAt"]
    now = datetime.datetime.now(expires.tzinfo)
    assert now + datetime.timedelta(hours=1) < expires <= now + datetime.timedelta(hours=12, minutes=5)
    assert Registry(server.port, user, password).request("GET", "/v2/").status == 200


def test_aws_cli_get_login_password(server):
    rc, out, err = run_aws_text(server, ["ecr", "get-login-password"])
    assert rc == 0, err
    password = out.strip()
    assert password and "\n" not in password
    assert Registry(server.port, "AWS", password).request("GET", "/v2/").status == 200


# --- images -------------------------------------------------------------------

def test_describe_images_shows_a_pushed_image(ecr, pushed):
    repo, image = pushed
    details = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert len(details) == 1, details
    d = details[0]
    assert d["repositoryName"] == repo and d["registryId"] == ACCOUNT
    assert d["imageDigest"] == image.digest
    assert d["imageTags"] == ["v1"]
    assert d["imageManifestMediaType"] == OCI_MANIFEST
    assert d["artifactMediaType"] == OCI_CONFIG
    layers = sum(b.size for b in image.layers)
    assert layers <= d["imageSizeInBytes"] <= layers + image.config.size + len(image.manifest), d
    pushed_at = d["imagePushedAt"]
    now = datetime.datetime.now(pushed_at.tzinfo)
    assert now - datetime.timedelta(minutes=5) < pushed_at <= now + datetime.timedelta(seconds=5)
    by_tag = ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    by_digest = ecr.describe_images(repositoryName=repo,
                                    imageIds=[{"imageDigest": image.digest}])["imageDetails"]
    assert [x["imageDigest"] for x in by_tag + by_digest] == [image.digest, image.digest]


def test_describe_unknown_image(ecr, pushed):
    repo, image = pushed
    assert_refused(ecr.describe_images, "ImageNotFoundException", repositoryName=repo,
                   imageIds=[{"imageTag": "nosuchtag"}])
    assert_refused(ecr.describe_images, "ImageNotFoundException", repositoryName=repo,
                   imageIds=[{"imageDigest": sha256(b"nothing")}])


def test_tag_status_filter(ecr, registry, repo):
    tagged, untagged = small_image(), small_image()
    registry.push_image(repo, tagged, "v1")
    registry.push_image(repo, untagged)  # by digest only
    expect = {
        "TAGGED": {(tagged.digest, "v1")},
        "UNTAGGED": {(untagged.digest, None)},
        "ANY": {(tagged.digest, "v1"), (untagged.digest, None)},
    }
    for status, ids in expect.items():
        listed = ecr.list_images(repositoryName=repo, filter={"tagStatus": status})["imageIds"]
        assert image_ids(listed) == ids, f"list_images {status}: {listed}"
        details = ecr.describe_images(repositoryName=repo, filter={"tagStatus": status})["imageDetails"]
        described = {(d["imageDigest"], (d.get("imageTags") or [None])[0]) for d in details}
        assert described == ids, f"describe_images {status}: {details}"
    assert image_ids(ecr.list_images(repositoryName=repo)["imageIds"]) == expect["ANY"]


def test_image_listing_pagination(ecr, registry, repo, server):
    images = [small_image() for _ in range(5)]
    for i, image in enumerate(images):
        registry.push_image(repo, image, f"t{i}")
    expected = {(image.digest, f"t{i}") for i, image in enumerate(images)}
    ids, pages = all_pages(ecr.list_images, "imageIds", repositoryName=repo, maxResults=2)
    assert pages >= 3
    assert len(ids) == 5 and image_ids(ids) == expected, ids
    details, pages = all_pages(ecr.describe_images, "imageDetails", repositoryName=repo, maxResults=2)
    assert pages >= 3
    assert {(d["imageDigest"], d["imageTags"][0]) for d in details} == expected
    rc, out, err = run_aws_text(server, [
        "ecr", "list-images", "--repository-name", repo, "--page-size", "2", "--output", "json"])
    assert rc == 0, err
    assert image_ids(json.loads(out)["imageIds"]) == expected


def test_batch_get_image(ecr, pushed):
    repo, image = pushed
    resp = ecr.batch_get_image(repositoryName=repo,
                               imageIds=[{"imageTag": "v1"}, {"imageDigest": image.digest}])
    assert resp["failures"] == []
    assert len(resp["images"]) == 2
    for got in resp["images"]:
        assert got["imageManifest"].encode("utf-8") == image.manifest, "manifest is not byte-identical"
        assert got["imageManifestMediaType"] == OCI_MANIFEST
        assert got["imageId"]["imageDigest"] == image.digest
        assert got["repositoryName"] == repo


def test_batch_get_image_failures(ecr, pushed):
    repo, image = pushed
    resp = ecr.batch_get_image(repositoryName=repo, imageIds=[
        {"imageTag": "nosuchtag"}, {"imageDigest": sha256(b"nothing")},
        {"imageTag": "v1", "imageDigest": sha256(b"other")}])
    assert resp["images"] == []
    codes = {(f["imageId"].get("imageTag"), f["imageId"].get("imageDigest")): f["failureCode"]
             for f in resp["failures"]}
    assert codes[("nosuchtag", None)] == "ImageNotFound", resp["failures"]
    assert codes[(None, sha256(b"nothing"))] == "ImageNotFound", resp["failures"]
    assert codes[("v1", sha256(b"other"))] in ("ImageTagDoesNotMatchDigest", "ImageNotFound")


def test_batch_get_image_accepted_media_types(ecr, pushed):
    """ECR refuses to hand out a manifest of a type the caller does not
    accept (it converts only schema 2 to schema 1): the image is reported
    as a failure, with any failure code, and not returned."""
    repo, image = pushed
    refused = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}],
                                  acceptedMediaTypes=[DOCKER_MANIFEST])
    assert refused["images"] == [], refused
    assert len(refused["failures"]) == 1 and refused["failures"][0].get("failureCode"), refused
    accepted = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}],
                                   acceptedMediaTypes=[DOCKER_MANIFEST, OCI_MANIFEST])
    assert [i["imageManifest"].encode() for i in accepted["images"]] == [image.manifest]


def test_batch_delete_image_by_tag(ecr, registry, repo):
    image = small_image()
    registry.push_image(repo, image, "v1", "v2")
    resp = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert resp["failures"] == [], resp
    assert image_ids(resp["imageIds"]) == {(image.digest, "v1")}
    details = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(image.digest, ["v2"])]
    assert registry.get_manifest(repo, "v1").status == 404
    assert registry.get_manifest(repo, "v2").body == image.manifest

    # ECR: removing the last tag of an image deletes the image.
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v2"}])
    assert ecr.describe_images(repositoryName=repo)["imageDetails"] == []
    assert registry.get_manifest(repo, image.digest).status == 404


def test_batch_delete_image_by_digest(ecr, registry, repo):
    image, other = small_image(), small_image()
    registry.push_image(repo, image, "v1", "v2")
    registry.push_image(repo, other, "keep")
    resp = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest}])
    assert resp["failures"] == [], resp
    assert image.digest in {i.get("imageDigest") for i in resp["imageIds"]}
    listed = ecr.list_images(repositoryName=repo)["imageIds"]
    assert image_ids(listed) == {(other.digest, "keep")}
    for ref in ("v1", "v2", image.digest):
        assert registry.get_manifest(repo, ref).status == 404


def test_batch_delete_image_failures(ecr, pushed):
    repo, image = pushed
    resp = ecr.batch_delete_image(repositoryName=repo, imageIds=[
        {"imageTag": "nosuchtag"}, {"imageDigest": sha256(b"nothing")}])
    assert resp["imageIds"] == []
    assert {f["failureCode"] for f in resp["failures"]} == {"ImageNotFound"}, resp
    assert len(resp["failures"]) == 2
    assert ecr.describe_images(repositoryName=repo)["imageDetails"][0]["imageTags"] == ["v1"]


def test_put_image_retags_an_existing_manifest(ecr, registry, pushed):
    repo, image = pushed
    resp = ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag="v2")
    assert resp["image"]["imageId"] == {"imageDigest": image.digest, "imageTag": "v2"}
    assert resp["image"]["imageManifest"].encode() == image.manifest
    got = registry.get_manifest(repo, "v2")
    assert got.status == 200 and got.body == image.manifest
    assert got.headers.get("docker-content-digest") == image.digest
    tags = ecr.describe_images(repositoryName=repo)["imageDetails"][0]["imageTags"]
    assert sorted(tags) == ["v1", "v2"]
    assert_refused(ecr.put_image, "ImageAlreadyExistsException", repositoryName=repo,
                   imageManifest=image.manifest.decode(), imageTag="v2")


def test_put_image_checks_the_digest_and_the_layers(ecr, repo, registry):
    image = small_image()
    assert_refused(ecr.put_image, "LayersNotFoundException", repositoryName=repo,
                   imageManifest=image.manifest.decode(), imageTag="v1")
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    assert_refused(ecr.put_image, "ImageDigestDoesNotMatchException", repositoryName=repo,
                   imageManifest=image.manifest.decode(), imageTag="v1",
                   imageDigest=sha256(b"something else"))
    assert_refused(ecr.put_image, "InvalidParameterException", repositoryName=repo,
                   imageManifest="{not json", imageTag="v1")
    assert ecr.describe_images(repositoryName=repo)["imageDetails"] == []
    resp = ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag="v1",
                         imageManifestMediaType=OCI_MANIFEST, imageDigest=image.digest)
    assert resp["image"]["imageId"]["imageDigest"] == image.digest
    assert registry.get_manifest(repo, "v1").body == image.manifest


def test_batch_check_layer_availability(ecr, pushed):
    repo, image = pushed
    missing = sha256(unique("missing").encode())
    resp = ecr.batch_check_layer_availability(
        repositoryName=repo, layerDigests=[b.digest for b in image.layers] + [missing, "sha256:zz"])
    available = {l["layerDigest"]: l for l in resp["layers"] if l["layerAvailability"] == "AVAILABLE"}
    for layer in image.layers:
        assert available[layer.digest]["layerSize"] == layer.size, resp
    failures = {f["layerDigest"]: f["failureCode"] for f in resp["failures"]}
    unavailable = {l["layerDigest"] for l in resp["layers"] if l["layerAvailability"] == "UNAVAILABLE"}
    assert failures.get(missing) == "MissingLayerDigest" or missing in unavailable, resp
    assert failures.get("sha256:zz") == "InvalidLayerDigest", resp


def upload_layer(ecr, repo, data, part_size=None):
    upload = ecr.initiate_layer_upload(repositoryName=repo)
    upload_id = upload["uploadId"]
    assert upload["partSize"] > 0
    step = part_size or len(data)
    for start in range(0, len(data), step):
        part = data[start:start + step]
        resp = ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=start,
                                     partLastByte=start + len(part) - 1, layerPartBlob=part)
        assert resp["lastByteReceived"] == start + len(part) - 1, resp
        assert resp["uploadId"] == upload_id
    return upload_id


def test_layer_upload_api_push_then_pull_over_v2(ecr, registry, repo):
    """The whole push through the ECR API alone, read back through /v2/."""
    image = build_image(unique("ecrpush"), big_layer_size=300 * KIB)
    for blob in image.blobs:
        upload_id = upload_layer(ecr, repo, blob.data, part_size=100 * KIB)
        done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id,
                                         layerDigests=[blob.digest])
        assert done["layerDigest"] == blob.digest
        assert done["uploadId"] == upload_id
    ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag="v1")
    got = registry.get_manifest(repo, "v1")
    assert got.status == 200 and got.body == image.manifest
    for blob in image.blobs:
        assert registry.get_blob(repo, blob.digest).body == blob.data


def test_layer_upload_errors(ecr, registry, repo):
    data = random_bytes(unique("parts"), 10 * KIB)
    upload_id = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=0,
                          partLastByte=4 * KIB - 1, layerPartBlob=data[:4 * KIB])
    err = assert_refused(ecr.upload_layer_part, "InvalidLayerPartException", repositoryName=repo,
                         uploadId=upload_id, partFirstByte=2 * KIB, partLastByte=6 * KIB - 1,
                         layerPartBlob=data[2 * KIB:6 * KIB])
    assert err.response.get("lastValidByteReceived", 4 * KIB - 1) == 4 * KIB - 1
    assert_refused(ecr.upload_layer_part, "InvalidLayerPartException", repositoryName=repo,
                   uploadId=upload_id, partFirstByte=5 * KIB, partLastByte=6 * KIB - 1,
                   layerPartBlob=data[5 * KIB:6 * KIB])
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=4 * KIB,
                          partLastByte=len(data) - 1, layerPartBlob=data[4 * KIB:])

    wrong = sha256(data + b"!")
    assert_refused(ecr.complete_layer_upload, "InvalidLayerException", repositoryName=repo,
                   uploadId=upload_id, layerDigests=[wrong])
    for digest in (wrong, sha256(data)):
        assert not registry.blob_exists(repo, digest)
    check = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[wrong])
    assert not any(l["layerAvailability"] == "AVAILABLE" for l in check["layers"]), check

    assert_refused(ecr.upload_layer_part, "UploadNotFoundException", repositoryName=repo,
                   uploadId=str(uuid.uuid4()), partFirstByte=0, partLastByte=0,
                   layerPartBlob=b"x")
    assert_refused(ecr.complete_layer_upload, "UploadNotFoundException", repositoryName=repo,
                   uploadId=str(uuid.uuid4()), layerDigests=[sha256(b"x")])


def test_completing_a_layer_that_exists(ecr, registry, repo):
    data = random_bytes(unique("exists"), 2 * KIB)
    registry.push_blob(repo, data)
    upload_id = upload_layer(ecr, repo, data)
    assert_refused(ecr.complete_layer_upload, "LayerAlreadyExistsException", repositoryName=repo,
                   uploadId=upload_id, layerDigests=[sha256(data)])
    assert registry.get_blob(repo, sha256(data)).body == data


def test_get_download_url_for_layer(ecr, registry, pushed):
    """As ECR's, the URL is presigned: it downloads the layer with no other
    credentials, and only that layer."""
    repo, image = pushed
    layer = image.layers[0]
    resp = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=layer.digest)
    assert resp["layerDigest"] == layer.digest
    url = resp["downloadUrl"]
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, resp
    assert parts.path == f"/v2/{repo}/blobs/{layer.digest}", url
    query = urllib.parse.parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["3600"]
    assert query["X-Amz-SignedHeaders"] == ["host"], url

    # No proxy from the environment: the URL alone must be enough.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(url), timeout=30) as r:
        assert r.status == 200
        body = r.read()
    assert "sha256:" + hashlib.sha256(body).hexdigest() == layer.digest
    assert body == layer.data

    # The signature grants that path and method only.
    for method, target in (
            ("GET", parts.path.replace(layer.digest, image.config.digest)),
            ("GET", f"/v2/{repo}/manifests/v1"),
            ("PUT", parts.path),
            ("POST", f"/v2/{repo}/blobs/uploads/")):
        tampered = urllib.parse.urlunsplit(parts._replace(path=target))
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(urllib.request.Request(tampered, method=method,
                                               data=b"" if method != "GET" else None), timeout=30)
        assert refused.value.code == 401, f"{method} {tampered}"
        assert json.loads(refused.value.read())["errors"][0]["code"] == "UNAUTHORIZED"

    assert_refused(ecr.get_download_url_for_layer, "LayersNotFoundException", repositoryName=repo,
                   layerDigest=sha256(unique("nolayer").encode()))


# --- tag mutability -------------------------------------------------------------

def test_image_tag_mutability(ecr, registry, pushed):
    repo, image = pushed
    resp = ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    assert resp["imageTagMutability"] == "IMMUTABLE" and resp["repositoryName"] == repo
    assert ecr.describe_repositories(repositoryNames=[repo])["repositories"][0][
        "imageTagMutability"] == "IMMUTABLE"
    other = small_image()
    for blob in other.blobs:
        registry.push_blob(repo, blob.data)
    assert_refused(ecr.put_image, "ImageTagAlreadyExistsException", repositoryName=repo,
                   imageManifest=other.manifest.decode(), imageTag="v1")
    assert registry.get_manifest(repo, "v1").body == image.manifest
    resp = registry.put_manifest(repo, "v1", other.manifest, other.media_type)
    assert resp.status >= 400, f"/v2/ push over an immutable tag: {resp!r}"

    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="MUTABLE")
    ecr.put_image(repositoryName=repo, imageManifest=other.manifest.decode(), imageTag="v1")
    assert registry.get_manifest(repo, "v1").body == other.manifest


# --- lifecycle policies -----------------------------------------------------------

def policy(prefix, keep):
    return {"rules": [{
        "rulePriority": 1,
        "description": f"keep the {keep} newest {prefix}* images",
        "selection": {"tagStatus": "tagged", "tagPrefixList": [prefix],
                      "countType": "imageCountMoreThan", "countNumber": keep},
        "action": {"type": "expire"},
    }]}


def test_lifecycle_policy_put_get_delete(ecr, repo):
    text = json.dumps(policy("prod", 3))
    put = ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=text)
    assert put["repositoryName"] == repo and put["registryId"] == ACCOUNT
    assert json.loads(put["lifecyclePolicyText"]) == json.loads(text)
    got = ecr.get_lifecycle_policy(repositoryName=repo)
    assert json.loads(got["lifecyclePolicyText"]) == json.loads(text)
    assert isinstance(got.get("lastEvaluatedAt", datetime.datetime.now()), datetime.datetime)
    deleted = ecr.delete_lifecycle_policy(repositoryName=repo)
    assert json.loads(deleted["lifecyclePolicyText"]) == json.loads(text)
    assert_refused(ecr.get_lifecycle_policy, "LifecyclePolicyNotFoundException", repositoryName=repo)
    assert_refused(ecr.delete_lifecycle_policy, "LifecyclePolicyNotFoundException",
                   repositoryName=repo)


@pytest.mark.parametrize("text", [
    "not json",
    json.dumps({"rules": []}),
    json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "tagged",
                                                            "countType": "imageCountMoreThan",
                                                            "countNumber": 1},
                           "action": {"type": "expire"}}]}),  # tagged without tagPrefixList
    json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any",
                                                            "countType": "imageCountMoreThan",
                                                            "countNumber": 0},
                           "action": {"type": "expire"}}]}),  # countNumber must be >= 1
    json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any",
                                                            "countType": "imageCountMoreThan",
                                                            "countNumber": 1},
                           "action": {"type": "delete-everything"}}]}),
], ids=["not-json", "no-rules", "tagged-without-prefix", "count-zero", "unknown-action"])
def test_invalid_lifecycle_policy(ecr, ecr_unvalidated, repo, text):
    assert_refused(ecr_unvalidated.put_lifecycle_policy, "InvalidParameterException",
                   repositoryName=repo, lifecyclePolicyText=text)
    assert_refused(ecr.get_lifecycle_policy, "LifecyclePolicyNotFoundException", repositoryName=repo)


def test_lifecycle_policy_preview(ecr, registry, repo):
    """Five prod-* images pushed a second apart and one dev image; a rule
    that keeps the two newest prod-* images expires the three oldest, and
    the preview deletes nothing."""
    prod = []
    for i in range(5):
        image = small_image()
        registry.push_image(repo, image, f"prod-{i}")
        prod.append(image)
        time.sleep(1.1)  # imagePushedAt orders them, even at one-second resolution
    dev = small_image()
    registry.push_image(repo, dev, "dev-0")

    assert_refused(ecr.get_lifecycle_policy_preview, "LifecyclePolicyPreviewNotFoundException",
                   repositoryName=repo)
    assert_refused(ecr.start_lifecycle_policy_preview, "LifecyclePolicyNotFoundException",
                   repositoryName=repo)

    text = json.dumps(policy("prod", 2))
    started = ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=text)
    assert started["status"] in ("IN_PROGRESS", "COMPLETE"), started
    deadline = time.monotonic() + 60
    while True:
        preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
        if preview["status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert preview["status"] == "COMPLETE", preview
    assert json.loads(preview["lifecyclePolicyText"]) == json.loads(text)
    results = {r["imageDigest"]: r for r in preview["previewResults"]}
    assert set(results) == {p.digest for p in prod[:3]}, preview["previewResults"]
    for i, image in enumerate(prod[:3]):
        r = results[image.digest]
        assert r["imageTags"] == [f"prod-{i}"], r
        assert r["action"]["type"] == "EXPIRE", r
        assert r["appliedRulePriority"] == 1, r
    assert preview["summary"]["expiringImageTotalCount"] == 3, preview
    # A preview changes nothing.
    assert len(ecr.describe_images(repositoryName=repo)["imageDetails"]) == 6
    assert_refused(ecr.get_lifecycle_policy, "LifecyclePolicyNotFoundException", repositoryName=repo)

    # With the policy stored, a preview without text uses it.
    ecr.put_lifecycle_policy(repositoryName=repo, lifecyclePolicyText=json.dumps(policy("prod", 4)))
    ecr.start_lifecycle_policy_preview(repositoryName=repo)
    deadline = time.monotonic() + 60
    while True:
        preview = ecr.get_lifecycle_policy_preview(repositoryName=repo)
        if preview["status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert preview["status"] == "COMPLETE", preview
    assert [r["imageDigest"] for r in preview["previewResults"]] == [prod[0].digest], preview


# --- resource tags ------------------------------------------------------------------

def test_tag_untag_list_tags(ecr, repo):
    arn = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["repositoryArn"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "ml"},
                                            {"Key": "cost", "Value": "research"}])
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "infra"}])  # overwrite
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"team": "infra", "cost": "research"}
    ecr.untag_resource(resourceArn=arn, tagKeys=["cost", "absent"])
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"team": "infra"}
    unknown = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{unique('nosuch')}"
    assert_refused(ecr.list_tags_for_resource, ("RepositoryNotFoundException",
                                                "InvalidParameterException"), resourceArn=unknown)
    assert_refused(ecr.tag_resource, "InvalidParameterException", resourceArn="not-an-arn",
                   tags=[{"Key": "a", "Value": "b"}])


# --- the aws CLI ------------------------------------------------------------------------

def test_aws_cli_repository_lifecycle(aws, registry, server):
    name = unique("cli")
    rc, out, err = aws("ecr", "create-repository", "--repository-name", name,
                       "--image-tag-mutability", "IMMUTABLE")
    assert rc == 0, err
    try:
        assert out["repository"]["repositoryUri"] == repository_uri(server, name)
        image = small_image()
        registry.push_image(name, image, "v1")
        rc, out, err = aws("ecr", "describe-images", "--repository-name", name)
        assert rc == 0, err
        assert [(d["imageDigest"], d["imageTags"]) for d in out["imageDetails"]] == [
            (image.digest, ["v1"])]
        rc, out, err = aws("ecr", "batch-get-image", "--repository-name", name,
                           "--image-ids", "imageTag=v1")
        assert rc == 0, err
        assert out["images"][0]["imageManifest"].encode() == image.manifest
        rc, out, err = aws("ecr", "delete-repository", "--repository-name", name)
        assert rc != 0 and "RepositoryNotEmptyException" in err, err
    finally:
        rc, out, err = aws("ecr", "delete-repository", "--repository-name", name, "--force")
    assert rc == 0, err
    rc, out, err = aws("ecr", "describe-repositories", "--repository-names", name)
    assert rc != 0 and "RepositoryNotFoundException" in err, err
