"""Reconciliation: the kernel against the store, after a crash, a restart or a meddling hand.

One operation can leave the kernel and the store disagreeing only if the process dies
between a kernel change and the commit (or someone removes a bridge by hand). Then:

* **orphans**, kernel objects that carry the marks of this state (owner) but belong to no
  stored object (a bridge or veth whose creation never committed, a namespace whose
  sandbox's removal committed but whose deletion did not run), are removed;
* **missing** objects, stored objects whose kernel objects vanished, are repaired through
  the restore path (the driver's ``restore_network`` / ``restore_endpoint`` re-create what
  is gone), namespaces libnet created are created again, and interfaces are moved into
  their sandboxes again; a namespace that libnet did not create (a container's) cannot be
  brought back: it is reported, and ``libnet sandbox rm`` removes the sandbox.

Drivers take part through an optional protocol, :class:`KernelObjects`: any driver with
kernel state may implement it (the built-in ``bridge`` driver does; a plugin's driver behind
the remote proxy is reached through the proxy's ``wrapped``). Drivers without it are
reported as ``unchecked``. The controller's part (sandboxes, namespaces, interfaces in
them) is the same for every driver.

``Controller.reconcile(repair=...)`` runs it inside one store transaction, so no other
process's operation is half done meanwhile; ``libnet doctor [--repair]`` is its command.
It is not run by ``Controller()`` itself: start-up stays cheap and never changes the kernel.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from libnet.driverapi import IPAMData

if TYPE_CHECKING:
    from libnet._records import NetworkRecord
    from libnet._state import State
    from libnet.controller import Controller

__all__ = [
    "Finding",
    "KernelObjects",
    "Orphan",
    "Report",
    "StoredNetwork",
    "kernel_objects",
    "network_status",
    "reconcile",
]

log = logging.getLogger("libnet")


@dataclass(frozen=True)
class StoredNetwork:
    """A stored network as its driver knows it: the arguments of ``restore_network``."""

    id: str
    options: Mapping[str, Any]
    ipv4_data: list[IPAMData]
    ipv6_data: list[IPAMData]
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Orphan:
    """A kernel object with this state's mark that belongs to no stored object."""

    kind: str
    """``bridge``, ``veth``, ``rule``, ``route``, ``namespace`` or a driver's own word."""
    name: str
    detail: str = ""
    handle: Any = field(default=None, compare=False, repr=False)
    """What the driver needs to remove it; opaque to the controller."""


@runtime_checkable
class KernelObjects(Protocol):
    """Optional driver protocol: report and remove the driver's kernel objects.

    None of the methods needs the network restored first, and none changes anything
    except :meth:`remove_orphan`. Repairs go through ``restore_network`` and
    ``restore_endpoint``, which must re-create what is missing.
    """

    def kernel_check(self, network: StoredNetwork) -> dict[str, list[str]]:
        """Problems of the network's kernel objects: ``""`` for the network, then per
        endpoint ID; an empty list (or no key) means healthy."""
        ...

    def kernel_orphans(self, networks: Sequence[StoredNetwork]) -> list[Orphan]:
        """The driver's marked objects that belong to none of ``networks`` (all of this
        driver's stored networks)."""
        ...

    def remove_orphan(self, orphan: Orphan) -> None:
        """Remove one object found by :meth:`kernel_orphans`; gone already is fine."""
        ...


@dataclass
class Finding:
    """One disagreement between the kernel and the store, and what was done about it."""

    kind: str
    """``orphan`` (in the kernel only), ``missing`` (stored, gone or incomplete in the
    kernel) or ``error`` (the check itself failed)."""
    object: str
    """What: ``bridge br-1234``, ``endpoint web on network n1``, ``sandbox 0123abcd...``."""
    detail: str
    action: str = "reported"
    """``reported``, ``removed``, ``repaired`` or ``failed: REASON``."""

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "object": self.object,
            "detail": self.detail,
            "action": self.action,
        }


@dataclass
class Report:
    """What :func:`reconcile` found; ``ok`` when nothing is left to repair."""

    findings: list[Finding] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """Networks whose driver cannot report its kernel objects."""

    @property
    def ok(self) -> bool:
        return all(f.action in ("removed", "repaired") for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [f.to_dict() for f in self.findings],
            "unchecked": list(self.unchecked),
        }


def kernel_objects(driver: object) -> KernelObjects | None:
    """The driver's :class:`KernelObjects` side, looking through a plugin proxy."""
    for candidate in (driver, getattr(driver, "wrapped", None)):
        if isinstance(candidate, KernelObjects):
            return candidate
    return None


def stored_network(st: State, net: NetworkRecord) -> StoredNetwork:
    from libnet._addressing import ipam_data

    return StoredNetwork(
        net.id,
        MappingProxyType(net.driver_options()),
        ipam_data(net.ipam, "ipv4"),
        ipam_data(net.ipam, "ipv6"),
        tuple(ep.id for ep in st.endpoints(net)),
    )


