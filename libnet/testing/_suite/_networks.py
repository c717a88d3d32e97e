"""Several networks of the type at once."""

from __future__ import annotations

import pytest

from libnet.errors import ForbiddenError
from libnet.network import Network
from libnet.testing._contract import NETWORKS, caused_by, describe, violation
from libnet.testing._subject import ConformanceSubject
from libnet.testing._suite._helpers import SuiteHelpers, forced

__all__ = ["NetworksTests"]


class NetworksTests(SuiteHelpers):
    """Networks of the type are independent of each other."""

    def _second_network(self, s: ConformanceSubject, first: Network) -> Network:
        __tracebackhide__ = True
        if self.max_networks is not None and self.max_networks < 2:
            pytest.skip(
                f"{type(self).__name__} declares max_networks = {self.max_networks}: "
                "two networks cannot exist at once"
            )
        try:
            return s.new_network(options=self.network_options)
        except Exception as exc:
            if self.max_networks is None and caused_by(exc, ForbiddenError):
                pytest.skip(
                    f"driver {s.network_type!r} allows one network at a time (it refused a "
                    f"second with {describe(exc)}); set max_networks = 1 to declare it"
                )
            violation(
                NETWORKS,
                s.network_type,
                "creating a second network while the first exists failed",
                "a driver serves several networks at once, or declares a limit: it refuses one "
                "network too many with ForbiddenError and the test class sets max_networks",
                exc,
            )

    def test_two_networks_at_once(self, libnet_subject: ConformanceSubject) -> None:
        """Endpoints of two networks live side by side, in one sandbox too."""
        s = libnet_subject
        a = self._network(s)
        b = self._second_network(s, a)
        ea, eb = self._endpoint(s, a, "ep"), self._endpoint(s, b, "ep")
        sb = self._sandbox(s, 0)
        contract = "networks are independent: what happens on one never affects another"
        for what, fn in (
            ("joining an endpoint of the first network", lambda: ea.join(sb)),
            ("joining an endpoint of the second network", lambda: eb.join(sb)),
            ("endpoint_oper_info on the first", ea.driver_info),
            ("endpoint_oper_info on the second", eb.driver_info),
            ("sandbox delete (leaving both)", sb.delete),
            ("deleting the first endpoint", ea.delete),
            ("deleting the second endpoint", eb.delete),
            ("deleting the first network", a.delete),
            ("deleting the second network", b.delete),
        ):
            self._step(s, NETWORKS, f"with two networks, {what} failed", contract, fn)

    def test_deleting_one_network_leaves_the_other_working(
        self, libnet_subject: ConformanceSubject
    ) -> None:
        s = libnet_subject
        a = self._network(s)
        b = self._second_network(s, a)
        ea, eb = self._endpoint(s, a), self._endpoint(s, b)
        sb = self._sandbox(s, 0)
        self._join(s, eb, sb, NETWORKS)
        contract = "networks are independent: deleting one leaves the others' endpoints intact"
        self._step(s, NETWORKS, "deleting the first network failed", contract, forced(a))
        del ea
        for what, fn in (
            ("endpoint_oper_info", eb.driver_info),
            ("leave", lambda: eb.leave(sb)),
            ("delete_endpoint", eb.delete),
            ("delete_network", b.delete),
        ):
            self._step(
                s,
                NETWORKS,
                f"after the first network was deleted, {what} on the second failed",
                contract,
                fn,
            )
