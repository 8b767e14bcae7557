"""Pulls from registries other than berth's: Debian's reference registry
(docker-registry, CNCF Distribution) over https with a self-signed CA and
htpasswd Basic auth, and over plain http without auth. The images are pushed
with skopeo; the agent pulls them with --registry-ca-file,
--registry-auth-file and --plain-http-registry."""

import base64
import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import busybox_image
from berth_agent import wait_task
from berth_registry import write_oci_layout
from test_agent_e2e import container, logs, run

REGISTRY = "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo", path="/usr/bin:/usr/sbin:/bin")
OPENSSL = shutil.which("openssl", path="/usr/bin:/usr/sbin:/bin")
USER, PASSWORD = "trainer", "s3cret-pw"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(REGISTRY) and SKOPEO and OPENSSL),
    reason="needs docker-registry, skopeo and openssl (scripts/setup.sh installs them)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bcrypt(password):
    """An htpasswd bcrypt hash, as `htpasswd -B` makes, from glibc's libcrypt
    (libxcrypt), which every Debian system has."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 5, None, 0)
    hashed = lib.crypt(password.encode(), salt)
    assert hashed and hashed.startswith(b"$2b$"), hashed
    return hashed.decode()


def make_certificates(folder):
    """A CA and a server certificate for IP 127.0.0.1 it signed, with the
    openssl CLI. Returns (ca.pem, server.pem, server.key)."""
    ca_key, ca, key, csr, cert = (os.path.join(folder, n) for n in (
        "ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = os.path.join(folder, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for cmd in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=berth test registry CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):
        proc = subprocess.run([OPENSSL, *cmd], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"openssl {' '.join(cmd)}:\n{proc.stderr}"
    return ca, cert, key


class ReferenceRegistry:
    """`docker-registry serve` on 127.0.0.1:port, filesystem storage, with
    TLS and htpasswd auth when given."""

    def __init__(self, folder, tls=None, htpasswd=None):
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tls = tls
        lines = ["version: 0.1", "log:", "  level: warn", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.folder}/data",
                 "http:", f"  addr: {self.host}", "  secret: berth-agent-registries-test"]
        if tls:
            lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
        if htpasswd:
            lines += ["auth:", "  htpasswd:", "    realm: berth-test", f"    path: {htpasswd}"]
        self.config = os.path.join(self.folder, "config.yml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log_path = os.path.join(self.folder, "registry.log")
        self.proc = None

    def start(self, ca=None):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([REGISTRY, "serve", self.config], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
        scheme = "https" if self.tls else "http"
        context = ssl.create_default_context(cafile=ca) if self.tls else None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"docker-registry exited with {self.proc.returncode}:\n{self.log()}",
                            pytrace=False)
            try:
                urllib.request.urlopen(f"{scheme}://{self.host}/v2/", timeout=2, context=context)
                return
            except urllib.error.HTTPError:
                return  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"docker-registry did not answer within 30 s:\n{self.log()}", pytrace=False)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""


def skopeo_push(layout, destination, home, *flags):
    env = {k: v for k, v in os.environ.items()
           if k not in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "XDG_RUNTIME_DIR")}
    env.update(HOME=home, XDG_RUNTIME_DIR=home, DOCKER_CONFIG=os.path.join(home, "docker"))
    proc = subprocess.run([SKOPEO, "copy", "--retry-times", "2", *flags, f"oci:{layout}:latest",
                           f"docker://{destination}"],
                          capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, f"skopeo copy to {destination}:\n{proc.stderr}"


def write_auth_file(path, registry, user, password):
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    with open(path, "w") as f:
        json.dump({"auths": {registry: {"auth": auth}}}, f)
    return path


class Registries:
    def __init__(self, folder, ca, secure, plain):
        self.folder = folder
        self.ca = ca
        self.secure = secure
        self.plain = plain


@pytest.fixture(scope="module")
def registries(node):
    """Both reference registries with the busybox image under several tags
    (each tag is pulled by one test only: a pulled reference is cached)."""
    folder = node.base / "registries"
    certs = folder / "certs"
    certs.mkdir(parents=True)
    ca, cert, key = make_certificates(str(certs))
    htpasswd = folder / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt(PASSWORD)}\n")
    secure = ReferenceRegistry(folder / "secure", tls=(cert, key), htpasswd=str(htpasswd))
    plain = ReferenceRegistry(folder / "plain")
    try:
        secure.start(ca=ca)
        plain.start()
        layout = write_oci_layout(busybox_image.build(), str(folder / "layout"))
        home = folder / "skopeo-home"
        home.mkdir()
        cert_dir = folder / "skopeo-certs"  # skopeo trusts the *.crt files of a folder
        cert_dir.mkdir()
        shutil.copy(ca, cert_dir / "ca.crt")
        for tag in ("test", "wrong-password", "untrusted"):
            skopeo_push(layout, f"{secure.host}/busybox:{tag}", str(home),
                        "--dest-cert-dir", str(cert_dir), "--dest-creds", f"{USER}:{PASSWORD}")
        skopeo_push(layout, f"{plain.host}/busybox:test", str(home), "--dest-tls-verify=false")
        yield Registries(folder, ca, secure, plain)
    finally:
        secure.stop()
        plain.stop()


def restart_agent(node, *args):
    node.agent.stop()
    node.agent.extra_args = ["--retention", "3600", *[str(a) for a in args]]
    node.agent.start()
    node.agent.wait_joined(node.ecs)


def stopped_reason(task):
    return task.get("stoppedReason", "") + " | " + container(task).get("reason", "")


def test_pulls_over_https_with_basic_auth_and_over_plain_http(node, registries):
    auth = write_auth_file(registries.folder / "auth.json", registries.secure.host, USER, PASSWORD)
    restart_agent(node, "--registry-ca-file", registries.ca, "--registry-auth-file", auth,
                  "--plain-http-registry", registries.plain.host)
    for registry, word in ((registries.secure, "https"), (registries.plain, "plain http")):
        arn = run(node, [{"image": f"{registry.host}/busybox:test",
                          "command": ["sh", "-c", f"echo pulled over {word}"]}])
        task = wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=90)
        assert container(task)["exitCode"] == 0, (task, node.agent.log_tail())
        assert f"pulled over {word}\n" in logs(node, arn)


def test_wrong_password_stops_the_task(node, registries):
    auth = write_auth_file(registries.folder / "wrong-auth.json", registries.secure.host, USER,
                           "not-the-password")
    restart_agent(node, "--registry-ca-file", registries.ca, "--registry-auth-file", auth)
    arn = run(node, [{"image": f"{registries.secure.host}/busybox:wrong-password"}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=90)
    reason = stopped_reason(task)
    assert task["stoppedReason"].startswith("CannotPullContainerError"), task
    assert "401" in reason and "UNAUTHORIZED" in reason.upper(), reason
    assert task["stopCode"] == "TaskFailedToStart"


def test_untrusted_certificate_stops_the_task(node, registries):
    auth = write_auth_file(registries.folder / "auth.json", registries.secure.host, USER, PASSWORD)
    restart_agent(node, "--registry-auth-file", auth)  # no --registry-ca-file
    arn = run(node, [{"image": f"{registries.secure.host}/busybox:untrusted"}])
    task = wait_task(node.ecs, node.cluster, arn, "STOPPED", timeout=90)
    reason = stopped_reason(task)
    assert task["stoppedReason"].startswith("CannotPullContainerError"), task
    assert "certificate verify failed" in reason, reason
