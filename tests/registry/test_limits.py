"""What a client can make the registry hold: open uploads per repository
(--max-uploads-per-repository), each refusal an OCI error and a metric."""

import pytest

from berth_compat import BerthServer, unique
from berth_registry import ecr_client_for, registry_for, sha256
from test_metrics import scrape, value


@pytest.fixture
def capped(tmp_path, isolated_aws_env):
    srv = BerthServer(tmp_path / "data", tmp_path, ["--max-uploads-per-repository", "2"])
    srv.start()
    yield srv
    srv.stop()


def test_open_uploads_per_repository_are_capped(capped):
    ecr = ecr_client_for(capped)
    repo, other = unique("cap"), unique("cap")
    for name in (repo, other):
        ecr.create_repository(repositoryName=name)
    registry = registry_for(capped)
    first = registry.start_upload(repo)
    second = registry.start_upload(repo)
    assert first.status == 202 and second.status == 202

    refused = registry.start_upload(repo)
    assert refused.status == 429 and refused.error_codes == ["TOOMANYREQUESTS"], refused
    assert f"repository {repo} has 2 uploads open" in refused.body.decode()
    assert value(scrape(capped), "berth_registry_uploads_refused",
                 "berth_registry_uploads_refused_total", reason="open_uploads_per_repository") == 1
    # Another repository has room of its own; a monolithic push is one
    # request and never counts.
    assert registry.start_upload(other).status == 202
    data = b"monolithic"
    assert registry.push_blob(repo, data) == sha256(data)

    # Completing one makes room; so does cancelling one.
    data = b"first upload"
    done = registry.request("PUT", registry.with_query(registry.location_path(first),
                                                       digest=sha256(data)), data,
                            {"Content-Type": "application/octet-stream"})
    assert done.status == 201, done
    assert registry.start_upload(repo).status == 202
    assert registry.start_upload(repo).status == 429
    assert registry.request("DELETE", registry.location_path(second)).status == 204
    assert registry.start_upload(repo).status == 202
