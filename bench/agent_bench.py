"""The node-agent benchmark's client side, driven by bench/run_agent.sh.

Each subcommand does one step and prints its figures as `op=NAME key=value ...`
lines on stdout (progress goes to stderr); run_agent.sh starts and stops the
processes (berth server, berth agent, containerd) and prints the table.

  setup        create the clusters, push the busybox image, register the task
               definition, write the registry password
  wait-joined  wait until an agent has joined a cluster
  starts       task start latency: berth RunTask -> RUNNING, interleaved with
               bare `runc run -d` and `ctr run -d` of the same image
  idle         the agent's resident memory and its CPU over a quiet period
  supervise    the CPU of N running containers: berth's agent and conmons,
               then containerd and its shims
  big-image    generate an image of ~SIZE MiB in LAYERS incompressible plain-tar
               layers (plus the busybox base) and push it
  berth-pull   run a task of the big image (or --family's), report
               pullStoppedAt - pullStartedAt
  ctr-pull     time `ctr images pull` of the big image (or --ref)
  layout       the layers of an OCI image layout: count, media type,
               compressed and unpacked (tar) bytes
  register     register a task definition that runs `sleep 600` in an image

Reuses the test suites' helpers (busybox image builder, registry client,
boto3 clients) by path. Needs Debian's boto3: run it with /usr/bin/python3.
"""

import argparse
import configparser
import http.client
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse
import zlib

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
for d in ("tests/agent", "tests/registry", "tests/compat"):
    sys.path.insert(0, os.path.join(REPO, d))

import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import busybox_image  # noqa: E402
from berth_compat import make_ecs_client  # noqa: E402
from berth_registry import (  # noqa: E402
    OCI_CONFIG, OCI_MANIFEST, Blob, Registry, host_arch, make_ecr_client, manifest_json,
    registry_login)

MIB = 1024 * 1024
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
FAMILY = "bench-agent-sleep"
BIG_FAMILY = "bench-agent-pull"


def log(*args):
    print("run_agent.sh:", *args, file=sys.stderr, flush=True)


def clients(args):
    c = configparser.ConfigParser()
    c.read(args.credentials)
    key, secret = c["default"]["aws_access_key_id"], c["default"]["aws_secret_access_key"]
    endpoint = f"http://127.0.0.1:{args.port}"
    return make_ecs_client(endpoint, key, secret), make_ecr_client(endpoint, key, secret)


class StatusPoller:
    """DescribeTasks of one task, as boto3 would send it (SigV4-signed JSON
    over a keep-alive connection) but without boto3's per-call machinery
    (model lookups, event hooks, response parsing into objects): a 2 ms
    poll loop through boto3 keeps a whole core busy, and on a small machine
    that core is taken from the start being measured. And berth's event
    stream (GET /berth/v1/events, a long poll), which says when to ask."""

    def __init__(self, args, ecs):
        self.host = f"127.0.0.1:{args.port}"
        self.credentials = ecs._request_signer._credentials
        self.region = ecs.meta.region_name
        self.conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        self.events_conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)

    def _send(self, conn, method, target, body, headers, what):
        request = botocore.awsrequest.AWSRequest(
            method=method, url=f"http://{self.host}{target}", data=body,
            headers=dict(headers, Host=self.host))
        botocore.auth.SigV4Auth(self.credentials, "ecs", self.region).add_auth(request)
        conn.request(method, target, body=body, headers=dict(request.headers.items()))
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit(f"run_agent.sh: {what} answered {response.status}: {data!r}")
        return json.loads(data)

    def last_status(self, cluster, arn):
        body = json.dumps({"cluster": cluster, "tasks": [arn]})
        reply = self._send(
            self.conn, "POST", "/", body,
            {"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeTasks"}, "DescribeTasks")
        return reply["tasks"][0]["lastStatus"]

    def events(self, cluster, after=None, wait_seconds=0):
        """One page of the cluster's events after id `after` (None: the
        stream's end), held up to wait_seconds until there is one."""
        query = {"cluster": cluster, "waitSeconds": wait_seconds}
        if after is not None:
            query["after"] = after
        target = "/berth/v1/events?" + urllib.parse.urlencode(sorted(query.items()))
        return self._send(self.events_conn, "GET", target, None, {}, "GET /berth/v1/events")


