"""TLS for a plugin served on TCP: the settings, the server's context, a bounded handshake.

Docker's plugin client authenticates a plugin by its certificate and can present a client
certificate of its own (``TLSConfig`` in the plugin's ``.json`` spec); it has no other
credential. So a plugin on TCP is protected by mutual TLS or not at all.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from libnet.errors import ServeError

__all__ = ["HANDSHAKE_TIMEOUT", "ServerTLS", "finish_handshake", "linger", "wrap"]

HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client has to complete the TLS handshake, in all; then the connection closes."""


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value).absolute()


def _check_file(path: Path, what: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ServeError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True, init=False)
class ServerTLS:
    """How a plugin on TCP speaks TLS, and what its ``.json`` spec tells its clients.

    ``cert`` and ``key`` are the plugin's certificate (PEM, chain allowed) and private key.
    With ``client_ca``, a client must present a certificate signed by a CA in that file
    (mutual TLS: the only authentication Docker's plugin client can do); clients that read
    the spec (Docker, libnet) then present ``spec_cert`` and ``spec_key``, written to the
    spec as ``CertFile`` and ``KeyFile``. They check the plugin's certificate against
    ``spec_ca`` (``CAFile``; default: ``client_ca`` if given, else ``cert``, which serves
    for a self-signed certificate). Paths are made absolute.
    """

    cert: Path
    key: Path
    client_ca: Path | None
    spec_cert: Path | None
    spec_key: Path | None
    spec_ca: Path

    def __init__(
        self,
        cert: str | os.PathLike[str],
        key: str | os.PathLike[str],
        *,
        client_ca: str | os.PathLike[str] | None = None,
        spec_cert: str | os.PathLike[str] | None = None,
        spec_key: str | os.PathLike[str] | None = None,
        spec_ca: str | os.PathLike[str] | None = None,
    ) -> None:
        certs = _path(client_ca)
        given_cert, given_key = _path(spec_cert), _path(spec_key)
        if (given_cert is None) != (given_key is None):
            raise ServeError(
                "give the client certificate written to the spec and its key together "
                "(--spec-cert and --spec-key)"
            )
        if certs is not None and given_cert is None:
            raise ServeError(
                "with a client CA (--tls-ca) the plugin accepts only clients presenting a "
                "certificate: give the one Docker presents with --spec-cert and --spec-key"
            )
        if certs is None and given_cert is not None:
            raise ServeError(
                "a client certificate (--spec-cert) is only asked for with a client CA: give "
                "--tls-ca, the CA that signed it, so that the plugin requires it"
            )
        own = Path(cert).absolute()
        object.__setattr__(self, "cert", own)
        object.__setattr__(self, "key", Path(key).absolute())
        object.__setattr__(self, "client_ca", certs)
        object.__setattr__(self, "spec_cert", given_cert)
        object.__setattr__(self, "spec_key", given_key)
        object.__setattr__(self, "spec_ca", _path(spec_ca) or certs or own)

    @property
    def mutual(self) -> bool:
        """Whether clients must present a certificate."""
        return self.client_ca is not None

    def context(self) -> ssl.SSLContext:
        """The server's context (TLS 1.2 or later); ServeError naming a file that is unusable."""
        for path, what in (
            (self.cert, "the plugin's TLS certificate"),
            (self.key, "the plugin's TLS key"),
            (self.client_ca, "the client CA certificates"),
            (self.spec_ca, "the CA certificates for the spec (CAFile)"),
            (self.spec_cert, "the client certificate for the spec (CertFile)"),
            (self.spec_key, "the client key for the spec (KeyFile)"),
        ):
            if path is not None:
                _check_file(path, what)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert, self.key)
        except ssl.SSLError as exc:
            raise ServeError(
                f"the plugin's TLS certificate {self.cert} and key {self.key} cannot be used "
                f"together (both PEM, the key unencrypted and matching): {exc.reason or exc}"
            ) from exc
        if self.client_ca is not None:
            try:
                ctx.load_verify_locations(cafile=self.client_ca)
            except ssl.SSLError as exc:
                raise ServeError(
                    f"the client CA file {self.client_ca} holds no usable PEM certificate: "
                    f"{exc.reason or exc}"
                ) from exc
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def spec_config(self) -> dict[str, object]:
        """The spec's ``TLSConfig``, with Docker's field names."""
        config: dict[str, object] = {"InsecureSkipVerify": False, "CAFile": str(self.spec_ca)}
        if self.spec_cert is not None and self.spec_key is not None:
            config["CertFile"] = str(self.spec_cert)
            config["KeyFile"] = str(self.spec_key)
        return config


def finish_handshake(conn: ssl.SSLSocket, timeout: float) -> None:
    """Complete the server side of ``conn``'s handshake within ``timeout`` seconds in all.

    A socket timeout bounds each wait only, so a client sending its hello a byte at a time
    would hold a connection (and its slot) for ever; here the whole handshake has one
    deadline. Raises OSError (``ssl.SSLError``, ``TimeoutError``) when it fails; the socket
    is left blocking, its timeout for the caller to set.
    """
    deadline = time.monotonic() + timeout
    conn.setblocking(False)
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    while True:
        try:
            conn.do_handshake()
            break
        except ssl.SSLWantReadError:
            poller.modify(conn.fileno(), select.POLLIN)
        except ssl.SSLWantWriteError:
            poller.modify(conn.fileno(), select.POLLOUT)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the TLS handshake did not complete within {timeout:g} s")
        poller.poll(remaining * 1000)
    conn.setblocking(True)


def linger(conn: socket.socket, wait: float = 1.0, limit: int = 1 << 16) -> None:
    """Close our side, then read what the client still sends (``wait`` seconds, ``limit``
    bytes at most): closing with unread data would reset the connection, and the reset can
    reach the client before the TLS alert saying why it was refused."""
    deadline = time.monotonic() + wait
    with contextlib.suppress(OSError):
        socket.socket.shutdown(conn, socket.SHUT_WR)
        while limit > 0 and (remaining := deadline - time.monotonic()) > 0:
            conn.settimeout(remaining)
            data = socket.socket.recv(conn, 4096)
            if not data:
                break
            limit -= len(data)


def wrap(conn: socket.socket, context: ssl.SSLContext) -> ssl.SSLSocket:
    """``conn`` as the server side of a TLS connection, the handshake not yet done."""
    return context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
