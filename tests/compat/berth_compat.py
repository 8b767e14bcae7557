"""Helpers shared by the ECS compatibility suite: a berth server process,
hand-signed raw requests, and assertions on AWS errors.

Fixtures live in conftest.py; this module is plain Python so that test
modules can import the helpers directly (`from berth_compat import ...`).
"""

import configparser
import contextlib
import datetime
import http.client
import importlib.util
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid

import boto3
import botocore.config
import pytest
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def load_compat_conftest():
    """tests/compat/conftest.py as a module, loaded once, so that the other
    suites' conftests can re-export its fixtures (a conftest is not
    importable by name)."""
    name = "berth_compat_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(os.path.dirname(os.path.abspath(__file__)), "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BERTH_BIN = os.environ.get("BERTH_BIN", os.path.join(REPO_ROOT, "build", "berth"))
EXAMPLE_TASKDEF = os.environ.get(
    "BERTH_EXAMPLE_TASKDEF", os.path.join(REPO_ROOT, "examples", "neuron-training", "taskdef.json"))
AWS_CLI = "/usr/bin/aws"

REGION = "us-east-1"
ACCOUNT = "000000000000"
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

# Codes a validation failure may carry. Real ECS uses both for requests that
# parse but break a rule (ClientException for most task-definition rules,
# InvalidParameterException for out-of-range or malformed values), and the
# API reference does not say which case gets which, so the suite accepts
# either and still fails on success, on a 5xx, or on any other code.
VALIDATION_CODES = ("ClientException", "InvalidParameterException")


def unique(prefix):
    """A name no other test uses: prefix plus 8 hex digits."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cluster_arn(name):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}"


def task_definition_arn(family, revision):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def error_code(exc):
    return exc.response["Error"]["Code"]


def assert_refused(call, codes, *args, **kwargs):
    """Calls call(*args, **kwargs) and asserts it raises a ClientError whose
    code is one of codes (a string or a tuple). Returns the ClientError."""
    if isinstance(codes, str):
        codes = (codes,)
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    code = error_code(info.value)
    assert code in codes, f"expected one of {codes}, got {code}: {info.value}"
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert 400 <= status < 500, f"a refused request is a client error, got HTTP {status}"
    return info.value


def assert_contains(expected, actual, path="$"):
    """Every field of expected appears, unchanged, in actual. Lists must have
    the same length and order; dicts in actual may carry extra keys (defaults
    the service fills in)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: missing in output (output keys: {sorted(actual)})"
            assert_contains(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(expected) == len(actual), (
            f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_contains(e, a, f"{path}[{i}]")
    else:
        assert type(expected) is type(actual) and expected == actual, (
            f"{path}: expected {expected!r}, got {actual!r}")


def wait_for(what, check, timeout=20):
    """Calls check() until it returns something true, and returns that;
    fails naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def tags_as_dict(tags):
    return {t["key"]: t["value"] for t in (tags or [])}


def resource_values(resources):
    """{name: (type, value)} for a Resources list, reading the value field that
    matches the type (ECS fills the other value fields with zeros)."""
    field = {"INTEGER": "integerValue", "LONG": "longValue", "DOUBLE": "doubleValue",
             "STRINGSET": "stringSetValue"}
    out = {}
    for r in resources:
        assert r["name"] not in out, f"resource {r['name']} listed twice: {resources!r}"
        value = r.get(field[r["type"]])
        if r["type"] == "STRINGSET":
            value = sorted(value or [])
        out[r["name"]] = (r["type"], value)
    return out


def aws_cli_env(access_key, secret_key, extra_env=None):
    """The environment for running /usr/bin/aws with the given keys and
    nothing from the host's AWS configuration (for callers that need the
    CLI's raw output, e.g. `aws ecr get-login-password`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
        "AWS_CLI_AUTO_PROMPT": "off",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    })
    env.update(extra_env or {})
    return env


def make_ecs_client(endpoint, access_key, secret_key, validate=True, verify=None):
    """verify: for https, a CA file to trust (boto3's verify=), False, or
    None for the system's trust store."""
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION)
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},  # one attempt: no retries
        connect_timeout=5,
        read_timeout=60,
        parameter_validation=validate,
    )
    return session.client("ecs", endpoint_url=endpoint, config=config, verify=verify)


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def error_type(self):
        return self.json.get("__type")

    def __repr__(self):
        return f"RawResponse({self.status}, {self.body[:300]!r})"


class _DatedSigV4Auth(SigV4Auth):
    """SigV4Auth that signs as of a given time instead of now."""

    def __init__(self, credentials, service, region, when):
        super().__init__(credentials, service, region)
        self._when = when

    def add_auth(self, request):
        request.context["timestamp"] = self._when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


