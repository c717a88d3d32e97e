"""Steps the parts of the conformance suite share: each failure names the contract broken."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from libnet.controller import Controller
from libnet.network import Endpoint, Network
from libnet.sandbox import Sandbox
from libnet.testing._contract import LIFECYCLE, Section, violation
from libnet.testing._subject import ConformanceSubject, unique
from libnet.testing._suite._base import SuiteBase

__all__ = ["PRESET", "SuiteHelpers", "forced"]

PRESET = MappingProxyType(
    {
        "mac_address": "02:42:c0:00:02:63",
        "address": "192.0.2.99/24",
        "address_ipv6": "2001:db8::63/64",
    }
)
"""Interface fields the suite sets as the controller would, before the driver sees them."""


class SuiteHelpers(SuiteBase):
    """Steps that turn any exception into a violation of the contract section they test."""

    def _step(
        self,
        s: ConformanceSubject,
        section: Section,
        did: str,
        contract: str,
        fn: Callable[[], Any],
    ) -> Any:
        """Run one step; any exception becomes a violation of ``section``."""
        __tracebackhide__ = True
        try:
            return fn()
        except Exception as exc:
            violation(section, s.network_type, did, contract, exc)

    def _network(self, s: ConformanceSubject, c: Controller | None = None) -> Network:
        __tracebackhide__ = True
        return self._step(  # type: ignore[no-any-return]
            s,
            LIFECYCLE,
            "creating a network failed",
            "create_network accepts a new network ID with the test class's network_options",
            lambda: s.new_network(options=self.network_options, controller=c),
        )

    def _endpoint(self, s: ConformanceSubject, net: Network, name: str | None = None) -> Endpoint:
        __tracebackhide__ = True
        return self._step(  # type: ignore[no-any-return]
            s,
            LIFECYCLE,
            "creating an endpoint failed",
            "create_endpoint accepts a new endpoint ID on a network the driver created",
            lambda: net.create_endpoint(name or unique("ep"), options=self.endpoint_options),
        )

    def _sandbox(self, s: ConformanceSubject, index: int, c: Controller | None = None) -> Sandbox:
        return (c or s.controller).new_sandbox(unique("ctr"), **self.sandbox_options(index))

    def _join(self, s: ConformanceSubject, ep: Endpoint, sb: Sandbox, section: Section) -> None:
        __tracebackhide__ = True
        self._step(
            s,
            section,
            f"joining endpoint {ep.id[:12]} to a sandbox failed",
            "join succeeds for an endpoint the driver created that is in no sandbox",
            lambda: ep.join(sb, options=self.join_options),
        )


def forced(obj: Network | Endpoint) -> Callable[[], None]:
    """Delete ``obj`` with force, as a step."""
    return lambda: obj.delete(force=True)
