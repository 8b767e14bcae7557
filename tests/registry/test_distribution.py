"""OCI distribution spec 1.1 conformance, with raw HTTP.

Every endpoint of the spec (end-1 .. end-13, plus upload cancel and
_catalog) and every error code a client can provoke, driven by hand with
http.client (and raw sockets for malformed requests), authorised with Basic
auth as ECR issues it (user AWS, password from GetAuthorizationToken).

Repositories are created through the ECR API first: the shared `server`
runs without --create-repository-on-push. `push_server` has it on.
"""

import re
import threading
import time
import urllib.parse

import pytest

from berth_compat import error_code, unique
from berth_registry import (
    DOCKER_LIST, DOCKER_MANIFEST, EMPTY_JSON, KIB, MIB, OCI_INDEX, OCI_MANIFEST,
    Blob, Registry, artifact_manifest, assert_oci_error, basic_auth, build_image, index_manifest,
    ecr_client_for, manifest_json, random_bytes, raw_exchange, registry_for, repository_uri,
    request_head, sha256, small_image, status_codes)


def octet(extra=None):
    headers = {"Content-Type": "application/octet-stream"}
    headers.update(extra or {})
    return headers


def next_link(resp):
    """The target of a Link: <...>; rel="next" header, as a path, or None."""
    link = resp.headers.get("link")
    if not link:
        return None
    m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', link)
    assert m, f"Link header without rel=next: {link!r}"
    parts = urllib.parse.urlsplit(m.group(1))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def follow_pages(registry, path, key):
    """GETs path and every rel=next page; returns the list of pages (lists
    under key)."""
    pages = []
    seen = set()
    while path:
        assert path not in seen, f"pagination loops back to {path}"
        seen.add(path)
        resp = registry.request("GET", path)
        assert resp.status == 200, resp
        pages.append(resp.json.get(key) or [])
        path = next_link(resp)
        assert len(pages) < 1000, "pagination does not end"
    return pages


# --- end-1: the base endpoint and authentication ---------------------------

def test_base_endpoint_answers_200_when_authorised(registry):
    resp = registry.request("GET", "/v2/")
    assert resp.status == 200, resp


