"""Small container images for the agent's end-to-end tests, built from the
host's busybox-static: a base layer with /bin/busybox and its applets, and
optional further layers (files, whiteouts, hostile entries)."""

import io
import json
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "registry"))

from berth_registry import (  # noqa: E402
    OCI_CONFIG, OCI_MANIFEST, Blob, Image, gzip_layer, host_arch, manifest_json)

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "echo", "cat", "ls", "sleep", "id", "pwd", "env", "test", "head", "tail", "dd",
           "touch", "mkdir", "grep", "wc", "true", "false", "kill", "ulimit", "printf", "seq",
           "stat", "mount", "rm", "hostname", "tr", "sort", "yes", "trap", "wget"]


def tar_layer(entries):
    """A gzipped tar layer. entries: [(path, kind, value, mode)] with kind
    "file" (value: bytes), "dir", "symlink" (value: target), "hardlink"
    (value: target path). Returns (Blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, value, mode in entries:
            info = tarfile.TarInfo(path)
            info.mtime = 1700000000
            info.uid = info.gid = 0
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = value
                tar.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = value
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    return gzip_layer(raw.getvalue(), compresslevel=1)


def base_entries():
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    entries = [("bin", "dir", None, 0o755), ("bin/busybox", "file", busybox, 0o755)]
    entries += [(f"bin/{a}", "symlink", "busybox", 0o777) for a in APPLETS]
    entries += [(d, "dir", None, 0o755) for d in ("etc", "tmp", "data", "proc", "sys", "dev")]
    entries += [("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"
                 b"trainer:x:1000:1000:trainer:/home/trainer:/bin/sh\n", 0o644),
                ("etc/group", "file", b"root:x:0:\ntrainer:x:1000:\n", 0o644)]
    return entries


def build(extra_layers=(), cmd=("/bin/sh", "-c", "echo hello from busybox"), env=(),
          workdir="", user=""):
    """An Image: the busybox base layer plus extra_layers (each a list of
    tar_layer entries)."""
    layers, diff_ids = [], []
    for entries in [base_entries(), *extra_layers]:
        blob, diff_id = tar_layer(entries)
        layers.append(blob)
        diff_ids.append(diff_id)
    config_obj = {
        "architecture": host_arch(),
        "os": "linux",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/bin", *env]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if workdir:
        config_obj["config"]["WorkingDir"] = workdir
    if user:
        config_obj["config"]["User"] = user
    config = Blob(json.dumps(config_obj, sort_keys=True).encode(), OCI_CONFIG)
    manifest = manifest_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    })
    return Image(config, layers, manifest, OCI_MANIFEST, files={}, removed=[])
