"""One controller operation: a store transaction plus the driver steps to undo on failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from libnet._calls import undo


class Operation:
    """Collects undo steps (run newest first if the operation fails) and after-commit steps."""

    __slots__ = ("_after", "_undo")

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []
        self._after: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def on_failure(self, what: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` if the operation fails after this point."""
        self._undo.append((what, fn, args))

    def on_success(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once the operation's transaction has committed."""
        self._after.append((fn, args))

    def rollback(self) -> None:
        for what, fn, args in reversed(self._undo):
            undo(what, fn, *args)

    def committed(self) -> None:
        for fn, args in self._after:
            fn(*args)
