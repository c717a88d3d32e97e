"""Join information: interface names, gateways and static routes a join sets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from libnet.network import Endpoint, Network
from libnet.testing._contract import JOIN_INFO, join_problems, violation
from libnet.testing._subject import ConformanceSubject
from libnet.testing._suite._helpers import PRESET, SuiteHelpers

__all__ = ["JoinInfoTests"]

JOIN_FIELDS = ("src_name", "dst_prefix", "dst_name", "gateway", "gateway_ipv6", "static_routes")
"""What ``Endpoint.info()`` reports of the driver's JoinInfo."""


class JoinInfoTests(SuiteHelpers):
    """What join sets can be applied to the sandbox."""

    def _joined(self, s: ConformanceSubject, net: Network, index: int) -> Endpoint:
        """An endpoint joined through the controller to a sandbox of its own."""
        __tracebackhide__ = True
        ep = self._endpoint(s, net)
        self._join(s, ep, self._sandbox(s, index), JOIN_INFO)
        return ep

    def _join_check(self, s: ConformanceSubject, kind: str, contract: str) -> None:
        __tracebackhide__ = True
        net = self._network(s)
        info = self._joined(s, net, 0).info()
        iface = {k: info[k] for k in PRESET}
        join = {k: info[k] for k in JOIN_FIELDS}
        filled = {"mac_address"} if iface["mac_address"] else set()
        problems = [text for k, text in join_problems(iface, join, filled) if k == kind]
        if problems:
            violation(
                JOIN_INFO,
                s.network_type,
                f"join set {_shown(join)} for interface {_shown(iface)}: {'; '.join(problems)}",
                contract,
            )

    def test_join_names_are_valid_interface_names(self, libnet_subject: ConformanceSubject) -> None:
        self._join_check(
            libnet_subject,
            "names",
            "src_name and dst_name are Linux interface names (1-15 characters, no '/', ':' "
            "or white space), dst_prefix leaves room for an index (at most 13), and an "
            "endpoint with a MAC address gets an interface named on join",
        )

    def test_join_gateways_are_reachable_and_of_the_right_family(
        self, libnet_subject: ConformanceSubject
    ) -> None:
        self._join_check(
            libnet_subject,
            "gateways",
            "the IPv4 gateway is in the subnet of the interface's IPv4 address, or of a "
            "connected static route (IPv6 likewise, or link-local), and is not its own address",
        )

    def test_join_static_routes_can_be_applied(self, libnet_subject: ConformanceSubject) -> None:
        self._join_check(
            libnet_subject,
            "routes",
            "each static route has its own destination; a next hop is reachable as a gateway "
            "is; routes need an interface named by set_names",
        )

    def test_join_host_side_names_are_unique(self, libnet_subject: ConformanceSubject) -> None:
        """Two endpoints joined at once never share the host-side interface name."""
        s = libnet_subject
        net = self._network(s)
        first, second = self._joined(s, net, 0), self._joined(s, net, 1)
        name = first.info()["src_name"]
        if name is not None and name == second.info()["src_name"]:
            violation(
                JOIN_INFO,
                s.network_type,
                f"join named the host-side interface {name!r} for two endpoints joined at once",
                "src_name names an interface in the host's namespace: one per joined endpoint",
            )


def _shown(values: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if v not in (None, [], False)}
    return json.dumps(shown, sort_keys=True) if shown else "nothing"
