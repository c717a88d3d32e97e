"""Calls from several threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from libnet.driverapi import InterfaceInfo, JoinInfo
from libnet.network import Network
from libnet.testing._contract import CONCURRENCY, LIFECYCLE, violation
from libnet.testing._subject import ConformanceSubject, new_id
from libnet.testing._suite._helpers import SuiteHelpers

__all__ = ["ConcurrencyTests"]

THREAD_TIMEOUT = 120.0
"""Seconds the concurrency tests wait for their threads before calling it a deadlock."""


class ConcurrencyTests(SuiteHelpers):
    """The driver guards its own state against concurrent calls."""

    def _in_threads(
        self, s: ConformanceSubject, work: Callable[[int, int], None], what: str
    ) -> None:
        """Run ``work(thread, i)`` for every thread and iteration, all threads at once."""
        __tracebackhide__ = True
        barrier = threading.Barrier(self.threads)
        errors: list[tuple[int, int, BaseException]] = []
        lock = threading.Lock()

        def run(t: int) -> None:
            barrier.wait()
            for i in range(self.lifecycles_per_thread):
                try:
                    work(t, i)
                except BaseException as exc:
                    with lock:
                        errors.append((t, i, exc))

        workers = [
            threading.Thread(target=run, args=(t,), daemon=True, name=f"libnet-conformance-{t}")
            for t in range(self.threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(THREAD_TIMEOUT)
        total = self.threads * self.lifecycles_per_thread
        contract = (
            "the controller calls a driver from several threads at once; the driver guards "
            "its own state"
        )
        if any(w.is_alive() for w in workers):
            violation(
                CONCURRENCY,
                s.network_type,
                f"{what} from {self.threads} threads did not finish in {THREAD_TIMEOUT:.0f} s "
                "(a deadlock?)",
                contract,
            )
        if errors:
            t, i, exc = errors[0]
            violation(
                CONCURRENCY,
                s.network_type,
                f"{len(errors)} of {total} {what} failed from {self.threads} threads at once; "
                f"the first, in thread {t} at iteration {i}",
                contract,
                exc,
            )

    def test_concurrent_endpoint_lifecycles_on_the_driver(
        self, libnet_subject: ConformanceSubject
    ) -> None:
        """Threads run create/join/leave/delete on the driver itself, all at once."""
        s = libnet_subject
        driver = s.driver()
        net = self._network(s)
        sandboxes = [self._sandbox(s, t) for t in range(self.threads)]
        # Optional methods: a driver that is no libnet.Driver subclass may lack them.
        program = getattr(driver, "program_external_connectivity", None)
        revoke = getattr(driver, "revoke_external_connectivity", None)

        def lifecycle(t: int, i: int) -> None:
            eid, iface = new_id(), InterfaceInfo()
            driver.create_endpoint(net.id, eid, iface, self.endpoint_options)
            jinfo = JoinInfo(InterfaceInfo(**iface.to_dict()))
            driver.join(net.id, eid, sandboxes[t].key, jinfo, self.join_options)
            if program is not None:
                program(net.id, eid, self.join_options)
            if revoke is not None:
                revoke(net.id, eid)
            driver.leave(net.id, eid)
            driver.delete_endpoint(net.id, eid)

        self._in_threads(s, lifecycle, "endpoint lifecycles on the driver")
        self._step(
            s,
            CONCURRENCY,
            "after concurrent endpoint lifecycles, deleting the network failed",
            "every endpoint deleted from any thread is gone",
            net.delete,
        )

    def test_concurrent_endpoint_lifecycles_through_the_controller(
        self, libnet_subject: ConformanceSubject
    ) -> None:
        s = libnet_subject
        net = self._network(s)

        def lifecycle(t: int, i: int) -> None:
            ep = net.create_endpoint(f"ep-{t}-{i}", options=self.endpoint_options)
            sb = self._sandbox(s, t)
            ep.join(sb, options=self.join_options)
            ep.leave(sb)
            ep.delete()
            sb.delete()

        self._in_threads(s, lifecycle, "endpoint lifecycles through one controller")
        self._step(
            s,
            CONCURRENCY,
            "after concurrent endpoint lifecycles, deleting the network failed",
            "every endpoint deleted from any thread is gone",
            net.delete,
        )

    def test_concurrently_created_endpoints_get_distinct_interfaces(
        self, libnet_subject: ConformanceSubject
    ) -> None:
        """MACs and addresses the driver picks for endpoints created at once never repeat.

        Only fields the driver picks count: those it fills differently for two endpoints
        created one after the other with the same options (not those copied from options).
        """
        s = libnet_subject
        driver = s.driver()
        net = self._network(s)
        picked = self._picked_fields(s, net)
        if not picked:
            pytest.skip(f"driver {s.network_type!r} picks no MAC or address for endpoints")
        made: list[tuple[str, InterfaceInfo]] = []
        lock = threading.Lock()

        def create(t: int, i: int) -> None:
            eid, iface = new_id(), InterfaceInfo()
            driver.create_endpoint(net.id, eid, iface, self.endpoint_options)
            with lock:
                made.append((eid, iface))

        self._in_threads(s, create, "endpoint creations on the driver")
        owners: dict[tuple[str, str], list[str]] = {}
        for eid, iface in made:
            for field in iface.set_by_driver & picked:
                value = iface.to_dict()[field]
                if value is not None:
                    owners.setdefault((field, value), []).append(eid)
        clashes = {key: eids for key, eids in owners.items() if len(eids) > 1}
        if clashes:
            (field, value), eids = next(iter(clashes.items()))
            violation(
                CONCURRENCY,
                s.network_type,
                f"create_endpoint gave {field} {value} to {len(eids)} endpoints created at "
                f"once ({len(clashes)} values were given twice or more)",
                "what a driver picks for an endpoint is unique among the endpoints it holds, "
                "whichever threads create them",
            )
        for eid, _ in made:
            self._step(
                s,
                CONCURRENCY,
                "delete_endpoint failed after concurrent creations",
                "every endpoint created from any thread can be deleted",
                lambda eid=eid: driver.delete_endpoint(net.id, eid),  # type: ignore[misc]
            )

    def _picked_fields(self, s: ConformanceSubject, net: Network) -> frozenset[str]:
        """Interface fields the driver fills with a different value for each endpoint."""
        __tracebackhide__ = True
        driver, made = s.driver(), []
        for _ in range(2):
            eid, iface = new_id(), InterfaceInfo()
            self._step(
                s,
                LIFECYCLE,
                "create_endpoint failed",
                "create_endpoint accepts a new endpoint ID on a network the driver created",
                lambda eid=eid, iface=iface: driver.create_endpoint(  # type: ignore[misc]
                    net.id, eid, iface, self.endpoint_options
                ),
            )
            made.append((eid, iface))
        (_, first), (_, second) = made
        for eid, _ in made:
            self._step(
                s,
                LIFECYCLE,
                "delete_endpoint failed",
                "delete_endpoint succeeds for an endpoint the driver created",
                lambda eid=eid: driver.delete_endpoint(net.id, eid),  # type: ignore[misc]
            )
        return frozenset(
            field
            for field in first.set_by_driver & second.set_by_driver
            if first.to_dict()[field] != second.to_dict()[field]
        )
