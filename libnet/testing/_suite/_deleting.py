"""Deleting in every order the controller allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from libnet.testing._contract import DELETING, Section, violation
from libnet.testing._subject import ConformanceSubject
from libnet.testing._suite._helpers import SuiteHelpers, forced

__all__ = ["DeletingTests"]

DELETE_ORDERS = (
    "force-delete-joined-endpoint",
    "force-delete-network-with-endpoints",
    "delete-sandbox-before-endpoints",
    "leave-oldest-join-first",
    "delete-endpoints-oldest-first",
    "delete-endpoints-newest-first",
    "delete-endpoints-middle-first",
)


class DeletingTests(SuiteHelpers):
    """The driver accepts deletes in every order the controller makes them."""

    @pytest.mark.parametrize("order", DELETE_ORDERS)
    def test_delete_in_any_order_the_controller_allows(
        self, libnet_subject: ConformanceSubject, order: str
    ) -> None:
        s = libnet_subject
        net = self._network(s)
        eps = [self._endpoint(s, net) for _ in range(3)]
        sb = self._sandbox(s, 0)
        contract = (
            "the controller deletes in several orders (forced deletes leave first, a deleted "
            "sandbox leaves its endpoints newest first, endpoints go in any order): the "
            "driver accepts each"
        )
        steps: list[tuple[str, Callable[[], Any]]]
        if order == "force-delete-joined-endpoint":
            self._join(s, eps[0], sb, DELETING)
            steps = [
                ("Endpoint.delete(force=True) of a joined endpoint", forced(eps[0])),
                *[("delete_endpoint", ep.delete) for ep in eps[1:]],
            ]
        elif order == "force-delete-network-with-endpoints":
            self._join(s, eps[0], sb, DELETING)
            steps = []
        elif order == "delete-sandbox-before-endpoints":
            for ep in eps:
                self._join(s, ep, sb, DELETING)
            steps = [("Sandbox.delete with three joined endpoints", sb.delete)]
            steps += [("delete_endpoint", ep.delete) for ep in eps]
        elif order == "leave-oldest-join-first":
            for ep in eps:
                self._join(s, ep, sb, DELETING)
            steps = [("leave", lambda ep=ep: ep.leave(sb)) for ep in eps]  # type: ignore[misc]
            steps += [("delete_endpoint", ep.delete) for ep in eps]
        else:
            pick = {
                "delete-endpoints-oldest-first": [0, 1, 2],
                "delete-endpoints-newest-first": [2, 1, 0],
                "delete-endpoints-middle-first": [1, 0, 2],
            }[order]
            steps = [("delete_endpoint", eps[i].delete) for i in pick]
        if order == "force-delete-network-with-endpoints":
            steps.append(("Network.delete(force=True) with endpoints, one joined", forced(net)))
        else:
            steps.append(("delete_network", net.delete))
        for what, fn in steps:
            self._step(s, DELETING, f"deleting as {order}: {what} failed", contract, fn)
        self._recreate(s, DELETING, f"deleting as {order}")

    # -- helpers ---------------------------------------------------------------------

    def _recreate(self, s: ConformanceSubject, section: Section, after: str) -> None:
        """A network of the type can be created and deleted again: the driver forgot the old."""
        __tracebackhide__ = True
        c = s.controller
        self._step(
            s,
            section,
            f"after {after}, creating and deleting a new network of the type failed",
            "a deleted network and its endpoints are forgotten by the driver",
            lambda: s.new_network(options=self.network_options).delete(),
        )
        if c.networks():
            violation(
                section,
                s.network_type,
                f"after {after}, networks remain: {[n.name for n in c.networks()]}",
                "deleting a network removes it",
            )
