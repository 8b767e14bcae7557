#!/usr/bin/python3
"""Does a new session slow `runc run -d`? conmon always calls setsid(), so
runc under it runs in a session of its own, while the node-agent
benchmark's bare `runc run -d` runs in the benchmark's session. With the
kernel's autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled) a
session is a scheduling group of its own.

Times `runc run -d` of a busybox `sleep 600` (memory 16 MiB), launched from
this process in three ways, interleaved run by run: in this session
(`same`), in a new session (`setsid`, as under conmon) and in a new process
group of this session (`pgrp`, the control: no new session). Prints the
median and mean of each. As root, with runc and /bin/busybox; everything it
makes lives in a temporary folder and is removed at the end, also when it
fails.

    sudo bench/runc_session.py [RUNS]      # RUNS of each, default 20
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def make_bundle(folder):
    rootfs = os.path.join(folder, "rootfs")
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, d))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "sleep"))
    subprocess.run(["runc", "spec"], cwd=folder, check=True)
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sleep", "600"]
    config["linux"].setdefault("resources", {})["memory"] = {"limit": 16 << 20}
    with open(path, "w") as f:
        json.dump(config, f)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if os.geteuid() != 0:
        raise SystemExit("runc_session.py: runs containers: run it as root")
    folder = tempfile.mkdtemp(prefix="berth-runc-session.")
    root = os.path.join(folder, "runc-root")
    modes = {
        "same": {},
        "setsid": {"start_new_session": True},
        "pgrp": {"process_group": 0},
    }
    times = {mode: [] for mode in modes}
    try:
        make_bundle(folder)
        for i in range(runs):
            for mode, how in modes.items():
                cid = f"berth-session-{mode}-{i}"
                start = time.perf_counter()
                code = subprocess.call(["runc", "--root", root, "run", "-d", "-b", folder, cid],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, **how)
                times[mode].append((time.perf_counter() - start) * 1000)
                subprocess.call(["runc", "--root", root, "delete", "--force", cid],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if code != 0:
                    raise SystemExit(f"runc_session.py: runc run failed ({code})")
    finally:
        if os.path.isdir(root):
            listed = subprocess.run(["runc", "--root", root, "list", "-q"],
                                    capture_output=True, text=True).stdout.split()
            for cid in listed:
                subprocess.call(["runc", "--root", root, "delete", "--force", cid],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"runc run -d, {runs} runs each, interleaved; load average {load}")
    for mode, values in times.items():
        print(f"{mode:7} p50 {statistics.median(values):6.1f} ms  "
              f"mean {statistics.mean(values):6.1f} ms")


if __name__ == "__main__":
    main()
