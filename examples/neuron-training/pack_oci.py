#!/usr/bin/env python3
"""Packs a root file system folder as a one-layer OCI image layout.

    python3 pack_oci.py ROOTFS OUT [--tag v1] [--arch amd64]
        [--entrypoint '["python3", "-u", "/opt/train/train.py"]'] [--workdir /opt/train]
        [--env PATH=... --env PYTHONUNBUFFERED=1] [--label k=v]

OUT must not exist; it is written as OUT.tmp-PID first and renamed at the end,
so a reader never sees half an image. The layer is a gzip'd tar of ROOTFS
with numeric owners (uid/gid as in ROOTFS, no user or group names), entries
in sorted order, hard links kept, device nodes, sockets and fifos left out
(the runtime makes /dev), and gzip's own timestamp zeroed. Standard library
only, so it runs wherever Debian's python3-minimal does.
"""

import argparse
import datetime
import gzip
import hashlib
import json
import os
import shutil
import stat
import sys
import tarfile

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class HashingWriter:
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, sink):
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)

    def flush(self):
        if self.sink is not None:
            self.sink.flush()


def tar_filter(info):
    # Only what an image layer should hold: no host names for owners, no device nodes.
    if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE):
        return None
    info.uname = ""
    info.gname = ""
    return info


def write_layer(rootfs, blobs, progress):
    """Returns (digest, size, diff_id) of the gzip'd tar of rootfs written under blobs."""
    tmp = os.path.join(blobs, "layer.tmp")
    count = 0
    with open(tmp, "wb") as raw:
        compressed = HashingWriter(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0) as gz:
            uncompressed = HashingWriter(gz)
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                # Walk ourselves (sorted, no sockets) rather than tar.add(recursive), to report progress.
                for dirpath, dirnames, filenames in os.walk(rootfs):
                    dirnames.sort()
                    rel_dir = os.path.relpath(dirpath, rootfs)
                    names = sorted(filenames)
                    if rel_dir != ".":
                        tar.add(dirpath, arcname=rel_dir, recursive=False, filter=tar_filter)
                        count += 1
                    for name in names:
                        path = os.path.join(dirpath, name)
                        if stat.S_ISSOCK(os.lstat(path).st_mode):
                            continue
                        arcname = name if rel_dir == "." else os.path.join(rel_dir, name)
                        tar.add(path, arcname=arcname, recursive=False, filter=tar_filter)
                        count += 1
                        if count % 5000 == 0:
                            progress(f"  {count} entries, {uncompressed.size >> 20} MiB")
                    # Symlinks to folders are in dirnames but os.walk does not enter them: add them here.
                    for name in list(dirnames):
                        path = os.path.join(dirpath, name)
                        if os.path.islink(path):
                            arcname = name if rel_dir == "." else os.path.join(rel_dir, name)
                            tar.add(path, arcname=arcname, recursive=False, filter=tar_filter)
                            count += 1
            # tarfile writes the end-of-archive blocks on close, through uncompressed.
    digest = compressed.sha.hexdigest()
    os.replace(tmp, os.path.join(blobs, digest))
    progress(f"  layer: {count} entries, {uncompressed.size >> 20} MiB tar, "
             f"{compressed.size >> 20} MiB gzip")
    return "sha256:" + digest, compressed.size, "sha256:" + uncompressed.sha.hexdigest()


def write_blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main():
    p = argparse.ArgumentParser(description="Pack a rootfs folder as a one-layer OCI image layout.")
    p.add_argument("rootfs")
    p.add_argument("out")
    p.add_argument("--tag", default="latest", help="org.opencontainers.image.ref.name in index.json")
    p.add_argument("--arch", default="amd64")
    p.add_argument("--entrypoint", type=json.loads, default=[],
                   help='a JSON list: \'["python3", "-u", "/opt/train/train.py"]\'')
    p.add_argument("--cmd", type=json.loads, default=[], help="a JSON list")
    p.add_argument("--workdir", default="")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--label", action="append", default=[])
    args = p.parse_args()
    for name in ("entrypoint", "cmd"):
        value = getattr(args, name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            p.error(f"--{name} must be a JSON list of strings")

    def progress(msg):
        print(msg, flush=True)

    if not os.path.isdir(args.rootfs):
        sys.exit(f"pack_oci: {args.rootfs} is not a folder")
    if os.path.exists(args.out):
        sys.exit(f"pack_oci: {args.out} exists")
    tmp_out = f"{args.out}.tmp-{os.getpid()}"
    blobs = os.path.join(tmp_out, "blobs", "sha256")
    os.makedirs(blobs)
    try:
        layer_digest, layer_size, diff_id = write_layer(args.rootfs, blobs, progress)
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = {
            "created": created,
            "architecture": args.arch,
            "os": "linux",
            "config": {
                "Env": args.env,
                "Labels": dict(kv.split("=", 1) for kv in args.label),
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": "pack_oci.py " + args.rootfs}],
        }
        if args.entrypoint:
            config["config"]["Entrypoint"] = args.entrypoint
        if args.cmd:
            config["config"]["Cmd"] = args.cmd
        if args.workdir:
            config["config"]["WorkingDir"] = args.workdir
        config_digest, config_size = write_blob(blobs, canonical(config))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": MEDIA_LAYER, "digest": layer_digest, "size": layer_size}],
        }
        manifest_digest, manifest_size = write_blob(blobs, canonical(manifest))
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": MEDIA_MANIFEST, "digest": manifest_digest, "size": manifest_size,
                "platform": {"architecture": args.arch, "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": args.tag},
            }],
        }
        with open(os.path.join(tmp_out, "index.json"), "wb") as f:
            f.write(canonical(index))
        with open(os.path.join(tmp_out, "oci-layout"), "wb") as f:
            f.write(canonical({"imageLayoutVersion": "1.0.0"}))
        os.rename(tmp_out, args.out)
    except BaseException:
        shutil.rmtree(tmp_out, ignore_errors=True)
        raise
    progress(f"  manifest {manifest_digest} ({args.out}, tag {args.tag})")


if __name__ == "__main__":
    main()
