"""Finding Docker plugins by name, as the engine does: sockets, then spec files.

For plugin NAME the first hit wins:

1. in each socket directory: ``NAME.sock``, then ``NAME/NAME.sock`` (a socket);
2. in each spec directory: ``NAME.spec``, ``NAME/NAME.spec``, ``NAME.json``, ``NAME/NAME.json``.

Docker's directories are ``/run/docker/plugins`` for sockets and ``/etc/docker/plugins``
then ``/usr/lib/docker/plugins`` for specs. ``Controller(plugin_dirs=[...])`` or
``LIBNET_PLUGIN_DIRS`` (colon-separated) replace them with a list of directories that are
searched for both: sockets in every listed directory first, then spec files in every
listed directory, each in the given order. An empty list turns the lookup off.

A ``.spec`` file holds one URL (``unix://``, ``tcp://``, ``http://``, ``https://``); a
``.json`` file holds ``{"Name", "Addr", "TLSConfig": {"InsecureSkipVerify", "CAFile",
"CertFile", "KeyFile"}}`` and the plugin's name is the file's, not ``Name``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from libnet._checks import path_list
from libnet.errors import (
    PluginNotFoundError,
    PluginSpecError,
)

if TYPE_CHECKING:
    import ssl

__all__ = [
    "DEFAULT_SOCKET_DIRS",
    "DEFAULT_SPEC_DIRS",
    "PLUGIN_DIRS_ENV",
    "SCHEMES",
    "PluginAddress",
    "PluginDirs",
    "PluginNotFoundError",
    "PluginSpecError",
    "TLSConfig",
    "parse_url",
]

DEFAULT_SOCKET_DIRS: tuple[Path, ...] = (Path("/run/docker/plugins"),)
"""Where Docker looks for plugin sockets."""

DEFAULT_SPEC_DIRS: tuple[Path, ...] = (Path("/etc/docker/plugins"), Path("/usr/lib/docker/plugins"))
"""Where Docker looks for ``.spec`` and ``.json`` files, in this order."""

PLUGIN_DIRS_ENV = "LIBNET_PLUGIN_DIRS"
"""Colon-separated directories replacing Docker's when ``plugin_dirs`` is not given."""

SCHEMES = ("unix", "tcp", "http", "https")
"""The address schemes a plugin may have."""

_MAX_SPEC = 64 * 1024


@dataclass(frozen=True)
class TLSConfig:
    """TLS settings of a ``.json`` plugin spec (paths as written in the file).

    Unlike Docker, which skips verification when no CA file is given, the system's CA
    certificates verify the plugin then; set ``InsecureSkipVerify`` to skip verification.
    """

    insecure_skip_verify: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def context(self, where: str = "plugin") -> ssl.SSLContext:
        """An SSL context for connecting to the plugin; PluginSpecError if a file is bad.

        ``where`` (the plugin and its spec file) begins the errors' messages.
        """
        import ssl

        bad = f"{where}: plugin TLS settings cannot be used"
        for key, value in (
            ("CAFile", self.ca_file),
            ("CertFile", self.cert_file),
            ("KeyFile", self.key_file),
        ):
            if value:
                try:
                    with open(value, "rb"):
                        pass
                except OSError as exc:
                    raise PluginSpecError(
                        f"{bad}: TLSConfig.{key} {value} cannot be read: {exc.strerror or exc}"
                    ) from exc
        if self.key_file and not self.cert_file:
            raise PluginSpecError(f"{bad}: TLSConfig.KeyFile is given without a CertFile")
        try:
            ctx = ssl.create_default_context(cafile=self.ca_file or None)
        except ssl.SSLError as exc:
            raise PluginSpecError(
                f"{bad}: TLSConfig.CAFile {self.ca_file} holds no usable PEM certificate "
                f"({exc.reason or exc})"
            ) from exc
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            try:
                ctx.load_cert_chain(self.cert_file, self.key_file or None)
            except ssl.SSLError as exc:
                raise PluginSpecError(
                    f"{bad}: TLSConfig.CertFile {self.cert_file} and KeyFile "
                    f"{self.key_file or '(none)'} are not a PEM certificate and its unencrypted "
                    f"key ({exc.reason or exc})"
                ) from exc
        return ctx


