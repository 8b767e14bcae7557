"""berth server over https (--tls-cert, --tls-key) with real clients that
trust the suite's CA: boto3 (verify=), the aws CLI (--ca-bundle), the berth
CLI (--ca-bundle, AWS_CA_BUNDLE) and skopeo (--cert-dir); clients that do
not trust it, and TLS 1.1, are refused; SIGHUP reloads the certificate for
new connections while open ones keep theirs."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings

import botocore.exceptions
import pytest

from berth_compat import AWS_CLI, BERTH_BIN, BerthServer, aws_cli_env, make_ecs_client, unique
from berth_registry import SKOPEO, Skopeo, build_image, write_oci_layout
from berth_tls import peer_serial


def aws(server, *args, ca_bundle=True, env=None):
    """/usr/bin/aws against server: (returncode, stdout, stderr); with
    ca_bundle, --ca-bundle naming the suite's CA."""
    extra = ["--ca-bundle", server.ca_file] if ca_bundle else []
    proc = subprocess.run([AWS_CLI, "--endpoint-url", server.endpoint, *extra, *args],
                          env=aws_cli_env(server.access_key, server.secret_key, env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def berth(server, *args, env=None):
    """The berth CLI against server, keys from the environment."""
    return subprocess.run([BERTH_BIN, *args],
                          env=aws_cli_env(server.access_key, server.secret_key,
                                          {"AWS_ENDPOINT_URL": server.endpoint, **(env or {})}),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def cluster_names(arns):
    return {arn.rsplit("/", 1)[1] for arn in arns}


def test_the_endpoint_is_https(tls_server):
    assert tls_server.endpoint == f"https://127.0.0.1:{tls_server.port}"
    assert peer_serial(tls_server.port, tls_server.ca_file) == tls_server.certificate_serial


def test_boto3_that_trusts_the_ca_is_served(tls_server):
    ecs = tls_server.client()  # verify=<the CA>
    name = unique("tls-boto3")
    ecs.create_cluster(clusterName=name)
    assert name in cluster_names(ecs.list_clusters()["clusterArns"])


def test_boto3_that_does_not_trust_the_ca_is_refused(tls_server):
    ecs = make_ecs_client(tls_server.endpoint, tls_server.access_key, tls_server.secret_key)
    with pytest.raises(botocore.exceptions.SSLError) as info:
        ecs.list_clusters()
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)


def test_aws_cli_with_ca_bundle(tls_server):
    name = unique("tls-aws")
    rc, out, err = aws(tls_server, "ecs", "create-cluster", "--cluster-name", name)
    assert rc == 0, err
    assert json.loads(out)["cluster"]["clusterName"] == name
    # AWS_CA_BUNDLE, as the CLI documents it, works the same.
    rc, out, err = aws(tls_server, "ecs", "list-clusters", ca_bundle=False,
                       env={"AWS_CA_BUNDLE": tls_server.ca_file})
    assert rc == 0, err
    assert name in cluster_names(json.loads(out)["clusterArns"])


def test_aws_cli_without_the_ca_is_refused(tls_server):
    rc, _, err = aws(tls_server, "ecs", "list-clusters", ca_bundle=False)
    assert rc != 0
    assert "CERTIFICATE_VERIFY_FAILED" in err, err


def test_berth_cli_with_ca_bundle(tls_server):
    name = unique("tls-berth")
    proc = berth(tls_server, "cluster", "create", name, "--ca-bundle", tls_server.ca_file)
    assert proc.returncode == 0, proc.stderr
    proc = berth(tls_server, "cluster", "ls", "--output", "json",
                 env={"AWS_CA_BUNDLE": tls_server.ca_file})
    assert proc.returncode == 0, proc.stderr
    assert name in proc.stdout


def test_berth_cli_without_the_ca_is_refused_in_one_line(tls_server):
    proc = berth(tls_server, "cluster", "ls")
    assert proc.returncode == 1
    assert proc.stderr == (f"berth cluster ls: ListClusters: tls handshake with "
                           f"127.0.0.1:{tls_server.port}: certificate verify failed: unable to get "
                           f"local issuer certificate\n")


def handshake(port, cafile, maximum):
    """The TLS version agreed by a client offering TLS 1.0 up to maximum
    (its security level lowered so that it really offers the old ones)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.version()


def test_tls_below_1_2_is_refused(tls_server):
    with pytest.raises(ssl.SSLError) as info:
        handshake(tls_server.port, tls_server.ca_file, ssl.TLSVersion.TLSv1_1)
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in str(info.value)  # the server's alert
    assert handshake(tls_server.port, tls_server.ca_file, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(tls_server.port, tls_server.ca_file, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    # openssl's own client says the same.
    proc = subprocess.run(["/usr/bin/openssl", "s_client", "-connect",
                           f"127.0.0.1:{tls_server.port}", "-tls1_1", "-cipher",
                           "DEFAULT:@SECLEVEL=0"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "alert protocol version" in proc.stderr, proc.stderr


@pytest.fixture
def reloadable(tmp_path, ca, isolated_aws_env):
    """A server of the test's own whose --tls-cert and --tls-key files the
    test may replace."""
    cert, key = str(tmp_path / "server.pem"), str(tmp_path / "server.key")
    first_cert, first_key = ca.server(3001, prefix="reload")
    shutil.copy(first_cert, cert)
    shutil.copy(first_key, key)
    srv = BerthServer(tmp_path / "data", tmp_path, extra_args=["--tls-cert", cert, "--tls-key", key],
                      ca_file=ca.cert)
    try:
        srv.start()
        yield srv, cert, key
    finally:
        srv.stop()


def replace_file(source, target):
    """target gets source's content in one step (a rename), as a certificate
    renewal tool writes it."""
    shutil.copy(source, target + ".new")
    os.replace(target + ".new", target)


def test_sighup_reloads_the_certificate_for_new_connections(reloadable, ca):
    srv, cert, key = reloadable
    context = ssl.create_default_context(cafile=ca.cert)
    kept = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10, context=context)
    try:
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok\n"
        kept_socket = kept.sock
        assert peer_serial(srv.port, ca.cert) == 3001

        new_cert, new_key = ca.server(3002, prefix="reload")
        replace_file(new_key, key)
        replace_file(new_cert, cert)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while peer_serial(srv.port, ca.cert) != 3002:
            assert time.monotonic() < deadline, f"not reloaded; server log:\n{srv.log_tail()}"
            time.sleep(0.1)
        assert srv.alive()
        assert "SIGHUP: tls certificate reloaded for new connections" in srv.log_tail()

        # The connection opened before the reload is not cut, and goes on
        # with the certificate it was opened with.
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b"ok\n"
        assert kept.sock is kept_socket
        der = kept.sock.getpeercert(binary_form=True)
        proc = subprocess.run(["/usr/bin/openssl", "x509", "-inform", "DER", "-noout", "-serial"],
                              input=der, capture_output=True, timeout=30)
        assert proc.stdout.decode().strip() == "serial=0BB9"  # 3001
    finally:
        kept.close()

    # Calls over new connections see the new certificate and are served.
    assert srv.client().list_clusters()["clusterArns"] == []


def test_sighup_with_a_broken_key_keeps_the_certificate_in_use(reloadable, ca):
    srv, _, key = reloadable
    with open(key, "w") as f:
        f.write("not a key\n")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "tls certificate not reloaded" not in srv.log_tail():
        assert time.monotonic() < deadline, srv.log_tail()
        time.sleep(0.1)
    assert srv.alive()
    assert peer_serial(srv.port, ca.cert) == 3001


@pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (Debian package skopeo)")
def test_skopeo_pushes_and_pulls_with_cert_dir(tls_server, tmp_path):
    home = tmp_path / "skopeo-home"
    home.mkdir()
    skopeo = Skopeo(str(tmp_path / "auth.json"), str(home))
    cert_dir = tmp_path / "certs"
    cert_dir.mkdir()
    shutil.copy(tls_server.ca_file, cert_dir / "ca.crt")  # containers-image: *.crt are CAs
    registry = f"127.0.0.1:{tls_server.port}"

    rc, password, err = aws(tls_server, "ecr", "get-login-password")
    assert rc == 0, err
    skopeo.run("login", "--cert-dir", str(cert_dir), "--authfile", skopeo.authfile,
               "--username", "AWS", "--password-stdin", registry, stdin=password.encode())
    image = build_image("tls", big_layer_size=64 * 1024)
    source = write_oci_layout(image, str(tmp_path / "source"), "latest")
    ref = f"docker://{registry}/{unique('tls-skopeo')}:v1"
    skopeo.run("copy", "--authfile", skopeo.authfile, "--dest-cert-dir", str(cert_dir),
               "--preserve-digests", f"oci:{source}:latest", ref)
    _, out, _ = skopeo.run("inspect", "--authfile", skopeo.authfile, "--cert-dir", str(cert_dir),
                           "--raw", ref)
    assert out.encode() == image.manifest
    skopeo.run("copy", "--authfile", skopeo.authfile, "--src-cert-dir", str(cert_dir), ref,
               f"oci:{tmp_path / 'pulled'}:v1")

    # Without the CA (TLS verified against the system's store) skopeo refuses.
    rc, _, err = skopeo.run("inspect", "--authfile", skopeo.authfile, "--raw", ref, check=False)
    assert rc != 0
    assert "certificate signed by unknown authority" in err, err
