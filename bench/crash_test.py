"""Crash safety, measured: clients write while `berth server` is SIGKILLed.

Each round starts the server on the same data folder (SQLite) and port, lets
clients register task definitions, run tasks (with a clientToken) on
instances with Neuron devices, stop tasks and push blobs, kills the server
with SIGKILL at a random moment, starts it again and checks what it says
against what the clients were told:

- every acknowledged registration is there, and a family's revisions have
  no holes;
- every acknowledged RunTask's task is there, once per clientToken (the
  token retried after the restart gives the same task);
- every acknowledged StopTask left its task with desiredStatus STOPPED;
- no Neuron device is held by two tasks that are not stopped, and every
  instance's remaining CPU and memory are its registered ones less what its
  live tasks hold (nothing half-applied);
- every acknowledged blob is served with its content.

With --fsync-failures P the server writes during the clients' part of each
round with BERTH_CRASH_TEST_FSYNC_FAILURES=P: each fsync of its store and of
the registry fails with probability P, as a failing disk's would. A failed
commit stops the server (nothing is acknowledged that is not durable), so
some rounds end before the SIGKILL; the checks are the same, on a server
restarted without faults.

Prints a line per round and the totals: rounds, operations acknowledged,
anomalies (goal: 0 in 1,000 rounds). Exits 1 on an anomaly. Only loopback.

  python3 bench/crash_test.py --berth build/berth --rounds 20
  python3 bench/crash_test.py --berth build/berth --rounds 20 --fsync-failures 0.01
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials

ECS_TARGET = "AmazonEC2ContainerServiceV20141113."
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921."
INSTANCES = 4
DEVICES = 16  # Neuron devices an instance


class Server:
    def __init__(self, berth, data):
        self.berth = berth
        self.data = data
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = None

    def start(self, fsync_failures=None):
        """Starts the server; with fsync_failures, its fsyncs fail at random
        (a start whose own commits fail is tried again)."""
        env = dict(os.environ)
        if fsync_failures:
            env["BERTH_CRASH_TEST_FSYNC_FAILURES"] = str(fsync_failures)
        for _ in range(20 if fsync_failures else 1):
            if self.try_start(env):
                return
        sys.exit(f"crash_test.py: berth server exited with {self.proc.returncode}")

    def try_start(self, env):
        log = open(os.path.join(os.path.dirname(self.data), "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.berth, "--log-level", "warn", "server", "--listen", f"127.0.0.1:{self.port}",
             "--data", self.data], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    pass
                self.keys = read_keys(os.path.join(self.data, "credentials"))
                return True
            except OSError:
                time.sleep(0.05)
        sys.exit("crash_test.py: berth server did not serve within 30 s")

    def kill(self):
        """SIGKILL; False when the server had already stopped by itself."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            return True
        return False


def read_keys(path):
    values = {}
    for line in open(path):
        name, _, value = line.partition("=")
        values.setdefault(name.strip(), value.strip())
    return values["aws_access_key_id"], values["aws_secret_access_key"]


class Unavailable(Exception):
    """No answer: the server is down (killed, or not back yet)."""


