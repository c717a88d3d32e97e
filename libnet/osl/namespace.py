"""Network namespaces: create and remove them, and program the interfaces joined to them.

This is libnet's OS layer (libnetwork's ``osl``). On join the controller hands it the
interface a driver created in the host namespace; it moves the interface into the sandbox's
namespace, names it, gives it its MAC, MTU and addresses, and adds routes. On leave it moves
the interface back under its original name, for the driver to delete.
"""

from __future__ import annotations

import errno
import ipaddress
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from libnet.driverapi import RouteType, StaticRoute
from libnet.errors import InternalError, InvalidOptionError

__all__ = [
    "NAMESPACE_PREFIX",
    "NETNS_DIR",
    "Namespace",
    "OSLayerError",
    "check_key",
    "create_namespace",
    "delete_namespace",
    "namespace_names",
]

NETNS_DIR = Path("/run/netns")
NAMESPACE_PREFIX = "libnet-"
"""Namespaces libnet creates are named with this prefix: it is how reconciliation finds them."""


class OSLayerError(InternalError):
    """Programming a network namespace failed."""


def _pyroute2() -> Any:
    try:
        import pyroute2
    except ImportError as exc:  # pragma: no cover - pyroute2 is a dependency on Linux
        raise OSLayerError(
            "sandboxes with a network namespace need pyroute2: pip install 'pyroute2>=0.9'"
        ) from exc
    return pyroute2


def create_namespace(name: str) -> str:
    """Create the named namespace under /run/netns and return its path."""
    pyroute2 = _pyroute2()
    try:
        pyroute2.netns.create(name)
    except OSError as exc:
        raise OSLayerError(f"cannot create network namespace {name!r}: {exc}") from exc
    return str(NETNS_DIR / name)


def delete_namespace(path: str) -> None:
    """Remove a namespace libnet created under /run/netns; a missing one is not an error."""
    target = Path(path)
    if target.parent != NETNS_DIR:
        raise OSLayerError(f"refusing to remove {path}: libnet only removes what it created")
    if not target.exists():
        return
    try:
        _pyroute2().netns.remove(target.name)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise OSLayerError(f"cannot remove network namespace {path}: {exc}") from exc


def namespace_names() -> list[str]:
    """Names of the namespaces under /run/netns that libnet created."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(NAMESPACE_PREFIX))


def check_key(key: str) -> None:
    """Refuse a sandbox key that is not an existing network namespace file."""
    if not os.path.exists(key):
        raise InvalidOptionError(
            f"sandbox key {key!r} does not exist; give a namespace path such as "
            "/proc/PID/ns/net or /run/netns/NAME, or create one"
        )


class Namespace:
    """Programs the network namespace at ``key`` (a path such as /run/netns/NAME)."""

    def __init__(self, key: str) -> None:
        self.key = key

    @contextmanager
    def _ns(self) -> Iterator[Any]:
        pyroute2 = _pyroute2()
        try:
            ns = pyroute2.NetNS(self.key, flags=0)  # never create a missing one
        except OSError as exc:
            raise OSLayerError(f"cannot open network namespace {self.key}: {exc}") from exc
        try:
            yield ns
        finally:
            ns.close()

    @staticmethod
    @contextmanager
    def _host() -> Iterator[Any]:
        ipr = _pyroute2().IPRoute()
        try:
            yield ipr
        finally:
            ipr.close()

    def add_interface(
        self,
        src_name: str,
        dst_prefix: str,
        dst_name: str | None = None,
        *,
        mac_address: str | None = None,
        address: str | None = None,
        address_ipv6: str | None = None,
        mtu: int | None = None,
    ) -> str:
        """Move ``src_name`` into the namespace, configure it, and return its name there.

        The name is ``dst_name`` when given, else ``dst_prefix`` followed by the lowest free
        number. On failure the interface is moved back under its original name.
        """
        with self._host() as ipr:
            found = ipr.link_lookup(ifname=src_name)
            if not found:
                raise OSLayerError(
                    f"interface {src_name!r} named by the driver's join does not exist in the "
                    "host namespace"
                )
            fd = os.open(self.key, os.O_RDONLY)
            try:
                ipr.link("set", index=found[0], state="down")
                ipr.link("set", index=found[0], net_ns_fd=fd)
            finally:
                os.close(fd)
        try:
            with self._ns() as ns:
                index = ns.link_lookup(ifname=src_name)[0]
                name = dst_name or _next_name(ns, dst_prefix)
                attrs: dict[str, Any] = {"ifname": name}
                if mac_address:
                    attrs["address"] = mac_address
                if mtu:
                    attrs["mtu"] = mtu
                ns.link("set", index=index, **attrs)
                for cidr in (address, address_ipv6):
                    if cidr:
                        iface = ipaddress.ip_interface(cidr)
                        ns.addr(
                            "add",
                            index=index,
                            address=str(iface.ip),
                            prefixlen=iface.network.prefixlen,
                        )
                ns.link("set", index=index, state="up")
                lo = ns.link_lookup(ifname="lo")
                if lo:
                    ns.link("set", index=lo[0], state="up")
                return str(name)
        except Exception as exc:
            self._move_back(src_name, src_name)
            raise OSLayerError(
                f"cannot configure interface {src_name!r} in namespace {self.key}: {exc}"
            ) from exc

    def add_routes(
        self,
        name: str,
        routes: Sequence[StaticRoute],
        gateway: str | None = None,
        gateway_ipv6: str | None = None,
    ) -> None:
        """Add static routes through ``name`` and, if none exists yet, default routes."""
        with self._ns() as ns:
            index = ns.link_lookup(ifname=name)[0]
            for route in routes:
                spec: dict[str, Any] = {"dst": route.destination, "oif": index}
                if route.route_type is RouteType.NEXT_HOP and route.next_hop:
                    spec["gateway"] = route.next_hop
                ns.route("add", **spec)
            for gw, family, default in ((gateway, 2, "0.0.0.0/0"), (gateway_ipv6, 10, "::/0")):
                if gw and not _has_default(ns, family):
                    ns.route("add", dst=default, gateway=gw, oif=index)

    def remove_interface(self, name: str, src_name: str) -> None:
        """Move ``name`` back to the host namespace as ``src_name`` (routes through it go)."""
        self._move_back(name, src_name)

    def _move_back(self, name: str, src_name: str) -> None:
        try:
            with self._ns() as ns:
                found = ns.link_lookup(ifname=name)
                if not found:
                    return
                ns.flush_addr(index=found[0])
                ns.link("set", index=found[0], state="down")
                ns.link("set", index=found[0], ifname=src_name)
                fd = os.open("/proc/self/ns/net", os.O_RDONLY)
                try:
                    ns.link("set", index=found[0], net_ns_fd=fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise OSLayerError(
                f"cannot move interface {name!r} out of namespace {self.key}: {exc}"
            ) from exc

    def interfaces(self) -> list[str]:
        """Names of the interfaces in the namespace."""
        with self._ns() as ns:
            return sorted(str(link.get("ifname")) for link in ns.get_links())


def _next_name(ns: Any, prefix: str) -> str:
    used = {str(link.get("ifname")) for link in ns.get_links()}
    n = 0
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _has_default(ns: Any, family: int) -> bool:
    return any(r.get("dst_len") == 0 and r.get("gateway") for r in ns.get_routes(family=family))
