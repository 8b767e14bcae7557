"""Mounts and NFS for the volume tests: what is mounted below a folder (and
taking it all down), and an NFS 4 export served by the kernel's nfsd
(Debian's nfs-kernel-server) in a network namespace the test makes, reached
from the host over a veth pair, where the kernel can serve and mount NFS."""

import contextlib
import os
import shutil
import subprocess
import uuid

import pytest


def mounts_below(path):
    """(target, fstype) of each mount at or below path, outermost first."""
    path = os.path.realpath(str(path))
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            target = fields[1].replace("\\040", " ")
            if target == path or target.startswith(path + "/"):
                found.append((target, fields[2]))
    return found


def unmount_below(path):
    """Detaches every mount at or below path, innermost first."""
    for target, _ in reversed(mounts_below(path)):
        subprocess.run(["umount", "-l", target], capture_output=True)


def _kernel_has(fstype, module):
    if shutil.which("modprobe"):
        subprocess.run(["modprobe", "-q", module], capture_output=True)
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == fstype for line in f if line.strip())


def nfs_unsupported_reason():
    """Why NFS cannot be served and mounted on this host, or None when it can."""
    missing = [p for p in ("rpc.nfsd", "rpc.mountd", "exportfs") if not shutil.which(p)]
    if missing:
        return f"nfs-kernel-server is not installed (missing {missing}; scripts/setup.sh)"
    if not _kernel_has("nfsd", "nfsd"):
        return "this kernel cannot serve NFS (no nfsd file system, and no module to load)"
    if not _kernel_has("nfs4", "nfsv4") and not _kernel_has("nfs", "nfs"):
        return "this kernel cannot mount NFS (no nfs client, and no module to load)"
    return None


def _run(*args):
    subprocess.run(list(args), check=True, capture_output=True)


@contextlib.contextmanager
def nfs_export(base):
    """Serves base/export over NFS 4 from a network namespace of its own;
    yields (server address, export folder on the host). The export is the
    NFS 4 root ("ADDRESS:/"). Everything it made (namespace, veth pair,
    daemons, the nfsd's exports) is gone afterwards, also on failure."""
    reason = nfs_unsupported_reason()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    ns, host_end, ns_end = f"berth-nfs-{tag}", f"bnh{tag}", f"bnn{tag}"
    host_ip, server_ip = "10.203.7.1", "10.203.7.2"
    export = os.path.join(str(base), "export")
    state = os.path.join(str(base), "nfs-state")
    for d in (export, os.path.join(state, "lib"), os.path.join(state, "etc")):
        os.makedirs(d, exist_ok=True)
    os.chmod(export, 0o777)
    with open(os.path.join(state, "etc", "exports"), "w") as f:
        f.write(f"{export} {host_ip}/32(rw,fsid=0,sync,no_subtree_check,no_root_squash,insecure)\n")
    # One shell in the namespace sets the server up: nfsd's control files
    # and the export tables are per namespace; the files nfs-utils keeps
    # (/etc/exports, /var/lib/nfs) are bound over from state/, and /run (the
    # rpcbind socket) is a tmpfs, in the shell's own mount namespace, so the
    # host's are not touched.
    serve = f"""set -e
mount -t nfsd nfsd /proc/fs/nfsd
mount --bind {state}/etc/exports /etc/exports
mount --bind {state}/lib /var/lib/nfs
mount -t tmpfs tmpfs /run
if command -v rpcbind >/dev/null; then rpcbind; fi
exportfs -ra
rpc.mountd -N 2 -N 3
rpc.nfsd -N 2 -N 3 4
"""
    stop = """rpc.nfsd 0 || true
exportfs -ua || true
"""
    try:
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _run("ip", "link", "set", ns_end, "netns", ns)
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", host_end)
        _run("ip", "link", "set", host_end, "up")
        _run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{server_ip}/30", "dev", ns_end)
        _run("ip", "netns", "exec", ns, "ip", "link", "set", ns_end, "up")
        _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        proc = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", serve], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            pytest.fail(f"serving NFS in {ns} failed: {proc.stderr}", pytrace=False)
        yield server_ip, export
    finally:
        subprocess.run(["ip", "netns", "exec", ns, "sh", "-c",
                        "mount -t nfsd nfsd /proc/fs/nfsd 2>/dev/null; " + stop],
                       capture_output=True)
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in pids.stdout.split():
            subprocess.run(["kill", "-9", pid], capture_output=True)
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
