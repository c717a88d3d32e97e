"""``libnet agent`` processes programming overlay peers: three hosts, real etcd, real kernel.

Each host namespace runs ``python -m libnet.agent`` with a state directory of its own; the
test makes networks and endpoints through each host's overlay driver (as the controller
will) and never syncs peers itself: only the agents' watches program the other hosts.
"""

from __future__ import annotations

import signal
from pathlib import Path

from libnet.drivers.overlay import PeerDB

from ._agents import TTL, Agents, agents, has_macs, lacks_macs, wait_for
from ._overlay import endpoint, fdb_macs, ipam, kernel_state, pings, plumb

NID = "c" * 64


def eid(n: int) -> str:
    return f"cccc{n:060x}"


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
