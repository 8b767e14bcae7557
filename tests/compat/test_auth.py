"""SigV4 authentication: the server's credentials work, anything else is
refused with the error type AWS uses, and a refused request changes nothing."""

import datetime
import json

import pytest

from berth_compat import (TARGET_PREFIX, assert_refused, make_ecs_client, unique)


def cluster_exists(ecs, name):
    return bool(ecs.describe_clusters(clusters=[name])["clusters"])


def test_credentials_file_is_an_aws_shared_credentials_file(server, aws):
    # The aws CLI reads the file the server wrote, with nothing else set.
    rc, out, err = aws("ecs", "list-clusters", access_key=None,
                       env={"AWS_SHARED_CREDENTIALS_FILE": server.credentials_path})
    assert rc == 0, err
    assert isinstance(out["clusterArns"], list)


def test_wrong_secret_is_invalid_signature(server, ecs):
    bad = make_ecs_client(server.endpoint, server.access_key, server.secret_key + "x")
    name = unique("badsig")
    assert_refused(bad.create_cluster, "InvalidSignatureException", clusterName=name)
    assert_refused(bad.list_clusters, "InvalidSignatureException")
    assert not cluster_exists(ecs, name)


def test_unknown_access_key_is_unrecognized_client(server, ecs):
    bad = make_ecs_client(server.endpoint, "AKIAUNKNOWNUNKNOWN00", server.secret_key)
    name = unique("badkey")
    assert_refused(bad.create_cluster, "UnrecognizedClientException", clusterName=name)
    assert not cluster_exists(ecs, name)


def test_aws_cli_with_wrong_secret_fails(aws):
    rc, out, err = aws("ecs", "list-clusters", secret_key="not-the-secret")
    assert rc != 0
    assert "InvalidSignatureException" in err


def test_unsigned_request_is_missing_authentication_token(raw, ecs):
    name = unique("unsigned")
    resp = raw.call("CreateCluster", {"clusterName": name}, sign=False)
    assert resp.status in (400, 403), resp
    assert resp.error_type == "MissingAuthenticationTokenException", resp
    assert not cluster_exists(ecs, name)


def test_stale_signature_is_expired(raw, ecs):
    name = unique("stale")
    when = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
    resp = raw.call("CreateCluster", {"clusterName": name}, when=when)
    assert resp.status in (400, 403), resp
    assert resp.error_type == "InvalidSignatureException", resp
    assert "Signature expired" in resp.json["message"], resp
    assert not cluster_exists(ecs, name)


def test_signature_from_the_future_is_refused(raw, ecs):
    name = unique("future")
    when = datetime.datetime.utcnow() + datetime.timedelta(minutes=10)
    resp = raw.call("CreateCluster", {"clusterName": name}, when=when)
    assert resp.status in (400, 403), resp
    assert resp.error_type == "InvalidSignatureException", resp
    assert not cluster_exists(ecs, name)


def test_signature_a_minute_old_is_accepted(raw):
    when = datetime.datetime.utcnow() - datetime.timedelta(minutes=1)
    resp = raw.call("ListClusters", {}, when=when)
    assert resp.status == 200, resp


def test_body_changed_after_signing_is_invalid_signature(raw, ecs):
    name = unique("tampered")
    signed_body = json.dumps({"clusterName": unique("original")}).encode()
    headers = raw.signed_headers("CreateCluster", signed_body)
    resp = raw.send(headers, json.dumps({"clusterName": name}).encode())
    assert resp.status in (400, 403), resp
    assert resp.error_type == "InvalidSignatureException", resp
    assert not cluster_exists(ecs, name)


def test_target_changed_after_signing_is_invalid_signature(raw, ecs):
    name = unique("retarget")
    body = json.dumps({"clusterName": name}).encode()
    headers = raw.signed_headers("DescribeClusters", body)
    headers["X-Amz-Target"] = f"{TARGET_PREFIX}.CreateCluster"
    resp = raw.send(headers, body)
    assert resp.status in (400, 403), resp
    assert resp.error_type == "InvalidSignatureException", resp
    assert not cluster_exists(ecs, name)


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 garbage",
    "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/ecs/aws4_request",
    "Bearer abc",
], ids=["garbage", "no signature", "other scheme"])
def test_malformed_authorization_header_is_refused(raw, authorization):
    body = b"{}"
    headers = raw.signed_headers("ListClusters", body)
    headers["Authorization"] = authorization
    resp = raw.send(headers, body)
    assert resp.status in (400, 403), resp
    assert resp.error_type in ("IncompleteSignatureException", "InvalidSignatureException",
                               "MissingAuthenticationTokenException"), resp


def test_missing_date_is_refused(raw):
    body = b"{}"
    headers = raw.signed_headers("ListClusters", body)
    del headers["X-Amz-Date"]
    resp = raw.send(headers, body)
    assert resp.status in (400, 403), resp
    assert resp.error_type in ("IncompleteSignatureException", "InvalidSignatureException",
                               "MissingAuthenticationTokenException"), resp
