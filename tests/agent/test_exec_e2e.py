"""`berth exec` end to end: a real server relays a WebSocket to a real agent,
which runs the command in a busybox container with runc exec; with -t
through a pseudo-terminal driven by Python's pty module."""

import contextlib
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from berth_agent import wait_task
from berth_compat import BERTH_BIN, aws_cli_env, unique
from test_agent_channel import join


def env_for(node, key=None, secret=None):
    return aws_cli_env(key or node.server.access_key, secret or node.server.secret_key,
                       {"AWS_ENDPOINT_URL": node.server.endpoint})


def berth_exec(node, *args, env=None, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([BERTH_BIN, "exec", "--cluster", node.cluster, *args],
                          env=env or env_for(node), capture_output=True, timeout=60, **kw)


def run_task(node, command, name="main", containers=None):
    """A task of one container (name, command), or of containers (definitions
    without image and memory)."""
    defs = containers or [{"name": name, "essential": True, "command": command}]
    td = node.ecs.register_task_definition(
        family=unique("exec"),
        containerDefinitions=[{"image": node.image, "memory": 64, **d} for d in defs])
    out = node.ecs.run_task(cluster=node.cluster,
                            taskDefinition=td["taskDefinition"]["taskDefinitionArn"])
    assert not out["failures"], out["failures"]
    return out["tasks"][0]["taskArn"]


@pytest.fixture(scope="module")
def task(node):
    """A running busybox task; stopped at the end."""
    arn = run_task(node, ["sleep", "3600"])
    wait_task(node.ecs, node.cluster, arn, "RUNNING")
    yield arn.rsplit("/", 1)[1]
    node.ecs.stop_task(cluster=node.cluster, task=arn)


def error_line(proc):
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("berth exec: "), proc.stderr
    return lines[0]


def host_pids_running(argv):
    """Pids on this host whose command line is exactly argv."""
    want = b"\0".join(a.encode() for a in argv) + b"\0"
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() == want:
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_a_command_prints_and_exits_with_its_code(node, task):
    proc = berth_exec(node, task, "--", "echo", "hi")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"hi\n", b"")
    proc = berth_exec(node, task, "--", "sh", "-c", "exit 7")
    assert proc.returncode == 7, proc.stderr


def test_a_background_process_with_its_own_output_does_not_hold_the_session(node, task):
    # As with docker exec, runc relays the command's output until its end,
    # so a background process that kept stdout would keep the session open;
    # one that has its own does not.
    start = time.monotonic()
    proc = berth_exec(node, task, "--", "sh", "-c", "sleep 30 >/dev/null 2>&1 & echo fg")
    assert (proc.returncode, proc.stdout) == (0, b"fg\n"), proc.stderr
    assert time.monotonic() - start < 10


def test_a_missing_program_fails_with_runcs_message(node, task):
    proc = berth_exec(node, task, "--", "no-such-program")
    assert proc.returncode != 0
    assert b"no-such-program" in proc.stderr, proc.stderr


def test_stderr_goes_to_stderr(node, task):
    proc = berth_exec(node, task, "--container", "main", "--", "sh", "-c", "echo out; echo err >&2")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"out\n", b"err\n")


