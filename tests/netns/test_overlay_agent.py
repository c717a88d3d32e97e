"""``libnet agent`` processes programming overlay peers: three hosts, real etcd, real kernel.

Each host namespace runs ``python -m libnet.agent`` with a state directory of its own; the
test makes networks and endpoints through each host's overlay driver (as the controller
will) and never syncs peers itself: only the agents' watches program the other hosts.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from libnet.agent import Agent
from libnet.drivers.overlay import PeerDB
from libnet.store import MemoryStore

from ._agents import TTL, Agents, agents, has_macs, lacks_macs, wait_for
from ._overlay import cluster, endpoint, fdb_macs, ipam, kernel_state, pings, plumb

NID = "c" * 64


def eid(n: int) -> str:
    return f"{n:012x}" + "c" * 52  # the first 12 digits name the veth


def sandboxes(a: Agents, count: int = 3) -> list[str]:
    """Network NID on every host, one endpoint per host in a sandbox at 10.200.0.(n+1)."""
    hosts = a.c.hosts
    hosts[0].driver.create_network(NID, {}, ipam(), [])
    for host in hosts[1:]:
        host.driver.restore_network(NID, {}, ipam(), [])
    keys = []
    for n, host in enumerate(hosts[:count], start=2):
        iface = endpoint(host, NID, eid(n), f"10.200.0.{n}/24")
        keys.append(plumb(host, NID, eid(n), iface, f"sb-agent-{n}"))
    return keys


def mac(a: Agents, n: int) -> str:
    record = PeerDB(a.c.store).peer(NID, eid(n))
    assert record is not None
    return record.mac


def wait_programmed(a: Agents) -> None:
    macs = {mac(a, n) for n in (2, 3, 4)}
    for n, own in zip((1, 2, 3), (2, 3, 4), strict=True):
        wait_for(has_macs(a.c, n, macs - {mac(a, own)}), 10, f"host {n} has its peers")


def test_agents_program_peers_so_sandboxes_on_three_hosts_ping_each_other(
    tmp_path: Path,
) -> None:
    with agents(tmp_path) as a:
        keys = sandboxes(a)
        wait_programmed(a)
        for i, key in enumerate(keys):
            for j in range(3):
                if i != j:
                    assert pings(key, f"10.200.0.{j + 2}"), f"sandbox {i} cannot reach {j}"
        assert "added at" in a.log(1)  # one info line per peer programmed


def test_an_endpoint_removed_on_host_2_leaves_the_fdb_of_hosts_1_and_3_within_1s(
    tmp_path: Path,
) -> None:
    with agents(tmp_path) as a:
        keys = sandboxes(a)
        wait_programmed(a)
        gone = mac(a, 3)
        a.c.hosts[1].driver.delete_endpoint(NID, eid(3))
        for n in (1, 3):
            wait_for(lacks_macs(a.c, n, {gone}), 1.0, f"host {n} dropped the endpoint")
            neigh = {ip for _, ip, _ in kernel_state(a.c.hosts[n - 1].key)["neigh"]}
            assert "10.200.0.3" not in neigh
        assert pings(keys[0], "10.200.0.4")
        assert "removed from" in a.log(1)


def test_sigkill_peers_go_at_lease_expiry_and_come_back_on_restart(tmp_path: Path) -> None:
    with agents(tmp_path) as a:
        keys = sandboxes(a)
        wait_programmed(a)
        third = mac(a, 4)
        a.signal(3, signal.SIGKILL)
        # The lease outlives the process: the peers stay until it expires.
        assert third in fdb_macs(a.c.hosts[0]) and third in fdb_macs(a.c.hosts[1])
        for n in (1, 2):
            wait_for(lacks_macs(a.c, n, {third}), TTL + 5, f"host {n} dropped host 3's peers")
        a.start(3)
        for n in (1, 2):
            wait_for(has_macs(a.c, n, {third}), 10, f"host {n} has host 3's peers again")
        assert pings(keys[0], "10.200.0.4")
        assert pings(keys[2], "10.200.0.2")


def test_sigterm_revokes_the_lease_so_the_peers_go_at_once(tmp_path: Path) -> None:
    with agents(tmp_path) as a:
        sandboxes(a)
        wait_programmed(a)
        third = mac(a, 4)
        a.signal(3, signal.SIGTERM)
        for n in (1, 2):
            wait_for(lacks_macs(a.c, n, {third}), 1.0, f"host {n} dropped host 3's peers")
        assert "stopped" in a.log(3)


def test_agents_resume_their_watch_when_the_etcd_leader_dies(tmp_path: Path) -> None:
    with agents(tmp_path, members=3) as a:
        keys = sandboxes(a, count=2)
        a.etcd.kill(a.etcd.leader().name, signal.SIGKILL)
        iface = endpoint(a.c.hosts[2], NID, eid(4), "10.200.0.4/24")
        keys.append(plumb(a.c.hosts[2], NID, eid(4), iface, "sb-agent-4"))
        wait_programmed(a)
        assert pings(keys[0], "10.200.0.4")
        assert pings(keys[2], "10.200.0.3")


def test_agents_in_process_resync_after_falling_behind_a_compaction() -> None:
    """The in-process form (what Controller.agent() runs): agents share the drivers that
    made the endpoints, on a MemoryStore whose history is compacted under one of them."""
    c = cluster(count=2)
    h1, h2 = c.hosts
    assert isinstance(c.store, MemoryStore)
    h1.driver.create_network(NID, {}, ipam(), [])
    h2.driver.restore_network(NID, {}, ipam(), [])
    k1 = plumb(h1, NID, eid(2), endpoint(h1, NID, eid(2), "10.200.0.2/24"), "sb-ip-2")
    plumb(h2, NID, eid(3), endpoint(h2, NID, eid(3), "10.200.0.3/24"), "sb-ip-3")
    with (
        Agent(c.store, h1.driver, h1.name, h1.vtep, ttl=5) as a1,
        Agent(c.store, h2.driver, h2.name, h2.vtep, ttl=5),
    ):
        db = PeerDB(c.store)
        wait_for(lambda: db.peer(NID, eid(3)).mac in fdb_macs(h1), 5, "host 1 has host 2's")  # type: ignore[union-attr]
        assert pings(k1, "10.200.0.3")
        # Host 1's agent blocks on its driver while host 2 changes and history is compacted.
        with h1.driver._lock:
            iface = endpoint(h2, NID, eid(4), "10.200.0.4/24")
            time.sleep(0.3)  # host 1's agent is now waiting to program that peer
            h2.driver.delete_endpoint(NID, eid(3))
            endpoint(h2, NID, eid(5), "10.200.0.5/24")
            _, now = c.store.list_revision("")
            c.store.compact(now)
        want = {iface.mac_address, db.peer(NID, eid(5)).mac}  # type: ignore[union-attr]
        wait_for(lambda: fdb_macs(h1) == want, 5, "host 1 resynced to host 2's endpoints")
        assert a1.resyncs >= 1
