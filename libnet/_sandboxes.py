"""The controller's side of real sandboxes: joins programmed through the OS layer, and the
check of a joined interface (any driver: the driver names the interface, the OS layer
moves it). Reconciliation's repairs are in :mod:`libnet.reconcile`.

The OS layer is imported only when a sandbox with a namespace is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from libnet._operation import Operation
from libnet._records import EndpointRecord
from libnet._state import State
from libnet.driverapi import InterfaceInfo, StaticRoute

if TYPE_CHECKING:
    from libnet.osl import InterfaceSpec

log = logging.getLogger("libnet")


def namespace_name(owner: str, sandbox_id: str) -> str:
    """The name under /run/netns of the namespace libnet creates for a sandbox."""
    from libnet.osl import NAMESPACE_PREFIX

    return f"{NAMESPACE_PREFIX}{owner}-{sandbox_id[:12]}"


def interface_spec(
    join: dict[str, Any], iface: InterfaceInfo | None, mtu: int | None, dst_name: str | None
) -> InterfaceSpec:
    from libnet.osl import InterfaceSpec

    iface = iface or InterfaceInfo()
    disabled = bool(join.get("disable_gateway_service"))
    return InterfaceSpec(
        src_name=join["src_name"],
        dst_prefix=join.get("dst_prefix") or "eth",
        dst_name=dst_name,
        mac_address=iface.mac_address,
        address=iface.address,
        address_ipv6=iface.address_ipv6,
        mtu=mtu,
        routes=tuple(
            StaticRoute(r["destination"], r["route_type"], r["next_hop"])
            for r in join.get("static_routes", [])
        ),
        gateway=None if disabled else join.get("gateway"),
        gateway_ipv6=None if disabled else join.get("gateway_ipv6"),
    )


def plumb(
    op: Operation, key: str, join: dict[str, Any], iface: InterfaceInfo | None, mtu: int | None
) -> str:
    """Move the driver's interface into the namespace at ``key`` and program it.

    The undo (moving it back) is registered first: it undoes a plumbing that stopped
    half way too.
    """
    from libnet.osl import Namespace

    ns = Namespace(key)
    spec = interface_spec(join, iface, mtu, join.get("dst_name"))
    progress: dict[str, str] = {}  # plumb records the name it chose before it moves
    op.on_failure(
        f"interface {spec.src_name} in {key}",
        lambda: ns.unplumb(progress.get("name", spec.src_name), spec.src_name),
    )
    return ns.plumb(spec, progress)


def unplumb(
    op: Operation,
    key: str,
    join: dict[str, Any],
    iface: InterfaceInfo,
    mtu: int | None,
    others: Sequence[dict[str, Any]] = (),
) -> None:
    """Move the interface back out of the namespace; undone by plumbing it in again.

    If it carried the sandbox's default route, the next of ``others`` (the joins of the
    endpoints still in the sandbox, in join order) with a gateway gets it, as libnetwork
    moves the gateway to another endpoint.
    """
    from libnet.osl import Namespace

    name = join["interface"]
    spec = interface_spec(join, iface, mtu, name)
    ns = Namespace(key)
    op.on_failure(f"interface {name} in {key}", ns.plumb, spec)
    ns.unplumb(name, join["src_name"])
    candidates = [
        (
            str(o["interface"]),
            None if o.get("disable_gateway_service") else o.get("gateway"),
            None if o.get("disable_gateway_service") else o.get("gateway_ipv6"),
        )
        for o in others
        if o.get("interface")
    ]
    if candidates:
        for family, ifname, gateway in ns.ensure_default_routes(candidates):
            op.on_failure(
                f"default route via {ifname} in {key}",
                ns.remove_default_route,
                family,
                ifname,
                gateway,
            )


# -- checks and repairs --------------------------------------------------------------------


def sandbox_problems(st: State, ep: EndpointRecord) -> list[str]:
    """What is wrong with the endpoint's interface in its sandbox, if it has one."""
    join = ep.join or {}
    if not ep.sandbox_id or not join.get("interface"):
        return []
    try:
        sbox = st.sandbox(ep.sandbox_id)
    except Exception:
        return [f"its sandbox {ep.sandbox_id[:12]} is not stored"]
    if not sbox.key:
        return []
    from libnet.osl import Namespace

    ns = Namespace(sbox.key)
    if not ns.exists():
        return [f"the namespace {sbox.key} of sandbox {sbox.id[:12]} is gone"]
    state = ns.interface_state(join["interface"])
    if state is None:
        return [f"interface {join['interface']} is missing from {sbox.key}"]
    problems = []
    if not state["up"]:
        problems.append(f"interface {join['interface']} in {sbox.key} is down")
    for cidr in (ep.interface.get("address"), ep.interface.get("address_ipv6")):
        if cidr and cidr not in state["addresses"]:
            problems.append(f"interface {join['interface']} in {sbox.key} lacks address {cidr}")
    return problems
