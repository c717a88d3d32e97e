"""Keeping plugins' prints out of libnet's output: stdout is stderr while plugin code runs.

:func:`plugin_code` marks the code inside it (a plugin's import, its hooks, a driver call)
as a plugin's: while any such code runs, ``sys.stdout`` is a router that sends what the
marked code writes to ``sys.stderr`` and everything else (libnet's own output, the host
application's other threads) to the real stdout. The router is a context variable lookup
per write, so concurrent calls in other threads are not affected; it is taken away again
when the last marked call ends.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

__all__ = ["plugin_code"]

_inside: ContextVar[bool] = ContextVar("libnet_plugin_code", default=False)
_lock = threading.Lock()
_active = 0
_router: _StdoutRouter | None = None


class _StdoutRouter:
    """A stand-in for ``sys.stdout``: plugin code's writes go to stderr, others' to ``real``."""

    def __init__(self, real: TextIO) -> None:
        self.real = real

    def _target(self) -> TextIO:
        return sys.stderr if _inside.get() else self.real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def writelines(self, lines: Any) -> None:
        self._target().writelines(lines)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


@contextmanager
def plugin_code() -> Iterator[None]:
    """Run the block as a plugin's code: what it prints to stdout goes to stderr."""
    global _active, _router
    if _inside.get():  # nested: the outer block routes already
        yield
        return
    with _lock:
        if _active == 0 or _router is None or sys.stdout is not _router:
            _router = _StdoutRouter(sys.stdout)
            sys.stdout = _router
        _active += 1
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)
        with _lock:
            _active -= 1
            if _active == 0 and sys.stdout is _router:
                sys.stdout = _router.real
                _router = None
