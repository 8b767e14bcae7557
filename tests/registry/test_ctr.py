"""containerd pulls from berth: a private containerd (its own root, state
and socket under a temporary directory, no CRI plugin) runs
`ctr images pull --plain-http --user AWS:<password>` against the registry,
and the unpacked image is mounted to check its files (the whiteout layer
must have removed /etc/berth-test/foo).

Needs Debian's `containerd` package (containerd and ctr) and root (the
snapshotter mounts overlayfs). Skipped, with the reason, otherwise.
Everything started is stopped and removed, mounts included, even when a
test fails.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from berth_compat import unique
from berth_registry import (
    DOCKER_MANIFEST, OCI_MANIFEST, build_image, repository_uri)

CONTAINERD = shutil.which("containerd", path="/usr/bin:/usr/sbin:/bin:/sbin")
CTR = shutil.which("ctr", path="/usr/bin:/usr/sbin:/bin:/sbin")

pytestmark = [
    pytest.mark.skipif(CONTAINERD is None or CTR is None,
                       reason="containerd/ctr not installed (Debian package containerd)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private containerd needs root"),
]

NAMESPACE = "berth-test"

CONFIG = """\
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{root}/containerd.sock"

[ttrpc]
  address = "{root}/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"
"""


def mounts_under(path):
    """Mount points under path, deepest first."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return sorted(found, key=lambda p: p.count("/"), reverse=True)


class Containerd:
    def __init__(self, base):
        self.base = base
        self.sock = os.path.join(base, "containerd.sock")
        self.config = os.path.join(base, "config.toml")
        self.log_path = os.path.join(base, "containerd.log")
        self.proc = None

    def start(self):
        with open(self.config, "w") as f:
            f.write(CONFIG.format(root=self.base))
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen([CONTAINERD, "--config", self.config],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"containerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if os.path.exists(self.sock):
                rc, _, _ = self.ctr("version", check=False, timeout=10)
                if rc == 0:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"containerd did not answer on {self.sock} within 30 s:\n{self.log_tail()}")
            time.sleep(0.1)

    def ctr(self, *args, check=True, timeout=180):
        proc = subprocess.run([CTR, "--address", self.sock, "--namespace", NAMESPACE, *args],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if check:
            assert proc.returncode == 0, (
                f"ctr {' '.join(args)} failed ({proc.returncode}):\n{out}\n{err}\n"
                f"containerd log:\n{self.log_tail()}")
        return proc.returncode, out, err

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        for point in mounts_under(self.base):
            subprocess.run(["umount", "-l", point], capture_output=True)
        remaining = mounts_under(self.base)
        assert not remaining, f"could not unmount {remaining}"
        shutil.rmtree(self.base, ignore_errors=True)

    def images(self):
        """{ref: (type, digest)} from `ctr images ls`."""
        _, out, _ = self.ctr("images", "ls")
        rows = {}
        for line in out.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 3:
                rows[cols[0]] = (cols[1], cols[2])
        return rows


@pytest.fixture
def containerd():
    base = tempfile.mkdtemp(prefix="berth-ctr-", dir="/tmp")
    daemon = Containerd(base)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()


def pull(containerd, registry, ref, password=None, check=True):
    return containerd.ctr("images", "pull", "--plain-http",
                          "--user", f"AWS:{password or registry.password}", ref, check=check,
                          timeout=300)


def check_rootfs(containerd, ref, image):
    """Mounts the unpacked image and compares its files with the layers'."""
    target = tempfile.mkdtemp(prefix="berth-ctr-mnt-", dir="/tmp")
    mounted = False
    try:
        containerd.ctr("images", "mount", ref, target)
        mounted = True
        for path, data in image.files.items():
            with open(os.path.join(target, path), "rb") as f:
                assert f.read() == data, f"/{path} differs in the unpacked image"
        for path in image.removed:
            assert not os.path.lexists(os.path.join(target, path)), (
                f"/{path} is still there: the whiteout was not applied")
    finally:
        if mounted:
            containerd.ctr("images", "unmount", "--rm", target, check=False)
        for point in mounts_under(target):
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(target, ignore_errors=True)


def test_ctr_pulls_and_unpacks_an_oci_image(server, registry, repo, containerd):
    image = build_image(unique("ctr"))
    registry.push_image(repo, image, "v1")
    ref = f"{repository_uri(server, repo)}:v1"
    pull(containerd, registry, ref)
    kind, digest = containerd.images()[ref]
    assert digest == image.digest
    assert kind == OCI_MANIFEST
    rc, out, _ = containerd.ctr("content", "get", image.digest)
    assert out.encode() == image.manifest
    check_rootfs(containerd, ref, image)


def test_ctr_pulls_a_docker_schema2_image_by_digest(server, registry, repo, containerd):
    image = build_image(unique("ctrdocker"), docker=True, big_layer_size=256 * 1024)
    registry.push_image(repo, image, "v1")
    ref = f"{repository_uri(server, repo)}@{image.digest}"
    pull(containerd, registry, ref)
    kind, digest = containerd.images()[ref]
    assert (kind, digest) == (DOCKER_MANIFEST, image.digest)
    check_rootfs(containerd, ref, image)


def test_ctr_with_a_wrong_password_is_refused(server, registry, repo, containerd):
    image = build_image(unique("ctrauth"), big_layer_size=1024)
    registry.push_image(repo, image, "v1")
    ref = f"{repository_uri(server, repo)}:v1"
    rc, out, err = pull(containerd, registry, ref, password="wrong", check=False)
    assert rc != 0, f"pull with a wrong password succeeded:\n{out}"
    assert "401" in err or "unauthorized" in err.lower(), err
    assert ref not in containerd.images()
