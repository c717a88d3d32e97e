"""Network and Endpoint: handles on stored records, and the operations on them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from libnet import _sandboxes, labels
from libnet._addressing import allocate_endpoint, ipam_summary, random_mac
from libnet._calls import call_driver
from libnet._records import (
    EndpointRecord,
    NetworkRecord,
    check_ifname,
    check_mapping,
    check_name,
    new_id,
    now,
    to_interface_kwargs,
)
from libnet._runtime import Op, Runtime, network_lock, sandbox_lock
from libnet._state import State
from libnet.driverapi import (
    Driver,
    InterfaceInfo,
    JoinInfo,
    mac_from_ip,
    normalize_mac,
)
from libnet.errors import (
    ActiveContainerError,
    ActiveEndpointsError,
    AmbiguousIDError,
    DriverError,
    EndpointExistsError,
    EndpointInSandboxError,
    EndpointNotFoundError,
    ForbiddenError,
    InvalidOptionError,
    NetworkNotFoundError,
    UnknownDriverError,
)
from libnet.ipam import MAC_ADDRESS_OPTION

if TYPE_CHECKING:
    from libnet.portmap import PortBinding
    from libnet.sandbox import Sandbox

__all__ = ["Endpoint", "Network"]


class Network:
    """A network of the controller. The object is a handle: it reads the current state."""

    __slots__ = ("_rt", "id")

    def __init__(self, runtime: Runtime, network_id: str) -> None:
        self._rt = runtime
        self.id = network_id

    def _rec(self) -> NetworkRecord:
        return self._rt.read().network(self.id)

    @property
    def name(self) -> str:
        return self._rec().name

    @property
    def type(self) -> str:
        """The network type, i.e. the name of the driver serving it."""
        return self._rec().type

    @property
    def scope(self) -> str:
        """The driver's data scope, ``local`` or ``global``."""
        return self._rec().scope

    @property
    def options(self) -> Mapping[str, Any]:
        return MappingProxyType(self._rec().options)

    @property
    def labels(self) -> Mapping[str, str]:
        return MappingProxyType(self._rec().labels)

    @property
    def internal(self) -> bool:
        return self._rec().internal

    @property
    def enable_ipv6(self) -> bool:
        return self._rec().enable_ipv6

    @property
    def created(self) -> str:
        """Creation time, ISO 8601 in UTC."""
        return self._rec().created

    @property
    def status(self) -> str:
        """``ok``, or ``unavailable`` when no installed driver serves the network's type."""
        return "ok" if self._rt.drivers.networks.available(self._rec().type) else "unavailable"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other.id == self.id and other._rt is self._rt

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Network {self.id[:12]}>"

    def create_endpoint(
        self,
        name: str,
        *,
        options: Mapping[str, Any] | None = None,
        ipv4_address: str | None = None,
        ipv6_address: str | None = None,
    ) -> Endpoint:
        """Create an endpoint named ``name``; the driver creates it before it is recorded.

        It gets an IPv4 address from the network's IPAM driver (and an IPv6 one when the
        network has IPv6), or the addresses asked for. Its MAC is the one asked for in
        option ``com.docker.network.endpoint.macaddress`` (:data:`libnet.labels.MAC_ADDRESS`),
        else a random one if the IPAM driver requires a MAC, else the driver's; if the
        driver sets none, the one Docker derives from the IPv4 address.
        """
        check_name("endpoint", name)
        opts = check_mapping(f"options of endpoint {name!r}", options)
        with self._rt.operation(
            f"creation of endpoint {name!r}", locks=self._locks, recheck=False
        ) as op:
            st, drivers = op.state, op.drivers
            net = st.network(self.id, shared=True)
            if st.has_endpoint_named(net, name):
                raise EndpointExistsError(
                    f"endpoint {name!r} already exists on network {net.name!r}; choose another name"
                )
            driver = drivers.network_driver(net)
            what = f"endpoint {name!r} on network {net.name!r}"
            ep = EndpointRecord(new_id(), name, net.id, opts, {}, now())
            if net.scope == "global":
                ep.host = self._rt.host
            address = address_ipv6 = None
            mac = _requested_mac(what, opts)
            op.note(["endpoint", net.id, ep.id, None, opts])
            if net.ipam:
                ipam = drivers.ipams.get(net.ipam["driver"])
                ipam_options = None
                if ipam.capability.requires_mac_address:  # as libnetwork: pick it now
                    mac = mac or random_mac()
                    ipam_options = {MAC_ADDRESS_OPTION: mac}
                address, address_ipv6, ep.allocations = allocate_endpoint(
                    ipam.driver,
                    op,
                    net.ipam,
                    ipv4_address,
                    ipv6_address,
                    what,
                    ipam_options,
                    net.scope,
                )
            iface = InterfaceInfo(mac_address=mac, address=address, address_ipv6=address_ipv6)
            if not net.ipam:  # else the IPAM request stored the intent
                op.intend()
            call_driver(what, driver.create_endpoint, net.id, ep.id, iface, MappingProxyType(opts))
            op.on_failure(f"creation of {what}", driver.delete_endpoint, net.id, ep.id)
            op.on_success(drivers.learn_endpoint, ep.id)
            ep.interface = iface.to_dict()
            if ep.interface["mac_address"] is None and iface.address:
                ep.interface["mac_address"] = mac_from_ip(iface.address)
            st.put_endpoint(net, ep)
        return Endpoint(self, ep.id)

    def _locks(self, st: State, *, joined: bool = False) -> dict[str, str]:
        """This network's lock, with ``joined`` the locks of its endpoints' sandboxes.

        A network another process deleted is forgotten by this process's driver here,
        before the operation fails with NetworkNotFoundError.
        """
        net = _stored_network(self._rt, st, self.id)
        names = {network_lock(net.id, net.scope): f"network {net.name!r}"}
        if joined:
            for ep in st.endpoints(net):
                if ep.sandbox_id is not None:
                    names[sandbox_lock(ep.sandbox_id)] = f"sandbox {ep.sandbox_id[:12]}"
        return names

    def endpoints(self) -> list[Endpoint]:
        """The network's endpoints, sorted by name."""
        st = self._rt.read()
        eps = sorted(st.endpoints(st.network(self.id)), key=lambda e: e.name)
        return [Endpoint(self, e.id) for e in eps]

    def endpoint_by_name(self, name: str) -> Endpoint:
        """The endpoint named ``name``; EndpointNotFoundError if there is none."""
        st = self._rt.read()
        net = st.network(self.id)
        for ep in st.endpoints(net):
            if ep.name == name:
                return Endpoint(self, ep.id)
        raise EndpointNotFoundError(f"endpoint {name!r} not found on network {net.name!r}")

    def endpoint_by_id(self, endpoint_id: str) -> Endpoint:
        """The endpoint with this full ID; EndpointNotFoundError if there is none."""
        st = self._rt.read()
        st.endpoint(st.network(self.id), endpoint_id)
        return Endpoint(self, endpoint_id)

    def endpoint(self, ref: str) -> Endpoint:
        """The endpoint named ``ref``, or with ID or unique ID prefix ``ref``."""
        st = self._rt.read()
        net = st.network(self.id)
        eps = st.endpoints(net)
        for ep in eps:
            if ref in (ep.name, ep.id):
                return Endpoint(self, ep.id)
        matches = [ep.id for ep in eps if ref and ep.id.startswith(ref)]
        if len(matches) > 1:
            raise AmbiguousIDError(
                f"endpoint ID prefix {ref!r} matches {len(matches)} endpoints on network "
                f"{net.name!r}; give more characters"
            )
        if not matches:
            raise EndpointNotFoundError(f"endpoint {ref!r} not found on network {net.name!r}")
        return Endpoint(self, matches[0])

    def delete(
        self,
        force: bool = False,
        *,
        endpoints: bool = False,
        leave_joined: bool = False,
        forget: bool = False,
    ) -> None:
        """Delete the network.

        It must have no endpoints (ActiveEndpointsError) and its driver must be installed.
        With ``force=True`` its endpoints are deleted first (leaving their sandboxes), and
        a network whose driver is no longer installed is removed from the state alone.

        The keywords ask for one part of ``force`` each: ``endpoints`` deletes endpoints
        that are not joined (a joined one is still refused, ActiveEndpointsError), with
        ``leave_joined`` joined ones too, after they leave; ``forget`` removes a network
        whose driver is not installed from the state alone (the driver is not called, so
        what it made in the kernel stays for ``libnet doctor``).
        """
        if force:
            endpoints = leave_joined = forget = True
        with self._rt.operation(
            "deletion of a network", locks=lambda st: self._locks(st, joined=True)
        ) as op:
            st, drivers = op.state, op.drivers
            net = st.network(self.id)
            op.discard.add(network_lock(net.id, net.scope))
            eps = st.endpoints(net)
            available = drivers.networks.available(net.type)
            if not available and not forget:  # checked first: its endpoints cannot go either
                raise UnknownDriverError(
                    f"network {net.name!r} cannot be deleted: no installed driver serves "
                    f"its type {net.type!r}; install it again, or remove the network from "
                    "the state alone (delete(forget=True); libnet network rm --forget)"
                )
            if eps and not endpoints:
                names = ", ".join(sorted(e.name for e in eps))
                hosts = sorted({e.host for e in eps if e.host})
                on = f" on hosts {', '.join(hosts)}" if hosts else ""
                raise ActiveEndpointsError(
                    f"network {net.name!r} has active endpoints ({names}){on}; delete them "
                    "first, or with the network (libnet network rm --with-endpoints)"
                )
            joined = sorted(e.name for e in eps if e.sandbox_id is not None)
            if joined and not leave_joined:
                raise ActiveEndpointsError(
                    f"network {net.name!r} has endpoints joined to sandboxes "
                    f"({', '.join(joined)}); make them leave first, or ask for it "
                    "(libnet network rm --with-endpoints --leave-joined)"
                )
            if not available:
                for ep in eps:
                    op.release_addresses(net, ep)
                    _forget_endpoint(st, net, ep)
            else:
                driver = drivers.network_driver(net)
                for ep in eps:
                    Endpoint(self, ep.id)._delete(op, net, ep, force=True)
                call_driver(f"network {net.name!r}", driver.delete_network, net.id)
                # A later failure brings the network back through the restore path.
                op.on_failure(
                    f"deletion of network {net.name!r}", drivers.restore_network, driver, net
                )
                drivers.forget_network(net.id)
            op.release_addresses(net)
            st.delete_network(net)

    def to_dict(self) -> dict[str, Any]:
        """The network as plain values, as ``libnet network inspect`` prints it."""
        st = self._rt.read()
        net = st.network(self.id)
        return {
            "id": net.id,
            "name": net.name,
            "driver": net.type,
            "scope": net.scope,
            "status": "ok" if self._rt.drivers.networks.available(net.type) else "unavailable",
            "kernel": _kernel_status(self._rt, net, st),
            "created": net.created,
            "internal": net.internal,
            "enable_ipv6": net.enable_ipv6,
            "options": dict(net.options),
            "labels": dict(net.labels),
            "ipam": ipam_summary(net.ipam),
            "endpoints": {ep.id: _info(ep) for ep in st.endpoints(net)},
        }