def registry(args, ecr):
    user, password = registry_login(ecr)
    return Registry(args.port, user, password), password


def percentile(values, p):
    """Nearest-rank percentile of values (p in 0..100)."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def summary(op, ms, **extra):
    fields = {"count": len(ms), "p50_ms": f"{percentile(ms, 50):.1f}",
              "p99_ms": f"{percentile(ms, 99):.1f}", "mean_ms": f"{statistics.mean(ms):.1f}",
              "min_ms": f"{min(ms):.1f}", "max_ms": f"{max(ms):.1f}", **extra}
    line = f"op={op} " + " ".join(f"{k}={v}" for k, v in fields.items())
    print(line, flush=True)
    log(" ", line)


def run(cmd, **kw):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kw)


def check(cmd, what):
    out = run(cmd)
    if out.returncode != 0:
        raise SystemExit(f"run_agent.sh: {what} failed ({out.returncode}): {' '.join(cmd)}\n"
                         f"{out.stdout}{out.stderr}")
    return out


# --- setup ---------------------------------------------------------------------

def register_sleep(ecs, family, image):
    """A task definition of `sleep 600` in image (as its entry point: the
    image's own is not run).
    stopTimeout 1: `sleep` as PID 1 ignores SIGTERM, so every stop ends in
    the SIGKILL; 1 s keeps the (untimed) wait for STOPPED short."""
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "sleep", "image": image, "memory": 16,
        "entryPoint": ["sleep", "600"], "essential": True, "stopTimeout": 1}])


def cmd_setup(args):
    ecs, ecr = clients(args)
    reg, password = registry(args, ecr)
    if not args.no_busybox:
        reg.push_image("busybox", busybox_image.build(), "bench")
        register_sleep(ecs, FAMILY, f"127.0.0.1:{args.port}/busybox:bench")
    for cluster in args.cluster:
        ecs.create_cluster(clusterName=cluster)
    with open(args.password_file, "w") as f:
        f.write(password)


def cmd_register(args):
    ecs, _ = clients(args)
    register_sleep(ecs, args.family, args.image)


def cmd_wait_joined(args):
    ecs, _ = clients(args)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        arns = ecs.list_container_instances(cluster=args.cluster)["containerInstanceArns"]
        if arns:
            found = ecs.describe_container_instances(
                cluster=args.cluster, containerInstances=arns)["containerInstances"]
            if any(i["status"] == "ACTIVE" and i["agentConnected"] for i in found):
                return
        time.sleep(0.1)
    raise SystemExit(f"run_agent.sh: no agent joined cluster {args.cluster} in {args.timeout} s")


# --- task start latency ----------------------------------------------------------

def wait_status(ecs, cluster, arn, want, poll, timeout=120):
    """Polls DescribeTasks until lastStatus is want (or STOPPED); returns the
    task and the perf_counter time of the reply that showed it."""
    deadline = time.monotonic() + timeout
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        now = time.perf_counter()
        if task["lastStatus"] == want or task["lastStatus"] == "STOPPED":
            return task, now
        if time.monotonic() > deadline:
            raise SystemExit(f"run_agent.sh: task {arn} not {want} in {timeout} s: {task!r}")
        time.sleep(poll)


def berth_start(ecs, poller, cluster, poll, timeout=120):
    """One task: (client ms RunTask -> the first DescribeTasks that shows it
    RUNNING, the task as described). DescribeTasks is asked whenever the
    cluster's event stream moves (a long poll: no CPU taken from the start
    meanwhile), and every `poll` seconds after an event that did not show
    it; the whole task is described once it is seen."""
    after = poller.events(cluster)["nextAfter"]
    t0 = time.perf_counter()
    arn = ecs.run_task(cluster=cluster, taskDefinition=FAMILY)["tasks"][0]["taskArn"]
    deadline = time.monotonic() + timeout
    while True:
        page = poller.events(cluster, after, wait_seconds=5)
        after = page["nextAfter"]
        mine = [e["kind"] for e in page["events"] if arn in e.get("resources", [])]
        if "TaskRunning" in mine or "TaskStopped" in mine:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"run_agent.sh: task {arn} not RUNNING in {timeout} s")
    # The event is durable by the time it is answered; DescribeTasks is the
    # judge all the same (polled, should it lag).
    while (status := poller.last_status(cluster, arn)) not in ("RUNNING", "STOPPED"):
        if time.monotonic() > deadline:
            raise SystemExit(f"run_agent.sh: task {arn} not RUNNING in {timeout} s: {status}")
        time.sleep(poll)
    t1 = time.perf_counter()
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    if status != "RUNNING":
        raise SystemExit(f"run_agent.sh: task stopped before RUNNING: "
                         f"{task.get('stoppedReason')!r} {task['containers']!r}")
    return (t1 - t0) * 1000, task


def berth_stop(ecs, cluster, task):
    ecs.stop_task(cluster=cluster, task=task["taskArn"])


def berth_wait_stopped(ecs, cluster, task):
    wait_status(ecs, cluster, task["taskArn"], "STOPPED", 0.05)


def make_runc_bundle(args, task):
    """A bundle for bare runc runs from the agent's own config.json of task's
    container: same process, namespaces, mounts, cgroup limits and seccomp;
    the root is a plain copy of the busybox layer (the agent's overlay of it
    goes away with the task) and the cgroup path is the benchmark's own."""
    container_id = task["containers"][0]["runtimeId"]
    src = os.path.join(args.agent_data, "runtime", "containers", container_id, "bundle")
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    bundle = os.path.join(args.work, "runc-bundle")
    os.makedirs(bundle)
    layers = []
    for name in os.listdir(os.path.join(args.agent_data, "images", "images", "sha256")):
        with open(os.path.join(args.agent_data, "images", "images", "sha256", name)) as f:
            record = json.load(f)
        layers = re.findall(r"sha256:[0-9a-f]{64}", json.dumps(record.get("layers", record)))
    if len(set(layers)) != 1:
        raise SystemExit(f"run_agent.sh: expected the one busybox layer in the agent's image "
                         f"cache, found {layers}")
    layer = os.path.join(args.agent_data, "images", "layers", "sha256", layers[0][7:])
    shutil.copytree(layer, os.path.join(bundle, "rootfs"), symlinks=True)
    config["root"]["path"] = os.path.join(bundle, "rootfs")
    # The agent's container joins a network namespace the agent made for
    # the task (and removed with it); runc makes a fresh one of each such
    # namespace instead, as it does for every other namespace.
    for ns in config["linux"].get("namespaces", []):
        if ns.get("path", "").startswith(args.agent_data + "/"):
            del ns["path"]
    for m in config.get("mounts", []):
        if m.get("type") == "bind" and m["source"].startswith(src + "/"):
            shutil.copy(m["source"], bundle)
            m["source"] = os.path.join(bundle, os.path.basename(m["source"]))
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f)
    return bundle, config


