"""The AWS JSON 1.1 protocol itself: targets, bodies, error shape, request
ids, limits, and that the server keeps serving after abuse."""

import concurrent.futures
import http.client
import json
import socket
import time

import pytest

from berth_compat import JSON_CONTENT_TYPE, cluster_arn, make_ecs_client, unique


def cluster_exists(ecs, name):
    return bool(ecs.describe_clusters(clusters=[name])["clusters"])


def test_success_reply_shape(raw):
    resp = raw.call("ListClusters", {})
    assert resp.status == 200, resp
    assert resp.headers["content-type"].startswith(JSON_CONTENT_TYPE)
    assert resp.headers.get("x-amzn-requestid")
    assert isinstance(resp.json["clusterArns"], list)


def test_error_reply_shape(raw):
    resp = raw.call("DeleteCluster", {"cluster": unique("ghost")})
    assert resp.status == 400, resp
    assert resp.headers["content-type"].startswith(JSON_CONTENT_TYPE)
    assert resp.headers.get("x-amzn-requestid")
    body = resp.json
    assert body["__type"] == "ClusterNotFoundException"
    assert isinstance(body["message"], str) and body["message"]


def test_every_reply_has_a_distinct_request_id(ecs, raw):
    ids = [ecs.list_clusters()["ResponseMetadata"]["RequestId"] for _ in range(5)]
    ids.append(raw.call("NoSuchOperation", {}).headers.get("x-amzn-requestid"))
    ids.append(raw.call("ListClusters", {}, sign=False).headers.get("x-amzn-requestid"))
    ids.append(raw.call("CreateCluster", b"{").headers.get("x-amzn-requestid"))
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids


def test_unknown_operation(raw):
    resp = raw.call("LaunchRocket", {})
    assert resp.status == 400, resp
    assert resp.error_type == "UnknownOperationException", resp


def test_target_of_another_service(raw):
    body = b"{}"
    headers = raw.signed_headers(None, body, target="DynamoDB_20120810.ListTables")
    resp = raw.send(headers, body)
    assert resp.status == 400, resp
    assert resp.error_type == "UnknownOperationException", resp


def test_truncated_json_is_a_serialization_exception(raw, ecs):
    name = unique("truncated")
    resp = raw.call("CreateCluster", f'{{"clusterName": "{name}", "tags": ['.encode())
    assert resp.status == 400, resp
    assert resp.error_type == "SerializationException", resp
    assert not cluster_exists(ecs, name)


def test_non_utf8_body_is_a_serialization_exception(raw, ecs):
    name = unique("latin1")
    resp = raw.call("CreateCluster", b'{"clusterName": "' + name.encode() + b'\xff\xfe"}')
    assert resp.status == 400, resp
    assert resp.error_type == "SerializationException", resp
    assert not cluster_exists(ecs, name)


@pytest.mark.parametrize("body", [b"[]", b"42", b'"text"'])
def test_body_that_is_not_an_object_is_refused(raw, body):
    resp = raw.call("ListClusters", body)
    assert resp.status == 400, resp
    assert resp.error_type in ("SerializationException", "InvalidParameterException"), resp


def test_wrong_type_is_refused(raw, ecs):
    name = unique("wrongtype")
    resp = raw.call("CreateCluster", {"clusterName": name, "tags": "not-a-list"})
    assert resp.status == 400, resp
    assert resp.error_type in ("SerializationException", "InvalidParameterException"), resp
    assert not cluster_exists(ecs, name)


def test_unknown_members_are_accepted_and_kept(raw, ecs):
    name = unique("extra")
    resp = raw.call("CreateCluster", {"clusterName": name, "warpDrive": {"engaged": True}})
    assert resp.status == 200, resp
    assert resp.json["cluster"]["clusterArn"] == cluster_arn(name)
    assert resp.json["cluster"]["warpDrive"] == {"engaged": True}
    assert cluster_exists(ecs, name)


def test_keep_alive_connection_serves_many_requests(raw):
    conn = http.client.HTTPConnection(raw.host, raw.port, timeout=30)
    try:
        for _ in range(5):
            body = b"{}"
            conn.request("POST", "/", body=body, headers=raw.signed_headers("ListClusters", body))
            resp = conn.getresponse()
            assert resp.status == 200
            json.loads(resp.read())
    finally:
        conn.close()


def test_concurrent_creates(server, ecs):
    names = [unique("conc") for _ in range(16)]
    same = unique("same")

    def work(i):
        client = make_ecs_client(server.endpoint, server.access_key, server.secret_key)
        own = client.create_cluster(clusterName=names[i])["cluster"]["clusterArn"]
        shared = client.create_cluster(clusterName=same)["cluster"]["clusterArn"]
        return own, shared

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(16)))
    assert [own for own, _ in results] == [cluster_arn(n) for n in names]
    assert {shared for _, shared in results} == {cluster_arn(same)}
    listed = []
    token = None
    while True:
        page = ecs.list_clusters(**({"nextToken": token} if token else {}))
        listed += page["clusterArns"]
        token = page.get("nextToken")
        if not token:
            break
    assert listed.count(cluster_arn(same)) == 1
    assert set(cluster_arn(n) for n in names) <= set(listed)


def _read_status_line(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_huge_body_is_refused_and_the_server_still_serves(raw, ecs):
    """A 100 MiB request is refused (413 or another 4xx, or the connection is
    closed on it) without the server falling over."""
    name = unique("huge")
    size = 100 * 1024 * 1024
    prefix = f'{{"clusterName": "{name}", "padding": "'.encode()
    suffix = b'"}'
    filler = size - len(prefix) - len(suffix)
    # Sign the real payload so that only its size can be the reason to refuse it.
    body = prefix + b"a" * filler + suffix
    headers = raw.signed_headers("CreateCluster", body)
    headers["Content-Length"] = str(len(body))
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"

    started = time.monotonic()
    status_line = b""
    with socket.create_connection((raw.host, raw.port), timeout=30) as sock:
        try:
            sock.sendall(head.encode())
            view = memoryview(body)
            for offset in range(0, len(body), 1 << 20):
                sock.sendall(view[offset:offset + (1 << 20)])
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the server stopped reading: expected
        try:
            status_line = _read_status_line(sock)
        except (ConnectionResetError, socket.timeout):
            status_line = b""
    del body
    if status_line:
        status = int(status_line.split(b" ", 2)[1])
        assert 400 <= status < 500, status_line
    assert time.monotonic() - started < 60
    # Nothing was created, and the server answers the next request.
    assert not cluster_exists(ecs, name)
    assert ecs.create_cluster(clusterName=unique("after-huge"))["cluster"]["status"] == "ACTIVE"


def test_a_256_kib_body_is_served(raw, ecs):
    """Large but sane requests (a big task definition) are not refused for
    their size."""
    name = unique("big")
    padding = "a" * (256 * 1024)
    resp = raw.call("CreateCluster", {"clusterName": name, "padding": padding})
    assert resp.status == 200, resp
    assert cluster_exists(ecs, name)