class Endpoint:
    """An endpoint of a network. The object is a handle: it reads the current state."""

    __slots__ = ("id", "network")

    def __init__(self, network: Network, endpoint_id: str) -> None:
        self.network = network
        self.id = endpoint_id

    def _rec(self) -> EndpointRecord:
        st = self.network._rt.read()
        return st.endpoint(st.network(self.network.id), self.id)

    @property
    def name(self) -> str:
        return self._rec().name

    @property
    def options(self) -> Mapping[str, Any]:
        return MappingProxyType(self._rec().options)

    @property
    def sandbox_id(self) -> str | None:
        """The ID of the sandbox the endpoint is joined to, or None."""
        return self._rec().sandbox_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and other.id == self.id and other.network == self.network

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Endpoint {self.id[:12]} on network {self.network.id[:12]}>"

    def join(
        self,
        sandbox: Sandbox,
        *,
        options: Mapping[str, Any] | None = None,
        publish: Iterable[PortBinding | str] | PortBinding | str = (),
        ifname: str | None = None,
    ) -> None:
        """Join the endpoint to ``sandbox``; an endpoint is in at most one sandbox.

        ``publish`` lists ports to publish on the host, each a :class:`PortBinding` or a
        spec ``[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]`` (host port 0, or none, for
        any free port; ``A-B`` for a free one of a range). The bindings made, with the host
        ports picked, show in :meth:`info` under ``ports``. A host port another endpoint
        publishes is refused (AddressInUseError naming it).

        ``ifname`` names the interface in the sandbox, whatever the driver asks for (a CNI
        runtime's ``CNI_IFNAME``); else the driver's ``dst_name``, else its prefix and a number.
        """
        from libnet._publish import publish_options

        opts = publish_options(check_mapping("join options", options), publish)
        if ifname is not None:
            check_ifname(ifname)
        with self.network._rt.operation(
            "join of an endpoint", locks=lambda st: self._locks(st, sandbox.id), recheck=False
        ) as op:
            self._join(op, sandbox.id, opts, ifname)

    def _join(
        self, op: Op, sandbox_id: str, opts: dict[str, Any], ifname: str | None = None
    ) -> None:
        from libnet._publish import check_clashes, made_bindings

        st = op.state
        net = st.network(self.network.id, shared=True)
        ep = st.endpoint(net, self.id)
        sbox = st.sandbox(sandbox_id)
        what = _what(net, ep)
        if ep.sandbox_id is not None:
            raise EndpointInSandboxError(
                f"{what} is already joined to sandbox {ep.sandbox_id[:12]}; leave it first"
            )
        check_clashes(st, ep, opts, what)
        driver = op.drivers.endpoint_driver(net, ep, op.state)
        jinfo = JoinInfo(InterfaceInfo.from_record(ep.interface))
        call_driver(what, driver.join, net.id, ep.id, sbox.key, jinfo, MappingProxyType(opts))
        op.on_failure(f"join of {what}", driver.leave, net.id, ep.id)
        join = jinfo.to_dict()
        if ifname is not None:
            join["dst_name"] = ifname
        if join["dst_name"] is not None:
            others = [_joined(st, *pair) for pair in sbox.endpoints]
            _check_dst_name(what, join["dst_name"], others, asked=ifname is not None)
        if sbox.key is not None and jinfo.src_name is not None:
            join["interface"] = _sandboxes.plumb(op, sbox.key, join, jinfo.interface, net.mtu)
        call_driver(
            what, driver.program_external_connectivity, net.id, ep.id, MappingProxyType(opts)
        )
        op.on_failure(
            f"external connectivity of {what}",
            driver.revoke_external_connectivity,
            net.id,
            ep.id,
        )
        opts = made_bindings(driver, net.id, ep.id, opts, what)
        check_clashes(st, ep, opts, what)  # the host ports the driver picked
        ep.sandbox_id = sbox.id
        op.on_success(op.drivers.learn_endpoint, ep.id, sbox.id)
        ep.join = join
        ep.join_options = opts
        sbox.endpoints.append((net.id, ep.id))
        st.put_endpoint(net, ep)
        st.put_sandbox(sbox)

    def leave(self, sandbox: Sandbox) -> None:
        """Leave ``sandbox``; the endpoint must be joined to it."""
        with self.network._rt.operation(
            "leave of an endpoint", locks=lambda st: self._locks(st, sandbox.id), recheck=False
        ) as op:
            net = op.state.network(self.network.id, shared=True)
            ep = op.state.endpoint(net, self.id)
            if ep.sandbox_id != sandbox.id:
                raise ForbiddenError(
                    f"{_what(net, ep)} is not joined to sandbox {sandbox.id[:12]}; nothing to leave"
                )
            self._leave(op, net, ep)

    def _leave(self, op: Op, net: NetworkRecord, ep: EndpointRecord) -> None:
        """Leave the joined sandbox through the driver, then forget the join."""
        st = op.state
        driver = op.drivers.endpoint_driver(net, ep, op.state)
        what = _what(net, ep)
        options = MappingProxyType(ep.join_options)
        call_driver(what, driver.revoke_external_connectivity, net.id, ep.id)
        op.on_failure(
            f"revoke of {what}", driver.program_external_connectivity, net.id, ep.id, options
        )
        call_driver(what, driver.leave, net.id, ep.id)
        sbox = st.sandbox(ep.sandbox_id) if ep.sandbox_id else None
        key = sbox.key if sbox else None
        op.on_failure(
            f"leave of {what}",
            _rejoin,
            driver,
            net.id,
            ep.id,
            key,
            InterfaceInfo.from_record(ep.interface),
            options,
        )
        join = ep.join or {}
        if key is not None and sbox is not None and join.get("interface"):
            others = [_joined(st, *pair).join or {} for pair in sbox.endpoints if pair[1] != ep.id]
            iface = InterfaceInfo.from_record(ep.interface)
            _sandboxes.unplumb(op, key, join, iface, net.mtu, others)
        if sbox is not None:
            sbox.endpoints.remove((net.id, ep.id))
            st.put_sandbox(sbox)
        ep.sandbox_id = None
        op.on_success(op.drivers.learn_endpoint, ep.id, None)
        ep.join = None
        ep.join_options = {}
        st.put_endpoint(net, ep)

    def delete(self, force: bool = False) -> None:
        """Delete the endpoint; a joined one needs ``force=True`` (it then leaves first)."""
        with self.network._rt.operation("deletion of an endpoint", locks=self._locks) as op:
            net = op.state.network(self.network.id, shared=True)
            # Only a forced delete of a joined endpoint changes the record (it leaves).
            ep = op.state.endpoint(net, self.id, shared=not force)
            self._delete(op, net, ep, force)

    def _locks(self, st: State, sandbox_id: str | None = None) -> dict[str, str]:
        """The network's lock and the lock of ``sandbox_id`` or else of the endpoint's.

        An endpoint (or network) another process deleted is forgotten by this process's
        driver here, before the operation fails with EndpointNotFoundError.
        """
        rt = self.network._rt
        net = _stored_network(rt, st, self.network.id)
        names = {network_lock(net.id, net.scope): f"network {net.name!r}"}
        try:
            ep = st.endpoint(net, self.id)
        except EndpointNotFoundError:
            rt.drivers.forget_gone(net.id, self.id)
            raise
        sid = sandbox_id or ep.sandbox_id
        if sid is not None:
            names[sandbox_lock(sid)] = f"sandbox {sid[:12]}"
        return names

    def _delete(self, op: Op, net: NetworkRecord, ep: EndpointRecord, force: bool) -> None:
        drivers = op.drivers
        if ep.sandbox_id is not None:
            if not force:
                raise ActiveContainerError(
                    f"{_what(net, ep)} is joined to sandbox {ep.sandbox_id[:12]}; leave it "
                    "first or delete with force"
                )
            self._leave(op, net, ep)
        driver = drivers.endpoint_driver(net, ep, op.state)
        call_driver(_what(net, ep), driver.delete_endpoint, net.id, ep.id)
        # A later failure brings the endpoint back through the restore path.
        op.on_failure(f"deletion of {_what(net, ep)}", drivers.restore_endpoint, driver, net, ep)
        op.on_success(drivers.forget_endpoint, ep.id)
        op.release_addresses(net, ep)
        op.state.delete_endpoint(net, ep)

    def info(self) -> dict[str, Any]:
        """Addresses, MAC, gateways, static routes, interface names and sandbox."""
        return _info(self._rec())

    def driver_info(self) -> dict[str, Any]:
        """What the driver reports about the endpoint (its ``endpoint_oper_info``)."""
        rt = self.network._rt
        with rt.lock:
            st = rt.read()
            net = st.network(self.network.id)
            ep = st.endpoint(net, self.id)
            driver = rt.drivers.endpoint_driver(net, ep, st)
            info = call_driver(_what(net, ep), driver.endpoint_oper_info, net.id, ep.id)
        if not isinstance(info, Mapping):
            raise DriverError(
                f"driver {net.type!r} returned {type(info).__name__} from endpoint_oper_info "
                f"for {_what(net, ep)}; the contract asks for a dict"
            )
        return dict(info)

    def to_dict(self) -> dict[str, Any]:
        """The endpoint as recorded (``libnet endpoint inspect`` adds :meth:`driver_info`)."""
        ep = self._rec()
        return {**_info(ep), "options": dict(ep.options)}


