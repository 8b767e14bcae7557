"""The user flow of the issue, with Debian's skopeo and aws CLI unchanged:

    aws ecr create-repository --repository-name REPO
    aws ecr get-login-password | skopeo login --username AWS --password-stdin 127.0.0.1:PORT
    skopeo copy oci:DIR:latest docker://127.0.0.1:PORT/REPO:v1
    aws ecr describe-images --repository-name REPO
    skopeo copy docker://127.0.0.1:PORT/REPO:v1 oci:COPY:v1

The registry is plain HTTP, so every skopeo call says --tls-verify=false;
logins go to a temporary auth file (--authfile), never ~/.docker or
$XDG_RUNTIME_DIR.
"""

import json
import os

import pytest

from berth_compat import unique
from berth_registry import (
    DOCKER_MANIFEST, OCI_MANIFEST, SKOPEO, Skopeo, read_oci_layout, repository_uri, run_aws_text,
    sha256, write_oci_layout)

pytestmark = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)")


@pytest.fixture
def skopeo(tmp_path):
    home = tmp_path / "skopeo-home"
    home.mkdir()
    return Skopeo(str(tmp_path / "auth.json"), str(home))


@pytest.fixture
def cli_repo(server, aws):
    """A repository made with `aws ecr create-repository`; force-deleted afterwards."""
    name = unique("skopeo")
    rc, out, err = aws("ecr", "create-repository", "--repository-name", name)
    assert rc == 0, err
    assert out["repository"]["repositoryUri"] == repository_uri(server, name)
    try:
        yield name
    finally:
        aws("ecr", "delete-repository", "--repository-name", name, "--force")


def login(server, skopeo):
    rc, password, err = run_aws_text(server, ["ecr", "get-login-password"])
    assert rc == 0, err
    skopeo.run("login", "--tls-verify=false", "--authfile", skopeo.authfile, "--username", "AWS",
               "--password-stdin", f"127.0.0.1:{server.port}", stdin=password.encode())
    with open(skopeo.authfile) as f:
        auths = json.load(f).get("auths", {})
    assert f"127.0.0.1:{server.port}" in auths, auths


def describe(aws, repo):
    rc, out, err = aws("ecr", "describe-images", "--repository-name", repo)
    assert rc == 0, err
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in out["imageDetails"]}


def test_push_and_pull_with_skopeo(server, aws, registry, skopeo, cli_repo, image, tmp_path):
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    login(server, skopeo)
    ref = f"docker://{repository_uri(server, cli_repo)}:v1"
    digest_file = tmp_path / "digest"
    skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false", "--preserve-digests",
               "--digestfile", str(digest_file), f"oci:{source}:latest", ref)
    assert digest_file.read_text().strip() == image.digest

    assert describe(aws, cli_repo) == {image.digest: ["v1"]}
    got = registry.get_manifest(cli_repo, "v1")
    assert got.status == 200 and got.body == image.manifest, "the pushed manifest was altered"

    # skopeo inspect: the digest and the layers, and the raw manifest unchanged.
    _, out, _ = skopeo.run("inspect", "--authfile", skopeo.authfile, "--tls-verify=false", ref)
    inspected = json.loads(out)
    assert inspected["Digest"] == image.digest
    assert inspected["Layers"] == [layer.digest for layer in image.layers]
    assert inspected["Labels"]["berth.test.seed"] == "default"
    _, raw, _ = skopeo.run("inspect", "--authfile", skopeo.authfile, "--tls-verify=false", "--raw", ref)
    assert raw.encode() == image.manifest

    # Pull it back into a new layout: same manifest digest, identical blobs.
    copy = str(tmp_path / "copy")
    skopeo.run("copy", "--authfile", skopeo.authfile, "--src-tls-verify=false", ref, f"oci:{copy}:v1")
    index, blobs = read_oci_layout(copy)
    assert [m["digest"] for m in index["manifests"]] == [image.digest]
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1"
    assert blobs[image.digest] == image.manifest
    for blob in image.blobs:
        assert blobs.get(blob.digest) == blob.data, f"{blob} differs after the round trip"

    # Tags as skopeo lists them.
    _, out, _ = skopeo.run("list-tags", "--authfile", skopeo.authfile, "--tls-verify=false",
                           f"docker://{repository_uri(server, cli_repo)}")
    assert json.loads(out)["Tags"] == ["v1"]


