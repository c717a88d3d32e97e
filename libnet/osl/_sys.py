"""System calls the OS layer needs that Python's ``os`` module lacks before 3.12 (ctypes).

``setns`` and ``unshare`` change the namespaces of the *calling thread* only. The OS layer
uses that on purpose: it makes short-lived threads that enter a namespace, create a socket
or a namespace there, and end, so the caller's thread never leaves its own namespace.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "MNT_DETACH",
    "MS_BIND",
    "MS_PRIVATE",
    "MS_REC",
    "MS_SHARED",
    "in_thread",
    "libc",
    "mount",
    "setns",
    "umount",
    "unshare",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
MNT_DETACH = 2

T = TypeVar("T")

_libc: ctypes.CDLL | None = None
_libc_lock = threading.Lock()


def libc() -> ctypes.CDLL:
    """The C library, loaded once (load it before forking, never in a forked child)."""
    global _libc
    with _libc_lock:
        if _libc is None:
            lib = ctypes.CDLL(None, use_errno=True)
            lib.setns.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.unshare.argtypes = [ctypes.c_int]
            lib.mount.argtypes = [
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_ulong,
                ctypes.c_void_p,
            ]
            lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
            _libc = lib
        return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace open at ``fd``."""
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, nstype)
    else:
        _check(libc().setns(fd, nstype), "setns")


def unshare(flags: int) -> None:
    """Give the calling thread new namespaces of the kinds in ``flags``."""
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(flags)
    else:
        _check(libc().unshare(flags), "unshare")


def _b(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    """mount(2); raises OSError."""
    _check(libc().mount(_b(source), _b(target), _b(fstype), flags, None), f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    """umount2(2); raises OSError."""
    _check(libc().umount2(_b(target), flags), f"umount {target}")


def in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a new thread and return its result or raise its exception.

    The thread ends afterwards, so namespaces it entered (``setns``, ``unshare``) die with
    it and never reach the caller's thread.
    """
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, name="libnet-netns", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    value: T = result[0]
    return value
