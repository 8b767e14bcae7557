"""Fixtures for the ECS compatibility suite.

`server` is one berth server for the whole run; tests share it and keep out
of each other's way with unique cluster and family names (berth_compat.unique).
`fresh_server` is a server of a test's own, for tests that restart it or that
need an empty state (the `default` cluster not yet created).
"""

import json
import os
import subprocess

import pytest

from berth_compat import AWS_CLI, BerthServer, aws_cli_env

@pytest.fixture(scope="session")
def isolated_aws_env():
    """Host AWS configuration (variables, ~/.aws) must not leak into the
    boto3 clients under test; restored when the session ends."""
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("AWS_")]:
            mp.delenv(var)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="session")
def server(tmp_path_factory, isolated_aws_env):
    base = tmp_path_factory.mktemp("berth")
    srv = BerthServer(base / "data", base)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fresh_server(tmp_path, isolated_aws_env):
    """A server of this test's own on tmp_path/data. Call .restart() to stop
    it and start it again on the same data directory and port."""
    srv = BerthServer(tmp_path / "data", tmp_path)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def ecs(server):
    """boto3 ECS client with the server's own credentials."""
    return server.client()


@pytest.fixture(scope="session")
def ecs_unvalidated(server):
    """boto3 ECS client that sends what it is given, skipping botocore's
    client-side parameter validation, to reach the server's own checks."""
    return server.client(validate=False)


@pytest.fixture(scope="session")
def raw(server):
    """berth_compat.RawClient for hand-built, hand-signed requests."""
    return server.raw()


def _run_aws(endpoint, access_key, secret_key, args, extra_env=None):
    env = aws_cli_env(access_key or "", secret_key or "")
    if access_key is None:
        del env["AWS_ACCESS_KEY_ID"]
        del env["AWS_SECRET_ACCESS_KEY"]
    env.update(extra_env or {})
    proc = subprocess.run(
        [AWS_CLI, "--endpoint-url", endpoint, "--output", "json", *args],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    out = proc.stdout.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(out) if out else None
    except ValueError:
        parsed = None
    return proc.returncode, parsed, proc.stderr.decode("utf-8", "replace")


@pytest.fixture(scope="session")
def aws(server):
    """aws(*args, access_key=..., secret_key=..., env={...}) runs /usr/bin/aws
    against the server; returns (returncode, parsed JSON stdout or None, stderr).
    access_key=None leaves the key variables unset (env may then point
    AWS_SHARED_CREDENTIALS_FILE somewhere)."""
    def run(*args, access_key="", secret_key="", env=None):
        key = server.access_key if access_key == "" else access_key
        secret = server.secret_key if secret_key == "" else secret_key
        return _run_aws(server.endpoint, key, secret, [str(a) for a in args], env)
    return run


@pytest.fixture(autouse=True)
def _server_still_running(request):
    """A test that crashes the shared server fails itself, not the next one."""
    yield
    if "server" in request.fixturenames:
        srv = request.getfixturevalue("server")
        assert srv.alive(), f"berth server died during this test; its log:\n{srv.log_tail()}"
