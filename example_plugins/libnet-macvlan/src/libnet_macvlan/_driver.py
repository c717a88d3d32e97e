"""MacvlanDriver: one macvlan link per endpoint on a host interface, through pyroute2.

pyroute2 is imported when the driver first talks to the kernel, not with the module: a
host that loads every plugin (``libnet drivers``) does not pay for it.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libnet
import libnet.labels
from libnet.errors import (
    ActiveEndpointsError,
    DriverError,
    EndpointExistsError,
    EndpointNotFoundError,
    ForbiddenError,
    InvalidOptionError,
    NetworkExistsError,
    NetworkNotFoundError,
)

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = ["MODES", "NETWORK_OPTIONS", "MacvlanDriver", "link_name"]

log = logging.getLogger("libnet_macvlan")

MODES = ("bridge", "private", "vepa", "passthru", "source")
"""The macvlan modes of the Linux kernel; ``bridge`` is the default."""

NETWORK_OPTIONS = ("parent", "mode", "gateway", "gateway_ipv6")
"""The generic network options the driver understands; any other is refused."""


def link_name(eid: str) -> str:
    """The name of the macvlan link of endpoint ``eid`` (13 characters, under IFNAMSIZ)."""
    return "mv" + eid[:11]


@dataclass
class _Endpoint:
    link: str
    restored: bool = False
    sandbox_key: str | None = None
    joined: bool = False


@dataclass
class _Network:
    parent: str
    mode: str
    gateway: str | None
    gateway_ipv6: str | None
    restored: bool = False
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)


class MacvlanDriver(libnet.Driver):
    """Gives each endpoint a macvlan link on the network's ``parent`` host interface.

    ``config`` may set ``netns``, the name (under ``/run/netns``) or path of the network
    namespace holding the parent interfaces; by default, the namespace of the process.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        config = config or {}
        unknown = sorted(set(config) - {"netns"})
        if unknown:
            raise InvalidOptionError(
                f"unknown macvlan driver configuration {', '.join(map(repr, unknown))}; "
                "the macvlan driver knows only 'netns'"
            )
        netns = config.get("netns")
        if netns is not None and (not isinstance(netns, str) or not netns):
            raise InvalidOptionError(
                f"macvlan driver configuration netns={netns!r} must be a namespace name or path"
            )
        self._netns: str | None = netns
        self._lock = threading.RLock()
        self._networks: dict[str, _Network] = {}

    # -- kernel access ---------------------------------------------------------------

    @contextmanager
    def _ipr(self) -> Iterator[IPRoute]:
        """A netlink socket in the configured namespace, which must already exist."""
        from pyroute2 import IPRoute

        if self._netns is None:
            ipr = IPRoute(groups=0)
        else:
            try:
                # flags=0: never create the namespace (pyroute2's default is O_CREAT).
                ipr = IPRoute(netns=self._netns, flags=0, groups=0)
            except FileNotFoundError:
                raise InvalidOptionError(
                    f"macvlan driver: network namespace {self._netns!r} does not exist; "
                    "create it or fix the driver's 'netns' configuration"
                ) from None
        with ipr:
            yield ipr

    def _where(self) -> str:
        return f" in network namespace {self._netns!r}" if self._netns else ""

    def _parent_index(self, ipr: IPRoute, parent: str) -> int:
        found = ipr.link_lookup(ifname=parent)
        if not found:
            raise InvalidOptionError(
                f"macvlan parent interface {parent!r} does not exist{self._where()}; "
                "pass an existing host interface as option parent"
            )
        return int(found[0])

    # -- lookups ---------------------------------------------------------------------

    def _network(self, nid: str) -> _Network:
        net = self._networks.get(nid)
        if net is None:
            raise NetworkNotFoundError(f"macvlan driver has no network {nid[:12]!r}")
        return net

    def _endpoint(self, nid: str, eid: str) -> _Endpoint:
        ep = self._network(nid).endpoints.get(eid)
        if ep is None:
            raise EndpointNotFoundError(
                f"macvlan driver has no endpoint {eid[:12]!r} on network {nid[:12]!r}"
            )
        return ep

    # -- networks --------------------------------------------------------------------

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        """Check the options and that the parent interface exists, then record the network."""
        net = _parse_network(options, ipv4_data, ipv6_data)
        with self._lock:
            if nid in self._networks:
                raise NetworkExistsError(f"macvlan driver already has network {nid[:12]!r}")
            self._check_parent(nid, net.parent)
            self._networks[nid] = net

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        """Learn an existing network again after a restart; keeps the endpoints known.

        The parent is not checked: a network whose parent is gone must still be deletable.
        """
        net = _parse_network(options, ipv4_data, ipv6_data)
        net.restored = True
        with self._lock:
            current = self._networks.get(nid)
            if current is not None:
                net.endpoints = current.endpoints
            self._networks[nid] = net

    def _check_parent(self, nid: str, parent: str) -> None:
        for other_id, other in self._networks.items():
            if other_id != nid and other.parent == parent:
                raise ForbiddenError(
                    f"macvlan network {other_id[:12]!r} already uses parent interface "
                    f"{parent!r}; a parent serves one macvlan network"
                )
        with self._ipr() as ipr:
            self._parent_index(ipr, parent)

    def delete_network(self, nid: str) -> None:
        """Forget network ``nid``; it must have no endpoints left."""
        with self._lock:
            net = self._network(nid)
            if net.endpoints:
                raise ActiveEndpointsError(
                    f"macvlan network {nid[:12]!r} still has {len(net.endpoints)} "
                    "endpoint(s); delete them first"
                )
            del self._networks[nid]

    # -- endpoints -------------------------------------------------------------------

    def create_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Create the endpoint's macvlan link; its MAC is the interface's, else the kernel's."""
        with self._lock:
            net = self._network(nid)
            if eid in net.endpoints:
                raise EndpointExistsError(
                    f"macvlan driver already has endpoint {eid[:12]!r} on network {nid[:12]!r}"
                )
            _apply_mac_option(iface, options)
            name = link_name(eid)
            with self._ipr() as ipr:
                from pyroute2.netlink.exceptions import NetlinkError

                self._add_link(ipr, net, name, iface.mac_address)
                try:
                    if iface.mac_address is None:
                        iface.set_mac_address(_read_link(ipr, name)["mac_address"])
                except BaseException:
                    try:
                        _delete_link(ipr, name)
                    except NetlinkError:
                        log.warning("could not remove macvlan link %s after a failure", name)
                    raise
            net.endpoints[eid] = _Endpoint(name)

    def restore_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Adopt the endpoint's link if it still exists, else try to create it again.

        A link that cannot be created again (parent gone) is logged, not raised: the
        endpoint must still be deletable.
        """
        with self._lock:
            net = self._network(nid)
            _apply_mac_option(iface, options)
            name = link_name(eid)
            with self._ipr() as ipr:
                link = _find_link(ipr, name)
                if link is None:
                    try:
                        self._add_link(ipr, net, name, iface.mac_address)
                        link = _read_link(ipr, name)
                    except (DriverError, InvalidOptionError) as exc:
                        log.warning("macvlan endpoint %s restored without its link: %s", eid, exc)
                if link is not None and iface.mac_address is None:
                    iface.set_mac_address(link["mac_address"])
            net.endpoints[eid] = _Endpoint(name, restored=True)

    def _add_link(self, ipr: IPRoute, net: _Network, name: str, mac: str | None) -> None:
        from pyroute2.netlink.exceptions import NetlinkError

        parent_index = self._parent_index(ipr, net.parent)
        extra = {"address": mac} if mac else {}
        try:
            ipr.link(
                "add",
                ifname=name,
                kind="macvlan",
                link=parent_index,
                macvlan_mode=net.mode,
                **extra,
            )
        except NetlinkError as exc:
            hint = (
                "; a stale link of an earlier endpoint? remove it with 'ip link del'"
                if exc.code == errno.EEXIST
                else ""
            )
            raise DriverError(
                f"macvlan driver could not create link {name!r} on parent {net.parent!r}"
                f"{self._where()}: {os.strerror(exc.code)}{hint}"
            ) from exc

    def delete_endpoint(self, nid: str, eid: str) -> None:
        """Delete the endpoint's link, if it is still in the driver's namespace."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            with self._ipr() as ipr:
                if not _delete_link(ipr, ep.link):
                    log.info("macvlan link %s was already gone%s", ep.link, self._where())
            del self._networks[nid].endpoints[eid]

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        """The link as the kernel reports it: ifindex, MAC, parent and mode."""
        with self._lock:
            net = self._network(nid)
            ep = self._endpoint(nid, eid)
            info: dict[str, Any] = {
                "link": ep.link,
                "present": False,
                "ifindex": None,
                "mac_address": None,
                "parent": net.parent,
                "mode": net.mode,
                "sandbox_key": ep.sandbox_key,
                "joined": ep.joined,
                "restored": ep.restored,
            }
            with self._ipr() as ipr:
                link = _find_link(ipr, ep.link)
                if link is not None:
                    info.update(link, present=True)
            return info

    # -- sandboxes -------------------------------------------------------------------

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: libnet.JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        """Name the link for the sandbox (prefix ``eth``) and pass on the network's gateways."""
        with self._lock:
            net = self._network(nid)
            ep = self._endpoint(nid, eid)
            jinfo.set_names(ep.link, "eth")
            if net.gateway:
                jinfo.set_gateway(net.gateway)
            if net.gateway_ipv6:
                jinfo.set_gateway_ipv6(net.gateway_ipv6)
            ep.sandbox_key, ep.joined = sandbox_key, True

    def leave(self, nid: str, eid: str) -> None:
        """Forget the sandbox; the kernel is left alone (the sandbox layer moves links)."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            ep.sandbox_key, ep.joined = None, False


def _parse_network(
    options: Mapping[str, Any],
    ipv4_data: list[libnet.IPAMData],
    ipv6_data: list[libnet.IPAMData],
) -> _Network:
    """Validate the generic network options; nothing touches the kernel here."""
    generic = options.get(libnet.labels.GENERIC) or {}
    unknown = sorted(set(generic) - set(NETWORK_OPTIONS))
    if unknown:
        raise InvalidOptionError(
            f"macvlan network option(s) {', '.join(map(repr, unknown))} are not known; "
            f"use {', '.join(NETWORK_OPTIONS)}"
        )
    parent = generic.get("parent")
    if not isinstance(parent, str) or not parent or len(parent) > 15:
        raise InvalidOptionError(
            "a macvlan network needs option parent=<host interface>, such as parent=eth0"
            + ("" if parent is None else f" (got {parent!r})")
        )
    mode = generic.get("mode", "bridge")
    if mode not in MODES:
        raise InvalidOptionError(
            f"macvlan mode {mode!r} is not known; use one of {', '.join(MODES)}"
        )
    gateway = generic.get("gateway") or _pool_gateway(ipv4_data)
    gateway_ipv6 = generic.get("gateway_ipv6") or _pool_gateway(ipv6_data)
    return _Network(
        parent=parent,
        mode=mode,
        gateway=_gateway(gateway, 4, "gateway"),
        gateway_ipv6=_gateway(gateway_ipv6, 6, "gateway_ipv6"),
    )


def _pool_gateway(pools: list[libnet.IPAMData]) -> str | None:
    for pool in pools:
        if pool.gateway:
            return pool.gateway.split("/")[0]
    return None


def _gateway(value: object, version: int, option: str) -> str | None:
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise InvalidOptionError(
            f"macvlan network option {option}={value!r} must be an IPv{version} address"
        )
    return str(address)


def _apply_mac_option(iface: libnet.InterfaceInfo, options: Mapping[str, Any]) -> None:
    """Take the user's MAC address endpoint option when the controller gave none."""
    mac = options.get(libnet.labels.MAC_ADDRESS)
    if mac is None or iface.mac_address is not None:
        return
    try:
        iface.set_mac_address(str(mac))
    except ValueError as exc:
        raise InvalidOptionError(f"endpoint option {libnet.labels.MAC_ADDRESS}: {exc}") from None


def _find_link(ipr: IPRoute, name: str) -> dict[str, Any] | None:
    """The kernel's view of link ``name``, or None if there is none."""
    from pyroute2.netlink.exceptions import NetlinkError

    links = ipr.get_links(ifname=name)
    if not links:
        return None
    link = links[0]
    parent_index = link.get("link")
    parent = None
    if parent_index:
        try:
            parent = ipr.get_links(parent_index)[0].get("ifname")
        except NetlinkError:
            parent = None
    return {
        "ifindex": link["index"],
        "mac_address": link.get("address"),
        "kind": link.get(("linkinfo", "kind")),
        "parent": parent,
        "parent_ifindex": parent_index,
        "mode": link.get(("linkinfo", "data", "macvlan_mode")),
    }


def _read_link(ipr: IPRoute, name: str) -> dict[str, Any]:
    link = _find_link(ipr, name)
    if link is None:
        raise DriverError(f"macvlan link {name!r} vanished right after it was created")
    return link


def _delete_link(ipr: IPRoute, name: str) -> bool:
    """Delete link ``name``; False if it did not exist."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        ipr.link("del", ifname=name)
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return False
        raise
    return True
