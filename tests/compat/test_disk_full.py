"""A server whose disk fills up: requests that write are refused with a
clear error (ServerException; the registry's 507), reads go on, and writes
resume once space is freed. A real, small file system (tmpfs) the test
mounts, so it needs root, as CI has."""

import os
import subprocess
import sys

import botocore.exceptions
import pytest

from berth_compat import running_server, unique
from test_metrics import scrape, value

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "registry"))
from berth_registry import ecr_client_for, registry_for  # noqa: E402

MIB = 1 << 20


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_refuses_writes_and_keeps_serving_reads(small_disk, tmp_path,
                                                          isolated_aws_env):
    with running_server(small_disk / "data", tmp_path, ["--min-free-disk-mb", "16"]) as srv:
        ecs = srv.client()
        before = unique("before")
        ecs.create_cluster(clusterName=before)
        repo = unique("repo")
        ecr_client_for(srv).create_repository(repositoryName=repo)
        registry = registry_for(srv)

        # Fill the disk to 8 MiB free, under the 16 MiB berth keeps.
        stat = os.statvfs(small_disk)
        fill = small_disk / "fill"
        with open(fill, "wb") as f:
            f.truncate(0)
            f.write(b"\0" * (stat.f_bavail * stat.f_frsize - 8 * MIB))
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            ecs.create_cluster(clusterName=unique("full"))
        error = refused.value.response["Error"]
        assert error["Code"] == "ServerException", error
        assert f"the disk holding {small_disk / 'data'}" in error["Message"], error
        assert "--min-free-disk-mb" in error["Message"], error
        pushed = registry.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert pushed.status == 507 and pushed.error_codes == ["UNKNOWN"], pushed
        # Reads go on.
        assert ecs.describe_clusters(clusters=[before])["clusters"][0]["status"] == "ACTIVE"
        assert registry.request("GET", f"/v2/{repo}/tags/list").status == 200
        assert value(scrape(srv), "berth_writes_refused", "berth_writes_refused_total",
                     reason="disk_full") >= 2

        # Space freed: writes resume, nothing restarted.
        fill.unlink()
        after = unique("after")
        ecs.create_cluster(clusterName=after)
        assert registry.request("POST", f"/v2/{repo}/blobs/uploads/").status == 202
        assert srv.alive()
