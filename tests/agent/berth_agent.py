"""The node agent under test: a `berth agent` process beside a `berth
server`, a fake Neuron device tree, and the clean-up that leaves the host as
it was (containers, conmon processes, mounts, cgroups), also after a
failure."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("../compat", "../registry"):
    p = os.path.abspath(os.path.join(HERE, d))
    if p not in sys.path:
        sys.path.insert(0, p)

from berth_compat import BERTH_BIN, aws_cli_env, make_ecs_client, unique  # noqa: E402


def require_container_host():
    """The agent runs real containers: root, runc, conmon and overlayfs."""
    missing = [t for t in ("/usr/sbin/runc", "/usr/bin/conmon") if not os.path.exists(t)]
    if os.geteuid() != 0 or missing:
        pytest.fail("the agent's end-to-end tests run as root with runc and conmon installed "
                    f"(scripts/setup.sh installs them); euid={os.geteuid()} missing={missing}",
                    pytrace=False)


class AgentProcess:
    """`berth agent` on a data folder; killable and restartable."""

    def __init__(self, server, data_dir, log_dir, cluster, device_root, extra_args=()):
        self.server = server
        self.data_dir = str(data_dir)
        self.log_dir = str(log_dir)
        self.cluster = cluster
        self.device_root = str(device_root)
        self.extra_args = [str(a) for a in extra_args]
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log_path = os.path.join(self.log_dir, f"berth-agent-{self.starts}.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [BERTH_BIN, "agent", "--server", self.server.endpoint, "--cluster", self.cluster,
                 "--data", self.data_dir, "--device-root", self.device_root,
                 "--credentials", self.server.credentials_path,
                 "--instance-type", "trn1.32xlarge", "--availability-zone", "us-east-1a",
                 # Several agents share this host's loopback: each picks a
                 # port (kept in its data folder across restarts).
                 "--metadata-listen", "127.0.0.1:0",
                 *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    @property
    def instance_arn(self):
        """The container instance this agent registered (kept in its data
        folder across restarts), or None before it joined."""
        try:
            with open(os.path.join(self.data_dir, "instance.json")) as f:
                return json.load(f)["containerInstanceArn"]
        except (OSError, ValueError, KeyError):
            return None

    def wait_joined(self, ecs, timeout=30):
        """This agent's container instance once it has registered and polls
        (other agents may have joined the same cluster)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"berth agent exited with {self.proc.returncode}:\n{self.log_tail()}",
                            pytrace=False)
            arn = self.instance_arn if "agent joined" in self.log_text() else None
            if arn:
                found = ecs.describe_container_instances(
                    cluster=self.cluster, containerInstances=[arn])["containerInstances"]
                active = [i for i in found if i["status"] == "ACTIVE" and i["agentConnected"]]
                if active:
                    return active[0]
            time.sleep(0.2)
        pytest.fail(f"agent did not join within {timeout} s:\n{self.log_tail()}", pytrace=False)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self):
        self.kill(signal.SIGTERM)

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log_text().splitlines()[-lines:])


def cleanup_agent_host(data_dir):
    """Removes every container, conmon, mount and cgroup the agent on
    data_dir made. Safe to call more than once."""
    data_dir = os.path.abspath(str(data_dir))
    runc_root = os.path.join(data_dir, "runtime", "runc")
    ids = []
    if os.path.isdir(runc_root):
        out = subprocess.run(["runc", "--root", runc_root, "list", "-q"], capture_output=True,
                             text=True)
        ids = out.stdout.split()
        for cid in ids:
            subprocess.run(["runc", "--root", runc_root, "kill", cid, "KILL"], capture_output=True)
        time.sleep(0.2)
        for cid in ids:
            subprocess.run(["runc", "--root", runc_root, "delete", "--force", cid],
                           capture_output=True)
    # conmon processes of this data folder outlive the agent by design.
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"conmon") and any(data_dir.encode() in a for a in cmd):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f]
    for target in reversed(mounts):
        target = target.replace("\\040", " ")
        if target.startswith(data_dir + "/"):
            subprocess.run(["umount", "-l", target], capture_output=True)
    for controller in os.listdir("/sys/fs/cgroup"):
        berth = os.path.join("/sys/fs/cgroup", controller, "berth")
        if not os.path.isdir(berth):
            continue
        for task_id in os.listdir(os.path.join(data_dir, "tasks")) if os.path.isdir(
                os.path.join(data_dir, "tasks")) else []:
            task_dir = os.path.join(berth, task_id)
            if os.path.isdir(task_dir):
                for sub in sorted((os.path.join(task_dir, d) for d in os.listdir(task_dir)
                                   if os.path.isdir(os.path.join(task_dir, d))), reverse=True):
                    try:
                        os.rmdir(sub)
                    except OSError:
                        pass
                try:
                    os.rmdir(task_dir)
                except OSError:
                    pass


def wait_task(ecs, cluster, task_arn, status, timeout=60):
    """The task once its lastStatus is status (STOPPED is final: a task that
    stops while RUNNING is awaited fails fast)."""
    deadline = time.monotonic() + timeout
    task = None
    while time.monotonic() < deadline:
        task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
        if task["lastStatus"] == status:
            return task
        if task["lastStatus"] == "STOPPED":
            pytest.fail(f"task stopped while waiting for {status}: "
                        f"{task.get('stoppedReason')!r} {task['containers']!r}", pytrace=False)
        time.sleep(0.2)
    pytest.fail(f"task not {status} within {timeout} s: {task!r}", pytrace=False)


def agent_ecs_client(server):
    return make_ecs_client(server.endpoint, server.access_key, server.secret_key,
                           verify=server.ca_file)


def logs(node, task_arn, *args):
    """What `berth logs` prints of the task's container (args: -f, ...)."""
    proc = subprocess.run(
        [BERTH_BIN, "logs", "--cluster", node.cluster, task_arn, *args],
        env=aws_cli_env(node.server.access_key, node.server.secret_key,
                        {"AWS_ENDPOINT_URL": node.server.endpoint}),
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def container(task, name="main"):
    return next(c for c in task["containers"] if c["name"] == name)


def run_task(node, containers, family_prefix="e2e", **extra):
    """Registers a definition of containers (each named main, on node's
    image and essential unless it says otherwise; extra: task-level members)
    and runs it on node's cluster; the task's ARN."""
    defs = [{"name": "main", "image": node.image, "essential": True, **c} for c in containers]
    td = node.ecs.register_task_definition(family=unique(family_prefix), containerDefinitions=defs,
                                           **extra)
    out = node.ecs.run_task(cluster=node.cluster,
                            taskDefinition=td["taskDefinition"]["taskDefinitionArn"])
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]
