"""What reconciliation found and did: findings and the report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from libnet._output import plugin_code

__all__ = ["Finding", "Report", "attempt"]

log = logging.getLogger("libnet")


@dataclass
class Finding:
    """One disagreement between the kernel and the store, and what was done about it."""

    kind: str
    """``orphan`` (in the kernel only), ``missing`` (stored, gone or incomplete in the
    kernel) or ``error`` (the check itself failed)."""
    object: str
    """What: ``bridge br-1234``, ``endpoint web on network n1``, ``sandbox 0123abcd...``."""
    detail: str
    action: str = "reported"
    """``reported``, ``removed``, ``repaired`` or ``failed: REASON``."""
    repairable: bool = True
    """False for what ``repair`` cannot fix (a process that should run): ``detail`` says
    what to do."""

    def to_dict(self) -> dict[str, str | bool]:
        return {
            "kind": self.kind,
            "object": self.object,
            "detail": self.detail,
            "action": self.action,
            "repairable": self.repairable,
        }


@dataclass
class Report:
    """What reconciliation found; ``ok`` when nothing is left to repair."""

    findings: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """Networks whose driver cannot report its kernel objects."""

    @property
    def ok(self) -> bool:
        return all(f.action in ("removed", "repaired") for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "unchecked": list(self.unchecked),
        }


def attempt(fn: Callable[[], object], done: str) -> str:
    """Run one repair step: ``done`` if it worked, else ``failed: REASON`` (and a log)."""
    try:
        with plugin_code():
            fn()
    except Exception as exc:
        log.warning("reconciliation step failed", exc_info=True)
        return f"failed: {exc}"
    return done
