"""Restore after a restart: a new driver object learns the old state."""

from __future__ import annotations

from libnet.controller import Controller
from libnet.network import Endpoint
from libnet.testing._contract import HOOK, INTERFACE, RESTORE, TESTING, violation
from libnet.testing._subject import ConformanceSubject, unique
from libnet.testing._suite._helpers import PRESET, SuiteHelpers

__all__ = ["RestoreTests"]


class RestoreTests(SuiteHelpers):
    """A restarted controller's new driver object carries on where the old left off."""

    def _restart(self, s: ConformanceSubject) -> Controller:
        __tracebackhide__ = True
        old = s.driver()
        c = self._step(
            s,
            RESTORE,
            "starting a second controller on the same state failed",
            "a restarted process loads the driver again",
            s.new_controller,
        )
        if s.driver(c) is old:
            section = TESTING if s.source == "make_driver" else HOOK
            where = (
                "make_driver() returned the same object twice"
                if s.source == "make_driver"
                else "libnet_driver_init registered the same driver object for two controllers"
            )
            violation(
                section,
                s.network_type,
                where,
                "each controller gets a new driver object (a restart is a new process; config "
                "may differ per controller), so keep state in the driver object, not the module",
            )
        return c  # type: ignore[no-any-return]

    def test_restart_gives_a_new_driver_instance(self, libnet_subject: ConformanceSubject) -> None:
        self._restart(libnet_subject)

    def test_restart_then_leave_and_delete(self, libnet_subject: ConformanceSubject) -> None:
        """A fresh driver learns old objects through restore_* and can then tear them down."""
        s = libnet_subject
        net = self._network(s)
        joined, idle = self._endpoint(s, net), self._endpoint(s, net)
        sb = self._sandbox(s, 0)
        self._join(s, joined, sb, RESTORE)
        c2 = self._restart(s)
        net2 = c2.network_by_id(net.id)
        joined2, idle2 = net2.endpoint_by_id(joined.id), net2.endpoint_by_id(idle.id)
        sb2 = c2.sandbox_by_id(sb.id)
        contract = (
            "after a restart the new driver object gets restore_network and restore_endpoint "
            "for what exists, then every call works as before the restart"
        )
        for what, fn in (
            ("endpoint_oper_info of a joined endpoint", joined2.driver_info),
            ("leave", lambda: joined2.leave(sb2)),
            ("delete_endpoint of the endpoint that left", joined2.delete),
            ("delete_endpoint of an endpoint that never joined", idle2.delete),
            ("delete_network", net2.delete),
        ):
            self._step(s, RESTORE, f"after a restart, {what} failed", contract, fn)

    def test_restart_then_new_endpoint(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        net = self._network(s)
        old = self._endpoint(s, net)
        c2 = self._restart(s)
        net2 = c2.network_by_id(net.id)
        contract = "a restored network takes new endpoints as before the restart"
        ep: Endpoint = self._step(
            s,
            RESTORE,
            "after a restart, create_endpoint on the restored network failed",
            contract,
            lambda: net2.create_endpoint(unique("ep"), options=self.endpoint_options),
        )
        sb = self._sandbox(s, 0, c2)
        for what, fn in (
            ("join", lambda: ep.join(sb, options=self.join_options)),
            ("leave", lambda: ep.leave(sb)),
            ("delete_endpoint", ep.delete),
            (
                "delete_endpoint of the endpoint from before the restart",
                net2.endpoint_by_id(old.id).delete,
            ),
            ("delete_network", net2.delete),
        ):
            self._step(s, RESTORE, f"after a restart, {what} failed", contract, fn)

    def test_restart_keeps_interface_fields(self, libnet_subject: ConformanceSubject) -> None:
        """restore_endpoint gets the interface as stored, fields the driver set included."""
        s = libnet_subject
        net = self._network(s)
        ep = self._endpoint(s, net)
        before = {k: ep.info()[k] for k in PRESET}
        c2 = self._restart(s)
        ep2 = c2.network_by_id(net.id).endpoint_by_id(ep.id)
        self._step(
            s,
            RESTORE,
            f"after a restart, restore_endpoint failed for an endpoint whose interface is {before}",
            "restore_endpoint is handed the interface as the controller stored it, with what "
            "the driver set at creation already filled in; fill only empty fields (see "
            f"{INTERFACE.link})",
            ep2.driver_info,
        )
        after = {k: ep2.info()[k] for k in PRESET}
        if after != before:  # pragma: no cover - InterfaceInfo refuses the change
            violation(
                RESTORE,
                s.network_type,
                f"the interface changed across the restart from {before} to {after}",
                "a restart changes nothing the controller recorded",
            )