def test_push_as_docker_schema2_and_pull_back(server, aws, registry, skopeo, cli_repo, image, tmp_path):
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    login(server, skopeo)
    ref = f"docker://{repository_uri(server, cli_repo)}:v2s2"
    digest_file = tmp_path / "digest"
    skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false", "--format", "v2s2",
               "--digestfile", str(digest_file), f"oci:{source}:latest", ref)
    pushed_digest = digest_file.read_text().strip()
    assert pushed_digest != image.digest, "a converted manifest cannot keep the OCI digest"

    got = registry.get_manifest(cli_repo, "v2s2")
    assert got.status == 200, got
    assert got.headers.get("content-type") == DOCKER_MANIFEST, got
    assert sha256(got.body) == pushed_digest == got.headers.get("docker-content-digest")
    manifest = json.loads(got.body)
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert [l["digest"] for l in manifest["layers"]] == [l.digest for l in image.layers]
    assert describe(aws, cli_repo) == {pushed_digest: ["v2s2"]}

    # dir: keeps the manifest as the registry serves it.
    pulled = str(tmp_path / "pulled")
    skopeo.run("copy", "--authfile", skopeo.authfile, "--src-tls-verify=false", ref, f"dir:{pulled}")
    with open(os.path.join(pulled, "manifest.json"), "rb") as f:
        assert f.read() == got.body
    for layer in image.layers:
        with open(os.path.join(pulled, layer.digest.split(":", 1)[1]), "rb") as f:
            assert f.read() == layer.data

    # And back to an OCI layout.
    copy = str(tmp_path / "copy")
    skopeo.run("copy", "--authfile", skopeo.authfile, "--src-tls-verify=false", ref, f"oci:{copy}:v2s2")
    index, blobs = read_oci_layout(copy)
    pulled_manifest = json.loads(blobs[index["manifests"][0]["digest"]])
    assert pulled_manifest["mediaType"] == OCI_MANIFEST
    for layer in image.layers:
        assert blobs.get(layer.digest) == layer.data


def test_skopeo_delete(server, aws, registry, skopeo, cli_repo, image, tmp_path):
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    login(server, skopeo)
    ref = f"docker://{repository_uri(server, cli_repo)}:v1"
    skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false", f"oci:{source}:latest", ref)
    skopeo.run("delete", "--authfile", skopeo.authfile, "--tls-verify=false", ref)
    assert describe(aws, cli_repo) == {}
    rc, _, err = skopeo.run("inspect", "--authfile", skopeo.authfile, "--tls-verify=false", ref,
                            check=False)
    assert rc != 0, "inspect of a deleted image succeeded"


def test_skopeo_without_login_is_refused(server, skopeo, cli_repo, image, tmp_path):
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    ref = f"docker://{repository_uri(server, cli_repo)}:v1"
    rc, _, err = skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false",
                            f"oci:{source}:latest", ref, check=False)
    assert rc != 0, "an anonymous push succeeded"
    assert "unauthorized" in err.lower() or "authentication required" in err.lower(), err


def test_skopeo_login_with_a_wrong_password_fails(server, skopeo):
    rc, _, err = skopeo.run("login", "--tls-verify=false", "--authfile", skopeo.authfile,
                            "--username", "AWS", "--password-stdin", f"127.0.0.1:{server.port}",
                            stdin=b"not-a-token", check=False)
    assert rc != 0, "login with a wrong password succeeded"
    if os.path.exists(skopeo.authfile):
        with open(skopeo.authfile) as f:
            assert f"127.0.0.1:{server.port}" not in json.load(f).get("auths", {})


def test_push_to_a_missing_repository_fails_unless_create_on_push(
        server, push_server, skopeo, image, tmp_path):
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    login(server, skopeo)
    name = unique("nosuch")
    rc, _, err = skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false",
                            f"oci:{source}:latest", f"docker://{repository_uri(server, name)}:v1",
                            check=False)
    assert rc != 0, "push to a missing repository succeeded without --create-repository-on-push"
    assert "name unknown" in err.lower() or "name_unknown" in err.lower(), err

    login(push_server, skopeo)
    try:
        skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-tls-verify=false",
                   f"oci:{source}:latest", f"docker://{repository_uri(push_server, name)}:v1")
        rc, out, err = run_aws_text(push_server, ["ecr", "describe-images", "--repository-name", name,
                                                  "--output", "json"])
        assert rc == 0, err
        assert [d["imageDigest"] for d in json.loads(out)["imageDetails"]] == [image.digest]
    finally:
        run_aws_text(push_server, ["ecr", "delete-repository", "--repository-name", name, "--force"])
