"""A throw-away certificate authority for the TLS tests, made with the
openssl command line: a CA, and server certificates it signs for
127.0.0.1 and localhost, each with a serial number of the test's choosing
(so that a reload can be told apart from the certificate before it)."""

import os
import socket
import ssl
import subprocess

OPENSSL = "/usr/bin/openssl"


def _openssl(*args, cwd):
    proc = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"openssl {' '.join(args)} failed:\n{proc.stderr}"


class CertificateAuthority:
    """A CA in folder/NAME-ca.pem with its key; server() signs certificates."""

    def __init__(self, folder, name="berth-test"):
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.name = name
        self.cert = os.path.join(self.folder, f"{name}-ca.pem")
        self.key = os.path.join(self.folder, f"{name}-ca.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                 "-subj", f"/CN={name} CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=self.folder)

    def server(self, serial, names="IP:127.0.0.1,DNS:localhost", prefix="server"):
        """(certificate path, key path) of a new server certificate with this
        serial number for these subjectAltNames."""
        base = os.path.join(self.folder, f"{prefix}-{serial}")
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write(f"subjectAltName={names}\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "authorityKeyIdentifier=keyid\n"
                    "subjectKeyIdentifier=hash\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=berth test server",
                 cwd=self.folder)
        _openssl("x509", "-req", "-in", base + ".csr", "-CA", self.cert, "-CAkey", self.key,
                 "-set_serial", str(serial), "-days", "2", "-out", base + ".pem",
                 "-extfile", ext, cwd=self.folder)
        return base + ".pem", base + ".key"


def peer_serial(port, cafile, host="127.0.0.1"):
    """The serial number of the certificate a new TLS connection to
    host:port is shown (verified against cafile)."""
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((host, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    proc = subprocess.run([OPENSSL, "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                          capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.decode().strip().split("=", 1)[1], 16)
