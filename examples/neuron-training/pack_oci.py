#!/usr/bin/env python3
"""Packs a root file system folder as an OCI image layout of one or more layers.

    python3 pack_oci.py ROOTFS OUT [--layers N] [--tag v1] [--arch amd64]
        [--entrypoint '["python3", "-u", "/opt/train/train.py"]'] [--workdir /opt/train]
        [--env PATH=... --env PYTHONUNBUFFERED=1] [--label k=v]

OUT must not exist; it is written as OUT.tmp-PID first and renamed at the end,
so a reader never sees half an image. Each layer is a gzip'd tar with
numeric owners (uid/gid as in ROOTFS, no user or group names), entries in
sorted order, hard links kept, device nodes, sockets and fifos left out (the
runtime makes /dev), and gzip's own timestamp zeroed. Standard library only,
so it runs wherever Debian's python3-minimal does.

--layers N cuts the sorted list of entries into at most N runs of about the
same size (the heaviest as light as the order allows; a single file is never
cut), one layer each, so that a puller can fetch and unpack them on N cores
at once. Each layer also lists the folders above its entries, with their
owners, modes and times, so that every folder looks as in ROOTFS whichever
layer overlay takes it from; a hard link whose first name fell into another
layer is stored there as a whole file. The cut depends only on ROOTFS: the
same tree gives the same layers, and big files such as libtorch_cpu.so and
libLLVM land in different layers when N allows.
"""

import argparse
import concurrent.futures
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


class Entry:
    """One path of the root file system, in the order the layers list them."""

    def __init__(self, arcname, path, st):
        self.arcname = arcname
        self.path = path
        self.is_dir = stat.S_ISDIR(st.st_mode)
        self.weight = TAR_BLOCK  # its header
        self.size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        self.inode = (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 else None


TAR_BLOCK = 512


def walk(rootfs):
    """Every entry of rootfs worth packing, sorted, each folder before its contents."""
    entries = []
    seen_inodes = set()
    for dirpath, dirnames, filenames in os.walk(rootfs):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, rootfs)

        def add(name):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISSOCK(st.st_mode) or stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) \
                    or stat.S_ISFIFO(st.st_mode):
                return
            entry = Entry(name if rel_dir == "." else os.path.join(rel_dir, name), path, st)
            # A hard link's bytes are in the tar once, where its first name is.
            if entry.inode is None or entry.inode not in seen_inodes:
                entry.weight += -(-entry.size // TAR_BLOCK) * TAR_BLOCK
            if entry.inode is not None:
                seen_inodes.add(entry.inode)
            entries.append(entry)

        if rel_dir != ".":
            entries.append(Entry(rel_dir, dirpath, os.lstat(dirpath)))
        for name in sorted(filenames):
            add(name)
        # Symlinks to folders are in dirnames but os.walk does not enter them: add them here.
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                add(name)
    return entries


def split(weights, layers):
    """Cuts the sequence of weights into at most `layers` runs, in order,
    with the heaviest run as light as order allows: the smallest capacity
    with which a greedy cut needs no more runs (binary search), then that
    cut. Returns the index each run starts at. Same weights, same cut."""

    def cut(capacity):
        starts, load = [0], 0
        for i, w in enumerate(weights):
            if load and load + w > capacity:
                starts.append(i)
                load = 0
            load += w
        return starts

    if not weights:
        return [0]
    low, high = max(weights), sum(weights)
    while low < high:
        mid = (low + high) // 2
        if len(cut(mid)) <= layers:
            high = mid
        else:
            low = mid + 1
    return cut(low)


def with_parents(entries, by_name):
    """entries, each preceded by the folders above it that the run has not
    listed yet: a layer carries its folders' owners, modes and times, so
    that overlay shows every folder as the root file system has it."""
    listed = set()
    out = []
    for entry in entries:
        parts = entry.arcname.split("/")
        for depth in range(1, len(parts) + (1 if entry.is_dir else 0)):
            folder = "/".join(parts[:depth])
            if folder not in listed:
                listed.add(folder)
                out.append(by_name[folder])
        if not entry.is_dir:
            out.append(entry)
    return out


def write_layer(entries, blobs, name, progress):
    """Returns (digest, size, diff_id) of the gzip'd tar of entries written
    under blobs; name ("layer2: usr/lib/... .. usr/lib/...") is for progress."""
    tmp = os.path.join(blobs, name.split(":")[0] + ".tmp")
    with open(tmp, "wb") as raw:
        compressed = HashingWriter(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0) as gz:
            uncompressed = HashingWriter(gz)
            # A tar of its own per layer: a hard link whose first name is in
            # another layer becomes a whole file here.
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for count, entry in enumerate(entries, 1):
                    tar.add(entry.path, arcname=entry.arcname, recursive=False, filter=tar_filter)
                    if count % 5000 == 0:
                        progress(f"  {name.split(':')[0]}: {count} entries, "
                                 f"{uncompressed.size >> 20} MiB")
            # tarfile writes the end-of-archive blocks on close, through uncompressed.
    digest = compressed.sha.hexdigest()
    os.replace(tmp, os.path.join(blobs, digest))
    progress(f"  {name}: {len(entries)} entries, "
             f"{uncompressed.size >> 20} MiB tar, {compressed.size >> 20} MiB gzip")
    return "sha256:" + digest, compressed.size, "sha256:" + uncompressed.sha.hexdigest()


def write_layers(rootfs, layers, blobs, progress):
    """[(digest, size, diff_id)] of rootfs cut into at most `layers` layers,
    compressed at once on as many threads (zlib lets go of the GIL)."""
    entries = walk(rootfs)
    by_name = {e.arcname: e for e in entries if e.is_dir}
    starts = split([e.weight for e in entries], layers) + [len(entries)]
    runs = [with_parents(entries[a:b], by_name) for a, b in zip(starts, starts[1:])]
    progress(f"  {len(entries)} entries, {sum(e.weight for e in entries) >> 20} MiB, "
             f"in {len(runs)} layer(s)")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(runs)) as pool:
        jobs = [pool.submit(write_layer, run, blobs,
                            f"layer{i + 1}: {entries[a].arcname} .. {entries[b - 1].arcname}",
                            progress)
                for i, (run, a, b) in enumerate(zip(runs, starts, starts[1:]))]
        return [job.result() for job in jobs]


def write_blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main():
    p = argparse.ArgumentParser(description="Pack a rootfs folder as an OCI image layout.")
    p.add_argument("rootfs")
    p.add_argument("out")
    p.add_argument("--tag", default="latest", help="org.opencontainers.image.ref.name in index.json")
    p.add_argument("--arch", default="amd64")
    p.add_argument("--layers", type=int, default=1,
                   help="cut the root file system into at most this many layers of about "
                        "the same size (default 1)")
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
    if args.layers < 1:
        p.error("--layers must be at least 1")

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
        layers = write_layers(args.rootfs, args.layers, blobs, progress)
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = {
            "created": created,
            "architecture": args.arch,
            "os": "linux",
            "config": {
                "Env": args.env,
                "Labels": dict(kv.split("=", 1) for kv in args.label),
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, _, diff_id in layers]},
            "history": [{"created": created,
                         "created_by": f"pack_oci.py {args.rootfs} (layer {i} of {len(layers)})"}
                        for i in range(1, len(layers) + 1)],
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
            "layers": [{"mediaType": MEDIA_LAYER, "digest": digest, "size": size}
                       for digest, size, _ in layers],
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
