"""The spec file of a plugin served on TCP: ``NAME.spec`` (a URL) or, with TLS, ``NAME.json``.

Docker speaks TLS to a plugin only when its address is ``https://`` (a ``tcp://`` address
is plain HTTP even with a ``TLSConfig``), so a plugin with TLS is written as ``NAME.json``
with ``"Addr": "https://HOST:PORT"`` and the ``TLSConfig`` clients connect with.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from libnet.errors import ServeError

__all__ = ["answers", "claim", "make_dir", "remove", "spec_text", "url", "write"]


def url(host: str, port: int, *, tls: bool) -> str:
    """The plugin's address as a spec names it."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{'https' if tls else 'tcp'}://{where}"


def spec_text(name: str, address: str, tls_config: dict[str, object] | None) -> str:
    """The content of the spec file: the URL, or the JSON object with ``TLSConfig``."""
    if tls_config is None:
        return address + "\n"
    return json.dumps({"Name": name, "Addr": address, "TLSConfig": tls_config}, indent=2) + "\n"


def make_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0755 if it does not exist."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(path, 0o755)
    except OSError as exc:
        raise ServeError(f"cannot create directory {path}: {exc.strerror or exc}") from exc


def answers(family: int, address: Any) -> bool:
    """Whether something accepts connections at ``address``."""
    probe = socket.socket(family, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(address)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return True  # timed out or otherwise busy: treat as in use
    finally:
        probe.close()
    return True


def _address_in(path: Path) -> str | None:
    """The address a spec file names (``Addr`` of a ``.json``), or None if it names none."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return None
    if path.suffix != ".json":
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return None
    addr = data.get("Addr") if isinstance(data, dict) else None
    return addr if isinstance(addr, str) else None


def _answering(address: str) -> bool:
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in ("tcp", "http", "https") or not host or port is None:
        return False
    return answers(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port))


def claim(spec_dir: Path, name: str, address: str) -> None:
    """Make way for plugin ``name``'s spec in ``spec_dir``.

    A ``NAME.spec`` or ``NAME.json`` naming another address where a plugin answers is
    refused; stale ones are removed (a ``NAME.spec`` would hide a ``NAME.json``).
    """
    stale = []
    for ext in (".spec", ".json"):
        path = spec_dir / f"{name}{ext}"
        if not path.is_file():
            continue
        current = _address_in(path)
        if current and current != address and _answering(current):
            raise ServeError(
                f"{path} names {current}, where a plugin is answering; stop it first or "
                "choose another --name"
            )
        stale.append(path)
    for path in stale:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ServeError(
                f"cannot remove the stale plugin spec {path}: {exc.strerror or exc}"
            ) from exc


def write(path: Path, text: str) -> None:
    """Write the spec file whole (a temporary file renamed into place), mode 0644."""
    make_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ServeError(f"cannot write plugin spec {path}: {exc.strerror or exc}") from exc


def remove(path: Path, text: str) -> None:
    """Remove the spec file, unless another plugin replaced it since."""
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            path.unlink()
