"""DriverConformance: the driver conformance suite, a test class to subclass.

Every test states one rule of the driver contract; a failure says what the driver did, what
the contract asks and which section of ``docs/writing-drivers.md`` explains it.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import pytest

from libnet.controller import Controller
from libnet.driverapi import Capability, InterfaceInfo, JoinInfo, Scope
from libnet.errors import ForbiddenError, NotFoundError
from libnet.network import Endpoint, Network
from libnet.sandbox import Sandbox
from libnet.testing._contract import (
    CAPABILITY,
    CONCURRENCY,
    DELETING,
    FAILED_JOIN,
    HOOK,
    INTERFACE,
    JOIN_INFO,
    LIFECYCLE,
    NETWORKS,
    RESTORE,
    TESTING,
    UNKNOWN_IDS,
    Section,
    caused_by,
    describe,
    join_problems,
    soft_violation,
    violation,
)
from libnet.testing._subject import ConformanceSubject, InjectedFault, new_id, unique

__all__ = ["DriverConformance"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})

PRESET = MappingProxyType(
    {
        "mac_address": "02:42:c0:00:02:63",
        "address": "192.0.2.99/24",
        "address_ipv6": "2001:db8::63/64",
    }
)
"""Interface fields the suite sets as the controller would, before the driver sees them."""

JOIN_FIELDS = ("src_name", "dst_prefix", "dst_name", "gateway", "gateway_ipv6", "static_routes")
"""What ``Endpoint.info()`` reports of the driver's JoinInfo."""

UNKNOWN_ID_CALLS = (
    "delete_network-unknown-network",
    "create_endpoint-unknown-network",
    "delete_endpoint-unknown-network",
    "delete_endpoint-unknown-endpoint",
    "endpoint_oper_info-unknown-endpoint",
    "join-unknown-endpoint",
    "leave-unknown-endpoint",
)

DELETE_ORDERS = (
    "force-delete-joined-endpoint",
    "force-delete-network-with-endpoints",
    "delete-sandbox-before-endpoints",
    "leave-oldest-join-first",
    "delete-endpoints-oldest-first",
    "delete-endpoints-newest-first",
    "delete-endpoints-middle-first",
)

THREAD_TIMEOUT = 120.0
"""Seconds the concurrency tests wait for their threads before calling it a deadlock."""