def _stored_network(rt: Runtime, st: State, nid: str) -> NetworkRecord:
    """The stored network; if it is gone, this process's driver forgets it first."""
    net = st.find_network(nid)
    if net is None:
        rt.drivers.forget_gone(nid)
        raise NetworkNotFoundError(f"network {nid[:12]} not found")
    return net


def _what(net: NetworkRecord, ep: EndpointRecord) -> str:
    return f"endpoint {ep.name!r} on network {net.name!r}"


def _kernel_status(rt: Runtime, net: NetworkRecord, st: State) -> dict[str, Any]:
    """The ``kernel`` field of :meth:`Network.to_dict` (reconciliation imported only now)."""
    from libnet.reconcile import network_status

    return network_status(rt.drivers, net, st)


def _info(ep: EndpointRecord) -> dict[str, Any]:
    from libnet.portmap import from_wire

    join = ep.join or {}
    return {
        "id": ep.id,
        "name": ep.name,
        "network": ep.network_id,
        "host": ep.host,
        **to_interface_kwargs(ep.interface),
        "sandbox": ep.sandbox_id,
        "ports": [str(b) for b in from_wire(ep.join_options.get(labels.PORT_MAP))],
        "src_name": join.get("src_name"),
        "dst_prefix": join.get("dst_prefix"),
        "dst_name": join.get("dst_name"),
        "gateway": join.get("gateway"),
        "gateway_ipv6": join.get("gateway_ipv6"),
        "static_routes": list(join.get("static_routes", [])),
        "disable_gateway_service": bool(join.get("disable_gateway_service", False)),
    }


