"""Route netlink (rtnetlink) connections through pyroute2, in this or another namespace.

Every kernel call of libnet's OS layer and of the bridge driver goes through :func:`connect`
(the fault-injection tests wrap it). A connection to another namespace is made without
pyroute2's helper process: a short-lived thread enters the namespace, opens the netlink
socket there (a socket stays in the namespace it was created in) and ends.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from libnet.errors import KernelError
from libnet.osl import _sys

__all__ = ["KernelError", "connect", "netlink_error_code", "pyroute2"]

NETLINK_ROUTE = 0


def pyroute2() -> Any:
    """The pyroute2 module, or KernelError saying how to install it."""
    try:
        import pyroute2 as module
    except ImportError as exc:  # pragma: no cover - a dependency on Linux
        raise KernelError("kernel networking needs pyroute2: pip install 'pyroute2>=0.9'") from exc
    return module


def _socket_in(path: str) -> socket.socket:
    def make() -> socket.socket:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _sys.setns(fd, _sys.CLONE_NEWNET)
        finally:
            os.close(fd)
        return socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)

    return _sys.in_thread(make)


def _open(netns: str | None) -> Any:
    """An IPRoute on the calling thread's namespace, or on the namespace file ``netns``."""
    iproute = pyroute2().IPRoute
    if netns is None:
        return iproute(groups=0)
    try:
        sock = _socket_in(netns)
    except OSError as exc:
        raise KernelError(f"cannot open network namespace {netns}: {exc.strerror or exc}") from exc
    try:
        return iproute(fileno=sock.detach(), groups=0)
    except BaseException:
        sock.close()
        raise


def connect(netns: str | None = None) -> Any:
    """A new IPRoute (close it) on this thread's namespace, or on namespace file ``netns``."""
    return _open(netns)


@contextmanager
def rtnl(netns: str | None = None) -> Iterator[Any]:
    """``with rtnl(key) as ipr:`` an IPRoute, closed afterwards."""
    ipr = connect(netns)
    try:
        yield ipr
    finally:
        ipr.close()


def netlink_error_code(exc: BaseException) -> int | None:
    """The errno of a pyroute2 NetlinkError (or OSError), else None."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    if isinstance(exc, OSError):
        return exc.errno
    return None
