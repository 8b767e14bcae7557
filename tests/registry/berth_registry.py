"""Helpers shared by the registry suites: a raw OCI distribution client
(http.client with Basic auth), raw-socket exchanges for malformed requests,
the ECR boto3 client, and a small deterministic OCI image builder.

Fixtures live in conftest.py; this module is plain Python so that test
modules can import it directly (`from berth_registry import ...`). The
server process and the AWS helpers come from tests/compat/berth_compat.py.
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import platform
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.parse

COMPAT_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "compat"))
if COMPAT_DIR not in sys.path:
    sys.path.insert(0, COMPAT_DIR)

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import pytest  # noqa: E402

from berth_compat import ACCOUNT, AWS_CLI, REGION, aws_cli_env  # noqa: E402,F401

# --- media types -----------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

# What a client that understands every manifest type sends (containerd's list).
ACCEPT_ALL_MANIFESTS = ", ".join(
    [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, "*/*"])

# The empty JSON object, the config of artifacts (OCI image spec 1.1).
EMPTY_JSON = b"{}"

KIB = 1024
MIB = 1024 * 1024


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def random_bytes(seed, size):
    """size bytes of reproducible, incompressible content."""
    return random.Random(seed).randbytes(size)


def basic_auth(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


def host_arch():
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


# --- OCI image builder -----------------------------------------------------

class Blob:
    """Bytes with their digest and media type."""

    def __init__(self, data, media_type):
        self.data = bytes(data)
        self.media_type = media_type
        self.digest = sha256(self.data)
        self.size = len(self.data)

    def descriptor(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        d.update(extra)
        return d

    def __repr__(self):
        return f"Blob({self.media_type}, {self.digest}, {self.size} bytes)"


def manifest_json(obj):
    """Serialises a manifest the way no server would re-serialise it (three
    spaces of indentation, keys in the order given, a trailing newline), so
    a registry that stores a parsed copy instead of the bytes is caught."""
    return (json.dumps(obj, indent=3) + "\n").encode("utf-8")


def make_layer(entries, media_type=OCI_LAYER_GZIP):
    """A gzipped tar layer from entries [(path, bytes | None)] (None: a
    directory), with fixed owners, modes and times so the same entries
    always give the same digest. Returns (Blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in entries:
            info = tarfile.TarInfo(path)
            info.mtime = 1700000000
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return gzip_layer(raw.getvalue(), media_type)


def gzip_layer(tar_bytes, media_type=OCI_LAYER_GZIP, compresslevel=6):
    """The layer blob of an uncompressed tar (gzip with a fixed header, so the
    same tar always gives the same digest) and its diff_id: (Blob, diff_id)."""
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, compresslevel=compresslevel) as gz:
        gz.write(tar_bytes)
    return Blob(packed.getvalue(), media_type), sha256(tar_bytes)


class Image:
    """A single-platform image: config, layers, manifest (bytes as pushed).

    files: what the root filesystem holds once every layer is applied
    ({path: bytes}); removed: paths an earlier layer created and a later
    layer's whiteout deleted."""

    def __init__(self, config, layers, manifest, media_type, files, removed):
        self.config = config
        self.layers = layers
        self.manifest = manifest
        self.media_type = media_type
        self.digest = sha256(manifest)
        self.files = files
        self.removed = removed

    @property
    def blobs(self):
        return [self.config, *self.layers]

    def descriptor(self, **extra):
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        d.update(extra)
        return d

    def __repr__(self):
        return f"Image({self.digest}, {len(self.layers)} layers)"


