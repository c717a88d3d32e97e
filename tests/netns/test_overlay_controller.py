"""Overlay networks through the controller, as a user runs them: ``libnet agent`` in each of
three host namespaces (state directories of their own, real etcd on the underlay), and
every network, endpoint and sandbox made and removed by ``libnet`` commands run in the
hosts. The hosts are Docker-like (bridges call iptables, ``FORWARD`` policy ``DROP``, a
``DOCKER-USER`` chain), so the overlay's own firewall rules are part of what is checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from libnet.store import SqliteStore

from ._agents import Agents, agents, wait_for
from ._kernel import iptables
from ._overlay import kernel_state, pings
from .test_overlay_firewall import docker_like

SUBNET = "10.200.0.0/24"


def host_state(a: Agents, n: int) -> dict[str, Any]:
    """Links, vxlan FDB and neighbour entries, and iptables of host ``n``."""
    key = a.c.hosts[n - 1].key
    return {**kernel_state(key), "iptables": iptables(key)}


def records(a: Agents) -> dict[str, Any]:
    """The records of the global store (the hosts' leases aside) and of each host's local
    store (the built-in allocator's change stamps aside)."""
    out: dict[str, Any] = {
        "global": {p.key: p.value for p in a.c.store.list("") if not p.key.startswith("nodes/")}
    }
    for n in (1, 2, 3):
        path = a.state(n) / "state.db"
        if path.exists():
            local = SqliteStore(a.state(n))
            try:
                out[f"host{n}"] = {
                    p.key: p.value
                    for p in local.list("")
                    if not p.key.startswith("ipam/default/heads/")
                }
            finally:
                local.close()
    return out


def sandbox_on(a: Agents, n: int, network: str) -> tuple[str, str]:
    """On host ``n``: sandbox ``cN`` (a namespace of its own) joined by endpoint ``eN``;
    the sandbox's key and the endpoint's address."""
    a.libnet(n, "sandbox", "create", f"c{n}", "--create")
    a.libnet(n, "endpoint", "create", network, f"e{n}")
    a.libnet(n, "endpoint", "join", network, f"e{n}", f"c{n}")
    (box,) = json.loads(a.libnet(n, "sandbox", "inspect", f"c{n}"))
    (ep,) = json.loads(a.libnet(n, "endpoint", "inspect", network, f"e{n}"))
    return str(box["key"]), str(ep["address"]).split("/")[0]


def test_deleting_the_network_removes_every_link_fdb_and_neighbour_entry_on_every_host(
    tmp_path: Path,
) -> None:
    with agents(tmp_path, cli=True) as a:
        docker_like(a.c, docker_user=True)
        before = {n: host_state(a, n) for n in (1, 2, 3)}
        stored = records(a)
        a.libnet(1, "network", "create", "-d", "overlay", "--subnet", SUBNET, "ov1")
        boxes = [sandbox_on(a, n, "ov1") for n in (1, 2, 3)]
        for n in (1, 2, 3):
            wait_for(lambda n=n: len(host_state(a, n)["fdb"]) == 2, 10, f"host {n}'s peers")
        for key, _ in boxes:
            for _, address in boxes:
                assert pings(key, address), f"{key} cannot reach {address}"
        for n in (1, 2, 3):
            state = host_state(a, n)
            assert [name for name, *_ in state["links"] if name.startswith("ovbr")]
            assert len(state["neigh"]) == 2
        made = records(a)
        assert all(made[f"host{n}"] != stored.get(f"host{n}") for n in (1, 2, 3))
        assert any(key.startswith("overlay/") for key in made["global"])
        for n in (1, 2, 3):
            a.libnet(n, "endpoint", "leave", "ov1", f"e{n}", f"c{n}")
            a.libnet(n, "endpoint", "rm", "ov1", f"e{n}")
            a.libnet(n, "sandbox", "rm", f"c{n}")
        a.libnet(2, "network", "rm", "ov1")  # not the host that created it
        for n in (1, 2, 3):
            assert host_state(a, n) == before[n], f"host {n} kept kernel objects"
        assert records(a) == stored