def test_base_endpoint_without_credentials_is_401_with_basic_challenge(registry):
    resp = registry.request("GET", "/v2/", auth=False)
    assert resp.status == 401, resp
    challenge = resp.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("basic"), f"challenge is not Basic: {challenge!r}"
    assert 'realm="berth"' in challenge, f"challenge without realm=\"berth\": {challenge!r}"
    assert_oci_error(resp, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("how", ["wrong-password", "wrong-user", "not-basic", "not-base64",
                                 "no-colon", "empty-password"])
def test_bad_credentials_are_401(registry, how):
    good = registry.password
    header = {
        "wrong-password": basic_auth("AWS", good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")),
        "wrong-user": basic_auth("admin", good),
        "not-basic": f"Bearer {good}",
        "not-base64": "Basic !!!not-base64!!!",
        "no-colon": "Basic " + __import__("base64").b64encode(b"AWS" + good.encode()).decode(),
        "empty-password": basic_auth("AWS", ""),
    }[how]
    resp = registry.request("GET", "/v2/", auth=False, headers={"Authorization": header})
    assert resp.status == 401, resp
    assert "www-authenticate" in resp.headers, resp
    assert_oci_error(resp, 401, "UNAUTHORIZED")


def test_token_of_another_server_is_refused(registry, push_registry):
    """Each server signs tokens with its own keys: a password minted by
    push_server opens nothing on server."""
    foreign = Registry(registry.port, "AWS", push_registry.password)
    resp = foreign.request("GET", "/v2/")
    assert_oci_error(resp, 401, "UNAUTHORIZED")


def test_every_endpoint_requires_credentials(registry, repo):
    image = small_image()
    registry.push_image(repo, image, "v1")
    blob = image.layers[0].digest
    start = registry.start_upload(repo)
    assert start.status == 202, start
    upload = Registry.location_path(start)
    attempts = [
        ("GET", f"/v2/{repo}/tags/list"),
        ("GET", "/v2/_catalog"),
        ("GET", f"/v2/{repo}/manifests/v1"),
        ("HEAD", f"/v2/{repo}/manifests/v1"),
        ("GET", f"/v2/{repo}/blobs/{blob}"),
        ("HEAD", f"/v2/{repo}/blobs/{blob}"),
        ("GET", f"/v2/{repo}/referrers/{image.digest}"),
        ("POST", f"/v2/{repo}/blobs/uploads/"),
        ("GET", upload),
        ("PATCH", upload),
        ("PUT", Registry.with_query(upload, digest=sha256(b""))),
        ("DELETE", upload),
        ("PUT", f"/v2/{repo}/manifests/v2"),
        ("DELETE", f"/v2/{repo}/manifests/v1"),
        ("DELETE", f"/v2/{repo}/manifests/{image.digest}"),
        ("DELETE", f"/v2/{repo}/blobs/{blob}"),
    ]
    for method, path in attempts:
        body = image.manifest if path.endswith("/manifests/v2") else None
        resp = registry.request(method, path, body, auth=False,
                                headers={"Content-Type": OCI_MANIFEST} if body else None)
        assert resp.status == 401, f"{method} {path} without credentials: {resp!r}"
        if method != "HEAD":
            assert_oci_error(resp, 401, "UNAUTHORIZED")
    # Nothing the refused requests asked for happened.
    assert registry.get_manifest(repo, "v1").body == image.manifest
    assert registry.get_manifest(repo, "v2").status == 404
    assert registry.blob_exists(repo, blob)
    assert registry.request("GET", upload).status == 204


# --- blob uploads (end-4a, end-4b, end-5, end-6, end-13) --------------------

def test_monolithic_upload_with_post_digest(registry, repo):
    data = random_bytes(unique("mono"), 100 * KIB)
    digest = sha256(data)
    resp = registry.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data, octet())
    assert resp.status == 201, resp
    assert resp.headers.get("docker-content-digest") == digest, resp
    location = Registry.location_path(resp)
    assert location.endswith(f"/blobs/{digest}"), location
    assert registry.request("GET", location).body == data

    head = registry.request("HEAD", f"/v2/{repo}/blobs/{digest}")
    assert head.status == 200, head
    assert head.headers.get("content-length") == str(len(data)), head
    assert head.headers.get("docker-content-digest") == digest, head
    got = registry.get_blob(repo, digest)
    assert got.status == 200, got
    assert got.body == data
    assert got.headers.get("docker-content-digest") == digest, got


def test_upload_with_post_then_put(registry, repo):
    data = random_bytes(unique("postput"), 300 * KIB)
    digest = sha256(data)
    start = registry.start_upload(repo)
    assert start.status == 202, start
    location = Registry.location_path(start)
    assert "/blobs/uploads/" in location, location
    assert not registry.blob_exists(repo, digest)
    done = registry.request("PUT", Registry.with_query(location, digest=digest), data, octet())
    assert done.status == 201, done
    assert done.headers.get("docker-content-digest") == digest, done
    assert Registry.location_path(done).endswith(f"/blobs/{digest}")
    assert registry.get_blob(repo, digest).body == data


@pytest.mark.parametrize("last_chunk_in_put", [False, True], ids=["put-empty", "put-last-chunk"])
def test_chunked_upload_in_order(registry, repo, last_chunk_in_put):
    data = random_bytes(unique("chunked"), 2 * MIB + 12345)
    digest = sha256(data)
    cuts = [0, MIB, 2 * MIB + 7, len(data)]
    start = registry.start_upload(repo)
    assert start.status == 202, start
    location = Registry.location_path(start)
    chunks = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    patched = chunks[:-1] if last_chunk_in_put else chunks
    offset = 0
    for chunk in patched:
        resp = registry.patch_chunk(location, chunk, offset)
        assert resp.status == 202, f"PATCH at {offset}: {resp!r}"
        offset += len(chunk)
        assert resp.headers.get("range") == f"0-{offset - 1}", resp
        location = Registry.location_path(resp)
    assert not registry.blob_exists(repo, digest), "a blob is visible before its upload is closed"
    body = chunks[-1] if last_chunk_in_put else None
    headers = octet() if body else None
    done = registry.request("PUT", Registry.with_query(location, digest=digest), body, headers)
    assert done.status == 201, done
    assert done.headers.get("docker-content-digest") == digest, done
    assert registry.get_blob(repo, digest).body == data


def test_streamed_patch_without_content_range(registry, repo):
    """Docker and containerd PATCH the whole blob without Content-Range."""
    data = random_bytes(unique("stream"), 700 * KIB)
    digest = sha256(data)
    start = registry.start_upload(repo)
    location = Registry.location_path(start)
    resp = registry.request("PATCH", location, data, octet())
    assert resp.status == 202, resp
    assert resp.headers.get("range") == f"0-{len(data) - 1}", resp
    done = registry.request("PUT", Registry.with_query(Registry.location_path(resp), digest=digest))
    assert done.status == 201, done
    assert registry.get_blob(repo, digest).body == data


def test_out_of_order_chunk_is_416_and_upload_goes_on(registry, repo):
    data = random_bytes(unique("ooo"), 64 * KIB)
    digest = sha256(data)
    location = Registry.location_path(registry.start_upload(repo))
    first = registry.patch_chunk(location, data[:16 * KIB], 0)
    assert first.status == 202, first
    location = Registry.location_path(first)

    gap = registry.patch_chunk(location, data[32 * KIB:48 * KIB], 32 * KIB)
    assert gap.status == 416, f"a chunk past the end of the upload: {gap!r}"
    overlap = registry.patch_chunk(location, data[:16 * KIB], 0)
    assert overlap.status == 416, f"a chunk that starts inside the upload: {overlap!r}"

    status = registry.request("GET", location)
    assert status.status == 204, status
    assert status.headers.get("range") == f"0-{16 * KIB - 1}", (
        f"the refused chunks changed the upload: {status!r}")
    rest = registry.patch_chunk(location, data[16 * KIB:], 16 * KIB)
    assert rest.status == 202, rest
    done = registry.request("PUT", Registry.with_query(Registry.location_path(rest), digest=digest))
    assert done.status == 201, done
    assert registry.get_blob(repo, digest).body == data


def test_upload_status(registry, repo):
    location = Registry.location_path(registry.start_upload(repo))
    resp = registry.patch_chunk(location, b"x" * 1000, 0)
    assert resp.status == 202, resp
    location = Registry.location_path(resp)
    status = registry.request("GET", location)
    assert status.status == 204, status
    assert status.body == b""
    assert status.headers.get("range") == "0-999", status
    assert "/blobs/uploads/" in Registry.location_path(status)
    more = registry.patch_chunk(Registry.location_path(status), b"y" * 24, 1000)
    assert more.status == 202, more
    assert registry.request("GET", Registry.location_path(more)).headers.get("range") == "0-1023"


def test_cancel_upload(registry, repo):
    data = random_bytes(unique("cancel"), 10 * KIB)
    location = Registry.location_path(registry.start_upload(repo))
    resp = registry.patch_chunk(location, data, 0)
    assert resp.status == 202, resp
    location = Registry.location_path(resp)
    deleted = registry.request("DELETE", location)
    assert deleted.status == 204, deleted
    assert_oci_error(registry.request("GET", location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_oci_error(registry.patch_chunk(location, data, len(data)), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_oci_error(registry.request("PUT", Registry.with_query(location, digest=sha256(data))),
                     404, "BLOB_UPLOAD_UNKNOWN")
    assert_oci_error(registry.request("DELETE", location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not registry.blob_exists(repo, sha256(data))


def test_unknown_upload_id_is_blob_upload_unknown(registry, repo):
    path = f"/v2/{repo}/blobs/uploads/{unique('nosuchupload')}"
    assert_oci_error(registry.request("GET", path), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_oci_error(registry.request("PATCH", path, b"abc", octet()), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_oci_error(registry.request("PUT", Registry.with_query(path, digest=sha256(b"abc")), b"abc",
                                      octet()), 404, "BLOB_UPLOAD_UNKNOWN")


def test_upload_of_one_repository_cannot_be_completed_in_another(registry, make_repo):
    a, b = make_repo(), make_repo()
    data = random_bytes(unique("xrepo"), 4 * KIB)
    location = Registry.location_path(registry.start_upload(a))
    upload_id = location.split("/blobs/uploads/", 1)[1].split("?", 1)[0]
    other = f"/v2/{b}/blobs/uploads/{upload_id}"
    resp = registry.request("PUT", Registry.with_query(other, digest=sha256(data)), data, octet())
    assert_oci_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    assert not registry.blob_exists(b, sha256(data))


@pytest.mark.parametrize("flow", ["monolithic", "post-put", "chunked"])
def test_wrong_digest_is_digest_invalid_and_stores_nothing(registry, repo, flow):
    data = random_bytes(unique("wrong"), 50 * KIB)
    claimed = sha256(data + b"!")
    if flow == "monolithic":
        resp = registry.request("POST", f"/v2/{repo}/blobs/uploads/?digest={claimed}", data, octet())
    else:
        location = Registry.location_path(registry.start_upload(repo))
        body = data
        if flow == "chunked":
            patched = registry.patch_chunk(location, data, 0)
            assert patched.status == 202, patched
            location, body = Registry.location_path(patched), None
        resp = registry.request("PUT", Registry.with_query(location, digest=claimed), body,
                                octet() if body else None)
    assert_oci_error(resp, 400, "DIGEST_INVALID")
    for digest in (claimed, sha256(data)):
        assert not registry.blob_exists(repo, digest), f"{digest} exists after a refused upload"
        assert_oci_error(registry.get_blob(repo, digest), 404, "BLOB_UNKNOWN")


@pytest.mark.parametrize("digest", [
    "sha256:abc",
    "sha256:" + "A" * 64,
    "sha256:" + "g" * 64,
    "sha256" + "0" * 64,
    "nonsense",
    "sha256:" + "0" * 63 + ":",
])
def test_malformed_digest_is_digest_invalid(registry, repo, digest):
    data = b"malformed digest test"
    quoted = urllib.parse.quote(digest, safe=":")
    resp = registry.request("POST", f"/v2/{repo}/blobs/uploads/?digest={quoted}", data, octet())
    assert_oci_error(resp, 400, ("DIGEST_INVALID", "UNSUPPORTED"))
    assert not registry.blob_exists(repo, sha256(data))


def test_unsupported_digest_algorithm_is_refused(registry, repo):
    data = b"md5 is not a registry digest"
    resp = registry.request("POST", f"/v2/{repo}/blobs/uploads/?digest=md5:{'0' * 32}", data,
                            octet())
    assert_oci_error(resp, 400, ("DIGEST_INVALID", "UNSUPPORTED"))


def test_sha512_digest(registry, repo):
    """OCI distribution 1.1: registries SHOULD accept sha512 digests."""
    import hashlib
    data = random_bytes(unique("sha512"), 10 * KIB)
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    resp = registry.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data, octet())
    assert resp.status == 201, resp
    assert resp.headers.get("docker-content-digest") == digest, resp
    assert registry.get_blob(repo, digest).body == data


# --- malformed bodies on raw sockets: the server must not hang --------------

def test_body_shorter_than_content_length_stores_nothing(server, registry, repo):
    data = random_bytes(unique("short"), 64 * KIB)
    digest = sha256(data)
    head = request_head("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(data)),
    })
    raw = raw_exchange(server.port, head, [data[:20 * KIB]])
    assert not any(200 <= c < 300 for c in status_codes(raw)), f"a truncated body was accepted: {raw[:300]!r}"
    assert not registry.blob_exists(repo, digest)
    assert not registry.blob_exists(repo, sha256(data[:20 * KIB]))


def test_patch_shorter_than_content_length_leaves_no_blob(server, registry, repo):
    data = random_bytes(unique("shortpatch"), 64 * KIB)
    location = Registry.location_path(registry.start_upload(repo))
    head = request_head("PATCH", location, server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": "application/octet-stream",
        "Content-Range": f"0-{len(data) - 1}",
        "Content-Length": str(len(data)),
    })
    raw = raw_exchange(server.port, head, [data[:20 * KIB]])
    assert not any(200 <= c < 300 for c in status_codes(raw)), f"a truncated chunk was accepted: {raw[:300]!r}"
    status = registry.request("GET", location)
    if status.status == 204:
        rng = status.headers.get("range", "0-0")
        end = int(rng.split("-")[1])
        assert end < 20 * KIB, f"the upload claims bytes it never received: {status!r}"
    else:
        assert_oci_error(status, 404, "BLOB_UPLOAD_UNKNOWN")
    assert not registry.blob_exists(repo, sha256(data))


def test_body_longer_than_content_length(server, registry, repo):
    """The bytes past Content-Length are not part of the blob: with the
    digest of the whole data the upload is refused, and the extra bytes are
    answered as a (bad) next request or the connection is closed."""
    data = random_bytes(unique("long"), 64 * KIB)
    digest = sha256(data)
    head = request_head("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(32 * KIB),
    })
    raw = raw_exchange(server.port, head, [data])
    codes = status_codes(raw)
    assert codes, f"no reply at all: {raw[:300]!r}"
    assert codes[0] == 400 and b"DIGEST_INVALID" in raw, f"first reply: {raw[:400]!r}"
    assert not any(200 <= c < 300 for c in codes), raw[:600]
    assert not registry.blob_exists(repo, digest)
    assert not registry.blob_exists(repo, sha256(data[:32 * KIB]))


def test_bytes_after_a_complete_request_are_not_part_of_it(server, registry, repo):
    data = random_bytes(unique("extra"), 32 * KIB)
    digest = sha256(data)
    head = request_head("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(data)),
    })
    raw = raw_exchange(server.port, head, [data + b"\x00garbage that is no request\r\n\r\n"])
    codes = status_codes(raw)
    assert codes and codes[0] == 201, f"the complete request was not accepted: {raw[:400]!r}"
    assert all(c >= 400 for c in codes[1:]), raw[:600]
    assert registry.get_blob(repo, digest).body == data


def test_client_disconnecting_mid_patch(server, registry, repo):
    data = random_bytes(unique("drop"), MIB)
    location = Registry.location_path(registry.start_upload(repo))
    head = request_head("PATCH", location, server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": "application/octet-stream",
        "Content-Range": f"0-{len(data) - 1}",
        "Content-Length": str(len(data)),
    })
    import socket
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head + data[:300 * KIB])
    sock.close()  # gone mid-body
    time.sleep(0.5)
    status = registry.request("GET", location)
    if status.status == 204:
        end = int(status.headers.get("range", "0-0").split("-")[1])
        assert end < 300 * KIB, f"the upload claims bytes it never received: {status!r}"
    else:
        assert_oci_error(status, 404, "BLOB_UPLOAD_UNKNOWN")
    assert not registry.blob_exists(repo, sha256(data))
    assert not registry.blob_exists(repo, sha256(data[:300 * KIB]))
    assert registry.request("GET", "/v2/").status == 200


def test_client_disconnecting_mid_monolithic_upload(server, registry, repo):
    data = random_bytes(unique("dropmono"), MIB)
    digest = sha256(data)
    head = request_head("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(data)),
    })
    import socket
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head + data[:300 * KIB])
    sock.close()
    time.sleep(0.5)
    assert not registry.blob_exists(repo, digest)
    # The same blob can still be pushed whole afterwards.
    assert registry.push_blob(repo, data) == digest
    assert registry.get_blob(repo, digest).body == data


