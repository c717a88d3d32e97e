"""Calling a driver: the one place that turns foreign exceptions into libnet's errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from libnet._output import plugin_code
from libnet.errors import DriverError, LibnetError

__all__ = ["FAILURES", "call_driver", "driver_error", "reason", "undo"]

log = logging.getLogger("libnet")

E = TypeVar("E", bound=LibnetError)


def reason(exc: BaseException) -> str:
    """An error's text for a message: libnet's own as it is, a foreign one with its type."""
    return str(exc) if isinstance(exc, LibnetError) else f"{type(exc).__name__}: {exc}"


def driver_error(context: str, exc: BaseException, error: type[E] = DriverError) -> E:  # type: ignore[assignment]
    """``error`` saying ``context: TYPE: MESSAGE`` for an exception a driver raised."""
    return error(f"{context}: {type(exc).__name__}: {exc}")


FAILURES = (Exception, SystemExit)
r"""What a driver raising counts as its failure. ``SystemExit`` is one (a driver calling
``sys.exit`` must not end the host); other ``BaseException``\ s pass through: the user's
``KeyboardInterrupt``, and outcomes such as pytest's that a test harness raises on purpose."""


def call_driver(what: str, method: Callable[..., Any], *args: Any) -> Any:
    """Call a driver method; errors that are not libnet's become DriverError naming ``what``.

    A driver's ``SystemExit`` is its failure too, not the host's exit; ``KeyboardInterrupt``
    still interrupts. What the driver prints to stdout goes to stderr, never into libnet's
    output.
    """
    try:
        with plugin_code():
            return method(*args)
    except LibnetError:
        raise
    except FAILURES as exc:
        name = getattr(method, "__name__", "a call")
        raise driver_error(f"driver failed in {name} for {what}", exc) from exc


def undo(what: str, method: Callable[..., Any], *args: Any) -> None:
    """Run a rollback step; its failure is logged in one line (the traceback at debug
    level), never raised over the original error."""
    try:
        with plugin_code():
            method(*args)
    except FAILURES as exc:
        log.warning("rollback of %s failed: %s", what, reason(exc))
        log.debug("rollback of %s failed", what, exc_info=True)
