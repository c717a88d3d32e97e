"""Leave after a failed join: the controller undoes a join that failed halfway."""

from __future__ import annotations

import pytest

from libnet.errors import InjectedFault
from libnet.network import Endpoint, Network
from libnet.sandbox import Sandbox
from libnet.testing._contract import FAILED_JOIN, LIFECYCLE, violation
from libnet.testing._subject import ConformanceSubject
from libnet.testing._suite._helpers import SuiteHelpers

__all__ = ["FailedJoinTests"]


class FailedJoinTests(SuiteHelpers):
    """A join undone with leave leaves the endpoint as if it had never joined."""

    def _failed_join(self, s: ConformanceSubject) -> tuple[Network, Endpoint, Sandbox]:
        """Join an endpoint, then make the controller fail right after the driver's join."""
        __tracebackhide__ = True
        net = self._network(s)
        ep = self._endpoint(s, net)
        sb = self._sandbox(s, 0)
        s.fail_next_commit("the state store failed after the driver's join")
        try:
            ep.join(sb, options=self.join_options)
        except InjectedFault:
            pass
        except Exception as exc:
            violation(
                LIFECYCLE,
                s.network_type,
                "join failed",
                "join succeeds for an endpoint the driver created that is in no sandbox",
                exc,
            )
        else:  # pragma: no cover - the store always fails when armed
            pytest.fail("the conformance suite could not make the join fail", pytrace=False)
        if s.rollback_failures:
            violation(
                FAILED_JOIN,
                s.network_type,
                "the controller undid a join that failed after the driver's join, and "
                f"undoing it failed: {'; '.join(s.rollback_failures)}",
                "when a join fails after the driver's join returned, the controller calls "
                "leave (and revoke_external_connectivity), which must then succeed",
            )
        return net, ep, sb

    def test_failed_join_is_undone_with_leave(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        _, ep, _ = self._failed_join(s)
        if ep.sandbox_id is not None:  # pragma: no cover - the controller's own guarantee
            pytest.fail("the controller recorded a join that failed", pytrace=False)

    def test_join_works_again_after_a_failed_join(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        net, ep, sb = self._failed_join(s)
        contract = (
            "after a failed join was undone with leave, the driver holds the endpoint as if "
            "it had never joined: it can join, leave and be deleted"
        )
        for what, fn in (
            ("joining again", lambda: ep.join(sb, options=self.join_options)),
            ("leave", lambda: ep.leave(sb)),
            ("delete_endpoint", ep.delete),
            ("delete_network", net.delete),
        ):
            self._step(s, FAILED_JOIN, f"after a failed join, {what} failed", contract, fn)

    def test_delete_works_after_a_failed_join(self, libnet_subject: ConformanceSubject) -> None:
        s = libnet_subject
        net, ep, _ = self._failed_join(s)
        contract = "after a failed join was undone with leave, the endpoint can be deleted"
        for what, fn in (("delete_endpoint", ep.delete), ("delete_network", net.delete)):
            self._step(s, FAILED_JOIN, f"after a failed join, {what} failed", contract, fn)
