"""Who may reach the dashboard, over plain HTTP: without a session every
/ui/ path is 401 and nothing else; a login token works once; a forged
cookie is refused; an API call without the CSRF header is 403 and changes
nothing; login tokens are given to signed users only; `berth dev` prints a
login URL that works."""

import http.client
import json
import os
import re
import subprocess
import time

import pytest

from berth_compat import BERTH_BIN, free_port, terminate, unique
from berth_ui import ui_login

ECS = "AmazonEC2ContainerServiceV20141113"


def request(server_port, method, path, headers=None, body=None):
    """(status, lowercased headers, body text) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", server_port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def log_in(port, url):
    """The session cookie ("berth_session=ID") a login URL sets."""
    path = url[url.index("/ui/login"):]
    status, headers, body = request(port, "GET", path)
    assert status == 200, (status, headers)
    assert '<meta http-equiv="refresh" content="0; url=/ui/">' in body
    cookie = headers["set-cookie"]
    assert re.fullmatch(r"berth_session=[0-9a-f]{64}; Path=/ui/; HttpOnly; SameSite=Strict; "
                        r"Max-Age=43200", cookie), cookie
    return cookie.split(";")[0]


def csrf_of(port, cookie):
    status, _, body = request(port, "GET", "/ui/api/session", {"Cookie": cookie})
    assert status == 200, body
    return json.loads(body)["csrfToken"]


def aws(port, cookie, operation, body, csrf=None):
    headers = {"Cookie": cookie, "X-Amz-Target": f"{ECS}.{operation}",
               "Content-Type": "application/x-amz-json-1.1"}
    if csrf is not None:
        headers["X-Berth-CSRF"] = csrf
    return request(port, "POST", "/ui/api/aws", headers, json.dumps(body))


UI_PATHS = ["/ui/", "/ui/index.html", "/ui/app.js", "/ui/style.css", "/ui/api/session",
            "/ui/api/berth/v1/events", "/ui/api/berth/v1/gangs?cluster=default",
            "/ui/no-such-page"]


def test_without_a_session_every_ui_path_is_401_and_nothing_else(server):
    for path in UI_PATHS:
        status, headers, body = request(server.port, "GET", path)
        assert status == 401, path
        assert "berth ui-login" in body, path
        assert "<" not in body and "function" not in body, (path, body)
        assert headers["content-type"].startswith("text/plain"), path
    status, _, body = aws(server.port, "", "ListClusters", {})
    assert status == 401 and "berth ui-login" in body


def test_a_login_token_works_once(server):
    url = ui_login(server)
    cookie = log_in(server.port, url)
    status, headers, body = request(server.port, "GET", "/ui/", {"Cookie": cookie})
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store"
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert 'src="app.js"' in body
    status, headers, body = request(server.port, "GET", url[url.index("/ui/login"):])
    assert status == 401
    assert "login link used or expired" in body
    assert "set-cookie" not in headers


def test_the_assets_are_served_with_their_types(server):
    cookie = log_in(server.port, ui_login(server))
    for path, kind in [("/ui/app.js", "text/javascript"), ("/ui/style.css", "text/css"),
                       ("/ui/index.html", "text/html"), ("/ui/favicon.svg", "image/svg+xml")]:
        status, headers, body = request(server.port, "GET", path, {"Cookie": cookie})
        assert status == 200, path
        assert headers["content-type"].startswith(kind), (path, headers)
        assert body.strip()
    assert request(server.port, "GET", "/ui/missing.js", {"Cookie": cookie})[0] == 404


def test_a_forged_cookie_is_refused(server):
    cookie = log_in(server.port, ui_login(server))
    session = cookie.split("=", 1)[1]
    forged = session[:-1] + ("0" if session[-1] != "0" else "1")
    for value in (forged, "0" * 64, "", session[:32], "../" + session):
        status, _, body = request(server.port, "GET", "/ui/", {"Cookie": f"berth_session={value}"})
        assert status == 401, value
    # The login token is not a session either.
    url = ui_login(server)
    token = url.split("token=", 1)[1]
    assert request(server.port, "GET", "/ui/", {"Cookie": f"berth_session={token}"})[0] == 401


def test_api_calls_without_the_csrf_header_are_403_and_change_nothing(server):
    cookie = log_in(server.port, ui_login(server))
    name = unique("csrf")
    status, _, body = aws(server.port, cookie, "CreateCluster", {"clusterName": name})
    assert status == 403, body
    status, _, body = aws(server.port, cookie, "CreateCluster", {"clusterName": name},
                          csrf="0" * 64)
    assert status == 403, body
    ecs = server.client()
    assert not ecs.describe_clusters(clusters=[name])["clusters"]

    csrf = csrf_of(server.port, cookie)
    status, _, body = aws(server.port, cookie, "CreateCluster", {"clusterName": name}, csrf=csrf)
    assert status == 200, body
    assert json.loads(body)["cluster"]["clusterName"] == name
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "ACTIVE"
    # Reads need it too, and the CSRF token of another session does not do.
    other = csrf_of(server.port, log_in(server.port, ui_login(server)))
    assert request(server.port, "GET", "/ui/api/berth/v1/events",
                   {"Cookie": cookie, "X-Berth-CSRF": other})[0] == 403
    status, _, body = request(server.port, "GET", "/ui/api/berth/v1/events?since=0",
                              {"Cookie": cookie, "X-Berth-CSRF": csrf})
    assert status == 200, body
    assert "nextAfter" in json.loads(body)


def test_the_session_reaches_only_the_dashboards_endpoints(server):
    cookie = log_in(server.port, ui_login(server))
    csrf = csrf_of(server.port, cookie)
    for path in ("/ui/api/berth/v1/registry/gc", "/ui/api/berth/v1/agent/poll", "/ui/api/v2/",
                 "/ui/api/metrics"):
        status, _, _ = request(server.port, "POST", path, {"Cookie": cookie, "X-Berth-CSRF": csrf})
        assert status == 404, path


def test_logout_ends_the_session(server):
    cookie = log_in(server.port, ui_login(server))
    csrf = csrf_of(server.port, cookie)
    assert request(server.port, "POST", "/ui/logout", {"Cookie": cookie})[0] == 403
    status, headers, _ = request(server.port, "POST", "/ui/logout",
                                 {"Cookie": cookie, "X-Berth-CSRF": csrf})
    assert status == 200
    assert "Max-Age=0" in headers["set-cookie"]
    assert request(server.port, "GET", "/ui/", {"Cookie": cookie})[0] == 401


def test_login_tokens_are_for_signed_users_only(server):
    status, _, body = request(server.port, "POST", "/berth/v1/ui/login-tokens")
    assert status == 403, body
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    status, _, body = request(server.port, "POST", "/berth/v1/ui/login-tokens",
                              {"Authorization": "AWS4-HMAC-SHA256 Credential=x/y, "
                                                "SignedHeaders=host, Signature=00"})
    assert status == 403, body


def test_berth_dev_prints_a_login_url_that_works_once(tmp_path, isolated_aws_env):
    port = free_port()
    proc = subprocess.Popen(
        [BERTH_BIN, "dev", "--no-agent", "--listen", f"127.0.0.1:{port}",
         "--data", str(tmp_path / "data")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+/ui/login\?token=[0-9a-f]{64})", line)
            if m:
                url = m.group(1)
        assert url, "berth dev printed no login URL"
        assert f":{port}/" in url
        log_in(port, url)
        assert request(port, "GET", url[url.index("/ui/login"):])[0] == 401
    finally:
        terminate(proc)
