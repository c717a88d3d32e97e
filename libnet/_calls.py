"""Calling a driver: one place that turns foreign exceptions into DriverError."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from libnet.errors import DriverError, LibnetError

log = logging.getLogger("libnet")


def call_driver(what: str, method: Callable[..., Any], *args: Any) -> Any:
    """Call a driver method; errors that are not libnet's become DriverError naming ``what``."""
    try:
        return method(*args)
    except LibnetError:
        raise
    except Exception as exc:
        raise DriverError(
            f"driver failed in {getattr(method, '__name__', 'a call')} for {what}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def undo(what: str, method: Callable[..., Any], *args: Any) -> None:
    """Run a rollback step; its failure is logged, never raised over the original error."""
    try:
        method(*args)
    except Exception:
        log.warning("rollback of %s failed", what, exc_info=True)
