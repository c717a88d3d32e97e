"""The lifecycle in order, and endpoint_oper_info's answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from libnet.network import Endpoint, Network
from libnet.testing._contract import LIFECYCLE, violation
from libnet.testing._subject import ConformanceSubject
from libnet.testing._suite._helpers import SuiteHelpers

__all__ = ["LifecycleTests"]


class LifecycleTests(SuiteHelpers):
    """Every step of the lifecycle works after the ones before it did."""

    def _lifecycle(self, s: ConformanceSubject, name: str, ep_name: str) -> None:
        __tracebackhide__ = True
        contract = (
            "create network, create endpoint, join, leave, delete endpoint, delete network: "
            "each step succeeds after the ones before it did"
        )
        c = s.controller
        net: Network = self._step(
            s,
            LIFECYCLE,
            "step 1 of the lifecycle, create_network, failed",
            contract,
            lambda: s.new_network(name, options=self.network_options),
        )
        ep: Endpoint = self._step(
            s,
            LIFECYCLE,
            "step 2 of the lifecycle, create_endpoint, failed",
            contract,
            lambda: net.create_endpoint(ep_name, options=self.endpoint_options),
        )
        sb = self._sandbox(s, 0)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("join", lambda: ep.join(sb, options=self.join_options)),
            ("endpoint_oper_info", ep.driver_info),
            ("leave", lambda: ep.leave(sb)),
            ("delete_endpoint", ep.delete),
            ("delete_network", net.delete),
        ]
        for number, (what, fn) in enumerate(steps, start=3):
            self._step(
                s, LIFECYCLE, f"step {number} of the lifecycle, {what}, failed", contract, fn
            )
        sb.delete()
        if any(n.id == net.id for n in c.networks()):
            violation(LIFECYCLE, s.network_type, "the network outlived its deletion", contract)

    def test_lifecycle_in_order(self, libnet_subject: ConformanceSubject) -> None:
        """Create network, endpoint, join, leave, delete endpoint, delete network."""
        self._lifecycle(libnet_subject, "net", "ep")

    def test_lifecycle_repeats_with_the_same_names(
        self, libnet_subject: ConformanceSubject
    ) -> None:
        """A second lifecycle after the first works: the driver forgot what was deleted."""
        self._lifecycle(libnet_subject, "net", "ep")
        self._lifecycle(libnet_subject, "net", "ep")

    def test_endpoint_oper_info_is_a_json_object(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        net = self._network(s)
        ep = self._endpoint(s, net)
        info = self._step(
            s,
            LIFECYCLE,
            "endpoint_oper_info failed for an endpoint it created",
            "endpoint_oper_info returns a dict for every endpoint the driver holds",
            lambda: s.driver().endpoint_oper_info(net.id, ep.id),
        )
        try:
            if not isinstance(info, Mapping):
                raise TypeError(f"it is a {type(info).__name__}")
            json.dumps(dict(info))
        except (TypeError, ValueError) as exc:
            violation(
                LIFECYCLE,
                s.network_type,
                f"endpoint_oper_info returned {info!r}, which is not a JSON object",
                "endpoint_oper_info returns a dict of JSON values (libnet endpoint inspect "
                "prints it)",
                exc,
            )