class DriverConformance:
    """The driver conformance suite: subclass it as a ``Test...`` class in a test module.

    Set :attr:`network_type` to test the installed driver of that type (built in, or from
    an installed plugin, found through its entry point as libnet finds it), or override
    :meth:`make_driver` to test a driver object directly. The other class attributes
    describe what the driver needs and declares. Each test gets fresh controllers sharing
    one state directory (in the test's ``tmp_path``) and a fresh driver instance; nothing
    touches the host's state unless the driver itself does.
    """

    network_type: ClassVar[str] = ""
    """The network type under test; with :meth:`make_driver`, the name it is registered as
    (default ``"conformance"``)."""

    capability: ClassVar[Capability | None] = None
    """The capability a driver from :meth:`make_driver` registers with (default local)."""

    driver_config: ClassVar[Mapping[str, Any]] = _EMPTY
    """The configuration an installed plugin's init hook receives."""

    network_options: ClassVar[Mapping[str, Any]] = _EMPTY
    """Options of every network the suite creates (``Controller.new_network(options=)``)."""

    endpoint_options: ClassVar[Mapping[str, Any]] = _EMPTY
    """Options of every endpoint the suite creates."""

    join_options: ClassVar[Mapping[str, Any]] = _EMPTY
    """Options of every join."""

    max_networks: ClassVar[int | None] = None
    """How many networks of the type may exist at once; None for no limit. With a limit the
    driver must refuse one more with ``ForbiddenError``, and the two-network tests skip."""

    threads: ClassVar[int] = 4
    """Threads of the concurrency tests."""

    lifecycles_per_thread: ClassVar[int] = 25
    """Endpoint lifecycles each thread of the concurrency tests runs."""

    def make_driver(self) -> Any:
        """Return a new driver object to test, or None to test the installed driver.

        Called once per controller the suite makes, so each must be a new object.
        """
        return None

    def sandbox_options(self, index: int) -> Mapping[str, Any]:
        """Keyword arguments of ``Controller.new_sandbox`` for the suite's ``index``-th sandbox.

        The default makes logical sandboxes (no network namespace); a driver that needs
        one can return ``{"create": True}`` (needs root).
        """
        return _EMPTY

    def resolve_network_type(self, config: pytest.Config) -> str:
        """The network type under test; the command-line form reads ``--libnet-driver``."""
        return self.network_type

    @pytest.fixture
    def libnet_subject(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[ConformanceSubject]:
        """The driver under test, with its first controller ready."""
        network_type = self.resolve_network_type(request.config)
        first = self.make_driver()
        if first is None and not network_type:
            pytest.fail(
                f"{type(self).__name__} names no driver: set network_type, override "
                f"make_driver(), or run with --libnet-driver NAME (see {TESTING.link})",
                pytrace=False,
            )
        subject = ConformanceSubject(
            network_type or "conformance",
            make_driver=None if first is None else self.make_driver,
            first_driver=first,
            capability=self.capability,
            driver_config=self.driver_config,
            state_dir=tmp_path / "libnet-state",
        )
        yield subject
        subject.close()

    # -- helpers ---------------------------------------------------------------------

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

    def _recreate(self, s: ConformanceSubject, section: Section, after: str) -> None:
        """A network of the type can be created and deleted again: the driver forgot the old."""
        __tracebackhide__ = True
        c = s.controller
        self._step(
            s,
            section,
            f"after {after}, creating and deleting a new network of the type failed",
            "a deleted network and its endpoints are forgotten by the driver",
            lambda: s.new_network(options=self.network_options).delete(),
        )
        if c.networks():
            violation(
                section,
                s.network_type,
                f"after {after}, networks remain: {[n.name for n in c.networks()]}",
                "deleting a network removes it",
            )

    # -- lifecycle -------------------------------------------------------------------

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

    # -- unknown IDs -----------------------------------------------------------------

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

    # -- the interface contract ------------------------------------------------------

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

    # -- join information ------------------------------------------------------------

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

    # -- leave after a failed join ---------------------------------------------------

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

    # -- deleting --------------------------------------------------------------------

    @pytest.mark.parametrize("order", DELETE_ORDERS)
    def test_delete_in_any_order_the_controller_allows(
        self, libnet_subject: ConformanceSubject, order: str
    ) -> None:
        s = libnet_subject
        net = self._network(s)
        eps = [self._endpoint(s, net) for _ in range(3)]
        sb = self._sandbox(s, 0)
        contract = (
            "the controller deletes in several orders (forced deletes leave first, a deleted "
            "sandbox leaves its endpoints newest first, endpoints go in any order): the "
            "driver accepts each"
        )
        steps: list[tuple[str, Callable[[], Any]]]
        if order == "force-delete-joined-endpoint":
            self._join(s, eps[0], sb, DELETING)
            steps = [
                ("Endpoint.delete(force=True) of a joined endpoint", _forced(eps[0])),
                *[("delete_endpoint", ep.delete) for ep in eps[1:]],
            ]
        elif order == "force-delete-network-with-endpoints":
            self._join(s, eps[0], sb, DELETING)
            steps = []
        elif order == "delete-sandbox-before-endpoints":
            for ep in eps:
                self._join(s, ep, sb, DELETING)
            steps = [("Sandbox.delete with three joined endpoints", sb.delete)]
            steps += [("delete_endpoint", ep.delete) for ep in eps]
        elif order == "leave-oldest-join-first":
            for ep in eps:
                self._join(s, ep, sb, DELETING)
            steps = [("leave", lambda ep=ep: ep.leave(sb)) for ep in eps]  # type: ignore[misc]
            steps += [("delete_endpoint", ep.delete) for ep in eps]
        else:
            pick = {
                "delete-endpoints-oldest-first": [0, 1, 2],
                "delete-endpoints-newest-first": [2, 1, 0],
                "delete-endpoints-middle-first": [1, 0, 2],
            }[order]
            steps = [("delete_endpoint", eps[i].delete) for i in pick]
        if order == "force-delete-network-with-endpoints":
            steps.append(("Network.delete(force=True) with endpoints, one joined", _forced(net)))
        else:
            steps.append(("delete_network", net.delete))
        for what, fn in steps:
            self._step(s, DELETING, f"deleting as {order}: {what} failed", contract, fn)
        self._recreate(s, DELETING, f"deleting as {order}")

    # -- several networks ------------------------------------------------------------

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
        self._step(s, NETWORKS, "deleting the first network failed", contract, _forced(a))
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

    # -- concurrency -----------------------------------------------------------------

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

    # -- capability ------------------------------------------------------------------

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

    # -- restore after a restart -----------------------------------------------------

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


def _forced(obj: Network | Endpoint) -> Callable[[], None]:
    return lambda: obj.delete(force=True)


def _shown(values: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if v not in (None, [], False)}
    return json.dumps(shown, sort_keys=True) if shown else "nothing"