def build_image(seed, *, docker=False, big_layer_size=2 * MIB, arch=None):
    """A three-layer image, deterministic for a given seed (an int or a
    string; different seeds give images that share no blob):

      layer 1: /etc/berth-test/{seed.txt, foo, hello.txt (1 KiB)}
      layer 2: /data/big.bin (big_layer_size random bytes)
      layer 3: /etc/berth-test/.wh.foo (whiteout of foo), /etc/berth-test/added.txt (64 KiB)

    docker=True uses Docker schema 2 media types instead of OCI ones."""
    seed = str(seed)
    layer_type = DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP
    seed_txt = f"berth registry test image, seed {seed}\n".encode()
    foo = f"foo of {seed}\n".encode()
    hello = random_bytes(f"{seed}/hello", KIB)
    big = random_bytes(f"{seed}/big", big_layer_size)
    added = random_bytes(f"{seed}/added", 64 * KIB)
    layer_entries = [
        [("etc/", None), ("etc/berth-test/", None), ("etc/berth-test/seed.txt", seed_txt),
         ("etc/berth-test/foo", foo), ("etc/berth-test/hello.txt", hello)],
        [("data/", None), ("data/big.bin", big)],
        [("etc/", None), ("etc/berth-test/", None), ("etc/berth-test/.wh.foo", b""),
         ("etc/berth-test/added.txt", added)],
    ]
    layers, diff_ids = [], []
    for entries in layer_entries:
        blob, diff_id = make_layer(entries, layer_type)
        layers.append(blob)
        diff_ids.append(diff_id)
    config_obj = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch or host_arch(),
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["BERTH_TEST_SEED=" + seed],
                   "Labels": {"berth.test.seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"berth test layer {i}"}
                    for i in range(len(layers))],
    }
    config = Blob(json.dumps(config_obj, sort_keys=True).encode(),
                  DOCKER_CONFIG if docker else OCI_CONFIG)
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    manifest_obj = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    if not docker:
        manifest_obj["annotations"] = {"org.opencontainers.image.title": f"berth-test-{seed}"}
    files = {
        "etc/berth-test/seed.txt": seed_txt,
        "etc/berth-test/hello.txt": hello,
        "data/big.bin": big,
        "etc/berth-test/added.txt": added,
    }
    return Image(config, layers, manifest_json(manifest_obj), media_type, files,
                 removed=["etc/berth-test/foo"])


def small_image(**kwargs):
    """A fresh three-layer image (a unique seed) with a 4 KiB instead of a
    2 MiB layer: for tests that need many images."""
    from berth_compat import unique
    return build_image(unique("small"), big_layer_size=4 * KIB, **kwargs)


def artifact_manifest(subject, artifact_type, layer, annotations=None):
    """An OCI 1.1 artifact: an image manifest with artifactType, the empty
    config and a subject (a descriptor dict). Returns the manifest bytes."""
    obj = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256(EMPTY_JSON), "size": len(EMPTY_JSON)},
        "layers": [layer.descriptor()],
        "subject": subject,
    }
    if annotations:
        obj["annotations"] = annotations
    return manifest_json(obj)


def index_manifest(children, media_type=OCI_INDEX):
    """An image index / manifest list over children (descriptor dicts, each
    given a platform if it has none)."""
    manifests = []
    for i, child in enumerate(children):
        child = dict(child)
        child.setdefault("platform", {"architecture": ["amd64", "arm64", "s390x"][i % 3],
                                      "os": "linux"})
        manifests.append(child)
    return manifest_json({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests})