@dataclass(frozen=True)
class PluginAddress:
    """Where plugin ``name`` listens, and the file that said so."""

    name: str
    url: str
    source: Path
    tls: TLSConfig | None = None

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()

    @property
    def socket_path(self) -> Path | None:
        """The unix socket's path, or None for a network address."""
        if self.scheme != "unix":
            return None
        return Path(self.url.split("://", 1)[1])

    @property
    def uses_tls(self) -> bool:
        """HTTPS, or TCP with TLS settings from a ``.json`` spec.

        Docker speaks TLS for ``https://`` only: to ``tcp://`` it speaks plain HTTP even
        with a ``TLSConfig``. libnet honours the settings there rather than send in clear
        what the file asks to protect; ``libnet serve`` writes ``https://``, which both read
        alike.
        """
        return self.scheme == "https" or (self.scheme == "tcp" and self.tls is not None)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The context for connecting over TLS (None without TLS); PluginSpecError naming
        the plugin and its spec file if its TLS settings cannot be used."""
        if not self.uses_tls:
            return None
        return (self.tls or TLSConfig()).context(f"Docker plugin {self.name!r} ({self.source})")


def parse_url(url: str, where: str) -> str:
    """Check a plugin address: a URL with a known scheme. ``where`` names its origin."""
    url = url.strip()
    if "://" not in url:
        raise PluginSpecError(
            f"{where}: Unknown protocol: {url!r} has no scheme; write unix:///path/to.sock, "
            "tcp://host:port or http(s)://host:port"
        )
    scheme, rest = url.split("://", 1)
    if scheme.lower() not in SCHEMES:
        raise PluginSpecError(
            f"{where}: Unknown protocol {scheme!r} in {url!r}; use one of {', '.join(SCHEMES)}"
        )
    if scheme.lower() == "unix":
        if not rest.startswith("/"):
            raise PluginSpecError(f"{where}: {url!r} must name an absolute socket path")
    else:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(f"http://{rest}")
            port = parts.port
        except ValueError as exc:
            raise PluginSpecError(f"{where}: {url!r} is not a valid address: {exc}") from None
        if not parts.hostname or (scheme.lower() == "tcp" and port is None):
            raise PluginSpecError(f"{where}: {url!r} must name a host and port")
    return url


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_SPEC + 1)
    except OSError as exc:
        raise PluginSpecError(f"{path}: cannot read plugin spec: {exc.strerror or exc}") from exc
    if len(data) > _MAX_SPEC:
        raise PluginSpecError(f"{path}: plugin spec is larger than {_MAX_SPEC} bytes")
    return data.decode(errors="replace")


def _field(data: Mapping[str, object], key: str) -> object:
    """Go's case-insensitive JSON field match (an exact match wins)."""
    if key in data:
        return data[key]
    for name, value in data.items():
        if name.lower() == key.lower():
            return value
    return None


