"""Reconciliation reports a removal as done only when the object is gone when it looks again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _drivers import LOCAL, RecordingDriver

import libnet
from libnet.driverapi import Orphan, StoredNetwork


class _Kernel(RecordingDriver):
    """A driver with kernel objects: two orphans, one of which refuses to go away."""

    def __init__(self) -> None:
        super().__init__()
        self.objects = {"gone-soon", "stuck"}

    def kernel_check(self, network: StoredNetwork) -> dict[str, list[str]]:
        return {}

    def kernel_orphans(self, networks: Sequence[StoredNetwork]) -> list[Orphan]:
        return [Orphan("thing", name) for name in sorted(self.objects)]

    def remove_orphan(self, orphan: Orphan) -> None:
        if orphan.name != "stuck":  # says nothing, removes nothing
            self.objects.discard(orphan.name)


def test_an_orphan_still_there_after_its_removal_is_reported_as_failed() -> None:
    driver = _Kernel()
    with libnet.Controller(plugins="off") as c:
        c.register_driver("kernelish", driver, LOCAL)
        report = c.reconcile(repair=True)
    actions: dict[str, Any] = {f.object: f.action for f in report.findings}
    assert actions == {"thing gone-soon": "removed", "thing stuck": actions["thing stuck"]}
    assert actions["thing stuck"].startswith("failed: still there")
    assert not report.ok