def write_oci_layout(image, directory, tag="latest"):
    """Writes image as an OCI image layout (oci-layout, index.json,
    blobs/sha256/...) that `skopeo copy oci:DIR:TAG` reads."""
    blobs_dir = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blobs_dir, exist_ok=True)
    with open(os.path.join(directory, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    for data in [image.manifest] + [b.data for b in image.blobs]:
        with open(os.path.join(blobs_dir, sha256(data).split(":", 1)[1]), "wb") as f:
            f.write(data)
    index = {
        "schemaVersion": 2,
        "manifests": [image.descriptor(annotations={"org.opencontainers.image.ref.name": tag})],
    }
    with open(os.path.join(directory, "index.json"), "w") as f:
        json.dump(index, f)
    return directory


def read_oci_layout(directory):
    """(index.json as a dict, {digest: bytes} of every blob in the layout)."""
    with open(os.path.join(directory, "index.json")) as f:
        index = json.load(f)
    blobs = {}
    for algorithm in os.listdir(os.path.join(directory, "blobs")):
        folder = os.path.join(directory, "blobs", algorithm)
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                blobs[f"{algorithm}:{name}"] = f.read()
    return index, blobs


# --- OCI distribution over raw HTTP ----------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers
        self.headers = {}
        for k, v in headers:
            key = k.lower()
            self.headers[key] = f"{self.headers[key]}, {v}" if key in self.headers else v
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def error_codes(self):
        """The codes of an OCI error body ({"errors": [{"code": ...}]}), or []."""
        try:
            return [e.get("code") for e in self.json.get("errors", [])]
        except (ValueError, AttributeError):
            return []

    def __repr__(self):
        interesting = {k: v for k, v in self.headers.items()
                       if k in ("location", "range", "content-range", "docker-content-digest",
                                "content-type", "content-length", "link", "www-authenticate",
                                "oci-subject", "oci-filters-applied")}
        return f"Response({self.status}, {interesting}, {self.body[:400]!r})"


def assert_oci_error(resp, statuses, codes):
    """resp is an error reply with one of the statuses (an int or a tuple)
    and, when it has a body (not HEAD), an OCI error body whose first code
    is one of codes (a string or a tuple)."""
    if isinstance(statuses, int):
        statuses = (statuses,)
    if isinstance(codes, str):
        codes = (codes,)
    assert resp.status in statuses, f"expected HTTP {statuses} with {codes}, got {resp!r}"
    try:
        body = resp.json
    except ValueError:
        raise AssertionError(f"error reply is not JSON: {resp!r}") from None
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, f"no errors[] in the error reply: {resp!r}"
    for e in errors:
        assert isinstance(e.get("code"), str), f"error without a code: {resp!r}"
        assert "message" in e, f"error without a message: {resp!r}"
    assert errors[0]["code"] in codes, f"expected one of {codes}, got {resp!r}"
    return errors[0]


class Registry:
    """A hand-driven OCI distribution client: one http.client connection
    per request, Basic auth (user AWS, the ECR token) unless auth=False."""

    def __init__(self, port, user=None, password=None, host="127.0.0.1", ca_file=None):
        """ca_file: speak https, trusting this CA."""
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.ca_file = ca_file

    @property
    def netloc(self):
        return f"{self.host}:{self.port}"

    def auth_header(self):
        return basic_auth(self.user, self.password)

    def request(self, method, path, body=None, headers=None, auth=True, timeout=60):
        hdrs = {"Host": self.netloc}
        if auth and self.user is not None:
            hdrs["Authorization"] = self.auth_header()
        if body is not None and "Content-Length" not in (headers or {}):
            hdrs["Content-Length"] = str(len(body))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            hdrs["Content-Length"] = "0"
        hdrs.update(headers or {})
        if self.ca_file:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout,
                context=ssl.create_default_context(cafile=self.ca_file))
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body:
                conn.send(body)
            resp = conn.getresponse()
            data = resp.read() if method != "HEAD" else b""
            return Response(resp.status, resp.getheaders(), data)
        finally:
            conn.close()

    # -- paths

    @staticmethod
    def location_path(resp):
        """The Location header as a path with its query (it may be absolute)."""
        loc = resp.headers.get("location")
        assert loc, f"reply has no Location header: {resp!r}"
        parts = urllib.parse.urlsplit(loc)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @staticmethod
    def with_query(path, **params):
        sep = "&" if "?" in path else "?"
        return path + sep + urllib.parse.urlencode(params)

    # -- blobs

    def start_upload(self, repo, **params):
        path = f"/v2/{repo}/blobs/uploads/"
        if params:
            path += "?" + urllib.parse.urlencode(params)
        return self.request("POST", path)

    def push_blob(self, repo, data):
        """POST ?digest= with the bytes (monolithic). Returns the digest."""
        digest = sha256(data)
        resp = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data,
                            {"Content-Type": "application/octet-stream"})
        assert resp.status == 201, f"monolithic blob push to {repo} failed: {resp!r}"
        return digest

    def push_blob_post_put(self, repo, data):
        """POST to open an upload, PUT ?digest= with the bytes."""
        digest = sha256(data)
        start = self.start_upload(repo)
        assert start.status == 202, f"POST upload to {repo}: {start!r}"
        resp = self.request("PUT", self.with_query(self.location_path(start), digest=digest),
                            data, {"Content-Type": "application/octet-stream"})
        assert resp.status == 201, f"PUT upload to {repo}: {resp!r}"
        return digest

    def patch_chunk(self, location, data, start):
        return self.request("PATCH", location, data, {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{start}-{start + len(data) - 1}",
        })

    def blob_exists(self, repo, digest):
        resp = self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        assert resp.status in (200, 404), f"HEAD blob {digest} in {repo}: {resp!r}"
        return resp.status == 200

    def get_blob(self, repo, digest, headers=None):
        return self.request("GET", f"/v2/{repo}/blobs/{digest}", headers=headers)

    # -- manifests

    def put_manifest(self, repo, reference, body, media_type):
        return self.request("PUT", f"/v2/{repo}/manifests/{reference}", body,
                            {"Content-Type": media_type})

    def get_manifest(self, repo, reference, method="GET", accept=ACCEPT_ALL_MANIFESTS):
        return self.request(method, f"/v2/{repo}/manifests/{reference}",
                            headers={"Accept": accept})

    def push_image(self, repo, image, *tags):
        """Pushes image's blobs (skipping those already present) and its
        manifest under each tag (or by digest when no tag is given)."""
        for blob in image.blobs:
            if not self.blob_exists(repo, blob.digest):
                self.push_blob(repo, blob.data)
        for ref in tags or (image.digest,):
            resp = self.put_manifest(repo, ref, image.manifest, image.media_type)
            assert resp.status == 201, f"PUT manifest {repo}:{ref}: {resp!r}"
            assert resp.headers.get("docker-content-digest") == image.digest, resp
        return image.digest

    def tags(self, repo):
        resp = self.request("GET", f"/v2/{repo}/tags/list")
        assert resp.status == 200, resp
        return resp.json.get("tags") or []


