"""Failover time of berth's control plane on etcd.

Starts three `berth server`s on one etcd root, then, round after round,
SIGKILLs the one that leads and measures the time from the kill to the first
RegisterTaskDefinition acknowledged through a survivor (a client that tries
the servers in turn, as `berth --endpoint A,B,C` does). The killed server is
started again before the next round. Prints a line per round and the median,
beside the leader's lease: a leader that dies without revoking its lease is
replaced once the lease ends, so failover/lease near 1 is the expected figure.

Used by bench/run_etcd.sh, which starts the etcd cluster; only loopback.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

import boto3
import botocore.config
import botocore.exceptions


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, args, i):
        self.args = args
        self.port = free_port()
        self.data = os.path.join(args.dir, f"s{i}")
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(os.path.join(self.args.dir, f"s{self.port}.log"), "ab")
        self.proc = subprocess.Popen(
            [self.args.berth, "--log-level", "warn", "server", "--listen",
             f"127.0.0.1:{self.port}", "--data", self.data, "--store", self.args.store,
             "--leader-lease-seconds", str(self.args.lease_seconds),
             "--credentials", self.args.credentials],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()

    def health(self):
        try:
            with urllib.request.urlopen(self.endpoint + "/berth/v1/health", timeout=1) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return {}

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def wait(what, done, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = done()
        if got:
            return got
        time.sleep(0.05)
    sys.exit(f"failover.py: {what} within {timeout} s")


def keys(path):
    out = {}
    for line in open(path):
        name, _, value = line.partition("=")
        out[name.strip()] = value.strip()
    return out["aws_access_key_id"], out["aws_secret_access_key"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--berth", required=True)
    p.add_argument("--etcd", required=True, help="etcd endpoints, comma-separated")
    p.add_argument("--lease-seconds", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dir", required=True, help="a folder for the servers' data and logs")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    args.store = f"etcd://{args.etcd}/failover-{os.getpid()}/"
    args.credentials = os.path.join(args.dir, "credentials")

    servers = [Server(args, i) for i in range(3)]
    try:
        servers[0].start()  # writes the credentials the others read
        wait("no credentials", lambda: os.path.exists(args.credentials) and
             os.path.getsize(args.credentials) > 0)
        for s in servers[1:]:
            s.start()
        access_key, secret = keys(args.credentials)
        config = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=1,
                                        read_timeout=5)
        clients = {s: boto3.client("ecs", endpoint_url=s.endpoint, region_name="us-east-1",
                                   aws_access_key_id=access_key,
                                   aws_secret_access_key=secret, config=config)
                   for s in servers}

        def leader():
            for s in servers:
                h = s.health()
                if h.get("role") == "leader":
                    return s
            return None

        def write(s):
            try:
                clients[s].register_task_definition(family="failover", containerDefinitions=[
                    {"name": "c", "image": "busybox", "memory": 64}])
                return True
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return False

        took = []
        print(f"Failover: 3 servers on etcd, --leader-lease-seconds {args.lease_seconds}; "
              "SIGKILL of the leader to the first write acknowledged through a survivor")
        for round_ in range(1, args.rounds + 1):
            # Every server up and agreeing on the leader.
            current = wait("no leader", leader)
            address = current.endpoint.removeprefix("http://")
            wait("servers do not agree on the leader",
                 lambda: all(s.health().get("leader") == address for s in servers))
            wait("no write through the leader", lambda: write(current))
            survivors = [s for s in servers if s is not current]
            current.kill()
            killed_at = time.monotonic()
            tries = 0
            while True:
                s = survivors[tries % 2]
                tries += 1
                if write(s):
                    break
                if time.monotonic() - killed_at > 10 * args.lease_seconds + 30:
                    sys.exit("failover.py: no write acknowledged after the leader's kill")
                time.sleep(0.02)
            seconds = time.monotonic() - killed_at
            took.append(seconds)
            print(f"  round {round_}: {seconds:6.2f} s to the first acknowledged write "
                  f"({tries} tries), failover/lease {seconds / args.lease_seconds:.2f}")
            current.start()  # back as a follower for the next round
        median = statistics.median(took)
        print(f"failover median: {median:.2f} s with a lease of {args.lease_seconds} s: "
              f"failover/lease {median / args.lease_seconds:.2f}")
    finally:
        for s in servers:
            s.kill()


if __name__ == "__main__":
    main()