def _json_spec(name: str, path: Path) -> PluginAddress:
    try:
        data = json.loads(_read(path))
    except ValueError as exc:
        raise PluginSpecError(f"{path}: plugin spec is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PluginSpecError(f"{path}: plugin spec must be a JSON object")
    addr = _field(data, "Addr")
    if not isinstance(addr, str) or not addr:
        raise PluginSpecError(f"{path}: plugin spec has no Addr")
    tls = None
    raw_tls = _field(data, "TLSConfig")
    if raw_tls is not None:
        if not isinstance(raw_tls, dict):
            raise PluginSpecError(f"{path}: TLSConfig must be an object")
        values: dict[str, object] = {}
        for key, attr in (
            ("CAFile", "ca_file"),
            ("CertFile", "cert_file"),
            ("KeyFile", "key_file"),
        ):
            value = _field(raw_tls, key)
            if value is not None and not isinstance(value, str):
                raise PluginSpecError(f"{path}: TLSConfig.{key} must be a string")
            values[attr] = value or None
        skip = _field(raw_tls, "InsecureSkipVerify")
        if skip is not None and not isinstance(skip, bool):
            raise PluginSpecError(f"{path}: TLSConfig.InsecureSkipVerify must be true or false")
        tls = TLSConfig(bool(skip), **values)  # type: ignore[arg-type]
    return PluginAddress(name, parse_url(addr, str(path)), path, tls)


def _is_socket(path: Path) -> bool | None:
    """True for a socket, False for something else, None when nothing is there."""
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return None


@dataclass(frozen=True)
class PluginDirs:
    """The directories searched for Docker plugins: sockets first, then spec files."""

    socket_dirs: tuple[Path, ...] = DEFAULT_SOCKET_DIRS
    spec_dirs: tuple[Path, ...] = DEFAULT_SPEC_DIRS

    @classmethod
    def resolve(
        cls,
        dirs: Iterable[str | os.PathLike[str]] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> PluginDirs:
        """``dirs``, else ``$LIBNET_PLUGIN_DIRS``, else Docker's directories.

        Each given directory is searched for sockets and for spec files.
        """
        env = os.environ if env is None else env
        if dirs is None and env.get(PLUGIN_DIRS_ENV) is not None:
            dirs = [d for d in env[PLUGIN_DIRS_ENV].split(":") if d]
        if dirs is None:
            return cls()
        paths = tuple(Path(d) for d in path_list(dirs, "plugin_dirs"))
        return cls(paths, paths)

    @property
    def enabled(self) -> bool:
        return bool(self.socket_dirs or self.spec_dirs)

    def candidates(self, name: str) -> Iterator[Path]:
        """Every path looked at for plugin ``name``, in lookup order."""
        for base in self.socket_dirs:
            yield base / f"{name}.sock"
            yield base / name / f"{name}.sock"
        for base in self.spec_dirs:
            for ext in (".spec", ".json"):
                yield base / f"{name}{ext}"
                yield base / name / f"{name}{ext}"

    def find(self, name: str) -> PluginAddress | None:
        """Where plugin ``name`` listens, or None if no directory has it.

        Raises PluginSpecError for a spec file that cannot be used, and when nothing else
        is found for a ``NAME.sock`` that exists but is not a socket.
        """
        if not name or "/" in name or name.startswith("."):
            return None
        not_socket: Path | None = None
        for path in self.candidates(name):
            if path.suffix == ".sock":
                kind = _is_socket(path)
                if kind:
                    return PluginAddress(name, f"unix://{path}", path)
                if kind is False and not_socket is None:
                    not_socket = path
                continue
            if not path.is_file():
                continue
            if path.suffix == ".json":
                return _json_spec(name, path)
            return PluginAddress(name, parse_url(_read(path), str(path)), path)
        if not_socket is not None:
            raise PluginSpecError(
                f"{not_socket} exists but is not a socket, and no spec file names plugin "
                f"{name!r}; remove it, or start the plugin that should listen there"
            )
        return None

    def names(self) -> list[str]:
        """The names of the plugins in the directories: ``*.sock``, ``*.spec``, ``*.json``
        and the ``DIR/DIR.*`` subfolder forms, first occurrence first."""
        found: dict[str, None] = {}
        for exts, bases in (((".sock",), self.socket_dirs), ((".spec", ".json"), self.spec_dirs)):
            for base in bases:
                try:
                    entries = sorted(os.scandir(base), key=lambda e: e.name)
                except OSError:
                    continue
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    path = Path(entry.path)
                    if entry.is_dir():
                        candidates = [path / f"{entry.name}{ext}" for ext in exts]
                    elif path.suffix in exts:
                        candidates = [path]
                    else:
                        continue
                    if any(
                        _is_socket(p) if p.suffix == ".sock" else p.is_file() for p in candidates
                    ):
                        found.setdefault(entry.name if entry.is_dir() else path.stem, None)
        return list(found)
