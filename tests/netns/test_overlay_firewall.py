"""The overlay on Docker-like hosts: bridges calling iptables and ``FORWARD`` policy ``DROP``.

Each host namespace is made a Docker host of its own (``bridge-nf-call-iptables=1``, policy
``DROP``, and where asked Docker's ``DOCKER-USER`` chain jumped to from ``FORWARD``): only
the overlay driver's rules let the frames its bridge passes between a local endpoint's veth
and the vxlan device through. iptables state is per namespace: the machine's never changes.
"""

from __future__ import annotations

import shlex
import subprocess
from unittest import mock

import pytest

from libnet.driverapi import StoredNetwork
from libnet.drivers.bridge import BridgeDriver
from libnet.osl import rtnl
from libnet.osl.firewall import Firewall

from ._firewall import needs_iptables
from ._kernel import iptables
from ._overlay import Cluster, Host, cluster, endpoint, ipam, pings
from .test_overlay import NID, three_sandboxes

BR_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def ipt_in(key: str, *args: str) -> str:
    done = subprocess.run(
        ["nsenter", f"--net={key}", "iptables", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def docker_like(c: Cluster, docker_user: bool) -> None:
    """Every host namespace: bridges call iptables, FORWARD policy DROP, DOCKER-USER."""
    needs_iptables()
    for host in c.hosts:
        script = f"test -e {BR_NF} && echo 1 > {BR_NF}"
        if subprocess.run(["nsenter", f"--net={host.key}", "sh", "-c", script]).returncode:
            pytest.skip("this kernel has no bridge netfilter (br_netfilter)")
        ipt_in(host.key, "-P", "FORWARD", "DROP")
        if docker_user:
            ipt_in(host.key, "-N", "DOCKER-USER")
            ipt_in(host.key, "-A", "DOCKER-USER", "-j", "RETURN")
            ipt_in(host.key, "-A", "FORWARD", "-j", "DOCKER-USER")


def eids(nid: str = NID) -> list[str]:
    return [f"{nid[:4]}{n:060x}" for n in (2, 3, 4)]


def teardown(c: Cluster, nid: str = NID) -> None:
    for host, eid in zip(c.hosts, eids(nid), strict=True):
        host.driver.delete_endpoint(nid, eid)
    c.hosts[0].driver.delete_network(nid)


def all_ping(keys: list[str]) -> bool:
    return all(
        pings(key, f"10.200.0.{j + 2}") for i, key in enumerate(keys) for j in range(3) if i != j
    )


def forwarded_rule(host: Host) -> list[str]:
    return [
        line
        for line in ipt_in(host.key, "-S").splitlines()
        if f"libnet:{host.driver.owner}:overlay:{NID}" in line
    ]


@pytest.mark.parametrize("docker_user", [False, True], ids=["forward", "docker-user"])
def test_three_hosts_ping_with_forward_policy_drop_and_nothing_is_left_after_delete(
    docker_user: bool,
) -> None:
    c = cluster()
    docker_like(c, docker_user)
    before = {h.name: iptables(h.key) for h in c.hosts}
    keys = three_sandboxes(c)
    assert all_ping(keys)
    for host in c.hosts:
        owner = host.driver.owner
        (rule,) = forwarded_rule(host)
        assert rule.startswith(f"-A LIBNET-FWD-{owner} -i ovbr")
        jumps = [line for line in ipt_in(host.key, "-S").splitlines() if "-j LIBNET-FWD" in line]
        parent = "DOCKER-USER" if docker_user else "FORWARD"
        assert len(jumps) == 1 and jumps[0].startswith(f"-A {parent} "), jumps
        assert jumps[0].endswith(f"-j LIBNET-FWD-{owner}")
    teardown(c)
    assert {h.name: iptables(h.key) for h in c.hosts} == before


def test_without_the_rules_nothing_passes_and_the_check_finds_and_repairs_them() -> None:
    c = cluster()
    docker_like(c, docker_user=False)
    keys = three_sandboxes(c)
    host = c.hosts[1]
    (rule,) = forwarded_rule(host)
    ipt_in(host.key, *shlex.split(rule.replace("-A ", "-D ", 1)))
    assert not all_ping(keys)  # the test's hosts drop what the rules let through
    stored = StoredNetwork(NID, {}, ipam(), [], tuple(eids()))
    problems = host.driver.kernel_check(stored)[""]
    assert any(p.startswith("firewall rule is missing: iptables -t filter") for p in problems)
    host.driver.restore_network(NID, {}, ipam(), [])  # the repair (libnet doctor --repair)
    assert host.driver.kernel_check(stored)[""] == []
    assert all_ping(keys)


def test_a_rule_left_by_a_crash_is_an_orphan_of_the_overlay_driver_only() -> None:
    c = cluster(count=1)
    docker_like(c, docker_user=False)
    host = c.hosts[0]
    before = iptables(host.key)
    host.driver.create_network(NID, {}, ipam(), [])
    endpoint(host, NID, "e" * 64, "10.200.0.2/24")
    stored = StoredNetwork(NID, {}, ipam(), [], ("e" * 64,))
    assert host.driver.kernel_orphans([stored]) == []
    # A bridge driver of the same state shares the owner's chains: the rule is not its own.
    bridge = BridgeDriver(host.driver.owner)
    bridge.firewall = Firewall(host.driver.owner, netns=host.key)
    with mock.patch.object(BridgeDriver, "_kernel", staticmethod(lambda: rtnl.rtnl(host.key))):
        assert [o for o in bridge.kernel_orphans([]) if o.kind == "firewall"] == []
    # The links go behind the driver's back (a crash): the rule is left, an orphan.
    with rtnl.rtnl(host.key) as ipr:
        for name in (f"ovh{'e' * 12}", f"ovvx{host.driver._net(NID).vni}"):
            ipr.link("del", index=ipr.link_lookup(ifname=name)[0])
        ipr.link("del", index=ipr.link_lookup(ifname=f"ovbr{host.driver._net(NID).vni}")[0])
    orphans = host.driver.kernel_orphans([stored])
    assert orphans and {o.kind for o in orphans} == {"firewall"}  # one per IP family
    for orphan in orphans:
        host.driver.remove_orphan(orphan)
    assert host.driver.kernel_orphans([stored]) == []
    assert iptables(host.key) == before
