"""The capability a driver registers with, and a declared network limit."""

from __future__ import annotations

import pytest

from libnet.driverapi import Capability, Scope
from libnet.errors import ForbiddenError
from libnet.testing._contract import CAPABILITY, caused_by, violation
from libnet.testing._subject import ConformanceSubject
from libnet.testing._suite._helpers import SuiteHelpers

__all__ = ["CapabilityTests"]


class CapabilityTests(SuiteHelpers):
    """The driver's capability is valid and what it declares holds."""

    def test_capability_is_valid(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        reg = s.registered()
        cap = reg.capability
        contract = "register_driver gets a libnet.Capability with scopes local or global"
        if not isinstance(cap, Capability) or not {cap.data_scope, cap.connectivity_scope} <= set(
            Scope
        ):
            violation(CAPABILITY, s.network_type, f"it registered with {cap!r}", contract)
        rows = [r for r in s.controller.drivers() if r.name == s.network_type]
        if not rows or rows[0].status != "ok" or rows[0].capability != cap:
            violation(
                CAPABILITY,
                s.network_type,
                f"Controller.drivers() lists it as {[r.to_dict() for r in rows]}",
                "a registered driver is listed with status ok and the capability it declared",
            )

    def test_networks_report_the_declared_scope(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        scope = str(s.registered().capability.data_scope)
        net = self._network(s)
        seen = {
            "Network.scope": net.scope,
            "Network.to_dict()['scope']": net.to_dict()["scope"],
            "after a restart": s.new_controller().network_by_id(net.id).scope,
        }
        wrong = {k: v for k, v in seen.items() if v != scope}
        if wrong:
            violation(
                CAPABILITY,
                s.network_type,
                f"the driver declares data scope {scope!r} but its network reports {wrong}",
                "a network has the data scope of its driver's capability",
            )

    def test_declared_network_limit_is_enforced(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        limit = self.max_networks
        if limit is None:
            pytest.skip(f"{type(self).__name__} declares no max_networks")
        for _ in range(limit):
            self._network(s)
        try:
            s.new_network(options=self.network_options)
        except Exception as exc:
            if not caused_by(exc, ForbiddenError):
                violation(
                    CAPABILITY,
                    s.network_type,
                    f"network {limit + 1} was refused with the wrong error",
                    "one network more than max_networks is refused with ForbiddenError",
                    exc,
                )
        else:
            violation(
                CAPABILITY,
                s.network_type,
                f"the test class declares max_networks = {limit} but the driver accepted "
                f"network {limit + 1}",
                "one network more than max_networks is refused with ForbiddenError",
            )
        if len(s.controller.networks()) != limit:  # pragma: no cover - the controller's job
            pytest.fail("the controller recorded a refused network", pytrace=False)
