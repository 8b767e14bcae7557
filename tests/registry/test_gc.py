"""`berth registry gc`: blobs that no manifest references are removed, the
rest stay, and recently used blobs survive the default grace period."""

import json
import os
import subprocess

from berth_compat import BERTH_BIN, unique
from berth_registry import ecr_client_for, random_bytes, registry_for


def run_gc(srv, *args, credentials=None):
    credentials = credentials or os.path.join(srv.data_dir, "credentials")
    proc = subprocess.run(
        [BERTH_BIN, "registry", "gc", "--endpoint", srv.endpoint, "--credentials", credentials,
         *args],
        capture_output=True, text=True, timeout=120)
    return proc


def test_gc_removes_only_unreferenced_blobs(fresh_server, new_image):
    srv = fresh_server
    ecr = ecr_client_for(srv)
    registry = registry_for(srv)
    repo = unique("gc")
    ecr.create_repository(repositoryName=repo)
    kept = new_image()
    registry.push_image(repo, kept, "v1")
    dropped = new_image()
    registry.push_image(repo, dropped, "old")
    stray = registry.push_blob(repo, random_bytes("stray", 4096))

    # Just pushed: the default grace period keeps everything.
    proc = run_gc(srv)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["blobsRemoved"] == 0
    assert registry.blob_exists(repo, stray)

    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "old"}])
    proc = run_gc(srv, "--min-age", "0")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["blobsRemoved"] >= 2  # the stray blob and at least the old manifest

    assert not registry.blob_exists(repo, stray)
    assert not registry.blob_exists(repo, dropped.config.digest)
    for blob in kept.blobs:
        assert registry.blob_exists(repo, blob.digest), blob
    pulled = registry.get_manifest(repo, "v1")
    assert pulled.status == 200 and pulled.body == kept.manifest


def test_gc_refuses_callers_without_valid_credentials(fresh_server, tmp_path):
    bad = tmp_path / "bad-credentials"
    bad.write_text("[default]\naws_access_key_id = AKIAUNKNOWN\naws_secret_access_key = nope\n")
    proc = run_gc(fresh_server, credentials=str(bad))
    assert proc.returncode != 0
    assert "UnrecognizedClientException" in proc.stderr


def test_gc_refuses_a_negative_min_age(fresh_server):
    proc = run_gc(fresh_server, "--min-age", "-5")
    assert proc.returncode != 0
