"""Prometheus /metrics: parsed with prometheus_client's parser (Debian's
python3-prometheus-client), values that move with the API, and who may read
them (a bearer token on the API address; none on a separate loopback one);
then a real `prometheus` (Debian's package) scraping berth."""

import json
import os
import shutil
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from berth_compat import BerthServer, free_port, terminate, unique

NEURON_4 = [{"id": str(i), "type": "NEURON_DEVICE"} for i in range(4)]
RESOURCES = [
    {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
    {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
]


def token_of(server):
    with open(os.path.join(server.data_dir, "metrics-token")) as f:
        return f.read().strip()


def get(url, token=None):
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def scrape(server):
    status, headers, body = get(server.endpoint + "/metrics", token_of(server))
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(body)}


def value(families, family, name=None, **labels):
    """The sample's value; 0 when absent."""
    for sample in families[family].samples if family in families else []:
        if sample.name == (name or family) and all(
                sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return 0


def test_token_file_is_private(server):
    path = os.path.join(server.data_dir, "metrics-token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(token_of(server)) == 64


def test_api_address_needs_the_bearer_token(server):
    status, headers, body = get(server.endpoint + "/metrics")
    assert status == 401 and "Authorization: Bearer" in body
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, _, body = get(server.endpoint + "/metrics", "0" * 64)
    assert status == 401 and "metrics-token" in body
    status, _, _ = get(server.endpoint + "/metrics", token_of(server))
    assert status == 200


def test_values_move_with_the_api(server, ecs):
    cluster = unique("metrics")
    ecs.create_cluster(clusterName=cluster)
    raw = server.raw()
    resp = raw.call("RegisterContainerInstance", {
        "cluster": cluster, "totalResources": RESOURCES, "platformDevices": NEURON_4})
    assert resp.status == 200, resp
    family = unique("fam")
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "train", "image": "busybox", "cpu": 256, "memory": 512, "essential": True,
        "resourceRequirements": [{"type": "NeuronDevice", "value": "3"}]}])

    before = scrape(server)
    ran = ecs.run_task(cluster=cluster, taskDefinition=family)
    assert len(ran["tasks"]) == 1
    refused = ecs.run_task(cluster=cluster, taskDefinition=family)  # 1 device left
    assert refused["failures"][0]["reason"] == "RESOURCE:NEURON_DEVICE"
    after = scrape(server)

    ok = dict(service="ecs", operation="RunTask", code="200")
    assert value(after, "berth_api_requests", "berth_api_requests_total", **ok) == \
        value(before, "berth_api_requests", "berth_api_requests_total", **ok) + 2
    count = "berth_api_request_duration_seconds_count"
    assert value(after, "berth_api_request_duration_seconds", count, service="ecs",
                 operation="RunTask") >= 2
    assert after["berth_api_request_duration_seconds"].type == "histogram"
    assert value(after, "berth_placements", "berth_placements_total", cluster=cluster) == 1
    assert value(after, "berth_placement_failures", "berth_placement_failures_total",
                 cluster=cluster, reason="RESOURCE:NEURON_DEVICE") == 1
    assert value(after, "berth_tasks", cluster=cluster, status="PENDING") == 1
    assert value(after, "berth_tasks", cluster=cluster, status="RUNNING") == 0
    assert value(after, "berth_container_instances", cluster=cluster, status="ACTIVE") == 1
    assert value(after, "berth_neuron_devices", cluster=cluster) == 4
    assert value(after, "berth_neuron_devices_in_use", cluster=cluster) == 3
    assert value(after, "berth_gpus", cluster=cluster) == 0
    assert after["berth_store_commit_seconds"].type == "histogram"
    assert value(after, "berth_store_commit_seconds", "berth_store_commit_seconds_count") > 0
    assert "berth_agent_poll_connections" in after

    ecs.stop_task(cluster=cluster, task=ran["tasks"][0]["taskArn"])
    stopped = scrape(server)
    assert value(stopped, "berth_neuron_devices_in_use", cluster=cluster) == 0
    assert value(stopped, "berth_tasks", cluster=cluster, status="PENDING") == 0


def test_unknown_operations_share_one_label(server):
    raw = server.raw()
    raw.call("NoSuchOperation" + unique("x"), {})
    families = scrape(server)
    ops = {s.labels["operation"] for s in families["berth_api_requests"].samples}
    assert not any(op.startswith("NoSuchOperation") for op in ops)


def test_separate_loopback_address_needs_no_token(tmp_path, isolated_aws_env):
    port = free_port()
    srv = BerthServer(tmp_path / "data", tmp_path, ["--metrics-listen", f"127.0.0.1:{port}"])
    try:
        srv.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/metrics")
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert status == 200
        names = {f.name for f in text_string_to_metric_families(body)}
        assert "berth_tasks" in names
        # The API address no longer serves it.
        status, _, _ = get(srv.endpoint + "/metrics", token_of(srv))
        assert status == 404
    finally:
        srv.stop()


@pytest.mark.parametrize("address, words", [
    ("0.0.0.0:9100", "loopback"),
    ("127.0.0.1", "host:port"),
])
def test_bad_metrics_listen_is_one_line(tmp_path, address, words):
    from berth_compat import BERTH_BIN
    proc = subprocess.run([BERTH_BIN, "server", "--listen", f"127.0.0.1:{free_port()}",
                           "--data", str(tmp_path / "data"), "--metrics-listen", address],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode != 0
    out = (proc.stdout + proc.stderr).strip()
    assert "--metrics-listen" in out and words in out, out


PROMETHEUS = shutil.which("prometheus")


@pytest.mark.skipif(PROMETHEUS is None, reason="Debian's prometheus package is not installed")
def test_real_prometheus_scrapes_berth(server, tmp_path):
    port = free_port()
    token_file = tmp_path / "token"
    token_file.write_text(token_of(server))
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "berth",
            "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}],
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
        }],
    }))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()

    def query(q):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return json.load(resp)["data"]["result"]
        except (urllib.error.URLError, ConnectionError, KeyError):
            return []

    try:
        deadline = time.monotonic() + 60
        up = series = []
        while time.monotonic() < deadline:
            up = query('up{job="berth"} == 1')
            series = query('berth_api_requests_total{job="berth"}')
            if up and series:
                break
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-4000:]
            time.sleep(0.5)
        assert up, (tmp_path / "prometheus.log").read_text()[-4000:]
        assert series
    finally:
        terminate(proc, grace=15)
