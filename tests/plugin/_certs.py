"""Real certificates for the TLS tests, made with the ``openssl`` command.

``Certs(directory)`` holds a CA, a plugin certificate for 127.0.0.1 and a client
certificate signed by it, and a second CA with a client certificate of its own (one the
plugin must refuse). Tests skip where ``openssl`` is missing (``.ci/run`` installs it).
``benchmarks/bench_serve_tls.py`` loads this file by path.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

OPENSSL = shutil.which("openssl")

_LEAF = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage={usage}
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
{san}
"""


def _openssl(*args: str | Path) -> None:
    if OPENSSL is None:
        import pytest  # only tests get here without openssl; benchmarks check first

        pytest.skip("the openssl command is not installed (apt-get install openssl)")
    subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True, timeout=60)


def _key_and_request(directory: Path, name: str, subject: str) -> tuple[Path, Path]:
    key, csr = directory / f"{name}.key", directory / f"{name}.csr"
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", f"/CN={subject}",
    )  # fmt: skip
    return key, csr


class Certs:
    """A throwaway PKI in ``directory``: paths to PEM files."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca, self.ca_key = self._ca("ca")
        self.server, self.server_key = self._leaf("server", self.ca, "serverAuth", "127.0.0.1")
        self.client, self.client_key = self._leaf("client", self.ca, "clientAuth")
        self.other_ca, _ = self._ca("other-ca")
        self.other_client, self.other_client_key = self._leaf(
            "other-client", self.other_ca, "clientAuth"
        )

    def _ca(self, name: str) -> tuple[Path, Path]:
        cert, key = self.dir / f"{name}.pem", self.dir / f"{name}.key"
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN=libnet {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        return cert, key

    def _leaf(self, name: str, ca: Path, usage: str, ip: str | None = None) -> tuple[Path, Path]:
        key, csr = _key_and_request(self.dir, name, ip or f"libnet {name}")
        ext = self.dir / f"{name}.ext"
        ext.write_text(_LEAF.format(usage=usage, san=f"subjectAltName=IP:{ip}" if ip else ""))
        cert = self.dir / f"{name}.pem"
        _openssl(
            "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca.with_suffix(".key"),
            "-set_serial", f"0x{secrets.token_hex(8)}", "-days", "2", "-out", cert,
            "-extfile", ext,
        )  # fmt: skip
        return cert, key
