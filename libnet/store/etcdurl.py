"""Where an etcd cluster is and how to reach it: ``EtcdConfig`` and the ``etcd://`` URL form.

``etcd://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]...][/PREFIX][?OPTIONS]`` speaks plain HTTP
to the members' JSON gateway; ``etcds://`` speaks HTTPS. Options: ``timeout`` (seconds per
call, default 5), ``ca`` (CA bundle; the system's CAs if absent), ``cert`` and ``key`` (a
client certificate and its key), ``user`` and ``password`` (instead of the userinfo part).
The port defaults to 2379; IPv6 hosts go in brackets. Every libnet key is stored under
``PREFIX/`` (``libnet/`` when the URL has no path), so several libnet clusters, or other
programs, can share one etcd.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from libnet.errors import InvalidOptionError

__all__ = ["DEFAULT_PORT", "DEFAULT_PREFIX", "DEFAULT_TIMEOUT", "EtcdConfig", "parse_etcd_url"]

DEFAULT_PORT = 2379
DEFAULT_PREFIX = "libnet/"
DEFAULT_TIMEOUT = 5.0
"""Seconds one store call may take, failover between members included."""

_SCHEMES = {"etcd": False, "etcds": True}
_OPTIONS = frozenset({"timeout", "ca", "cert", "key", "user", "password"})
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9_.-]+))(?::(?P<port>\d+))?$")


@dataclass(frozen=True)
class EtcdConfig:
    """The members of one etcd cluster and the settings to reach them."""

    endpoints: tuple[tuple[str, int], ...]
    """``(host, port)`` of each member's client URL, tried in this order."""
    prefix: str = DEFAULT_PREFIX
    timeout: float = DEFAULT_TIMEOUT
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise InvalidOptionError("the etcd store needs at least one endpoint (HOST:PORT)")
        for host, port in self.endpoints:
            if not host or not 0 < port < 65536:
                raise InvalidOptionError(f"etcd endpoint {host}:{port} is not a HOST:PORT")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise InvalidOptionError(
                f"etcd timeout {self.timeout!r} must be a positive number of seconds"
            )
        if (self.ca_file or self.cert_file or self.key_file) and not self.tls:
            raise InvalidOptionError(
                "etcd TLS files were given for a plain-HTTP store: use an etcds:// URL (tls=True)"
            )
        if bool(self.cert_file) != bool(self.key_file):
            raise InvalidOptionError("an etcd client certificate needs both 'cert' and 'key'")
        if (self.user is None) != (self.password is None):
            raise InvalidOptionError("etcd authentication needs both a user and a password")
        if not self.prefix.endswith("/") or self.prefix == "/":
            raise InvalidOptionError(
                f"etcd key prefix {self.prefix!r} must be a name ending with '/', e.g. 'libnet/'"
            )

    @property
    def url(self) -> str:
        """This configuration as a URL, without the password."""
        scheme = "etcds" if self.tls else "etcd"
        hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.endpoints)
        user = f"{self.user}@" if self.user else ""
        return f"{scheme}://{user}{hosts}/{self.prefix.rstrip('/')}"


def parse_etcd_url(url: str) -> EtcdConfig:
    """The EtcdConfig an ``etcd://`` or ``etcds://`` URL names (see the module's docstring)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _SCHEMES:
        raise InvalidOptionError(
            f"global store URL {url!r} must start with etcd:// or etcds://, "
            "e.g. etcd://127.0.0.1:2379,127.0.0.1:22379/libnet"
        )
    parts = urlsplit("x://" + rest)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    if not at:
        hostlist, userinfo = parts.netloc, ""
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise InvalidOptionError(
            f"global store URL {_redacted(url)!r} has unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_OPTIONS))}"
        )
    user, password = options.get("user"), options.get("password")
    if userinfo:
        name, colon, secret = userinfo.partition(":")
        user, password = unquote(name), unquote(secret) if colon else password
    prefix = unquote(parts.path).strip("/")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise InvalidOptionError(
            f"global store URL {_redacted(url)!r}: timeout={options['timeout']!r} "
            "is not a number of seconds"
        ) from None
    return EtcdConfig(
        endpoints=tuple(_endpoint(item, url) for item in hostlist.split(",")),
        prefix=f"{prefix}/" if prefix else DEFAULT_PREFIX,
        timeout=timeout,
        tls=_SCHEMES[scheme.lower()],
        ca_file=options.get("ca") or None,
        cert_file=options.get("cert") or None,
        key_file=options.get("key") or None,
        user=user,
        password=password,
    )


def _endpoint(item: str, url: str) -> tuple[str, int]:
    match = _HOST.match(item.strip())
    if match is None:
        raise InvalidOptionError(
            f"global store URL {_redacted(url)!r}: {item!r} is not HOST[:PORT] "
            "(IPv6 addresses go in brackets: [::1]:2379)"
        )
    host = match["v6"] or match["name"]
    return host, int(match["port"] or DEFAULT_PORT)


def _redacted(url: str) -> str:
    """``url`` without a password in its userinfo or options."""
    url = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)
