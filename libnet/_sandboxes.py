"""The controller's side of real sandboxes: joins programmed through the OS layer, and
their checks and repairs for reconciliation (any driver: the driver names the interface,
the OS layer moves it)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from libnet._operation import Operation
from libnet._records import EndpointRecord
from libnet._state import State
from libnet.driverapi import InterfaceInfo, StaticRoute
from libnet.osl import (
    NAMESPACE_PREFIX,
    NETNS_DIR,
    InterfaceSpec,
    Namespace,
    create_namespace,
    delete_namespace,
    namespace_names,
)

if TYPE_CHECKING:
    from libnet.controller import Controller
    from libnet.reconcile import Report

log = logging.getLogger("libnet")


def namespace_name(owner: str, sandbox_id: str) -> str:
    """The name under /run/netns of the namespace libnet creates for a sandbox."""
    return f"{NAMESPACE_PREFIX}{owner}-{sandbox_id[:12]}"


def interface_spec(
    join: dict[str, Any], iface: InterfaceInfo | None, mtu: int | None, dst_name: str | None
) -> InterfaceSpec:
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


def _mtu(c: Controller, st: State, nid: str) -> int | None:
    from libnet.network import _mtu as network_mtu

    return network_mtu(st.network(nid))


def reconcile_sandboxes(
    c: Controller, st: State, repair: bool, report: Report, recreated: set[str]
) -> None:
    """Orphan namespaces of this state; stored sandboxes whose namespace or interfaces
    are gone (``recreated``: endpoints whose driver objects were just made again)."""
    from libnet.reconcile import Finding

    sandboxes = st.sandboxes()
    keys = {s.key for s in sandboxes if s.key}
    prefix = namespace_name(c.owner, "")
    for name in namespace_names():
        path = str(NETNS_DIR / name)
        if name.startswith(prefix) and path not in keys:
            finding = Finding(
                "orphan", f"namespace {path}", "created by libnet for no stored sandbox"
            )
            if repair:
                finding.action = _attempt(lambda p=path: delete_namespace(p), "removed")
            report.findings.append(finding)
    for sbox in sandboxes:
        if not sbox.key:
            continue
        what = f"sandbox {sbox.id[:12]} (container {sbox.container_id!r})"
        ns = Namespace(sbox.key)
        if not ns.exists():
            if not sbox.owns_key:
                report.findings.append(
                    Finding(
                        "missing",
                        what,
                        f"its namespace {sbox.key} is gone (its container stopped?); remove "
                        f"the sandbox with 'libnet sandbox rm {sbox.container_id}'",
                    )
                )
                continue
            finding = Finding("missing", what, f"the namespace {sbox.key} libnet made is gone")
            if repair:
                finding.action = _attempt(
                    lambda key=sbox.key: create_namespace(os.path.basename(key)), "repaired"
                )
            report.findings.append(finding)
            if not ns.exists():
                continue
        for nid, eid in sbox.endpoints:
            try:
                net = st.network(nid)
                ep = st.endpoint(net, eid)
            except Exception:
                continue
            join = ep.join or {}
            if not join.get("interface"):
                continue
            problems = sandbox_problems(st, ep)
            if not problems and eid not in recreated:
                continue
            finding = Finding(
                "missing",
                f"endpoint {ep.name!r} on network {net.name!r} in {what}",
                "; ".join(problems) or "its interface was made again",
            )
            if repair:
                spec = interface_spec(
                    join,
                    InterfaceInfo.from_record(ep.interface),
                    _mtu(c, st, nid),
                    join["interface"],
                )
                finding.action = _attempt(lambda s=spec, n=ns: n.plumb(s), "repaired")
            report.findings.append(finding)


def _attempt(fn: Any, done: str) -> str:
    try:
        fn()
    except Exception as exc:
        log.warning("reconciliation step failed", exc_info=True)
        return f"failed: {exc}"
    return done
