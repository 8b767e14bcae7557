"""Fixtures for the registry suites.

The server process, the host-AWS isolation and the aws CLI runner are the
ECS compatibility suite's own fixtures (tests/compat/conftest.py), imported
here, not copied:

- `server`: one `berth server` for the whole run, WITHOUT
  --create-repository-on-push (a push to a missing repository is refused);
- `fresh_server`: a server of the test's own, restartable (`.restart()`);
- `aws`: runs /usr/bin/aws against `server`.

Added here: `push_server` (a second shared server started with
--create-repository-on-push), ECR boto3 clients, registry logins, an
authorised raw OCI client per server, per-test repositories, and the test
images.
"""

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COMPAT_DIR = os.path.abspath(os.path.join(HERE, "..", "compat"))
if COMPAT_DIR not in sys.path:
    sys.path.insert(0, COMPAT_DIR)

from berth_compat import BerthServer, load_compat_conftest, unique  # noqa: E402

_compat = load_compat_conftest()

# Re-exported so that pytest registers them for this directory too.
isolated_aws_env = _compat.isolated_aws_env
server = _compat.server
fresh_server = _compat.fresh_server
aws = _compat.aws
_server_still_running = _compat._server_still_running

from berth_registry import (  # noqa: E402
    build_image, ecr_client_for, registry_for, registry_login)


@pytest.fixture(scope="session")
def push_server(tmp_path_factory, isolated_aws_env):
    """A second shared server, started with --create-repository-on-push."""
    base = tmp_path_factory.mktemp("berth-push")
    srv = BerthServer(base / "data", base, extra_args=["--create-repository-on-push"])
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _push_server_still_running(request):
    yield
    if "push_server" in request.fixturenames:
        srv = request.getfixturevalue("push_server")
        assert srv.alive(), f"berth server (create-on-push) died during this test; its log:\n{srv.log_tail()}"


@pytest.fixture(scope="session")
def ecr(server):
    """boto3 ECR client with the server's own credentials."""
    return ecr_client_for(server)


@pytest.fixture(scope="session")
def ecr_unvalidated(server):
    """boto3 ECR client that skips botocore's client-side validation."""
    return ecr_client_for(server, validate=False)


@pytest.fixture(scope="session")
def push_ecr(push_server):
    return ecr_client_for(push_server)


@pytest.fixture(scope="session")
def login(ecr):
    """() -> (user, password) from the shared server's GetAuthorizationToken."""
    return lambda: registry_login(ecr)


@pytest.fixture(scope="session")
def registry(server):
    """Authorised raw OCI distribution client for `server`."""
    return registry_for(server)


@pytest.fixture(scope="session")
def push_registry(push_server):
    """Authorised raw OCI distribution client for `push_server`."""
    return registry_for(push_server)


class RepositoryFactory:
    """Creates uniquely named ECR repositories and force-deletes them at the end."""

    def __init__(self, ecr):
        self.ecr = ecr
        self.created = []

    def __call__(self, prefix="repo", **kwargs):
        name = unique(prefix)
        self.ecr.create_repository(repositoryName=name, **kwargs)
        self.created.append(name)
        return name

    def cleanup(self):
        for name in self.created:
            try:
                self.ecr.delete_repository(repositoryName=name, force=True)
            except Exception:  # already deleted by the test, or the server is gone
                pass


@pytest.fixture
def make_repo(ecr):
    """make_repo(prefix="repo", **create_repository_args) -> a new repository's name."""
    factory = RepositoryFactory(ecr)
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def repo(make_repo):
    """A new, empty repository on `server`, deleted (force) afterwards."""
    return make_repo()


_images = {}


def cached_image(seed, **kwargs):
    key = (str(seed), tuple(sorted(kwargs.items())))
    if key not in _images:
        _images[key] = build_image(seed, **kwargs)
    return _images[key]


@pytest.fixture(scope="session")
def image():
    """The default three-layer OCI test image (seed "default")."""
    return cached_image("default")


@pytest.fixture(scope="session")
def docker_image():
    """The same layout with Docker schema 2 media types (seed "docker")."""
    return cached_image("docker", docker=True)


@pytest.fixture
def new_image():
    """new_image(**build_image_args) -> an image whose blobs no other test has."""
    return lambda **kwargs: build_image(unique("img"), **kwargs)


@pytest.fixture
def short_tmp():
    """A short temporary directory under /tmp (unix socket paths must stay
    under 108 bytes), removed afterwards."""
    import tempfile
    path = tempfile.mkdtemp(prefix="berth-reg-", dir="/tmp")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