# --- raw sockets -----------------------------------------------------------

def raw_exchange(port, head, parts=(), *, pause=0.0, half_close=True, timeout=15):
    """Sends head (request line and headers, bytes) and parts (body pieces)
    on a fresh socket, then half-closes it and reads until the server
    closes. Returns what the server sent. Fails the test if the server
    neither answers nor closes within timeout seconds (a hang)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    received = b""
    try:
        sock.sendall(head)
        for part in parts:
            if pause:
                time.sleep(pause)
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server already answered and closed: fine
        if half_close:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                pytest.fail(f"server neither answered nor closed within {timeout} s; "
                            f"got so far: {received[:500]!r}")
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                pytest.fail(f"server neither answered nor closed within {timeout} s; "
                            f"got so far: {received[:500]!r}")
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    return received


def status_codes(raw):
    """The status codes of every HTTP response in raw bytes, in order."""
    codes = []
    for line in raw.split(b"\r\n"):
        if line.startswith(b"HTTP/1."):
            parts = line.split(b" ", 2)
            if len(parts) >= 2 and parts[1].isdigit():
                codes.append(int(parts[1]))
    return codes


def request_head(method, path, port, headers):
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- skopeo ----------------------------------------------------------------

SKOPEO = shutil.which("skopeo", path="/usr/bin:/usr/sbin:/bin")

class Skopeo:
    """Debian's skopeo with an auth file and a home of the test's own, so
    nothing of the host's ($XDG_RUNTIME_DIR, ~/.docker) is read or written."""

    def __init__(self, authfile, tmp):
        self.authfile = authfile
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "XDG_RUNTIME_DIR")}
        self.env["REGISTRY_AUTH_FILE"] = authfile
        self.env["XDG_RUNTIME_DIR"] = tmp  # skopeo's default auth path lives here
        self.env["HOME"] = tmp
        self.env["DOCKER_CONFIG"] = os.path.join(tmp, "docker-config")

    def run(self, *args, stdin=None, check=True, timeout=180):
        proc = subprocess.run([SKOPEO, *args], input=stdin, capture_output=True, env=self.env,
                              timeout=timeout)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if check:
            assert proc.returncode == 0, f"skopeo {' '.join(args)} failed ({proc.returncode}):\n{err}"
        return proc.returncode, out, err


# --- ECR -------------------------------------------------------------------

def make_ecr_client(endpoint, access_key, secret_key, validate=True, verify=None):
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION)
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        parameter_validation=validate,
    )
    return session.client("ecr", endpoint_url=endpoint, config=config, verify=verify)


def registry_login(ecr):
    """(user, password) from GetAuthorizationToken, as `docker login` uses them."""
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1, data
    user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password, f"authorizationToken is not base64 'AWS:<password>': {data}"
    return user, password


def ecr_client_for(srv, validate=True):
    """boto3 ECR client for a berth_compat.BerthServer, with its own keys."""
    return make_ecr_client(srv.endpoint, srv.access_key, srv.secret_key, validate,
                           getattr(srv, "ca_file", None))


def registry_for(srv):
    """An OCI client for srv, logged in through its ECR GetAuthorizationToken."""
    user, password = registry_login(ecr_client_for(srv))
    return Registry(srv.port, user, password, ca_file=getattr(srv, "ca_file", None))


def run_aws_text(server, args, stdin=None):
    """Runs /usr/bin/aws against server; returns (returncode, stdout text, stderr)."""
    proc = subprocess.run(
        [AWS_CLI, "--endpoint-url", server.endpoint, *[str(a) for a in args]],
        env=aws_cli_env(server.access_key, server.secret_key), input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, timeout=120)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def repository_uri(server, name):
    return f"127.0.0.1:{server.port}/{name}"
