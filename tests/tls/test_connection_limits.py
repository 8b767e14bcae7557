"""The limits of berth server's listeners, seen by clients and in /metrics:
a client address over --max-connections-per-address gets a 503 with the
reason and is closed; a request head slower than --header-timeout gets a
408 and is closed while other clients are served. Over https, as a server
facing a network runs."""

import http.client
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from berth_compat import BERTH_BIN, BerthServer, aws_cli_env, free_port

PER_ADDRESS = 4
HEADER_TIMEOUT = 2


@pytest.fixture
def limited(tmp_path, ca, isolated_aws_env):
    """A server of the test's own with small limits, its /metrics on a
    loopback port of its own (no token, and not behind the API's limits)."""
    cert, key = ca.server(4001, prefix="limits")
    metrics_port = free_port()
    srv = BerthServer(tmp_path / "data", tmp_path,
                      extra_args=["--tls-cert", cert, "--tls-key", key,
                                  "--max-connections-per-address", PER_ADDRESS,
                                  "--header-timeout", HEADER_TIMEOUT,
                                  "--metrics-listen", f"127.0.0.1:{metrics_port}"],
                      ca_file=ca.cert)
    srv.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


def metric(srv, family, **labels):
    """A sample's value from the server's /metrics; 0 when absent."""
    with urllib.request.urlopen(srv.metrics_url, timeout=10) as resp:
        text = resp.read().decode()
    for f in text_string_to_metric_families(text):
        if f.name != family.removesuffix("_total"):
            continue
        for sample in f.samples:
            if sample.name == family and all(sample.labels.get(k) == v
                                             for k, v in labels.items()):
                return sample.value
    return 0


def connection(srv):
    return http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10,
                                       context=ssl.create_default_context(cafile=srv.ca_file))


def get(conn, path="/healthz"):
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.headers, resp.read().decode()  # headers: case-insensitive


def berth_cluster_ls(srv):
    return [BERTH_BIN, "cluster", "ls", "--ca-bundle", srv.ca_file]


def berth_cli_env(srv):
    return aws_cli_env(srv.access_key, srv.secret_key, {"AWS_ENDPOINT_URL": srv.endpoint})


def test_connections_over_the_per_address_limit_are_refused_with_the_reason(limited):
    held = [connection(limited) for _ in range(PER_ADDRESS)]
    try:
        for conn in held:
            assert get(conn)[0] == 200
        assert metric(limited, "berth_http_open_connections", listener="api") == PER_ADDRESS

        # One more from this address: 503, the reason, and the connection closed.
        extra = connection(limited)
        status, headers, body = get(extra)
        extra.close()
        assert status == 503
        assert body == (f"too many connections from 127.0.0.1 (at most {PER_ADDRESS} per client "
                        f"address); try again later\n")
        assert headers["Connection"] == "close"
        assert headers["Retry-After"] == "1"

        # The berth CLI tries again for about 4 s (4 more times), then shows
        # the reason in one line.
        proc = subprocess.run(berth_cluster_ls(limited), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60,
                              env=berth_cli_env(limited))
        assert proc.returncode == 1
        assert proc.stderr == ("berth cluster ls: ListClusters: server answered 503: too many "
                               f"connections from 127.0.0.1 (at most {PER_ADDRESS} per client "
                               "address); try again later\n")
        assert metric(limited, "berth_http_connections_refused_total", listener="api",
                      limit="connections_per_address") == 6

        # A refusal that ends while the CLI waits is waited out: the call
        # goes through once a held connection closes.
        waiting = subprocess.Popen(berth_cluster_ls(limited), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=berth_cli_env(limited))
        try:
            deadline = time.monotonic() + 10
            while metric(limited, "berth_http_connections_refused_total", listener="api",
                         limit="connections_per_address") < 7:
                assert time.monotonic() < deadline, "the CLI was not refused"
                time.sleep(0.05)
            held.pop().close()
            out, err = waiting.communicate(timeout=30)
        finally:
            waiting.kill()
            waiting.wait()
        assert (waiting.returncode, err) == (0, "")
        assert out.startswith("NAME  STATUS  NODES"), out

        # The connections held go on being served.
        for conn in held:
            assert get(conn)[0] == 200
    finally:
        for conn in held:
            conn.close()

    # Once they are closed, new ones are admitted again.
    deadline = time.monotonic() + 10
    while True:
        conn = connection(limited)
        try:
            if get(conn)[0] == 200:
                break
        finally:
            conn.close()
        assert time.monotonic() < deadline, "no connection admitted after the held ones closed"
        time.sleep(0.1)
    assert limited.client().list_clusters()["clusterArns"] == []


def test_a_slow_request_head_is_closed_while_another_client_is_served(limited):
    context = ssl.create_default_context(cafile=limited.ca_file)
    slow = context.wrap_socket(socket.create_connection(("127.0.0.1", limited.port), timeout=15),
                               server_hostname="127.0.0.1")
    ecs = limited.client()
    try:
        start = time.monotonic()
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        served = 0
        # A byte every 0.3 s, for longer than the deadline, while boto3 calls
        # go through on their own connection.
        for i in range(12):
            try:
                slow.sendall(head[i:i + 1])
            except OSError:
                break
            assert ecs.list_clusters()["clusterArns"] == []
            served += 1
            time.sleep(0.3)
        reply = b""
        while True:
            piece = slow.recv(4096)
            if not piece:
                break
            reply += piece
        elapsed = time.monotonic() - start
    finally:
        slow.close()
    assert served >= 6
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), reply
    assert reply.endswith(f"request head not received within {HEADER_TIMEOUT} s; "
                          "closing\n".encode()), reply
    assert HEADER_TIMEOUT <= elapsed < HEADER_TIMEOUT + 5
    assert metric(limited, "berth_http_connections_closed_total", listener="api",
                  reason="header_timeout") == 1
    assert limited.alive()
