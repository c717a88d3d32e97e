"""Reconciliation of the driver side: each driver's kernel objects against its stored networks.

Drivers take part through the optional :class:`~libnet.driverapi.KernelObjects` protocol;
repairs go through the one restore path of :class:`~libnet._runtime.DriverCache`.
"""

from __future__ import annotations

from functools import partial
from types import MappingProxyType
from typing import Any

from libnet._addressing import ipam_data
from libnet._output import plugin_code
from libnet._records import EndpointRecord, NetworkRecord
from libnet._runtime import DriverCache
from libnet._sandboxes import sandbox_problems
from libnet._state import State
from libnet.driverapi import Driver, KernelObjects, Orphan, StoredNetwork, kernel_objects
from libnet.reconcile._report import Finding, Report, attempt

__all__ = ["network_status", "reconcile_networks", "stored_network"]


def stored_network(st: State, net: NetworkRecord) -> StoredNetwork:
    """What the network's driver is told about it: its restore arguments and endpoints."""
    endpoints = st.endpoints(net)
    return StoredNetwork(
        net.id,
        MappingProxyType(net.driver_options()),
        ipam_data(net.ipam, "ipv4"),
        ipam_data(net.ipam, "ipv6"),
        tuple(ep.id for ep in endpoints),
        MappingProxyType(
            {ep.id: MappingProxyType(ep.join_options) for ep in endpoints if ep.sandbox_id}
        ),
    )


def _describe(net: NetworkRecord, eid: str, st: State) -> str:
    if not eid:
        return f"network {net.name!r}"
    try:
        name = st.endpoint(net, eid).name
    except Exception:
        name = eid[:12]
    return f"endpoint {name!r} on network {net.name!r}"


def _loaded_objects(drivers: DriverCache, network_type: str) -> KernelObjects | None:
    """The kernel side of the type's driver if it is loaded (never loads a plugin)."""
    reg = drivers.networks.loaded(network_type)
    return kernel_objects(reg.driver) if reg is not None else None


def network_status(drivers: DriverCache, net: NetworkRecord, st: State) -> dict[str, Any]:
    """The ``kernel`` field of ``libnet network inspect``: ``ok``, ``degraded`` with the
    problems, or ``unchecked`` (the driver is not loaded or cannot report)."""
    objects = _loaded_objects(drivers, net.type)
    if objects is None:
        return {"status": "unchecked", "problems": []}
    problems: list[str] = []
    try:
        with plugin_code():
            checked = objects.kernel_check(stored_network(st, net))
        for eid, items in checked.items():
            problems.extend(f"{_describe(net, eid, st)}: {p}" for p in items)
        for ep in st.endpoints(net):
            problems.extend(f"{_describe(net, ep.id, st)}: {p}" for p in sandbox_problems(st, ep))
    except Exception as exc:
        return {"status": "unknown", "problems": [f"the check failed: {exc}"]}
    return {"status": "degraded" if problems else "ok", "problems": problems}


def reconcile_networks(drivers: DriverCache, st: State, repair: bool, report: Report) -> set[str]:
    """Orphans and missing objects of every loaded driver with a kernel side. Returns the
    IDs of endpoints whose kernel objects were re-created (their sandbox side needs
    plumbing again)."""
    networks = st.networks()
    by_type: dict[str, list[NetworkRecord]] = {}
    for net in networks:
        by_type.setdefault(net.type, []).append(net)
    recreated: set[str] = set()
    for reg in drivers.networks.loaded_all():
        objects = kernel_objects(reg.driver)
        if objects is None:
            continue
        nets = by_type.get(reg.name, [])
        stored = [stored_network(st, n) for n in nets]
        try:
            with plugin_code():
                orphans = objects.kernel_orphans(stored)
        except Exception as exc:
            report.findings.append(
                Finding("error", f"driver {reg.name!r}", f"cannot list kernel objects: {exc}")
            )
            continue
        removed: list[tuple[Orphan, Finding]] = []
        for orphan in orphans:
            finding = Finding(
                "orphan",
                f"{orphan.kind} {orphan.name}",
                orphan.detail or "carries this state's mark but belongs to no stored object",
            )
            if repair:
                finding.action = attempt(partial(objects.remove_orphan, orphan), "removed")
                if finding.action == "removed":
                    removed.append((orphan, finding))
            report.findings.append(finding)
        if removed:
            _verify_removed(objects, stored, removed)
        for net, snet in zip(nets, stored, strict=True):
            recreated.update(
                _check_network(drivers, st, reg.driver, objects, net, snet, repair, report)
            )
    report.unchecked.extend(
        net.name for net in networks if _loaded_objects(drivers, net.type) is None
    )
    return recreated


def _check_network(
    drivers: DriverCache,
    st: State,
    driver: Driver,
    objects: KernelObjects,
    net: NetworkRecord,
    snet: StoredNetwork,
    repair: bool,
    report: Report,
) -> set[str]:
    """Check one network; with ``repair``, restore what is missing. Returns the IDs of
    endpoints whose kernel objects were re-created."""
    try:
        with plugin_code():
            problems = objects.kernel_check(snet)
    except Exception as exc:
        report.findings.append(Finding("error", f"network {net.name!r}", f"check failed: {exc}"))
        return set()
    recreated: set[str] = set()
    net_problems = problems.get("", [])
    if net_problems:
        finding = Finding("missing", f"network {net.name!r}", "; ".join(net_problems))
        if repair:
            finding.action = attempt(partial(drivers.restore_network, driver, net), "repaired")
        report.findings.append(finding)
    for ep in st.endpoints(net):
        ep_problems = problems.get(ep.id, [])
        if not ep_problems:
            continue
        finding = Finding("missing", _describe(net, ep.id, st), "; ".join(ep_problems))
        if repair:
            finding.action = attempt(partial(_restore_endpoint, drivers, net, ep, st), "repaired")
            if finding.action == "repaired":
                recreated.add(ep.id)
        report.findings.append(finding)
    return recreated


def _restore_endpoint(
    drivers: DriverCache, net: NetworkRecord, ep: EndpointRecord, st: State
) -> None:
    driver = drivers.network_driver(net)
    drivers.restore_endpoint(driver, net, ep)
    if ep.sandbox_id is not None:
        drivers.restore_join(driver, net, ep, st)


def _verify_removed(
    objects: KernelObjects, stored: list[StoredNetwork], removed: list[tuple[Orphan, Finding]]
) -> None:
    """Look again: an orphan still there was not removed, whatever its driver said."""
    try:
        left = set(objects.kernel_orphans(stored))
    except Exception as exc:
        for _, finding in removed:
            finding.action = f"failed: cannot check the removal: {exc}"
        return
    for orphan, finding in removed:
        if orphan in left:
            finding.action = "failed: still there after its removal"
