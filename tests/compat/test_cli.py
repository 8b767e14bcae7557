"""The berth command line's client verbs against a real server: an API error
reaches the user as one line on stderr, "berth VERB: ...", with exit status
1 and no crash; and `--help` answers on every level."""

import subprocess

import pytest

from berth_compat import BERTH_BIN, aws_cli_env, free_port, unique


def berth(*args, env=None):
    return subprocess.run([BERTH_BIN, *args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def client_env(server, secret_key=None):
    return aws_cli_env(server.access_key, secret_key or server.secret_key,
                       {"AWS_ENDPOINT_URL": server.endpoint})


def one_error_line(proc, verb):
    """The single stderr line of a failed run, after its "berth VERB: "."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    prefix = f"berth {verb}: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix):]


def test_logs_of_an_unknown_task_says_so(server, ecs):
    cluster = unique("cli")
    ecs.create_cluster(clusterName=cluster)
    proc = berth("logs", "--cluster", cluster, "no-such-task", env=client_env(server))
    assert one_error_line(proc, "logs") == f"task no-such-task: not found in cluster {cluster}"
    assert proc.stdout == ""


def test_logs_in_an_unknown_cluster_carries_the_api_error(server):
    cluster = unique("missing")
    proc = berth("logs", "--cluster", cluster, "some-task", env=client_env(server))
    assert one_error_line(proc, "logs") == (
        f"task some-task: DescribeTasks: ClusterNotFoundException: Cluster not found: {cluster}")


def test_logs_with_a_wrong_secret_is_refused_in_one_line(server):
    proc = berth("logs", "some-task", env=client_env(server, secret_key="not-the-secret"))
    message = one_error_line(proc, "logs")
    assert message.startswith("task some-task: DescribeTasks: "), message
    assert "SignatureException" in message or "SignatureDoesNotMatch" in message, message


def test_exec_help_has_an_example():
    proc = berth("exec", "--help")
    assert proc.returncode == 0 and "Example:\n  berth exec " in proc.stdout, proc.stdout


def test_exec_refusals_are_one_line(server, ecs):
    cluster = unique("cli")
    ecs.create_cluster(clusterName=cluster)
    env = client_env(server)
    proc = berth("exec", "--cluster", cluster, "no-such-task", "--", "true", env=env)
    assert one_error_line(proc, "exec") == f"task no-such-task: not found in cluster {cluster}"
    proc = berth("exec", "--cluster", cluster, "--container", "main", "no-such-task", "--", "true",
                 env=env)
    message = one_error_line(proc, "exec")
    assert message.startswith("InvalidParameterException: exec: The referenced task was not "
                              "found"), message
    proc = berth("exec", "some-task", "--", "true",
                 env=client_env(server, secret_key="not-the-secret"))
    assert "Signature" in one_error_line(proc, "exec")


def test_logs_without_a_server_is_one_line(server):
    env = aws_cli_env(server.access_key, server.secret_key,
                      {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    proc = berth("logs", "--container", "main", "some-task", env=env)
    assert one_error_line(proc, "logs").startswith("task some-task: GET /berth/v1/logs: ")


def test_logs_with_a_bad_endpoint_is_one_line(server):
    proc = berth("logs", "--endpoint", "ftp://127.0.0.1:1", "some-task", env=client_env(server))
    assert "must start with http:// or https://" in one_error_line(proc, "logs")


def test_registry_gc_with_bad_credentials_is_one_line(server, tmp_path):
    bad = tmp_path / "bad-credentials"
    bad.write_text("[default]\naws_access_key_id = AKIAUNKNOWN\naws_secret_access_key = nope\n")
    proc = berth("registry", "gc", "--endpoint", server.endpoint, "--credentials", str(bad),
                 env=aws_cli_env("", ""))
    assert one_error_line(proc, "registry gc").startswith("UnrecognizedClientException: ")
    assert proc.stdout == ""


def test_registry_gc_with_a_missing_credentials_file_is_one_line(server, tmp_path):
    proc = berth("registry", "gc", "--endpoint", server.endpoint, "--credentials",
                 str(tmp_path / "absent"), env=aws_cli_env("", ""))
    assert str(tmp_path / "absent") in one_error_line(proc, "registry gc")


@pytest.mark.parametrize("args, flags", [
    ([], ["server", "dev", "agent", "logs", "ui-login", "version", "registry", "--log-level"]),
    (["server"], ["--listen", "BERTH_LISTEN", "--data", "--store", "--credentials", "--threads",
                  "--registry-listen", "--agent-heartbeat-timeout", "--agent-lost-after",
                  "BERTH_AGENT_LOST_AFTER", "--create-repository-on-push"]),
    (["dev"], ["--listen", "--data", "--agent-lost-after", "--agent-cluster", "BERTH_AGENT_CLUSTER",
               "--agent-device-root", "--agent-runtime", "--no-agent"]),
    (["agent"], ["--server", "BERTH_SERVER", "--data", "--listen", "BERTH_AGENT_LISTEN",
                 "--advertise", "--credentials", "--cluster", "BERTH_CLUSTER", "--device-root",
                 "--runtime", "--seccomp-profile"]),
    (["logs"], ["--follow", "--container", "--cluster", "--endpoint", "AWS_ENDPOINT_URL",
                "--credentials"]),
    (["version"], []),
    (["ui-login"], ["--endpoint", "AWS_ENDPOINT_URL", "--credentials"]),
    (["registry"], ["gc"]),
    (["registry", "gc"], ["--endpoint", "--min-age", "--credentials"]),
])
def test_help_on_every_level(args, flags):
    proc = berth(*args, "--help")
    assert proc.returncode == 0, proc.stderr
    for flag in flags:
        assert flag in proc.stdout, (flag, proc.stdout)


def test_version():
    proc = berth("version")
    assert proc.returncode == 0 and proc.stdout.startswith("berth "), proc
