"""Calls naming a network or endpoint the driver never saw."""

from __future__ import annotations

from typing import Any

import pytest

from libnet.driverapi import InterfaceInfo, JoinInfo
from libnet.errors import NotFoundError
from libnet.testing._contract import UNKNOWN_IDS, caused_by, describe, soft_violation, violation
from libnet.testing._subject import ConformanceSubject, new_id
from libnet.testing._suite._helpers import SuiteHelpers

__all__ = ["UnknownIdTests"]

UNKNOWN_ID_CALLS = (
    "delete_network-unknown-network",
    "create_endpoint-unknown-network",
    "delete_endpoint-unknown-network",
    "delete_endpoint-unknown-endpoint",
    "endpoint_oper_info-unknown-endpoint",
    "join-unknown-endpoint",
    "leave-unknown-endpoint",
)


class UnknownIdTests(SuiteHelpers):
    """Calls naming IDs the driver never saw raise, preferably NotFoundError."""

    @pytest.mark.parametrize("case", UNKNOWN_ID_CALLS)
    def test_unknown_ids_are_refused(self, libnet_subject: ConformanceSubject, case: str) -> None:
        """Calls naming a network or endpoint the driver never saw raise."""
        s = libnet_subject
        driver = s.driver()
        net = self._network(s)
        nid, eid = net.id, new_id()
        if case.endswith("unknown-network"):
            nid = new_id()
        method = case.partition("-")[0]
        args: dict[str, tuple[Any, ...]] = {
            "delete_network": (nid,),
            "create_endpoint": (nid, eid, InterfaceInfo(), self.endpoint_options),
            "delete_endpoint": (nid, eid),
            "endpoint_oper_info": (nid, eid),
            "join": (nid, eid, None, JoinInfo(InterfaceInfo()), self.join_options),
            "leave": (nid, eid),
        }
        unknown = "network" if case.endswith("unknown-network") else "endpoint"
        contract = (
            f"a call that names {'a network' if unknown == 'network' else 'an endpoint'} the "
            "driver does not hold raises, preferably "
            "libnet.errors.NetworkNotFoundError or EndpointNotFoundError"
        )
        try:
            result = getattr(driver, method)(*args[method])
        except Exception as exc:
            if not caused_by(exc, NotFoundError):
                soft_violation(
                    UNKNOWN_IDS,
                    s.network_type,
                    f"{method} for an unknown {unknown} raised {describe(exc)}",
                    contract,
                )
            return
        violation(
            UNKNOWN_IDS,
            s.network_type,
            f"{method} accepted {unknown} ID {(nid if unknown == 'network' else eid)[:12]}, "
            f"which the driver never created, and returned {result!r}",
            contract,
        )
