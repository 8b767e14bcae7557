"""A container image with Debian's python3 and python3-boto3, built from the
files those packages installed on this host (scripts/setup.sh installs
them): the interpreter, its standard library, boto3 and what it imports,
and the shared libraries they link. botocore's service models are cut down
to the few services the tests call, so the layer stays small; nothing else
is changed. Layered on the busybox image (for sh)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import busybox_image  # noqa: E402

PYTHON = "/usr/bin/python3"
DIST = "/usr/lib/python3/dist-packages"
PACKAGES = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "requests",
            "certifi", "idna", "charset_normalizer", "chardet", "six.py"]
SERVICES = ["ecs", "sts"]
SKIP_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
               "unittest", "distutils", "venv", "__pycache__"}


def _stdlib():
    out = subprocess.run([PYTHON, "-c", "import os; print(os.path.dirname(os.__file__))"],
                         capture_output=True, text=True, check=True).stdout
    return os.path.realpath(out.strip())


def _walk(top, skip_dir=lambda path: False):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames
                             if d != "__pycache__" and not skip_dir(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def _botocore_data_skipped(path):
    data = os.path.join(DIST, "botocore", "data")
    return os.path.dirname(path) == data and os.path.basename(path) not in SERVICES


def _shared_libraries(binaries):
    libs = set()
    for binary in binaries:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        for line in out.splitlines():
            parts = line.split()
            for p in parts:
                if p.startswith("/"):
                    libs.add(p)
    return sorted(libs)


def _files():
    """(path in the image, path on the host) for every file the layer holds."""
    python = os.path.realpath(PYTHON)
    stdlib = _stdlib()
    files = [(python, python)]
    files += [(p, p) for p in _walk(
        stdlib, lambda d: os.path.relpath(d, stdlib).split(os.sep)[0] in SKIP_STDLIB
        or os.path.basename(d).startswith("config-"))]
    for package in PACKAGES:
        path = os.path.join(DIST, package)
        if os.path.isfile(path):
            files.append((path, path))
        elif os.path.isdir(path):
            files += [(p, p) for p in _walk(path, _botocore_data_skipped)]
    dynload = [p for _, p in files if p.endswith(".so")]
    for lib in _shared_libraries([python, *dynload]):
        files.append((lib, os.path.realpath(lib)))
    return files


def layer_entries():
    entries, dirs = [], set()
    for image_path, host_path in _files():
        rel = image_path.lstrip("/")
        parent = os.path.dirname(rel)
        chain = []
        while parent and parent not in dirs:
            chain.append(parent)
            dirs.add(parent)
            parent = os.path.dirname(parent)
        entries += [(d, "dir", None, 0o755) for d in reversed(chain)]
        with open(host_path, "rb") as f:
            data = f.read()
        mode = os.stat(host_path).st_mode & 0o777
        entries.append((rel, "file", data, mode))
    entries.append(("usr/bin/python3", "symlink", os.path.basename(os.path.realpath(PYTHON)),
                    0o777))
    return entries


def build(cmd=("/usr/bin/python3", "-c", "import boto3")):
    """An Image: busybox plus python3 with boto3."""
    return busybox_image.build(extra_layers=[layer_entries()], cmd=cmd,
                               env=["PYTHONDONTWRITEBYTECODE=1"])
