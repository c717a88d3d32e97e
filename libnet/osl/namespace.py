"""Network namespaces: create and remove them, and program the interfaces joined to them.

This is libnet's OS layer (libnetwork's ``osl``). On join the controller hands it the
interface a driver created in the driver's namespace (the caller's); :meth:`Namespace.plumb`
moves it into the sandbox's namespace, names it, gives it its MAC, MTU and addresses, and
adds routes. On leave :meth:`Namespace.unplumb` moves it back under its original name, for
the driver to delete.

Both are idempotent and pick up from any intermediate state, so each is the undo of the
other, and reconciliation can use them to repair: ``plumb`` finds the interface in the
namespace (by its sandbox name or its driver name) or in the caller's namespace, and
completes what is missing; ``unplumb`` is one netlink request (move and rename together).

Namespaces that libnet creates are files under ``/run/netns`` (bind mounts of a namespace,
as ``ip netns add`` makes them) named ``libnet-...``; no helper process is involved.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libnet.driverapi import RouteType, StaticRoute
from libnet.errors import InvalidOptionError, OSLayerError
from libnet.osl import _sys, rtnl

__all__ = [
    "NAMESPACE_PREFIX",
    "NETNS_DIR",
    "InterfaceSpec",
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

IFF_UP = 1
AF_INET = 2
AF_INET6 = 10


# -- namespaces ----------------------------------------------------------------------------


def _share_netns_dir() -> None:
    """Make /run/netns a shared mount, as iproute2 does, so namespaces' mounts propagate."""
    target = str(NETNS_DIR)
    try:
        _sys.mount(None, target, None, _sys.MS_SHARED | _sys.MS_REC)
        return
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: not a mount point yet
            raise
    _sys.mount(target, target, None, _sys.MS_BIND | _sys.MS_REC)
    _sys.mount(None, target, None, _sys.MS_SHARED | _sys.MS_REC)


def _bind_new_namespace(path: str) -> None:
    """In a thread of its own: a new network namespace, bound at ``path``, loopback up."""
    _sys.unshare(_sys.CLONE_NEWNET)
    _sys.mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", path, None, _sys.MS_BIND)
    with rtnl.rtnl() as ipr:  # this thread's namespace: the new one
        lo = ipr.link_lookup(ifname="lo")
        if lo:
            ipr.link("set", index=lo[0], state="up")


def create_namespace(name: str) -> str:
    """Create the named namespace under /run/netns and return its path.

    All or nothing: on failure no file or mount is left.
    """
    if not name or "/" in name or name in (".", ".."):
        raise InvalidOptionError(f"{name!r} is not a namespace name")
    path = NETNS_DIR / name
    try:
        NETNS_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        _share_netns_dir()
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0))
    except FileExistsError:
        raise OSLayerError(f"cannot create network namespace {path}: it exists") from None
    except OSError as exc:
        raise OSLayerError(f"cannot create network namespace {path}: {exc}") from exc
    try:
        _sys.in_thread(lambda: _bind_new_namespace(str(path)))
    except BaseException as exc:
        _remove(path)
        if isinstance(exc, OSError):
            raise OSLayerError(f"cannot create network namespace {path}: {exc}") from exc
        raise
    return str(path)


def _remove(path: Path) -> None:
    try:
        _sys.umount(str(path), _sys.MNT_DETACH)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def delete_namespace(path: str) -> None:
    """Remove a namespace libnet created under /run/netns; a missing one is not an error."""
    target = Path(path)
    if target.parent != NETNS_DIR:
        raise OSLayerError(f"refusing to remove {path}: libnet only removes what it created")
    try:
        _remove(target)
    except OSError as exc:
        raise OSLayerError(f"cannot remove network namespace {path}: {exc}") from exc


def namespace_names() -> list[str]:
    """Names of the namespaces under /run/netns whose name has libnet's prefix."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(NAMESPACE_PREFIX))
    except (FileNotFoundError, NotADirectoryError):
        return []


def check_key(key: str) -> None:
    """Refuse a sandbox key that is not an existing network namespace file."""
    if not os.path.exists(key):
        raise InvalidOptionError(
            f"sandbox key {key!r} does not exist; give a namespace path such as "
            "/proc/PID/ns/net or /run/netns/NAME, or create one"
        )


def run_in_namespace(key: str, argv: Sequence[str]) -> int:
    """Run ``argv`` in the network namespace at ``key``; return its exit status.

    The child enters the namespace before it executes the command; a command killed by
    signal N gives 128+N, as a shell reports it.
    """
    if not argv:
        raise InvalidOptionError("no command to run in the namespace")
    try:
        fd = os.open(key, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise OSLayerError(f"cannot open network namespace {key}: {exc.strerror}") from exc
    import subprocess

    _sys.libc()  # loaded before the fork, never in the child

    def enter() -> None:
        _sys.setns(fd, _sys.CLONE_NEWNET)

    try:
        proc = subprocess.run(list(argv), preexec_fn=enter, pass_fds=(fd,), check=False)
    except (FileNotFoundError, PermissionError) as exc:
        raise InvalidOptionError(f"cannot run {argv[0]!r}: {exc.strerror}") from exc
    except subprocess.SubprocessError as exc:
        raise OSLayerError(f"cannot enter network namespace {key}: {exc}") from exc
    finally:
        os.close(fd)
    return proc.returncode if proc.returncode >= 0 else 128 - proc.returncode


# -- interfaces ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InterfaceSpec:
    """What an interface in a sandbox should look like, from a driver's join."""

    src_name: str
    """Its name in the driver's namespace (JoinInfo's SrcName)."""
    dst_prefix: str
    dst_name: str | None = None
    mac_address: str | None = None
    address: str | None = None
    address_ipv6: str | None = None
    mtu: int | None = None
    routes: tuple[StaticRoute, ...] = ()
    gateway: str | None = None
    gateway_ipv6: str | None = None