def test_concurrent_uploads_of_the_same_blob_all_succeed(registry, repo):
    data = random_bytes(unique("race"), MIB + 17)
    digest = sha256(data)
    n = 4
    barrier = threading.Barrier(n)
    results = [None] * n

    def push(i):
        try:
            if i % 2:
                start = registry.start_upload(repo)
                location = Registry.location_path(start)
                half = len(data) // 2
                r1 = registry.patch_chunk(location, data[:half], 0)
                r2 = registry.patch_chunk(Registry.location_path(r1), data[half:], half)
                barrier.wait(timeout=30)
                results[i] = registry.request(
                    "PUT", Registry.with_query(Registry.location_path(r2), digest=digest))
            else:
                barrier.wait(timeout=30)
                results[i] = registry.request(
                    "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data, octet())
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=push, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for i, r in enumerate(results):
        assert not isinstance(r, Exception), f"client {i}: {r!r}"
        assert r.status == 201, f"client {i}: {r!r}"
        assert r.headers.get("docker-content-digest") == digest
    assert registry.get_blob(repo, digest).body == data


# --- cross-repository mount (end-11) ----------------------------------------

def test_cross_repository_mount(registry, make_repo):
    source, target = make_repo("src"), make_repo("dst")
    data = random_bytes(unique("mount"), 200 * KIB)
    digest = registry.push_blob(source, data)
    assert not registry.blob_exists(target, digest)
    resp = registry.request("POST", f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}")
    assert resp.status == 201, resp
    assert resp.headers.get("docker-content-digest") == digest, resp
    assert Registry.location_path(resp).endswith(f"/{target}/blobs/{digest}"), resp
    assert registry.get_blob(target, digest).body == data
    # The mounted blob belongs to target now: deleting it from source keeps it there.
    assert registry.request("DELETE", f"/v2/{source}/blobs/{digest}").status == 202
    assert not registry.blob_exists(source, digest)
    assert registry.get_blob(target, digest).body == data


@pytest.mark.parametrize("case", ["blob-elsewhere", "blob-nowhere", "from-missing-repo"])
def test_mount_falls_back_to_an_upload(registry, make_repo, case):
    holder, source, target = make_repo("holder"), make_repo("src"), make_repo("dst")
    data = random_bytes(unique("nomount"), 20 * KIB)
    digest = sha256(data)
    if case == "blob-elsewhere":
        registry.push_blob(holder, data)  # in the registry, but not in `from`
    from_repo = unique("nosuchrepo") if case == "from-missing-repo" else source
    resp = registry.request("POST", f"/v2/{target}/blobs/uploads/?mount={digest}&from={from_repo}")
    assert resp.status == 202, f"mount of a blob `from` lacks must fall back to an upload: {resp!r}"
    assert not registry.blob_exists(target, digest)
    done = registry.request("PUT", Registry.with_query(Registry.location_path(resp), digest=digest),
                            data, octet())
    assert done.status == 201, done
    assert registry.get_blob(target, digest).body == data


def test_blob_of_one_repository_is_not_visible_in_another(registry, make_repo):
    a, b = make_repo(), make_repo()
    digest = registry.push_blob(a, random_bytes(unique("private"), 8 * KIB))
    assert registry.request("HEAD", f"/v2/{b}/blobs/{digest}").status == 404
    assert_oci_error(registry.get_blob(b, digest), 404, "BLOB_UNKNOWN")


# --- blob reads (end-2) -----------------------------------------------------

def test_blob_range_requests(registry, repo):
    data = random_bytes(unique("range"), 100 * KIB)
    digest = registry.push_blob(repo, data)
    size = len(data)

    part = registry.get_blob(repo, digest, {"Range": "bytes=10-19"})
    assert part.status == 206, part
    assert part.body == data[10:20]
    assert part.headers.get("content-range") == f"bytes 10-19/{size}", part
    assert part.headers.get("content-length") == "10", part

    tail = registry.get_blob(repo, digest, {"Range": f"bytes={size - 1000}-"})
    assert tail.status == 206, tail
    assert tail.body == data[-1000:]
    assert tail.headers.get("content-range") == f"bytes {size - 1000}-{size - 1}/{size}", tail

    past = registry.get_blob(repo, digest, {"Range": f"bytes={size + 10}-{size + 20}"})
    assert past.status == 416, past
    if "content-range" in past.headers:
        assert past.headers["content-range"] == f"bytes */{size}", past

    head = registry.request("HEAD", f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert head.status in (200, 206), head
    if head.status == 206:
        assert head.headers.get("content-range") == f"bytes 10-19/{size}", head

    whole = registry.get_blob(repo, digest)
    assert whole.status == 200 and whole.body == data


def test_unknown_blob(registry, repo):
    digest = sha256(unique("never-pushed").encode())
    assert registry.request("HEAD", f"/v2/{repo}/blobs/{digest}").status == 404
    assert_oci_error(registry.get_blob(repo, digest), 404, "BLOB_UNKNOWN")


def test_delete_blob(registry, repo):
    data = random_bytes(unique("delblob"), 4 * KIB)
    digest = registry.push_blob(repo, data)
    resp = registry.request("DELETE", f"/v2/{repo}/blobs/{digest}")
    assert resp.status == 202, resp
    assert registry.request("HEAD", f"/v2/{repo}/blobs/{digest}").status == 404
    assert_oci_error(registry.get_blob(repo, digest), 404, "BLOB_UNKNOWN")
    assert_oci_error(registry.request("DELETE", f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


# --- manifests (end-3, end-7, end-9) ----------------------------------------

def check_manifest_reads(registry, repo, image, *refs):
    for ref in refs:
        got = registry.get_manifest(repo, ref)
        assert got.status == 200, f"GET {repo}:{ref}: {got!r}"
        assert got.body == image.manifest, f"GET {repo}:{ref} is not byte-identical to the push"
        assert got.headers.get("content-type") == image.media_type, got
        assert got.headers.get("docker-content-digest") == image.digest, got
        head = registry.get_manifest(repo, ref, method="HEAD")
        assert head.status == 200, f"HEAD {repo}:{ref}: {head!r}"
        assert head.body == b""
        assert head.headers.get("content-length") == str(len(image.manifest)), head
        assert head.headers.get("docker-content-digest") == image.digest, head
        assert head.headers.get("content-type") == image.media_type, head


def test_manifest_push_by_tag_and_pull_by_tag_and_digest(registry, repo, image):
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    resp = registry.put_manifest(repo, "v1", image.manifest, image.media_type)
    assert resp.status == 201, resp
    assert resp.headers.get("docker-content-digest") == image.digest, resp
    assert "location" in resp.headers, resp
    check_manifest_reads(registry, repo, image, "v1", image.digest)
    assert registry.tags(repo) == ["v1"]


def test_manifest_push_by_digest(registry, repo):
    image = small_image()
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    resp = registry.put_manifest(repo, image.digest, image.manifest, image.media_type)
    assert resp.status == 201, resp
    assert resp.headers.get("docker-content-digest") == image.digest, resp
    check_manifest_reads(registry, repo, image, image.digest)
    assert registry.tags(repo) == []


def test_manifest_push_by_mismatched_digest(registry, repo):
    image = small_image()
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    wrong = sha256(image.manifest + b" ")
    resp = registry.put_manifest(repo, wrong, image.manifest, image.media_type)
    assert_oci_error(resp, 400, ("DIGEST_INVALID", "MANIFEST_INVALID"))
    assert registry.get_manifest(repo, wrong).status == 404
    assert registry.get_manifest(repo, image.digest).status == 404


def test_tag_moves_to_the_new_manifest_and_the_old_stays_by_digest(registry, repo):
    first, second = small_image(), small_image()
    registry.push_image(repo, first, "latest", "v1")
    registry.push_image(repo, second, "latest")
    check_manifest_reads(registry, repo, second, "latest", second.digest)
    check_manifest_reads(registry, repo, first, "v1", first.digest)


def test_unknown_manifest(registry, repo):
    assert_oci_error(registry.get_manifest(repo, "nosuchtag"), 404, "MANIFEST_UNKNOWN")
    digest = sha256(unique("nomanifest").encode())
    assert_oci_error(registry.get_manifest(repo, digest), 404, "MANIFEST_UNKNOWN")
    assert registry.get_manifest(repo, "nosuchtag", method="HEAD").status == 404


def test_unknown_repository_is_name_unknown(registry):
    name = unique("nosuchrepo")
    assert_oci_error(registry.get_manifest(name, "latest"), 404, "NAME_UNKNOWN")
    assert_oci_error(registry.request("GET", f"/v2/{name}/tags/list"), 404, "NAME_UNKNOWN")
    assert_oci_error(registry.get_blob(name, sha256(b"x")), 404, ("NAME_UNKNOWN", "BLOB_UNKNOWN"))


@pytest.mark.parametrize("missing", ["layer", "config"])
def test_manifest_referencing_a_missing_blob(registry, repo, missing):
    image = small_image()
    absent = image.layers[1] if missing == "layer" else image.config
    for blob in image.blobs:
        if blob is not absent:
            registry.push_blob(repo, blob.data)
    resp = registry.put_manifest(repo, "v1", image.manifest, image.media_type)
    assert_oci_error(resp, (400, 404), "MANIFEST_BLOB_UNKNOWN")
    assert_oci_error(registry.get_manifest(repo, "v1"), 404, "MANIFEST_UNKNOWN")
    assert registry.get_manifest(repo, image.digest).status == 404


def _manifest_obj(image):
    import json
    return json.loads(image.manifest)


@pytest.mark.parametrize("case", ["not-json", "truncated-json", "json-array",
                                  "media-type-mismatch", "no-config", "bad-layer-digest"])
def test_invalid_manifest_is_manifest_invalid(registry, repo, case):
    image = small_image()
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    obj = _manifest_obj(image)
    content_type = OCI_MANIFEST
    if case == "not-json":
        body = b"this is not a manifest"
    elif case == "truncated-json":
        body = image.manifest[: len(image.manifest) // 2]
    elif case == "json-array":
        body = b"[1, 2, 3]"
    elif case == "media-type-mismatch":
        body = image.manifest  # its mediaType field says OCI
        content_type = DOCKER_MANIFEST
    elif case == "no-config":
        del obj["config"]
        body = manifest_json(obj)
    else:
        obj["layers"][0]["digest"] = "sha256:not-hex"
        body = manifest_json(obj)
    resp = registry.put_manifest(repo, "v1", body, content_type)
    assert_oci_error(resp, 400, ("MANIFEST_INVALID", "DIGEST_INVALID") if case == "bad-layer-digest"
                     else "MANIFEST_INVALID")
    assert registry.get_manifest(repo, "v1").status == 404
    assert registry.tags(repo) == []


def test_five_mib_manifest_is_refused(server, registry, repo):
    image = small_image()
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    obj = _manifest_obj(image)
    obj["annotations"] = {"berth.test.padding": "x" * (5 * MIB)}
    body = manifest_json(obj)
    head = request_head("PUT", f"/v2/{repo}/manifests/big", server.port, {
        "Authorization": registry.auth_header(),
        "Content-Type": OCI_MANIFEST,
        "Content-Length": str(len(body)),
    })
    raw = raw_exchange(server.port, head, [body[i:i + 256 * KIB] for i in range(0, len(body), 256 * KIB)],
                       timeout=30)
    codes = status_codes(raw)
    assert codes, f"no reply to a 5 MiB manifest (connection closed or reset): {raw[:300]!r}"
    assert codes[0] == 413 or (codes[0] == 400 and (b"MANIFEST_INVALID" in raw or b"SIZE_INVALID" in raw)), (
        f"a 5 MiB manifest: {raw[:500]!r}")
    assert registry.get_manifest(repo, "big").status == 404


INVALID_NAMES = [
    "UpperCase",
    "a/../b",
    "%2e%2e",
    "x/%2e%2e/y",
    "a" * 300,
    "-leading-dash",
    "trailing-dash-",
    "a//b",
    "with%20space",
]


@pytest.mark.parametrize("name", INVALID_NAMES, ids=lambda n: n if len(n) < 30 else f"{len(n)}-chars")
def test_invalid_repository_name_is_name_invalid(push_registry, push_ecr, name):
    """On the create-on-push server, so that a missing repository is no
    excuse: the name itself is refused, and nothing is created."""
    before = {r["repositoryName"] for r in push_ecr.describe_repositories()["repositories"]}
    image = small_image()
    resp = push_registry.request("POST", f"/v2/{name}/blobs/uploads/?digest={image.config.digest}",
                                 image.config.data, octet())
    assert_oci_error(resp, 400, "NAME_INVALID")
    resp = push_registry.put_manifest(name, "v1", image.manifest, image.media_type)
    assert_oci_error(resp, 400, "NAME_INVALID")
    for path in (f"/v2/{name}/tags/list", f"/v2/{name}/manifests/v1"):
        assert_oci_error(push_registry.request("GET", path), 400, "NAME_INVALID")
    after = {r["repositoryName"] for r in push_ecr.describe_repositories()["repositories"]}
    assert after == before, f"repositories appeared: {after - before}"


INVALID_TAGS = ["v1@x", "-v1", ".v1", "a" * 129, "v1%20x", "v%2Fx"]


@pytest.mark.parametrize("tag", INVALID_TAGS, ids=lambda t: t if len(t) < 30 else f"{len(t)}-chars")
def test_invalid_tag_is_tag_invalid(registry, repo, tag):
    image = small_image()
    for blob in image.blobs:
        registry.push_blob(repo, blob.data)
    resp = registry.put_manifest(repo, tag, image.manifest, image.media_type)
    if tag == "v%2Fx":
        # An encoded slash may be decoded before routing ("v/x" then names
        # no endpoint): any OCI error will do, as long as nothing is stored.
        assert_oci_error(resp, (400, 404), ("TAG_INVALID", "NAME_INVALID", "UNSUPPORTED"))
    else:
        assert_oci_error(resp, 400, "TAG_INVALID")
    assert registry.tags(repo) == []
    assert registry.get_manifest(repo, image.digest).status == 404


def test_nested_repository_names(registry, make_repo):
    name = make_repo("team/project/app")
    image = small_image()
    registry.push_image(name, image, "v1")
    check_manifest_reads(registry, name, image, "v1", image.digest)
    assert registry.tags(name) == ["v1"]
    for blob in image.blobs:
        assert registry.get_blob(name, blob.digest).body == blob.data


# --- tags list and catalog (end-8a, end-8b) ---------------------------------

def test_tags_list_with_pagination(registry, repo):
    image = small_image()
    tags = ["a1", "b2", "c3", "d4", "e5", "latest"]
    registry.push_image(repo, image, *reversed(tags))
    full = registry.request("GET", f"/v2/{repo}/tags/list")
    assert full.status == 200, full
    assert full.json == {"name": repo, "tags": tags}

    pages = follow_pages(registry, f"/v2/{repo}/tags/list?n=2", "tags")
    assert all(len(p) <= 2 for p in pages), pages
    assert [t for p in pages for t in p] == tags, pages
    assert pages[0] == ["a1", "b2"], pages
    assert all(pages[:-1]), f"an empty page before the end: {pages}"

    first = registry.request("GET", f"/v2/{repo}/tags/list?n=2")
    link = next_link(first)
    assert link and "last=b2" in link and "n=2" in link, first

    after = registry.request("GET", f"/v2/{repo}/tags/list?last=c3")
    assert after.status == 200 and after.json["tags"] == ["d4", "e5", "latest"], after
    window = registry.request("GET", f"/v2/{repo}/tags/list?n=2&last=c3")
    assert window.status == 200 and window.json["tags"] == ["d4", "e5"], window
    everything = registry.request("GET", f"/v2/{repo}/tags/list?n=100")
    assert everything.json["tags"] == tags and not next_link(everything), everything


def test_catalog_with_pagination(registry, make_repo):
    names = sorted(make_repo("catalog") for _ in range(3))
    full = registry.request("GET", "/v2/_catalog")
    assert full.status == 200, full
    listed = full.json["repositories"]
    assert set(names) <= set(listed), f"{names} missing from {listed}"
    assert listed == sorted(listed), "catalog is not in lexical order"

    pages = follow_pages(registry, "/v2/_catalog?n=1", "repositories")
    flat = [r for p in pages for r in p]
    assert all(len(p) <= 1 for p in pages), pages
    assert len(flat) == len(set(flat)), f"repositories listed twice: {flat}"
    assert set(names) <= set(flat)
    after = registry.request("GET", f"/v2/_catalog?last={names[0]}&n=1000")
    assert names[0] not in after.json["repositories"]
    assert set(names[1:]) <= set(after.json["repositories"])


# --- deletes (end-9) ---------------------------------------------------------

def test_delete_manifest_by_digest(registry, repo):
    image = small_image()
    registry.push_image(repo, image, "v1", "v2")
    resp = registry.request("DELETE", f"/v2/{repo}/manifests/{image.digest}")
    assert resp.status == 202, resp
    for ref in (image.digest, "v1", "v2"):
        assert_oci_error(registry.get_manifest(repo, ref), 404, "MANIFEST_UNKNOWN")
    assert registry.tags(repo) == []
    assert_oci_error(registry.request("DELETE", f"/v2/{repo}/manifests/{image.digest}"),
                     404, "MANIFEST_UNKNOWN")


def test_delete_manifest_by_tag_removes_only_that_tag(registry, repo):
    image = small_image()
    registry.push_image(repo, image, "v1", "v2")
    resp = registry.request("DELETE", f"/v2/{repo}/manifests/v1")
    assert resp.status == 202, resp
    assert_oci_error(registry.get_manifest(repo, "v1"), 404, "MANIFEST_UNKNOWN")
    check_manifest_reads(registry, repo, image, "v2", image.digest)
    assert registry.tags(repo) == ["v2"]
    assert_oci_error(registry.request("DELETE", f"/v2/{repo}/manifests/nosuchtag"),
                     404, "MANIFEST_UNKNOWN")


# --- referrers (end-12a, end-12b) -------------------------------------------

SBOM = "application/vnd.berth.test.sbom"
SIGNATURE = "application/vnd.berth.test.signature"


def push_artifact(registry, repo, subject, artifact_type, annotations=None):
    layer = Blob(random_bytes(unique("artifact"), 512), "application/octet-stream")
    registry.push_blob(repo, layer.data)
    if not registry.blob_exists(repo, sha256(EMPTY_JSON)):
        registry.push_blob(repo, EMPTY_JSON)
    body = artifact_manifest(subject, artifact_type, layer, annotations)
    resp = registry.put_manifest(repo, sha256(body), body, OCI_MANIFEST)
    assert resp.status == 201, resp
    return body, resp


def referrers(registry, repo, digest, artifact_type=None):
    path = f"/v2/{repo}/referrers/{digest}"
    if artifact_type:
        path += "?artifactType=" + urllib.parse.quote(artifact_type, safe="")
    resp = registry.request("GET", path)
    assert resp.status == 200, resp
    assert resp.headers.get("content-type", "").startswith(OCI_INDEX), resp
    index = resp.json
    assert index.get("schemaVersion") == 2 and index.get("mediaType") == OCI_INDEX, index
    return resp, {m["digest"]: m for m in index.get("manifests", [])}


def test_referrers(registry, repo):
    subject = small_image()
    registry.push_image(repo, subject, "v1")
    sbom, resp = push_artifact(registry, repo, subject.descriptor(), SBOM,
                               {"berth.test.kind": "sbom"})
    assert resp.headers.get("oci-subject") == subject.digest, resp
    signature, resp = push_artifact(registry, repo, subject.descriptor(), SIGNATURE)
    assert resp.headers.get("oci-subject") == subject.digest, resp

    _, listed = referrers(registry, repo, subject.digest)
    assert set(listed) == {sha256(sbom), sha256(signature)}, listed
    entry = listed[sha256(sbom)]
    assert entry["mediaType"] == OCI_MANIFEST and entry["size"] == len(sbom), entry
    assert entry["artifactType"] == SBOM, entry
    assert entry.get("annotations") == {"berth.test.kind": "sbom"}, entry
    assert listed[sha256(signature)]["artifactType"] == SIGNATURE

    resp, filtered = referrers(registry, repo, subject.digest, SBOM)
    assert set(filtered) == {sha256(sbom)}, filtered
    assert "artifacttype" in resp.headers.get("oci-filters-applied", "").lower(), resp

    # The referrer is an ordinary manifest too, byte for byte.
    got = registry.get_manifest(repo, sha256(sbom))
    assert got.status == 200 and got.body == sbom

    # Deleting a referrer takes it out of the list.
    assert registry.request("DELETE", f"/v2/{repo}/manifests/{sha256(sbom)}").status == 202
    _, listed = referrers(registry, repo, subject.digest)
    assert set(listed) == {sha256(signature)}, listed


def test_referrers_of_a_manifest_without_any(registry, repo):
    image = small_image()
    registry.push_image(repo, image, "v1")
    _, listed = referrers(registry, repo, image.digest)
    assert listed == {}
    _, listed = referrers(registry, repo, sha256(unique("nothing").encode()))
    assert listed == {}


def test_referrer_whose_subject_is_absent_is_accepted(registry, repo):
    """OCI 1.1: a manifest whose subject is not (yet) in the registry is accepted."""
    absent = {"mediaType": OCI_MANIFEST, "digest": sha256(unique("absent").encode()), "size": 1234}
    body, resp = push_artifact(registry, repo, absent, SBOM)
    assert resp.headers.get("oci-subject") == absent["digest"], resp
    _, listed = referrers(registry, repo, absent["digest"])
    assert set(listed) == {sha256(body)}


def test_referrer_without_artifact_type_is_listed_with_its_config_type(registry, repo):
    subject = small_image()
    registry.push_image(repo, subject, "v1")
    config_type = "application/vnd.berth.test.config+json"
    config = Blob(b'{"berth":"test"}', config_type)
    layer = Blob(random_bytes(unique("cfgart"), 256), "application/octet-stream")
    registry.push_blob(repo, config.data)
    registry.push_blob(repo, layer.data)
    body = manifest_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "config": config.descriptor(), "layers": [layer.descriptor()],
                          "subject": subject.descriptor()})
    resp = registry.put_manifest(repo, sha256(body), body, OCI_MANIFEST)
    assert resp.status == 201, resp
    _, listed = referrers(registry, repo, subject.digest)
    assert listed[sha256(body)]["artifactType"] == config_type, listed


# --- other manifest types ---------------------------------------------------

def test_docker_schema2_manifest(registry, repo, docker_image):
    registry.push_image(repo, docker_image, "v1")
    check_manifest_reads(registry, repo, docker_image, "v1", docker_image.digest)


class _Index:
    def __init__(self, body, media_type):
        self.manifest = body
        self.media_type = media_type
        self.digest = sha256(body)


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST], ids=["oci-index", "docker-list"])
def test_image_index_and_manifest_list(registry, repo, media_type):
    docker = media_type == DOCKER_LIST
    children = [small_image(docker=docker), small_image(docker=docker)]
    for child in children:
        registry.push_image(repo, child)  # by digest, untagged
    index = _Index(index_manifest([c.descriptor() for c in children], media_type), media_type)
    resp = registry.put_manifest(repo, "multi", index.manifest, media_type)
    assert resp.status == 201, resp
    assert resp.headers.get("docker-content-digest") == index.digest, resp
    check_manifest_reads(registry, repo, index, "multi", index.digest)
    for child in children:
        check_manifest_reads(registry, repo, child, child.digest)


def test_index_with_a_missing_child_is_manifest_blob_unknown(registry, repo):
    present, absent = small_image(), small_image()
    registry.push_image(repo, present)
    for blob in absent.blobs:
        registry.push_blob(repo, blob.data)  # its blobs, but not its manifest
    body = index_manifest([present.descriptor(), absent.descriptor()])
    resp = registry.put_manifest(repo, "multi", body, OCI_INDEX)
    assert_oci_error(resp, (400, 404), "MANIFEST_BLOB_UNKNOWN")
    assert registry.get_manifest(repo, "multi").status == 404


# --- repositories: create on push, immutability ----------------------------

def test_push_to_a_missing_repository_is_name_unknown(registry, ecr):
    name = unique("missing")
    image = small_image()
    resp = registry.request("POST", f"/v2/{name}/blobs/uploads/?digest={image.config.digest}",
                            image.config.data, octet())
    assert_oci_error(resp, 404, "NAME_UNKNOWN")
    assert_oci_error(registry.start_upload(name), 404, "NAME_UNKNOWN")
    resp = registry.put_manifest(name, "v1", image.manifest, image.media_type)
    assert_oci_error(resp, 404, "NAME_UNKNOWN")
    with pytest.raises(Exception) as info:
        ecr.describe_repositories(repositoryNames=[name])
    assert error_code(info.value) == "RepositoryNotFoundException"


def test_push_creates_the_repository_when_enabled(push_server, push_registry, push_ecr):
    name = unique("created/app")
    image = small_image()
    try:
        push_registry.push_image(name, image, "v1")
        repos = push_ecr.describe_repositories(repositoryNames=[name])["repositories"]
        assert len(repos) == 1, repos
        assert repos[0]["repositoryName"] == name
        assert repos[0]["repositoryUri"] == repository_uri(push_server, name)
        images = push_ecr.describe_images(repositoryName=name)["imageDetails"]
        assert [(i["imageDigest"], i.get("imageTags")) for i in images] == [(image.digest, ["v1"])]
        check_manifest_reads(push_registry, name, image, "v1")
    finally:
        try:
            push_ecr.delete_repository(repositoryName=name, force=True)
        except Exception:
            pass


def test_immutable_tag_cannot_be_overwritten(registry, make_repo):
    """ECR answers a push over an existing tag of an IMMUTABLE repository
    with HTTP 400 and code TAG_INVALID ("tag invalid: The image tag ...
    already exists ... cannot be overwritten because the repository is
    immutable"). The suite accepts TAG_INVALID or DENIED, and asserts that
    the tag still names the first manifest."""
    repo = make_repo(imageTagMutability="IMMUTABLE")
    first, second = small_image(), small_image()
    registry.push_image(repo, first, "v1")
    for blob in second.blobs:
        registry.push_blob(repo, blob.data)
    resp = registry.put_manifest(repo, "v1", second.manifest, second.media_type)
    assert_oci_error(resp, (400, 403, 409), ("TAG_INVALID", "DENIED"))
    check_manifest_reads(registry, repo, first, "v1")
    # Other tags and untagged pushes still work.
    registry.push_image(repo, second, second.digest, "v2")
    check_manifest_reads(registry, repo, second, "v2")


# --- durability ---------------------------------------------------------------

@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_images_survive_a_restart(fresh_server, stop):
    ecr = ecr_client_for(fresh_server)
    reg = registry_for(fresh_server)
    name = unique("durable")
    ecr.create_repository(repositoryName=name)
    image = build_image(unique("durable"))
    reg.push_image(name, image, "v1", "stable")
    loose = reg.push_blob(name, random_bytes(unique("loose"), 10 * KIB))

    if stop == "sigkill":
        fresh_server.proc.kill()
        fresh_server.proc.wait()
        fresh_server.proc = None
        fresh_server.start()
    else:
        fresh_server.restart()

    # The password issued before the restart still works.
    assert reg.request("GET", "/v2/").status == 200
    check_manifest_reads(reg, name, image, "v1", "stable", image.digest)
    for blob in image.blobs:
        got = reg.get_blob(name, blob.digest)
        assert got.status == 200 and got.body == blob.data, f"{blob} after restart: {got!r}"
    assert reg.blob_exists(name, loose)
    assert reg.tags(name) == ["stable", "v1"]
    details = ecr.describe_images(repositoryName=name)["imageDetails"]
    assert [(d["imageDigest"], sorted(d.get("imageTags", []))) for d in details] == [
        (image.digest, ["stable", "v1"])]
