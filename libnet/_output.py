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
from contextvars import ContextVar
from typing import Any, TextIO

__all__ = ["plugin_code"]

_inside: ContextVar[int] = ContextVar("libnet_plugin_code", default=0)
"""How many marked blocks this context is in (0: none)."""
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


class _PluginCode:
    """The context manager :func:`plugin_code` returns: one for every caller, holding no
    state of its own (the depth of marked calls is the context variable's), so entering it
    costs no generator and no allocation beyond the context variable's token."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _active, _router
        depth = _inside.get()
        _inside.set(depth + 1)
        if depth:  # nested: the outer block routes already
            return
        with _lock:
            if _active == 0 or _router is None or sys.stdout is not _router:
                _router = _StdoutRouter(sys.stdout)
                sys.stdout = _router
            _active += 1

    def __exit__(self, *exc: object) -> None:
        global _active, _router
        depth = _inside.get() - 1
        _inside.set(depth)
        if depth:
            return
        with _lock:
            _active -= 1
            if _active == 0 and sys.stdout is _router:
                sys.stdout = _router.real
                _router = None


_PLUGIN_CODE = _PluginCode()


def plugin_code() -> _PluginCode:
    """Run the ``with`` block as a plugin's code: what it prints to stdout goes to stderr."""
    return _PLUGIN_CODE