class RawClient:
    """Sends hand-built AWS JSON 1.1 requests, signed with botocore's SigV4
    unless told otherwise, for the cases a real SDK will not produce."""

    def __init__(self, host, port, access_key, secret_key):
        self.host = host
        self.port = port
        self.access_key = access_key
        self.secret_key = secret_key

    def signed_headers(self, operation, body, *, access_key=None, secret_key=None,
                       when=None, target=None, content_type=JSON_CONTENT_TYPE,
                       region=REGION, service="ecs"):
        headers = {
            "Host": f"{self.host}:{self.port}",
            "Content-Type": content_type,
            "X-Amz-Target": target if target is not None else f"{TARGET_PREFIX}.{operation}",
        }
        request = AWSRequest(method="POST", url=f"http://{self.host}:{self.port}/",
                             data=body, headers=headers)
        creds = Credentials(access_key or self.access_key, secret_key or self.secret_key)
        if when is None:
            when = datetime.datetime.utcnow()
        _DatedSigV4Auth(creds, service, region, when).add_auth(request)
        return dict(request.headers.items())

    def send(self, headers, body, timeout=60):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            return RawResponse(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def call(self, operation, body, *, sign=True, **sign_args):
        """POSTs body (a dict/list, serialised as JSON, or raw bytes) as
        operation. Returns a RawResponse."""
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode("utf-8")
        if sign:
            headers = self.signed_headers(operation, body, **sign_args)
        else:
            headers = {
                "Host": f"{self.host}:{self.port}",
                "Content-Type": JSON_CONTENT_TYPE,
                "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
            }
        return self.send(headers, body)


def terminate(proc, grace=10):
    """Stops a process gracefully: SIGTERM, then SIGKILL after grace
    seconds. Returns its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@contextlib.contextmanager
def running_server(data_dir, log_dir, extra_args=()):
    """A BerthServer started on data_dir, stopped when the block ends."""
    srv = BerthServer(data_dir, log_dir, extra_args)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


class BerthServer:
    """One `berth server` process on a data directory; restartable on the
    same directory and port. With --tls-cert in extra_args it serves https,
    and ca_file (the CA that signed its certificate) is what its clients
    trust."""

    def __init__(self, data_dir, log_dir, extra_args=(), ca_file=None):
        self.data_dir = str(data_dir)
        self.log_dir = str(log_dir)
        self.extra_args = [str(a) for a in extra_args]  # appended to `berth server ...`
        self.scheme = "https" if "--tls-cert" in self.extra_args else "http"
        self.ca_file = None if ca_file is None else str(ca_file)
        self.port = free_port()
        self.proc = None
        self.starts = 0
        self.log_path = None

    @property
    def endpoint(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self):
        if not os.path.exists(BERTH_BIN):
            pytest.fail(f"berth binary not found at {BERTH_BIN}: build it first "
                        f"(cmake --build build) or set BERTH_BIN", pytrace=False)
        self.starts += 1
        self.log_path = os.path.join(self.log_dir, f"berth-server-{self.port}-{self.starts}.log")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [BERTH_BIN, "server", "--listen", f"127.0.0.1:{self.port}", "--data", self.data_dir,
                 *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"berth server exited with {self.proc.returncode} before listening; "
                            f"its log:\n{self.log_tail()}", pytrace=False)
            # Listening is not enough: until everything is wired the server
            # answers 503 "berth is starting"; /healthz says 200 once it serves.
            try:
                conn = self.http_connection(timeout=1)
                try:
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"berth server did not serve on port {self.port} within 20 s; "
                            f"its log:\n{self.log_tail()}", pytrace=False)
            time.sleep(0.05)
        self._read_credentials()

    def http_connection(self, timeout=30):
        """An http.client connection to the server: https trusting ca_file
        when it serves TLS."""
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout,
                context=ssl.create_default_context(cafile=self.ca_file))
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def _read_credentials(self):
        path = os.path.join(self.data_dir, "credentials")
        assert os.path.exists(path), f"server did not write {path}"
        parser = configparser.ConfigParser()
        parser.read(path)
        assert parser.has_section("default"), f"{path} has no [default] profile"
        self.access_key = parser.get("default", "aws_access_key_id")
        self.secret_key = parser.get("default", "aws_secret_access_key")
        assert self.access_key and self.secret_key, f"{path} has empty credentials"

    @property
    def credentials_path(self):
        return os.path.join(self.data_dir, "credentials")

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s. Returns the exit status."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        return terminate(proc)

    def restart(self):
        self.stop()
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        return data[-n:].decode("utf-8", "replace")

    def client(self, validate=True):
        return make_ecs_client(self.endpoint, self.access_key, self.secret_key, validate,
                               self.ca_file)

    def raw(self):
        return RawClient("127.0.0.1", self.port, self.access_key, self.secret_key)