def _joined(st: State, nid: str, eid: str) -> EndpointRecord:
    return st.endpoint(st.network(nid), eid)


def _requested_mac(what: str, options: Mapping[str, Any]) -> str | None:
    """The MAC asked for in the endpoint's options, normalised, or None."""
    value = options.get(labels.MAC_ADDRESS)
    if value is None or value == "":
        return None
    try:
        return normalize_mac(str(value))
    except ValueError as exc:
        raise InvalidOptionError(f"option {labels.MAC_ADDRESS} of {what}: {exc}") from None


def _forget_endpoint(st: State, net: NetworkRecord, ep: EndpointRecord) -> None:
    """Drop an endpoint from the state alone (its driver is gone)."""
    if ep.sandbox_id is not None:
        sbox = st.sandbox(ep.sandbox_id)
        if (net.id, ep.id) in sbox.endpoints:
            sbox.endpoints.remove((net.id, ep.id))
            st.put_sandbox(sbox)
    st.delete_endpoint(net, ep)


def _rejoin(
    driver: Driver,
    nid: str,
    eid: str,
    key: str | None,
    iface: InterfaceInfo,
    options: Mapping[str, Any],
) -> None:
    """Undo a leave: join again (the stored join information is kept by the rollback)."""
    driver.join(nid, eid, key, JoinInfo(iface), options)


def _check_dst_name(
    what: str, dst_name: str, others: list[EndpointRecord], asked: bool = False
) -> None:
    """Refuse an interface name that another endpoint in the sandbox already uses."""
    for other in others:
        join = other.join or {}
        if dst_name in (join.get("dst_name"), join.get("interface")):
            if asked:
                raise EndpointInSandboxError(
                    f"join of {what} asks for interface name {dst_name!r} in the sandbox, "
                    f"which endpoint {other.name!r} already uses; choose another name"
                )
            raise DriverError(
                f"join of {what} asks for interface name {dst_name!r} in the sandbox, "
                f"which endpoint {other.name!r} already uses; the driver must pick another "
                "dst_name"
            )
