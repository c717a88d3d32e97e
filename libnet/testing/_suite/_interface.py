"""The interface contract: the fields the controller set are the controller's."""

from __future__ import annotations

import ipaddress

import pytest

from libnet.driverapi import InterfaceInfo
from libnet.network import Network
from libnet.testing._contract import INTERFACE, caused_by, violation
from libnet.testing._subject import ConformanceSubject, new_id
from libnet.testing._suite._helpers import PRESET, SuiteHelpers

__all__ = ["InterfaceTests"]


class InterfaceTests(SuiteHelpers):
    """create_endpoint keeps the interface fields the controller set."""

    @pytest.mark.parametrize("field", ["mac_address", "address", "address_ipv6", "all"])
    def test_interface_fields_set_by_the_controller_are_kept(
        self, libnet_subject: ConformanceSubject, field: str
    ) -> None:
        """create_endpoint leaves pre-set interface fields as they are, and does not fail."""
        s = libnet_subject
        driver = s.driver()
        net = self._network(s)
        preset = self._preset(s, net)
        given = preset if field == "all" else {field: preset[field]}
        iface = InterfaceInfo(**given)
        eid = new_id()
        contract = (
            "a driver fills only the InterfaceInfo fields the controller left empty; the ones "
            "it set are the controller's, and the driver works with them"
        )
        shown = ", ".join(f"{k}={v}" for k, v in given.items())
        try:
            driver.create_endpoint(net.id, eid, iface, self.endpoint_options)
        except Exception as exc:
            if caused_by(exc, ValueError) and "already has" in str(exc):
                did = f"create_endpoint tried to overwrite what the controller set ({shown})"
            else:
                did = f"create_endpoint failed when the controller had set {shown}"
            violation(INTERFACE, s.network_type, did, contract, exc)
        now = iface.to_dict()
        changed = {k: now[k] for k, v in given.items() if now[k] != v}
        if changed or set(given) & iface.set_by_driver:
            violation(
                INTERFACE,
                s.network_type,
                f"create_endpoint changed what the controller set ({shown}) to {changed}",
                contract,
            )
        self._step(
            s,
            INTERFACE,
            f"delete_endpoint failed for an endpoint created with {shown}",
            contract,
            lambda: driver.delete_endpoint(net.id, eid),
        )

    def _preset(self, s: ConformanceSubject, net: Network) -> dict[str, str]:
        """Interface fields as the controller would set them: an address of the network's pool.

        The address is the pool's last host, which the IPAM hands out last.
        """
        preset = dict(PRESET)
        ipam = net.to_dict().get("ipam") or {}
        for pool in ipam.get("config") or []:
            subnet = ipaddress.ip_network(pool.get("subnet") or "0.0.0.0/0")
            if subnet.version == 4 and 0 < subnet.prefixlen < 31:
                preset["address"] = f"{subnet.broadcast_address - 1}/{subnet.prefixlen}"
                break
        return preset
