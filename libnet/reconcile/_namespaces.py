"""Reconciliation of the sandbox side: namespaces libnet made, interfaces in sandboxes.

This part is the controller's and serves every driver: the driver names the interface,
the OS layer moves it into the sandbox.
"""

from __future__ import annotations

import os
from functools import partial

from libnet._records import SandboxRecord
from libnet._sandboxes import interface_spec, namespace_name, sandbox_problems
from libnet._state import State
from libnet.driverapi import InterfaceInfo
from libnet.osl import NETNS_DIR, Namespace, create_namespace, delete_namespace, namespace_names
from libnet.reconcile._report import Finding, Report, attempt

__all__ = ["reconcile_sandboxes"]


def reconcile_sandboxes(
    owner: str, st: State, repair: bool, report: Report, recreated: set[str]
) -> None:
    """Orphan namespaces of state ``owner``; stored sandboxes whose namespace or interfaces
    are gone (``recreated``: endpoints whose driver objects were just made again)."""
    sandboxes = st.sandboxes()
    keys = {s.key for s in sandboxes if s.key}
    prefix = namespace_name(owner, "")
    for name in namespace_names():
        path = str(NETNS_DIR / name)
        if name.startswith(prefix) and path not in keys:
            finding = Finding(
                "orphan", f"namespace {path}", "created by libnet for no stored sandbox"
            )
            if repair:
                finding.action = attempt(partial(delete_namespace, path), "removed")
            report.findings.append(finding)
    for sbox in sandboxes:
        if sbox.key and _namespace_present(sbox, repair, report):
            _check_interfaces(sbox, st, repair, report, recreated)


def _namespace_present(sbox: SandboxRecord, repair: bool, report: Report) -> bool:
    """Whether the sandbox's namespace exists (made again, with ``repair``, if libnet made it)."""
    assert sbox.key is not None
    if Namespace(sbox.key).exists():
        return True
    what = _what(sbox)
    if not sbox.owns_key:
        report.findings.append(
            Finding(
                "missing",
                what,
                f"its namespace {sbox.key} is gone (its container stopped?); remove "
                f"the sandbox with 'libnet sandbox rm {sbox.container_id}'",
            )
        )
        return False
    finding = Finding("missing", what, f"the namespace {sbox.key} libnet made is gone")
    if repair:
        finding.action = attempt(partial(create_namespace, os.path.basename(sbox.key)), "repaired")
    report.findings.append(finding)
    return Namespace(sbox.key).exists()


def _check_interfaces(
    sbox: SandboxRecord, st: State, repair: bool, report: Report, recreated: set[str]
) -> None:
    """Interfaces missing from the sandbox, or whose driver objects were made again."""
    assert sbox.key is not None
    ns = Namespace(sbox.key)
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
            f"endpoint {ep.name!r} on network {net.name!r} in {_what(sbox)}",
            "; ".join(problems) or "its interface was made again",
        )
        if repair:
            spec = interface_spec(
                join, InterfaceInfo.from_record(ep.interface), net.mtu, join["interface"]
            )
            finding.action = attempt(partial(ns.plumb, spec), "repaired")
        report.findings.append(finding)


def _what(sbox: SandboxRecord) -> str:
    return f"sandbox {sbox.id[:12]} (container {sbox.container_id!r})"
