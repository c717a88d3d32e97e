"""Whether this host's agent runs where it must: overlay endpoints here need ``libnet agent``.

Peers of an overlay network reach a host's kernel only through that host's agent (its watch
programs them). The agent registers the host in the global store under a lease
(``nodes/<host ID>``), so a missing record while this host has endpoints in such networks
means that their packets to and from other hosts go nowhere. ``libnet info`` warns, and
``libnet doctor`` (``Controller.reconcile``) reports a finding it cannot repair: the remedy
is a process.
"""

from __future__ import annotations

from libnet._state import State
from libnet.errors import LibnetError
from libnet.reconcile._report import Finding, Report
from libnet.store import Store

__all__ = ["AGENT_NETWORK_TYPES", "agent_warning", "check_agent", "networks_without_agent"]

AGENT_NETWORK_TYPES = frozenset({"overlay"})
"""Network types whose peers only the agent programs."""


def _networks_here(st: State, host: str) -> list[str]:
    """Names of the networks of agent types with at least one endpoint on ``host``."""
    return sorted(
        net.name
        for net in st.networks()
        if net.type in AGENT_NETWORK_TYPES and any(ep.host == host for ep in st.endpoints(net))
    )


def networks_without_agent(st: State, global_store: Store | None, host: str | None) -> list[str]:
    """The networks needing this host's agent while it is not registered; [] if none.

    The store is asked about the node record only when such networks exist.
    """
    if global_store is None or host is None:
        return []
    names = _networks_here(st, host)
    if not names:
        return names
    # Imported only now: node discovery brings the OS layer, which `network ls` does without.
    from libnet.nodes import registered_node

    if registered_node(global_store, host) is not None:
        return []
    return names


def agent_warning(names: list[str]) -> str:
    """What to tell the user about ``names`` (networks without this host's agent)."""
    nets = ", ".join(repr(n) for n in names)
    return (
        f"overlay network{'s' if len(names) > 1 else ''} {nets} "
        f"{'have' if len(names) > 1 else 'has'} endpoints on this host and no agent is "
        "running for it: peers on other hosts are not programmed. Start 'libnet agent' on "
        "this host (docs/libnet-agent.service is a systemd unit for it)"
    )


def check_agent(st: State, global_store: Store | None, host: str | None, report: Report) -> None:
    """Add a finding (never repaired: it needs a process) when the agent is missing."""
    try:
        names = networks_without_agent(st, global_store, host)
    except LibnetError as exc:
        report.findings.append(
            Finding("error", f"agent of host {host}", f"cannot check the node record: {exc}")
        )
        return
    if names:
        report.findings.append(
            Finding("missing", f"agent of host {host}", agent_warning(names), repairable=False)
        )