def runc_start(args, bundle, config, i):
    cid = f"berth-bench-runc-{i}"
    config["linux"]["cgroupsPath"] = f"/berth-bench/runc/{cid}"
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f)
    # The detached container inherits runc's stdio: no pipes (a pipe would
    # stay open for as long as `sleep` runs), a file for runc's errors.
    with open(os.path.join(args.work, "runc.err"), "w+") as err:
        t0 = time.perf_counter()
        code = subprocess.call(["runc", "--root", args.runc_root, "run", "-d", "-b", bundle, cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        ms = (time.perf_counter() - t0) * 1000
        if code != 0:
            err.seek(0)
            raise SystemExit(f"run_agent.sh: runc run failed ({code}): {err.read()}")
    return ms, cid


def runc_remove(args, cid):
    check(["runc", "--root", args.runc_root, "delete", "--force", cid], "runc delete")


def ctr(args, *rest):
    return ["ctr", "-a", args.ctr_sock, "-n", "berth-bench", *rest]


def ctr_start(args, i):
    cid = f"berth-bench-ctr-{i}"
    t0 = time.perf_counter()
    # The same container as berth's: seccomp on (containerd's default
    # profile), 16 MiB limit; output to /dev/null (berth's goes to conmon's
    # log file).
    out = run(ctr(args, "run", "-d", "--null-io", "--seccomp", "--memory-limit",
                  str(16 * MIB), args.ctr_image, cid, "sleep", "600"))
    ms = (time.perf_counter() - t0) * 1000
    if out.returncode != 0:
        raise SystemExit(f"run_agent.sh: ctr run failed: {out.stdout}{out.stderr}")
    return ms, cid


def ctr_remove(args, cid):
    check(ctr(args, "task", "kill", "-s", "SIGKILL", cid), "ctr task kill")
    for _ in range(200):
        if run(ctr(args, "task", "delete", cid)).returncode == 0:
            break
        time.sleep(0.02)
    check(ctr(args, "containers", "rm", cid), "ctr containers rm")


LOG_LINE = re.compile(r"^(\S+)Z info (pull|container started) task=([0-9a-f]+)")


def agent_phases(agent_log, tasks):
    """Per task, from the agent's log (ms timestamps) and the server's fields:
    createdAt -> agent saw the assignment ("pull" line), -> "container
    started", -> startedAt (the server took the RUNNING report)."""
    seen = {}
    with open(agent_log, errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line)
            if m:
                t = datetime.datetime.fromisoformat(m.group(1) + "+00:00").timestamp()
                seen.setdefault(m.group(3), {})[m.group(2)] = t
    phases = {"deliver": [], "agent": [], "report": []}
    for task in tasks:
        tid = task["taskArn"].rsplit("/", 1)[1]
        got = seen.get(tid, {})
        if "pull" not in got or "container started" not in got:
            continue
        created = task["createdAt"].timestamp()
        started = task["startedAt"].timestamp()
        phases["deliver"].append((got["pull"] - created) * 1000)
        phases["agent"].append((got["container started"] - got["pull"]) * 1000)
        phases["report"].append((started - got["container started"]) * 1000)
    return phases


def cmd_starts(args):
    ecs, _ = clients(args)
    poller = StatusPoller(args, ecs)
    cluster = args.cluster
    log("warm-up task (pulls the busybox image)")
    _, warm = berth_start(ecs, poller, cluster, args.poll)
    bundle, config = make_runc_bundle(args, warm)
    berth_stop(ecs, cluster, warm)
    berth_wait_stopped(ecs, cluster, warm)
    # One unmeasured run of each baseline too (page cache, runc binary).
    ms, cid = runc_start(args, bundle, config, "warm")
    runc_remove(args, cid)
    ms, cid = ctr_start(args, "warm")
    ctr_remove(args, cid)

    berth_ms, server_ms, runc_ms, ctr_ms, tasks = [], [], [], [], []
    log(f"{args.tasks} rounds of: berth task, runc run -d, ctr run -d")
    for i in range(args.tasks):
        # berth: timed to the first DescribeTasks that shows RUNNING; the stop
        # and the wait for STOPPED are outside the timed part, so every start
        # finds a quiet agent.
        ms, task = berth_start(ecs, poller, cluster, args.poll)
        berth_ms.append(ms)
        server_ms.append((task["startedAt"] - task["createdAt"]).total_seconds() * 1000)
        tasks.append(task)
        berth_stop(ecs, cluster, task)
        berth_wait_stopped(ecs, cluster, task)

        ms, cid = runc_start(args, bundle, config, i)
        runc_ms.append(ms)
        runc_remove(args, cid)

        ms, cid = ctr_start(args, i)
        ctr_ms.append(ms)
        ctr_remove(args, cid)
        if (i + 1) % 10 == 0:
            log(f"  {i + 1}/{args.tasks}: berth p50 {percentile(berth_ms, 50):.0f} ms, "
                f"runc {percentile(runc_ms, 50):.0f} ms, ctr {percentile(ctr_ms, 50):.0f} ms")

    prefix = f"{args.label}_" if args.label else ""
    summary(f"{prefix}berth_start", berth_ms)
    summary(f"{prefix}berth_start_server", server_ms)
    phases = agent_phases(args.agent_log, tasks)
    for name, values in phases.items():
        if values:
            summary(f"{prefix}berth_phase_{name}", values)
    summary(f"{prefix}runc_run", runc_ms)
    summary(f"{prefix}ctr_run", ctr_ms)


# --- CPU of processes -------------------------------------------------------------

def cpu_ticks(pid, children=False):
    """CPU clock ticks pid used (user + system), with those of the children
    it waited for when asked; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # fields[0] is the state (field 3): utime and stime are fields 14 and 15.
    used = int(fields[11]) + int(fields[12])
    return used + int(fields[13]) + int(fields[14]) if children else used


def processes(comm_prefix, cmdline_has):
    """Pids whose name starts with comm_prefix and whose command line holds
    cmdline_has."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if comm.startswith(comm_prefix) and cmdline_has in cmdline:
            found.append(int(name))
    return found


def cpu_pct(sample, seconds):
    """% of one core that sample() (a tick count) grew by over seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    t0, c0 = time.monotonic(), sample()
    time.sleep(seconds)
    t1, c1 = time.monotonic(), sample()
    return (c1 - c0) / tick / (t1 - t0) * 100


# --- idle agent --------------------------------------------------------------------

def cmd_idle(args):
    def status(key):
        with open(f"/proc/{args.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    time.sleep(1)
    cpu = cpu_pct(lambda: cpu_ticks(args.pid), args.seconds)
    line = (f"op=agent_idle rss_kib={status('VmRSS')} hwm_kib={status('VmHWM')} "
            f"threads={status('Threads')} seconds={args.seconds:.1f} cpu_pct={cpu:.2f}")
    print(line, flush=True)
    log(" ", line)


# --- supervising running containers ----------------------------------------------

def cmd_supervise(args):
    """CPU that keeping N running containers costs: berth's agent (with the
    programs it runs and waits for) and its conmons, beside containerd and
    its shims for N containers of the same image, each over `seconds`."""
    ecs, _ = clients(args)
    poller = StatusPoller(args, ecs)
    tasks = [berth_start(ecs, poller, args.cluster, args.poll)[1] for _ in range(args.tasks)]
    time.sleep(1)
    conmons = processes("conmon", args.agent_data)
    berth = cpu_pct(lambda: cpu_ticks(args.agent_pid, children=True) +
                    sum(cpu_ticks(pid) for pid in conmons), args.seconds)
    for task in tasks:
        berth_stop(ecs, args.cluster, task)
    for task in tasks:
        berth_wait_stopped(ecs, args.cluster, task)

    cids = [ctr_start(args, f"supervise-{i}")[1] for i in range(args.tasks)]
    time.sleep(1)
    shims = processes("containerd-shim", args.ctr_sock)
    containerd = cpu_pct(lambda: cpu_ticks(args.containerd_pid, children=True) +
                         sum(cpu_ticks(pid) for pid in shims), args.seconds)
    for cid in cids:
        ctr_remove(args, cid)
    line = (f"op=supervise containers={args.tasks} seconds={args.seconds} "
            f"conmons={len(conmons)} shims={len(shims)} "
            f"berth_cpu_pct={berth:.2f} containerd_cpu_pct={containerd:.2f}")
    print(line, flush=True)
    log(" ", line)


# --- pull and unpack ---------------------------------------------------------------

def write_layer(path, entries):
    """A plain tar at path from entries [(name, size or bytes, mode)]; returns
    (sha256 digest, size). Random payloads stream from os.urandom."""
    with open(path, "wb") as raw, tarfile.open(fileobj=raw, mode="w",
                                               format=tarfile.PAX_FORMAT) as tar:
        for name, content, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.mode = mode
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, tuple):  # ("symlink", target)
                info.type = tarfile.SYMTYPE
                info.linkname = content[1]
                tar.addfile(info)
            elif isinstance(content, bytes):
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                info.size = content
                tar.addfile(info, RandomReader(content))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return "sha256:" + h.hexdigest(), os.path.getsize(path)


class RandomReader:
    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


def push_file(reg, repo, path, digest, size):
    if reg.blob_exists(repo, digest):
        return
    start = reg.start_upload(repo)
    assert start.status == 202, start
    with open(path, "rb") as f:
        resp = reg.request("PUT", reg.with_query(reg.location_path(start), digest=digest), f,
                           {"Content-Type": "application/octet-stream",
                            "Content-Length": str(size)}, timeout=600)
    assert resp.status == 201, f"PUT {digest}: {resp!r}"


def cmd_big_image(args):
    _, ecr = clients(args)
    reg, _ = registry(args, ecr)
    os.makedirs(args.dir, exist_ok=True)
    base = []
    for name, kind, value, mode in busybox_image.base_entries():
        base.append((name, None if kind == "dir" else ("symlink", value) if kind == "symlink"
                     else value, mode))
    layer_bytes = args.mib * MIB // args.layers
    specs = [base] + [[(f"data{i}", None, 0o755), (f"data{i}/blob", layer_bytes, 0o644)]
                      for i in range(args.layers)]
    descriptors, diff_ids, total = [], [], 0
    for i, entries in enumerate(specs):
        path = os.path.join(args.dir, f"layer{i}.tar")
        digest, size = write_layer(path, entries)
        push_file(reg, "bigimage", path, digest, size)
        os.unlink(path)
        descriptors.append({"mediaType": OCI_LAYER_TAR, "digest": digest, "size": size})
        diff_ids.append(digest)
        total += size
    config = Blob(json.dumps({
        "architecture": host_arch(), "os": "linux",
        "config": {"Cmd": ["sleep", "600"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}}, sort_keys=True).encode(), OCI_CONFIG)
    reg.push_blob("bigimage", config.data)
    manifest = manifest_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                              "config": config.descriptor(), "layers": descriptors})
    resp = reg.put_manifest("bigimage", "bench", manifest, OCI_MANIFEST)
    assert resp.status == 201, resp
    ecs, _ = clients(args)
    register_sleep(ecs, BIG_FAMILY, f"127.0.0.1:{args.port}/bigimage:bench")
    line = f"op=big_image layers={len(descriptors)} bytes={total} media_type={OCI_LAYER_TAR}"
    print(line, flush=True)
    log(" ", line)


def cmd_berth_pull(args):
    ecs, _ = clients(args)
    t0 = time.perf_counter()
    arn = ecs.run_task(cluster=args.cluster, taskDefinition=args.family)["tasks"][0]["taskArn"]
    task, t1 = wait_status(ecs, args.cluster, arn, "RUNNING", 0.05, timeout=1800)
    if "pullStoppedAt" not in task or "pullStartedAt" not in task:
        raise SystemExit(f"run_agent.sh: the big image's task has no pull times: {task!r}")
    seconds = (task["pullStoppedAt"] - task["pullStartedAt"]).total_seconds()
    ecs.stop_task(cluster=args.cluster, task=arn)
    wait_status(ecs, args.cluster, arn, "STOPPED", 0.1)
    line = (f"op={args.op} bytes={args.bytes} seconds={seconds:.3f} "
            f"mb_s={args.bytes / 1e6 / seconds:.1f} status={task['lastStatus']} "
            f"run_to_running_s={t1 - t0:.3f}")
    print(line, flush=True)
    log(" ", line)


def cmd_ctr_pull(args):
    with open(args.password_file) as f:
        password = f.read().strip()
    t0 = time.perf_counter()
    check(ctr(args, "images", "pull", "--plain-http", "--user", f"AWS:{password}",
              args.ref), "ctr images pull")
    seconds = time.perf_counter() - t0
    line = f"op={args.op} bytes={args.bytes} seconds={seconds:.3f} mb_s={args.bytes / 1e6 / seconds:.1f}"
    print(line, flush=True)
    log(" ", line)


def layer_bytes(path, media_type):
    """Bytes of the tar inside one layer blob, decompressed as its media type says."""
    if media_type.endswith("zstd"):
        with open(path, "rb") as f:
            proc = subprocess.Popen(["zstd", "-dc"], stdin=f, stdout=subprocess.PIPE)
            n = 0
            while chunk := proc.stdout.read(4 * MIB):
                n += len(chunk)
            if proc.wait() != 0:
                raise SystemExit(f"run_agent.sh: zstd -dc {path} failed")
            return n
    inflate = zlib.decompressobj(wbits=47) if media_type.endswith("gzip") else None
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            n += len(inflate.decompress(chunk)) if inflate else len(chunk)
    return n


def cmd_layout(args):
    with open(os.path.join(args.dir, "index.json")) as f:
        index = json.load(f)
    blobs = os.path.join(args.dir, "blobs", "sha256")
    with open(os.path.join(blobs, index["manifests"][0]["digest"][7:])) as f:
        manifest = json.load(f)
    layers = manifest["layers"]
    compressed = sum(layer["size"] for layer in layers)
    unpacked = sum(layer_bytes(os.path.join(blobs, layer["digest"][7:]), layer["mediaType"])
                   for layer in layers)
    media_types = ",".join(sorted({layer["mediaType"] for layer in layers}))
    line = (f"op={args.op} layers={len(layers)} compressed={compressed} unpacked={unpacked} "
            f"media_type={media_types}")
    print(line, flush=True)
    log(" ", line)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--credentials", required=True)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("setup")
    s.add_argument("--cluster", action="append", required=True)
    s.add_argument("--password-file", required=True)
    s.add_argument("--no-busybox", action="store_true",
                   help="no busybox image and task definition (only the pull parts run)")
    s.set_defaults(func=cmd_setup)

    s = sub.add_parser("register")
    s.add_argument("--family", required=True)
    s.add_argument("--image", required=True)
    s.set_defaults(func=cmd_register)

    s = sub.add_parser("layout")
    s.add_argument("--dir", required=True, help="an OCI image layout")
    s.add_argument("--op", default="layout", help="the name of the result line")
    s.set_defaults(func=cmd_layout)

    s = sub.add_parser("wait-joined")
    s.add_argument("--cluster", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.set_defaults(func=cmd_wait_joined)

    s = sub.add_parser("starts")
    s.add_argument("--cluster", required=True)
    s.add_argument("--tasks", type=int, default=100)
    s.add_argument("--poll", type=float, default=0.002, help="seconds between DescribeTasks")
    s.add_argument("--agent-data", required=True)
    s.add_argument("--agent-log", required=True)
    s.add_argument("--work", required=True, help="an empty folder for the runc bundle")
    s.add_argument("--runc-root", required=True)
    s.add_argument("--ctr-sock", required=True)
    s.add_argument("--ctr-image", required=True)
    s.add_argument("--label", default="", help="prefix of the op names (e.g. loaded)")
    s.set_defaults(func=cmd_starts)

    s = sub.add_parser("supervise")
    s.add_argument("--cluster", required=True)
    s.add_argument("--tasks", type=int, default=10, help="containers running at once")
    s.add_argument("--seconds", type=float, default=10)
    s.add_argument("--poll", type=float, default=0.002, help="seconds between DescribeTasks")
    s.add_argument("--agent-pid", type=int, required=True)
    s.add_argument("--agent-data", required=True)
    s.add_argument("--containerd-pid", type=int, required=True)
    s.add_argument("--ctr-sock", required=True)
    s.add_argument("--ctr-image", required=True)
    s.set_defaults(func=cmd_supervise)

    s = sub.add_parser("idle")
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--seconds", type=float, default=10)
    s.set_defaults(func=cmd_idle)

    s = sub.add_parser("big-image")
    s.add_argument("--dir", required=True)
    s.add_argument("--mib", type=int, default=1024)
    s.add_argument("--layers", type=int, default=4)
    s.set_defaults(func=cmd_big_image)

    s = sub.add_parser("berth-pull")
    s.add_argument("--cluster", required=True)
    s.add_argument("--family", default=BIG_FAMILY)
    s.add_argument("--op", default="berth_pull", help="the name of the result line")
    s.add_argument("--bytes", type=int, required=True)
    s.set_defaults(func=cmd_berth_pull)

    s = sub.add_parser("ctr-pull")
    s.add_argument("--ctr-sock", required=True)
    s.add_argument("--ref", required=True)
    s.add_argument("--op", default="ctr_pull", help="the name of the result line")
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--password-file", required=True)
    s.set_defaults(func=cmd_ctr_pull)

    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
