"""Fixtures for the suite of berth's own TLS and connection limits: a CA the
suite makes (tests/compat/berth_tls.py) and `berth server`s serving https
with certificates it signed.

The host-AWS isolation is the ECS compatibility suite's fixture
(tests/compat/conftest.py), imported here, not copied."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("../compat", "../registry"):
    p = os.path.abspath(os.path.join(HERE, d))
    if p not in sys.path:
        sys.path.insert(0, p)

from berth_compat import BerthServer, load_compat_conftest  # noqa: E402
from berth_tls import CertificateAuthority  # noqa: E402

isolated_aws_env = load_compat_conftest().isolated_aws_env

@pytest.fixture(scope="session")
def ca(tmp_path_factory):
    return CertificateAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory, ca, isolated_aws_env):
    """One `berth server --tls-cert ... --tls-key ...` for the suite; its
    certificate (serial .certificate_serial) is for 127.0.0.1 and localhost."""
    base = tmp_path_factory.mktemp("tls-server")
    serial = 1001
    cert, key = ca.server(serial)
    srv = BerthServer(base / "data", base,
                      extra_args=["--tls-cert", cert, "--tls-key", key,
                                  "--create-repository-on-push"],
                      ca_file=ca.cert)
    srv.certificate_serial = serial
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