def _lookup(ipr: Any, name: str | None) -> int | None:
    if not name:
        return None
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


class Namespace:
    """Programs the network namespace at ``key`` (a path such as /run/netns/NAME)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def exists(self) -> bool:
        return os.path.exists(self.key)

    def _open(self) -> Any:
        if not self.exists():
            raise OSLayerError(f"network namespace {self.key} does not exist")
        try:
            return rtnl.connect(self.key)
        except rtnl.KernelError as exc:
            raise OSLayerError(str(exc)) from exc

    def plumb(self, spec: InterfaceSpec, progress: dict[str, str] | None = None) -> str:
        """Bring the interface into the namespace as ``spec`` says; return its name there.

        The name is ``dst_name`` when given, else ``dst_prefix`` followed by the lowest free
        number; it is stored in ``progress["name"]`` before the interface moves, so that a
        caller can undo a plumbing that failed half way. Idempotent: what is already done is
        not done again.
        """
        progress = {} if progress is None else progress
        try:
            return self._plumb(spec, progress)
        except OSLayerError:
            raise
        except Exception as exc:
            raise OSLayerError(
                f"cannot set up interface {spec.src_name!r} in namespace {self.key}: {exc}"
            ) from exc

    def _plumb(self, spec: InterfaceSpec, progress: dict[str, str]) -> str:
        ns = self._open()
        try:
            index = _lookup(ns, spec.dst_name)
            if index is None:
                index = _lookup(ns, spec.src_name)
                if index is not None:  # moved in, not renamed (a foreign or older state)
                    name = spec.dst_name or _next_name(ns, spec.dst_prefix)
                    progress["name"] = name
                    ns.link("set", index=index, state="down")
                    ns.link("set", index=index, ifname=name)
            if index is None:
                name = spec.dst_name or _next_name(ns, spec.dst_prefix)
                progress["name"] = name
                self._move_in(spec.src_name, name)
                index = _lookup(ns, name)
                if index is None:
                    raise OSLayerError(
                        f"interface {spec.src_name!r} vanished while it was moved into "
                        f"namespace {self.key}"
                    )
            link = ns.get_links(index)[0]
            name = str(link.get("ifname"))
            progress["name"] = name
            attrs: dict[str, Any] = {}
            if spec.mac_address and str(link.get("address")).lower() != spec.mac_address.lower():
                attrs["address"] = spec.mac_address
            if spec.mtu and link.get("mtu") != spec.mtu:
                attrs["mtu"] = spec.mtu
            if attrs:
                ns.link("set", index=index, **attrs)
            have = {(str(a.get("address")), int(a["prefixlen"])) for a in ns.get_addr(index=index)}
            for cidr in (spec.address, spec.address_ipv6):
                if cidr:
                    iface = ipaddress.ip_interface(cidr)
                    if (str(iface.ip), iface.network.prefixlen) not in have:
                        ns.addr(
                            "add",
                            index=index,
                            address=str(iface.ip),
                            prefixlen=iface.network.prefixlen,
                        )
            if not int(link["flags"]) & IFF_UP:
                ns.link("set", index=index, state="up")
            lo = _lookup(ns, "lo")
            if lo is not None and not int(ns.get_links(lo)[0]["flags"]) & IFF_UP:
                ns.link("set", index=lo, state="up")
            self._add_routes(ns, index, spec)
            return name
        finally:
            ns.close()

    def _move_in(self, src_name: str, name: str) -> None:
        """Move ``src_name`` from the caller's namespace in, renamed ``name`` (one request)."""
        with rtnl.rtnl() as host:
            index = _lookup(host, src_name)
            if index is None:
                raise OSLayerError(
                    f"interface {src_name!r} named by the driver's join does not exist in "
                    "the driver's namespace"
                )
            fd = os.open(self.key, os.O_RDONLY | os.O_CLOEXEC)
            try:
                host.link("set", index=index, net_ns_fd=fd, ifname=name)
            finally:
                os.close(fd)

    @staticmethod
    def _add_routes(ns: Any, index: int, spec: InterfaceSpec) -> None:
        for route in spec.routes:
            dst = str(ipaddress.ip_network(route.destination, strict=False))
            family = AF_INET6 if ":" in dst else AF_INET
            if _has_route(ns, family, dst, index):
                continue
            rspec: dict[str, Any] = {"dst": dst, "oif": index}
            if route.route_type is RouteType.NEXT_HOP and route.next_hop:
                rspec["gateway"] = route.next_hop
            ns.route("add", **rspec)
        for gw, family, default in (
            (spec.gateway, AF_INET, "0.0.0.0/0"),
            (spec.gateway_ipv6, AF_INET6, "::/0"),
        ):
            if gw and not _has_default(ns, family):
                ns.route("add", dst=default, gateway=gw, oif=index)

    def ensure_default_routes(
        self, candidates: Sequence[tuple[str, str | None, str | None]]
    ) -> list[tuple[int, str, str]]:
        """Give the namespace default routes again after an interface left with them.

        ``candidates`` are (interface, gateway, IPv6 gateway) of the interfaces still in
        the sandbox, in join order; for each family without a default route the first one
        with a gateway of that family gets it. Returns (family, interface, gateway) of each
        route added, for :meth:`remove_default_route`.
        """
        added: list[tuple[int, str, str]] = []
        if not self.exists():
            return added
        ns = self._open()
        try:
            for family, slot, default in ((AF_INET, 1, "0.0.0.0/0"), (AF_INET6, 2, "::/0")):
                if _has_default(ns, family):
                    continue
                for candidate in candidates:
                    gateway = candidate[slot]
                    index = _lookup(ns, candidate[0])
                    if gateway and index is not None:
                        ns.route("add", dst=default, gateway=gateway, oif=index)
                        added.append((family, candidate[0], gateway))
                        break
        finally:
            ns.close()
        return added

    def remove_default_route(self, family: int, name: str, gateway: str) -> None:
        """Remove a default route :meth:`ensure_default_routes` added; gone already is fine."""
        if not self.exists():
            return
        ns = self._open()
        try:
            index = _lookup(ns, name)
            if index is None:
                return
            default = "::/0" if family == AF_INET6 else "0.0.0.0/0"
            try:
                ns.route("del", dst=default, gateway=gateway, oif=index)
            except Exception as exc:
                if rtnl.netlink_error_code(exc) not in (errno.ESRCH, errno.ENOENT):
                    raise
        finally:
            ns.close()

    def unplumb(self, name: str, src_name: str) -> None:
        """Move the interface back to the caller's namespace as ``src_name``.

        Its addresses and the routes through it go with the move (the kernel drops them),
        and it arrives down. Nothing to do if it is no longer in the namespace, or the
        namespace is gone (its interfaces went with it).
        """
        if not self.exists():
            return
        try:
            ns = rtnl.connect(self.key)
        except rtnl.KernelError:
            if not self.exists():
                return
            raise
        try:
            index = _lookup(ns, name)
            if index is None:
                index = _lookup(ns, src_name)
            if index is None:
                return
            fd = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
            try:
                ns.link("set", index=index, net_ns_fd=fd, ifname=src_name)
            finally:
                os.close(fd)
        except Exception as exc:
            raise OSLayerError(
                f"cannot move interface {name!r} out of namespace {self.key}: {exc}"
            ) from exc
        finally:
            ns.close()

    def interfaces(self) -> list[str]:
        """Names of the interfaces in the namespace."""
        ns = self._open()
        try:
            return sorted(str(link.get("ifname")) for link in ns.get_links())
        finally:
            ns.close()

    def interface_state(self, name: str) -> dict[str, Any] | None:
        """Name, MAC, MTU, whether up, and addresses of interface ``name``; None if absent."""
        ns = self._open()
        try:
            index = _lookup(ns, name)
            if index is None:
                return None
            link = ns.get_links(index)[0]
            return {
                "name": name,
                "mac_address": link.get("address"),
                "mtu": link.get("mtu"),
                "up": bool(int(link["flags"]) & IFF_UP),
                "addresses": sorted(
                    f"{a.get('address')}/{a['prefixlen']}" for a in ns.get_addr(index=index)
                ),
            }
        finally:
            ns.close()


def _next_name(ns: Any, prefix: str) -> str:
    used = {str(link.get("ifname")) for link in ns.get_links()}
    n = 0
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _has_default(ns: Any, family: int) -> bool:
    return any(
        r.get("dst_len") == 0 and r.get("gateway") and r.get("table") in (254, None)
        for r in ns.get_routes(family=family)
    )


def _has_route(ns: Any, family: int, dst: str, index: int) -> bool:
    net = ipaddress.ip_network(dst)
    for r in ns.get_routes(family=family):
        if (
            r.get("dst_len") == net.prefixlen
            and (r.get("dst") or ("::" if family == AF_INET6 else "0.0.0.0"))
            == str(net.network_address)
            and r.get("oif") == index
        ):
            return True
    return False