def call(server, target, body, timeout=10):
    """A signed AWS JSON call; the decoded reply, or raises Unavailable."""
    data = json.dumps(body).encode()
    url = f"http://127.0.0.1:{server.port}/"
    request = botocore.awsrequest.AWSRequest(method="POST", url=url, data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    credentials = botocore.credentials.Credentials(*server.keys)
    botocore.auth.SigV4Auth(credentials, "ecs", "us-east-1").add_auth(request)
    http_request = urllib.request.Request(url, data=data, method="POST",
                                          headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as e:
        if e.code >= 500:
            raise Unavailable(e.code)
        raise RuntimeError(f"{target}: {e.code} {e.read()[:300]!r}")
    except OSError as e:
        raise Unavailable(e)


def ecs(server, operation, body):
    return call(server, ECS_TARGET + operation, body)


def push_blob(server, token, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    auth = base64.b64encode(f"AWS:{token}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/v2/{repo}/blobs/uploads/?digest={digest}", data=data,
        method="POST", headers={"Authorization": f"Basic {auth}",
                                "Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            if reply.status != 201:
                raise RuntimeError(f"push: {reply.status}")
    except urllib.error.HTTPError as e:
        if e.code >= 500:
            raise Unavailable(e.code)
        raise RuntimeError(f"push: {e.code} {e.read()[:300]!r}")
    except OSError as e:
        raise Unavailable(e)
    return digest


def get_blob(server, token, repo, digest):
    auth = base64.b64encode(f"AWS:{token}".encode()).decode()
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/v2/{repo}/blobs/{digest}",
                                     headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.read()
    except urllib.error.HTTPError:
        return None


class Ledger:
    """What the clients were told, across rounds."""

    def __init__(self):
        self.lock = threading.Lock()
        self.revisions = set()
        self.tasks = {}       # clientToken -> task ARN
        self.stopped = set()  # task ARNs
        self.blobs = {}       # digest -> bytes
        self.errors = []      # refusals of correct requests: anomalies too
        self.acknowledged = 0

    def note(self, kind, key, value=None):
        with self.lock:
            self.acknowledged += 1
            if kind == "revision":
                self.revisions.add(key)
            elif kind == "task":
                self.tasks[key] = value
            elif kind == "stop":
                self.stopped.add(key)
            elif kind == "blob":
                self.blobs[key] = value


TASK_DEFINITION = {"name": "c", "image": "busybox", "cpu": 1, "memory": 6,
                   "resourceRequirements": [{"type": "NeuronDevice", "value": "1"}]}


def setup(server, ledger, family, cluster, repo):
    ecs(server, "CreateCluster", {"clusterName": cluster})
    td = ecs(server, "RegisterTaskDefinition", {"family": family,
                                                "containerDefinitions": [TASK_DEFINITION]})
    ledger.note("revision", td["taskDefinition"]["revision"])
    for _ in range(INSTANCES):
        ecs(server, "RegisterContainerInstance", {
            "cluster": cluster,
            "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1 << 20},
                               {"name": "MEMORY", "type": "INTEGER", "integerValue": 1 << 20}],
            "platformDevices": [{"id": str(i), "type": "NEURON_DEVICE"} for i in range(DEVICES)],
            "attributes": [{"name": "ecs.instance-type", "value": "trn1.32xlarge"}]})
    call(server, ECR_TARGET + "CreateRepository", {"repositoryName": repo})


def client(server, ledger, stop, family, cluster, repo, token, name, rng):
    n = 0
    while not stop.is_set():
        n += 1
        try:
            choice = rng.random()
            if choice < 0.35:
                td = ecs(server, "RegisterTaskDefinition", {
                    "family": family, "containerDefinitions": [TASK_DEFINITION]})
                ledger.note("revision", td["taskDefinition"]["revision"])
            elif choice < 0.7:
                client_token = f"{name}-{n}-{rng.random()}"
                run = ecs(server, "RunTask", {"cluster": cluster, "taskDefinition": family,
                                              "clientToken": client_token})
                if run["tasks"]:
                    ledger.note("task", client_token, run["tasks"][0]["taskArn"])
            elif choice < 0.85:
                with ledger.lock:
                    live = [a for a in ledger.tasks.values() if a not in ledger.stopped]
                if live:
                    arn = rng.choice(live)
                    ecs(server, "StopTask", {"cluster": cluster, "task": arn})
                    ledger.note("stop", arn)
            else:
                data = os.urandom(256 + rng.randrange(4096))
                ledger.note("blob", push_blob(server, token, repo, data), data)
        except Unavailable:
            time.sleep(0.02)  # killed: wait for the round to end
        except RuntimeError as e:  # a refusal a correct client should never get
            with ledger.lock:
                ledger.errors.append(str(e))


def check(server, ledger, family, cluster, repo, token):
    """Anomalies: what the restarted server says against the ledger."""
    anomalies = []
    arns, next_token = [], None
    while True:
        page = ecs(server, "ListTaskDefinitions", {"familyPrefix": family, "maxResults": 100,
                                                   **({"nextToken": next_token} if next_token
                                                      else {})})
        arns += page["taskDefinitionArns"]
        next_token = page.get("nextToken")
        if not next_token:
            break
    revisions = {int(a.rsplit(":", 1)[1]) for a in arns}
    if missing := ledger.revisions - revisions:
        anomalies.append(f"acknowledged revisions missing: {sorted(missing)[:10]}")
    if revisions and sorted(revisions) != list(range(1, max(revisions) + 1)):
        anomalies.append("task definition revisions have holes")

    task_arns = list(ledger.tasks.values())
    described = {}
    for i in range(0, len(task_arns), 100):
        got = ecs(server, "DescribeTasks", {"cluster": cluster, "tasks": task_arns[i:i + 100]})
        for failure in got["failures"]:
            anomalies.append(f"acknowledged task missing: {failure}")
        described.update({t["taskArn"]: t for t in got["tasks"]})
    for arn in ledger.stopped:
        if arn in described and described[arn]["desiredStatus"] != "STOPPED":
            anomalies.append(f"acknowledged StopTask of {arn} undone")
    # A retried token gives the same task.
    for client_token, arn in list(ledger.tasks.items())[-3:]:
        run = ecs(server, "RunTask", {"cluster": cluster, "taskDefinition": family,
                                      "clientToken": client_token})
        if run["tasks"] and run["tasks"][0]["taskArn"] != arn:
            anomalies.append(f"clientToken {client_token} started a second task")

    # Every task of the cluster, live ones hold devices and resources.
    listed, next_token = [], None
    while True:
        page = ecs(server, "ListTasks", {"cluster": cluster, "maxResults": 100,
                                         **({"nextToken": next_token} if next_token else {})})
        listed += page["taskArns"]
        next_token = page.get("nextToken")
        if not next_token:
            break
    held, used = {}, {}
    for i in range(0, len(listed), 100):
        for task in ecs(server, "DescribeTasks", {"cluster": cluster,
                                                  "tasks": listed[i:i + 100]})["tasks"]:
            if task["lastStatus"] == "STOPPED":
                continue
            instance = task["containerInstanceArn"]
            cpu, memory = used.get(instance, (0, 0))
            used[instance] = (cpu + int(task.get("cpu", 0)), memory + int(task.get("memory", 0)))
            for container in task["containers"]:
                for device in container.get("neuronDeviceIds", []):
                    key = (instance, device)
                    if key in held:
                        anomalies.append(f"device {key} held by {held[key]} and {task['taskArn']}")
                    held[key] = task["taskArn"]
    instances = ecs(server, "ListContainerInstances", {"cluster": cluster})["containerInstanceArns"]
    for instance in ecs(server, "DescribeContainerInstances", {
            "cluster": cluster, "containerInstances": instances})["containerInstances"]:
        registered = {r["name"]: r.get("integerValue", 0) for r in instance["registeredResources"]}
        remaining = {r["name"]: r.get("integerValue", 0) for r in instance["remainingResources"]}
        cpu, memory = used.get(instance["containerInstanceArn"], (0, 0))
        if (registered["CPU"] - cpu, registered["MEMORY"] - memory) != (remaining["CPU"],
                                                                          remaining["MEMORY"]):
            anomalies.append(f"instance {instance['containerInstanceArn']}: remaining "
                             f"{remaining} but live tasks hold cpu {cpu} memory {memory}")

    for digest, data in ledger.blobs.items():
        if get_blob(server, token, repo, digest) != data:
            anomalies.append(f"acknowledged blob {digest} lost or changed")
    return anomalies


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--berth", default="build/berth")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--fsync-failures", type=float, default=None, metavar="P",
                   help="each fsync fails with probability P while the clients write")
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="berth-crash-")
    data = os.path.join(work, "data")
    server = Server(os.path.abspath(args.berth), data)
    family, cluster, repo = "crash", "crash", "crash"
    ledger = Ledger()
    total_anomalies = 0
    started = time.monotonic()
    try:
        server.start()
        setup(server, ledger, family, cluster, repo)
        print(f"crash test: seed {seed}, {args.clients} clients, {INSTANCES} instances of "
              f"{DEVICES} Neuron devices; SIGKILL at a random moment each round" +
              (f"; fsyncs fail with probability {args.fsync_failures}"
               if args.fsync_failures else ""))
        self_stops = 0
        for round_ in range(1, args.rounds + 1):
            token = json.loads(json.dumps(call(server, ECR_TARGET + "GetAuthorizationToken", {})))
            token = base64.b64decode(token["authorizationData"][0]["authorizationToken"]).decode()
            token = token.partition(":")[2]
            stop = threading.Event()
            clients = [threading.Thread(target=client, args=(
                server, ledger, stop, family, cluster, repo, token, f"r{round_}c{i}",
                random.Random(rng.random()))) for i in range(args.clients)]
            before = ledger.acknowledged
            if args.fsync_failures:
                server.kill()
                server.start(args.fsync_failures)
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.2, 1.5))
            stopped_itself = not server.kill()
            self_stops += stopped_itself
            stop.set()
            for c in clients:
                c.join()
            server.start()
            anomalies = check(server, ledger, family, cluster, repo, token)
            with ledger.lock:
                anomalies += [f"refused: {e}" for e in ledger.errors]
                ledger.errors.clear()
            total_anomalies += len(anomalies)
            print(f"  round {round_}: {ledger.acknowledged - before} acknowledged, "
                  f"{len(anomalies)} anomalies" +
                  (", the server stopped after a failed fsync" if stopped_itself else ""))
            for a in anomalies[:5]:
                print(f"    {a}")
            # Stop most live tasks now and then: devices free up for new ones.
            if round_ % 5 == 0:
                for arn in [a for a in ledger.tasks.values() if a not in ledger.stopped]:
                    ecs(server, "StopTask", {"cluster": cluster, "task": arn})
                    ledger.note("stop", arn)
        print(f"rounds {args.rounds}, operations acknowledged {ledger.acknowledged}, "
              f"anomalies {total_anomalies}, rounds ended by a failed fsync {self_stops} "
              f"({time.monotonic() - started:.0f} s)")
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if total_anomalies else 0)


if __name__ == "__main__":
    main()
