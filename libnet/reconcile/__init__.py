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

A host with endpoints in overlay networks whose agent is not registered in the global store
gets a finding that repair leaves (``_agent``): starting ``libnet agent`` is the remedy.

Drivers take part through an optional protocol, :class:`~libnet.driverapi.KernelObjects`
(``_networks``); the sandbox side is the controller's and the same for every driver
(``_namespaces``). ``Controller.reconcile(repair=...)`` runs it inside one operation, so no
other process's operation is half done meanwhile; ``libnet doctor [--repair]`` is its
command. ``Controller()`` never runs it: start-up stays cheap and never changes the kernel.
"""

from __future__ import annotations

from libnet._runtime import Runtime
from libnet.driverapi import KernelObjects, Orphan, StoredNetwork, kernel_objects
from libnet.reconcile._agent import agent_warning, check_agent, networks_without_agent
from libnet.reconcile._networks import network_status, reconcile_networks, stored_network
from libnet.reconcile._report import Finding, Report
from libnet.store import Store

__all__ = [
    "Finding",
    "KernelObjects",
    "Orphan",
    "Report",
    "StoredNetwork",
    "agent_warning",
    "kernel_objects",
    "network_status",
    "networks_without_agent",
    "reconcile",
    "stored_network",
]


def reconcile(runtime: Runtime, repair: bool, global_store: Store | None = None) -> Report:
    """Check (and with ``repair``, fix) the kernel against the store; see the module doc.
    ``global_store`` is where this host's agent registers (its absence is a finding)."""
    # Imported only now: network_status (``libnet network ls``) needs no OS layer.
    from libnet.reconcile._namespaces import reconcile_sandboxes

    report = Report()
    with runtime.operation("reconciliation", exclusive=True) as op:
        recreated = reconcile_networks(op.drivers, op.state, repair, report)
        reconcile_sandboxes(runtime.owner, op.state, repair, report, recreated)
        check_agent(op.state, global_store, runtime.host, report)
    return report