def test_stdin_is_forwarded_until_its_end(node, task):
    data = b"".join(b"line %d\n" % i for i in range(2000))
    proc = berth_exec(node, task, "-i", "--", "cat", stdin=None, input=data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data


def read_until(fd, needle, timeout=20):
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    assert needle in seen, seen
    return seen


def set_size(fd, rows, columns):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


@contextlib.contextmanager
def interactive(node, *args):
    """`berth exec ARGS` on a new 30x100 pseudo-terminal: (the process, the
    terminal's master side); both gone afterwards."""
    master, slave = pty.openpty()
    set_size(slave, 30, 100)
    proc = subprocess.Popen([BERTH_BIN, "exec", "--cluster", node.cluster, *args],
                            env=env_for(node), stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    try:
        yield proc, master
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_an_interactive_shell_through_a_terminal(node, task):
    with interactive(node, "-it", task, "--", "sh") as (proc, master):
        read_until(master, b"# ")  # the prompt
        os.write(master, b"echo $((6*7))\r")
        read_until(master, b"42")
        os.write(master, b"/bin/busybox tty\r")
        read_until(master, b"/dev/pts/")
        os.write(master, b"exit 3\r")
        assert proc.wait(timeout=20) == 3


def test_the_terminal_size_follows_the_clients(node, task):
    with interactive(node, "-it", task, "--", "sh") as (proc, master):
        read_until(master, b"# ")
        os.write(master, b"/bin/busybox stty size\r")
        read_until(master, b"30 100")
        set_size(master, 40, 120)
        proc.send_signal(signal.SIGWINCH)  # the pty is not the client's controlling terminal
        time.sleep(0.5)
        os.write(master, b"/bin/busybox stty size\r")
        read_until(master, b"40 120")
        os.write(master, b"exit\r")
        assert proc.wait(timeout=20) == 0


def test_the_terminal_is_a_pts_device(node, task):
    with interactive(node, "-t", task, "--", "/bin/busybox", "tty") as (proc, master):
        out = read_until(master, b"/dev/pts/")
        assert proc.wait(timeout=20) == 0, out


def test_the_essential_container_is_the_default_and_its_process_settings_apply(node):
    sleeper = ["sleep", "3600"]
    arn = run_task(node, None, containers=[
        {"name": "side", "essential": False, "command": sleeper,
         "environment": [{"name": "WHO", "value": "side"}]},
        {"name": "main", "essential": True, "command": sleeper, "user": "1000",
         "workingDirectory": "/tmp", "environment": [{"name": "WHO", "value": "main"}]}])
    try:
        wait_task(node.ecs, node.cluster, arn, "RUNNING")
        show = ["--", "sh", "-c", "echo $WHO $(id -u) $(pwd)"]
        proc = berth_exec(node, arn, *show)
        assert (proc.returncode, proc.stdout) == (0, b"main 1000 /tmp\n"), proc.stderr
        proc = berth_exec(node, arn, "--container", "side", *show)
        assert (proc.returncode, proc.stdout) == (0, b"side 0 /\n"), proc.stderr
    finally:
        node.ecs.stop_task(cluster=node.cluster, task=arn)


def test_several_essential_containers_need_one_named(node):
    sleeper = ["sleep", "3600"]
    arn = run_task(node, None, containers=[
        {"name": "a", "essential": True, "command": sleeper},
        {"name": "b", "essential": True, "command": sleeper}])
    try:
        wait_task(node.ecs, node.cluster, arn, "RUNNING")
        line = error_line(berth_exec(node, arn, "--", "true"))
        assert "has several containers (a, b); choose one with --container NAME" in line, line
    finally:
        node.ecs.stop_task(cluster=node.cluster, task=arn)


def test_a_stopped_task_is_refused(node):
    arn = run_task(node, ["true"])
    wait_task(node.ecs, node.cluster, arn, "STOPPED")
    line = error_line(berth_exec(node, arn, "--container", "main", "--", "echo", "hi"))
    assert "is not running (STOPPED)" in line, line


def test_an_unknown_container_is_refused(node, task):
    line = error_line(berth_exec(node, task, "--container", "nope", "--", "echo", "hi"))
    assert "has no container named 'nope'" in line, line


def test_an_instance_credential_is_refused(node, task):
    instance = node.ecs.register_container_instance(
        cluster=node.cluster,
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}])
    arn = instance["containerInstance"]["containerInstanceArn"]
    try:
        joined = join(node.server, node.cluster, arn)
        assert joined.status == 200, joined
        env = env_for(node, joined.json["accessKeyId"], joined.json["secretAccessKey"])
        line = error_line(berth_exec(node, task, "--container", "main", "--", "echo", "hi",
                                     env=env))
        assert "AccessDeniedException" in line and "instance credential" in line, line
    finally:
        node.ecs.deregister_container_instance(cluster=node.cluster, containerInstance=arn,
                                               force=True)


def test_no_command_is_one_line_with_status_1(node, task):
    assert "no command" in error_line(berth_exec(node, task))


def test_closing_the_client_kills_the_process(node, task):
    argv = ["sleep", "4242"]
    with open_session(node, task, argv) as proc:
        proc.send_signal(signal.SIGKILL)
    wait_gone(argv, "its client")
    # and the agent went on serving
    assert berth_exec(node, task, "--", "true").returncode == 0


@contextlib.contextmanager
def open_session(node, task_arn, argv):
    """`berth exec TASK -- argv` running, once argv runs in the container:
    (the client, a function telling whether argv still runs on the host)."""
    proc = subprocess.Popen([BERTH_BIN, "exec", "--cluster", node.cluster, task_arn, "--", *argv],
                            env=env_for(node), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not host_pids_running(argv):
            assert time.monotonic() < deadline, "the exec'd command never started"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_gone(argv, what):
    deadline = time.monotonic() + 20
    while host_pids_running(argv):
        assert time.monotonic() < deadline, f"the exec'd {argv} outlived {what}"
        time.sleep(0.2)


@pytest.mark.parametrize("stopped", ["server", "agent"])
def test_stopping_the_server_or_agent_ends_open_sessions(fresh_node, stopped):
    arn = run_task(fresh_node, ["sleep", "3600"])
    wait_task(fresh_node.ecs, fresh_node.cluster, arn, "RUNNING")
    argv = ["sleep", "4343"]
    with open_session(fresh_node, arn, argv) as proc:
        start = time.monotonic()
        if stopped == "server":
            assert fresh_node.server.stop() == 0
        else:
            fresh_node.agent.stop()
        assert time.monotonic() - start < 8, "the stop waited for the open session"
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 1, err
        lines = err.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("berth exec: "), err
        wait_gone(argv, f"its {stopped}")