def _describe(net: NetworkRecord, eid: str, st: State) -> str:
    if not eid:
        return f"network {net.name!r}"
    try:
        name = st.endpoint(net, eid).name
    except Exception:
        name = eid[:12]
    return f"endpoint {name!r} on network {net.name!r}"


def network_status(c: Controller, net: NetworkRecord, st: State) -> dict[str, Any]:
    """The ``kernel`` field of ``libnet network inspect``: ``ok``, ``degraded`` with the
    problems, or ``unchecked`` (the driver is not loaded or cannot report)."""
    from libnet._sandboxes import sandbox_problems

    reg = c._registry.get(net.type)
    objects = kernel_objects(reg.driver) if reg is not None else None
    if objects is None:
        return {"status": "unchecked", "problems": []}
    problems: list[str] = []
    try:
        for eid, items in objects.kernel_check(stored_network(st, net)).items():
            problems.extend(f"{_describe(net, eid, st)}: {p}" for p in items)
        for ep in st.endpoints(net):
            problems.extend(f"{_describe(net, ep.id, st)}: {p}" for p in sandbox_problems(st, ep))
    except Exception as exc:
        return {"status": "unknown", "problems": [f"the check failed: {exc}"]}
    return {"status": "degraded" if problems else "ok", "problems": problems}


def reconcile(c: Controller, repair: bool) -> Report:
    """Check (and with ``repair``, fix) the kernel against the store; see the module doc."""
    from libnet._sandboxes import reconcile_sandboxes

    report = Report()
    with c._op() as (st, _op):
        networks = st.networks()
        by_type: dict[str, list[NetworkRecord]] = {}
        for net in networks:
            by_type.setdefault(net.type, []).append(net)
        repaired_networks: set[str] = set()
        for reg in c._registry.all():
            objects = kernel_objects(reg.driver)
            if objects is None:
                continue
            nets = by_type.get(reg.name, [])
            stored = [stored_network(st, n) for n in nets]
            try:
                orphans = objects.kernel_orphans(stored)
            except Exception as exc:
                report.findings.append(
                    Finding("error", f"driver {reg.name!r}", f"cannot list kernel objects: {exc}")
                )
                continue
            for orphan in orphans:
                finding = Finding(
                    "orphan",
                    f"{orphan.kind} {orphan.name}",
                    orphan.detail or "carries this state's mark but belongs to no stored object",
                )
                if repair:
                    finding.action = _attempt(objects.remove_orphan, orphan, "removed")
                report.findings.append(finding)
            for net, snet in zip(nets, stored, strict=True):
                repaired_networks.update(
                    _check_network(c, st, reg.driver, objects, net, snet, repair, report)
                )
        for net in networks:
            if (
                c._registry.get(net.type) is None
                or kernel_objects(
                    c._registry.get(net.type).driver  # type: ignore[union-attr]
                )
                is None
            ):
                report.unchecked.append(net.name)
        reconcile_sandboxes(c, st, repair, report, repaired_networks)
    return report


def _attempt(fn: Any, arg: Any, done: str) -> str:
    try:
        fn(arg)
    except Exception as exc:
        log.warning("reconciliation step failed", exc_info=True)
        return f"failed: {exc}"
    return done


def _check_network(
    c: Controller,
    st: State,
    driver: Any,
    objects: KernelObjects,
    net: NetworkRecord,
    snet: StoredNetwork,
    repair: bool,
    report: Report,
) -> set[str]:
    """Check one network; with ``repair``, restore what is missing. Returns the IDs of
    endpoints whose kernel objects were re-created (their sandbox side needs plumbing)."""
    from libnet._calls import call_driver
    from libnet.driverapi import InterfaceInfo

    try:
        problems = objects.kernel_check(snet)
    except Exception as exc:
        report.findings.append(Finding("error", f"network {net.name!r}", f"check failed: {exc}"))
        return set()
    recreated: set[str] = set()
    net_problems = problems.get("", [])
    if net_problems:
        finding = Finding("missing", f"network {net.name!r}", "; ".join(net_problems))
        if repair:

            def restore_network(_: object) -> None:
                call_driver(
                    f"network {net.name!r}",
                    driver.restore_network,
                    net.id,
                    snet.options,
                    snet.ipv4_data,
                    snet.ipv6_data,
                )
                c._known_networks[net.id] = net.type

            finding.action = _attempt(restore_network, None, "repaired")
        report.findings.append(finding)
    for ep in st.endpoints(net):
        ep_problems = problems.get(ep.id, [])
        if not ep_problems:
            continue
        finding = Finding("missing", _describe(net, ep.id, st), "; ".join(ep_problems))
        if repair:

            def restore_endpoint(_: object, ep: Any = ep) -> None:
                if net.id not in c._known_networks:
                    c._network_driver(net)
                call_driver(
                    _describe(net, ep.id, st),
                    driver.restore_endpoint,
                    net.id,
                    ep.id,
                    InterfaceInfo.from_record(ep.interface),
                    MappingProxyType(ep.options),
                )
                c._known_endpoints.add(ep.id)

            finding.action = _attempt(restore_endpoint, None, "repaired")
            if finding.action == "repaired":
                recreated.add(ep.id)
        report.findings.append(finding)
    return recreated
