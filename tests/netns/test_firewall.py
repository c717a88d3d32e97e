"""The bridge driver's iptables rules, in a throwaway namespace per test (iptables state is
per network namespace, so the host's firewall never changes).

"Outside" is a namespace of its own behind a veth pair (``192.0.2.2`` there, ``192.0.2.1``
in the test's namespace, which plays the host); it has no route to the networks' subnets
unless a test gives it one, so only masqueraded traffic gets an answer from it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import libnet
from libnet.errors import InvalidOptionError
from libnet.osl import firewall, rtnl

from ._firewall import (
    BR_NF,
    DUAL,
    N1,
    N2,
    NO_FIREWALL,
    OUTSIDE,
    FailingTools,
    echo_requests,
    host_like,
    ipt,
    needs_iptables,
    outside,
)
from ._kernel import in_namespace, ip, iptables, joined, reaches, snapshot, store_dump


def test_rules_come_and_go_with_the_network() -> None:
    needs_iptables()
    before = iptables()
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=DUAL, enable_ipv6=True)
        bridge = f"br-{network.id[:12]}"
        mark = f"libnet:{c.owner}:net:{network.id}"
        saved = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        fwd, nat = f"LIBNET-FWD-{c.owner}", f"LIBNET-NAT-{c.owner}"
        assert f'-A FORWARD -m comment --comment "libnet:{c.owner}" -j {fwd}' in saved
        assert f'-A POSTROUTING -m comment --comment "libnet:{c.owner}" -j {nat}' in saved
        assert (
            f'-A {fwd} -i {bridge} ! -o {bridge} -m comment --comment "{mark}" -j ACCEPT' in saved
        )
        assert f"-A {nat} -s 10.1.0.0/24 ! -o {bridge} -m comment" in saved
        six = subprocess.run(["ip6tables-save"], capture_output=True, text=True).stdout
        assert f"-A {nat} -s fd00:1::/64 ! -o {bridge} -m comment" in six
        assert network.to_dict()["kernel"] == {"status": "ok", "problems": []}
        network.delete()
    assert iptables() == before


def test_the_jump_goes_to_docker_user_when_it_exists() -> None:
    needs_iptables()
    ipt("-N", "DOCKER-USER")
    ipt("-A", "DOCKER-USER", "-j", "RETURN")
    ipt("-A", "FORWARD", "-j", "DOCKER-USER")
    with libnet.Controller() as c:
        c.new_network("bridge", "n1", ipam=N1)
        rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
        lines = [line for line in rules.splitlines() if line.startswith("-A DOCKER-USER")]
        assert lines[0].endswith(f"-j LIBNET-FWD-{c.owner}"), rules
        assert lines[-1] == "-A DOCKER-USER -j RETURN"
        assert f"-A FORWARD -m comment --comment libnet:{c.owner}" not in rules
        c.network("n1").delete()
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    assert "LIBNET" not in rules


def test_forward_policy_drop_with_br_netfilter_passes_the_bridge_traffic() -> None:
    needs_iptables()
    if not BR_NF.exists():
        pytest.skip("br_netfilter is not loaded: bridged traffic never meets iptables here")
    host_like()
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        key_a, _ = joined(c, network, "a")
        _, b = joined(c, network, "b")
        assert reaches(key_a, ip(b))
        bare = c.new_network("bridge", "bare", ipam=N2, options=NO_FIREWALL)
        key_c, _ = joined(c, bare, "c")
        _, d = joined(c, bare, "d")
        assert not reaches(key_c, ip(d))  # the DROP policy, where libnet adds no rule


def test_outbound_traffic_is_masqueraded_unless_turned_off() -> None:
    needs_iptables()
    host_like()
    outside()
    with libnet.Controller() as c:
        key_a, _ = joined(c, c.new_network("bridge", "n1", ipam=N1), "a")
        assert reaches(key_a, OUTSIDE)
        plain = c.new_network(
            "bridge",
            "plain",
            ipam=N2,
            options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
        )
        key_b, _ = joined(c, plain, "b")
        assert not reaches(key_b, OUTSIDE)  # unmasqueraded: outside has no route back


def test_an_internal_network_is_blocked_both_ways() -> None:
    needs_iptables()
    host_like(policy_drop=False)  # even where the host lets everything through
    out = outside(route_to="10.0.0.0/8")
    with libnet.Controller() as c:
        key_open, opened = joined(c, c.new_network("bridge", "open", ipam=N1), "a")
        inside = c.new_network("bridge", "inside", internal=True, ipam=N2)
        key_in, closed = joined(c, inside, "b")
        with rtnl.rtnl(key_in) as ipr:  # so that only the firewall can stop the answers
            index = ipr.link_lookup(ifname="eth0")[0]
            ipr.route("add", dst="192.0.2.0/24", gateway="10.2.0.1", oif=index)
        # Nothing unsolicited gets in, whatever the host's policy (only published ports do);
        # an open network reaches out, an internal one does not.
        assert not reaches(out, ip(opened))
        assert reaches(key_open, OUTSIDE)
        assert not reaches(out, ip(closed))
        assert not reaches(key_in, OUTSIDE)
        # Routing alone would stop the answers; the requests must not even arrive.
        assert in_namespace(key_open, lambda: echo_requests() == 0)
        assert in_namespace(key_in, lambda: echo_requests() == 0)


def test_icc_off_and_isolation_hold_under_a_drop_policy() -> None:
    needs_iptables()
    host_like()
    with libnet.Controller() as c:
        one = c.new_network(
            "bridge", "one", ipam=N1, options={"com.docker.network.bridge.enable_icc": "false"}
        )
        key_a, _ = joined(c, one, "a")
        _, b = joined(c, one, "b")
        key_c, other = joined(c, c.new_network("bridge", "two", ipam=N2), "c")
        assert not reaches(key_a, ip(b))
        assert reaches(key_a, "10.1.0.1")
        assert not reaches(key_a, ip(other))
        assert not reaches(key_c, ip(b))


PUBLISH = ["18080:80", "8081/udp"]


def _joined_publishing(c: libnet.Controller) -> dict[str, Any]:
    network = c.new_network("bridge", "n1", ipam=N1)  # IPv4: IPv6 DAD would time the snapshots
    endpoint = network.create_endpoint("e1")
    sandbox = c.new_sandbox("c1", create=True)
    endpoint.join(sandbox, publish=PUBLISH)
    return {"network": network, "endpoint": endpoint, "sandbox": sandbox}


def _unjoined(c: libnet.Controller) -> dict[str, Any]:
    network = c.new_network("bridge", "n1", ipam=N1)
    return {
        "network": network,
        "endpoint": network.create_endpoint("e1"),
        "sandbox": c.new_sandbox("c1", create=True),
    }


FAULT_CASES: dict[str, tuple[Callable[[libnet.Controller], dict[str, Any]], Any]] = {
    "create network": (
        lambda c: {},
        lambda c, o: c.new_network("bridge", "n1", ipam=DUAL, enable_ipv6=True),
    ),
    "join publishing ports": (
        _unjoined,
        lambda c, o: o["endpoint"].join(o["sandbox"], publish=PUBLISH),
    ),
    "leave": (_joined_publishing, lambda c, o: o["endpoint"].leave(o["sandbox"])),
    "delete network": (_joined_publishing, lambda c, o: o["network"].delete(force=True)),
}


@pytest.mark.parametrize("case", list(FAULT_CASES))
def test_an_iptables_failure_at_each_step_leaves_no_rule_and_no_record(
    case: str, tmp_path: Path
) -> None:
    """Each call of an iptables tool (read or write) fails in turn, through wrappers first
    on PATH; the operation fails and leaves kernel and store exactly as they were."""
    needs_iptables()
    setup, action = FAULT_CASES[case]
    tools = FailingTools(tmp_path / "faults")
    with libnet.Controller(state_dir=tmp_path / "state") as c:
        objs = setup(c)
        before, stored = snapshot(), store_dump(c)
        fail_at = 1
        while True:
            tools.arm(fail_at)
            try:
                action(c, objs)
            except libnet.LibnetError as exc:
                assert tools.fired, f"step {fail_at}: failed without an injection: {exc!r}"
                assert "injected failure" in str(exc)
                assert snapshot() == before, f"{case}: kernel differs after step {fail_at}"
                assert store_dump(c) == stored, f"{case}: store differs after step {fail_at}"
                fail_at += 1
                continue
            assert not tools.fired, f"{case}: step {fail_at} failed, yet the operation passed"
            break
        tools.arm(0)
        assert fail_at > 2, f"{case} ran fewer iptables tools than expected"
        assert c.reconcile(repair=False).findings == []


def test_doctor_removes_orphaned_rules_and_repairs_missing_ones(tmp_path: Path) -> None:
    needs_iptables()
    with libnet.Controller(state_dir=tmp_path) as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        good = iptables()
        orphan = firewall.Rule(4, "filter", ("-i", "gone0"), "ACCEPT", f"libnet:{c.owner}:net:ab")
        fw = firewall.Firewall(c.owner)
        fw.set_rules(orphan.comment, [orphan])
        ipt("-F", f"LIBNET-FWD-{c.owner}", "-w")  # also every rule of the stored network
        fw.set_rules(orphan.comment, [orphan])
        report = c.reconcile(repair=False)
        found = {(f.kind, f.object.split()[0]) for f in report.findings}
        assert ("orphan", "firewall") in found, report
        assert any("firewall rule is missing" in f.detail for f in report.findings), report
        assert "degraded" in str(network.to_dict()["kernel"])
        report = c.reconcile(repair=True)
        assert report.ok, report
        assert iptables() == good
        assert c.reconcile(repair=False).findings == []

        jump = ["-m", "comment", "--comment", f"libnet:{c.owner}", "-j", f"LIBNET-FWD-{c.owner}"]
        ipt("-D", "FORWARD", *jump)  # as a host's firewall reload might
        report = c.reconcile(repair=False)
        assert any("is not jumped to" in f.detail for f in report.findings), report
        assert c.reconcile(repair=True).ok
        assert iptables() == good


def test_without_iptables_a_network_needing_rules_is_refused_and_a_plain_one_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with libnet.Controller() as c:
        for options in (
            {"io.libnet.bridge.firewall": "true"},
            {"com.docker.network.bridge.enable_icc": "false"},
            {"com.docker.network.bridge.enable_ip_masquerade": "true"},
        ):
            with pytest.raises(InvalidOptionError, match="iptables-save is not installed") as info:
                c.new_network("bridge", "n1", ipam=N1, options=options)
            assert "io.libnet.bridge.firewall=false" in str(info.value)
        with pytest.raises(InvalidOptionError, match="iptables-save is not installed"):
            c.new_network("bridge", "n1", ipam=N1, internal=True)
        assert c.networks() == []
        network = c.new_network("bridge", "plain", ipam=N1, options=NO_FIREWALL)
        assert network.to_dict()["kernel"] == {"status": "ok", "problems": []}
        default = c.new_network("bridge", "default", ipam=N2)
        assert default.to_dict()["kernel"] == {"status": "ok", "problems": []}
