"""Reconciliation: leftovers of a crash are removed, vanished objects are made again."""

from __future__ import annotations

import shutil
from pathlib import Path

import libnet
from libnet.osl import NETNS_DIR, Namespace, create_namespace, delete_namespace, rtnl

from ._kernel import ip, joined, link_names, reaches, snapshot

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}
N2 = {"config": [{"subnet": "10.2.0.0/24"}]}


def _copy_state(src: Path, dst: Path) -> None:
    dst.mkdir(exist_ok=True)
    for old in dst.glob("state.db*"):
        if old.is_file():  # not the lock files' directory
            old.unlink()
    for path in src.glob("state.db*"):
        if path.is_file():
            shutil.copy2(path, dst / path.name)


def test_leftovers_of_a_crash_are_removed_at_the_next_start(tmp_path: Path) -> None:
    state, backup = tmp_path / "state", tmp_path / "backup"
    with libnet.Controller(state_dir=state) as c:
        keep = c.new_network("bridge", "keep", ipam=N1)
        joined(c, keep, "kept")
    _copy_state(state, backup)  # the store as it was before the "lost" operations
    before = snapshot()

    with libnet.Controller(state_dir=state) as c:
        lost = c.new_network("bridge", "lost", internal=True, ipam=N2)
        joined(c, lost, "gone")
        extra = c.network("keep").create_endpoint("extra")
        extra.join(c.sandbox("kept"))  # an interface inside a namespace that stays
        c.new_sandbox("empty", create=True)
    assert snapshot() != before

    # The crash: the kernel keeps what the operations did, the store forgets them.
    _copy_state(backup, state)

    with libnet.Controller(state_dir=state) as c:  # the next start
        leftovers = snapshot()
        report = c.reconcile(repair=False)
        assert snapshot() == leftovers  # checking changes nothing
        assert not report.ok
        kinds = sorted({f.object.split()[0] for f in report.findings})
        assert kinds == ["bridge", "firewall", "namespace", "route", "rule", "veth"], report
        assert {f.kind for f in report.findings} == {"orphan"}
        assert {f.action for f in report.findings} == {"reported"}
        assert sum(f.object.startswith("namespace") for f in report.findings) == 2

        report = c.reconcile(repair=True)
        assert report.ok, report
        assert snapshot() == before
        assert c.reconcile(repair=False).findings == []
        key = c.sandbox("kept").key
        assert key is not None
        assert Namespace(key).interfaces() == ["eth0", "lo"]


def test_vanished_bridge_and_namespace_are_made_again(tmp_path: Path) -> None:
    with libnet.Controller(state_dir=tmp_path) as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        key_a, _ = joined(c, network, "a")
        key_b, _ = joined(c, network, "b")
        healthy = snapshot()
        bridge = network.endpoint("a").driver_info()["bridge"]

    with rtnl.rtnl() as ipr:  # someone removes the bridge; the veth pairs stay, detached
        ipr.link("del", index=ipr.link_lookup(ifname=bridge)[0])
    delete_namespace(key_a)  # and sandbox a's namespace: its veth pair dies with it

    with libnet.Controller(state_dir=tmp_path) as c:
        network = c.network("n1")
        status = network.to_dict()["kernel"]
        assert status["status"] == "degraded"
        assert any("bridge" in p and "missing" in p for p in status["problems"]), status
        assert any("namespace" in p and "gone" in p for p in status["problems"]), status
        assert not reaches(key_b, ip(network.endpoint("a")))

        report = c.reconcile(repair=True)
        assert report.ok, report
        assert {f.kind for f in report.findings} == {"missing"}
        assert network.to_dict()["kernel"] == {"status": "ok", "problems": []}
        assert reaches(key_b, ip(network.endpoint("a")))
        assert reaches(key_a, ip(network.endpoint("b")))
        assert snapshot() == healthy


def test_a_vanished_foreign_namespace_is_reported_and_its_sandbox_can_go(tmp_path: Path) -> None:
    key = create_namespace("container-1")
    with libnet.Controller(state_dir=tmp_path) as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        endpoint = network.create_endpoint("e1")
        sandbox = c.new_sandbox("container-1", key=key)
        endpoint.join(sandbox)
        delete_namespace(key)  # the container is gone

        report = c.reconcile(repair=True)
        assert not report.ok
        (finding,) = [f for f in report.findings if f.object.startswith("sandbox")]
        assert finding.action == "reported"
        assert "libnet sandbox rm container-1" in finding.detail

        sandbox.delete()  # leaving a namespace that is gone works
        assert c.reconcile(repair=True).ok
        endpoint.delete()
        network.delete()
    assert link_names() == ["lo"]


def test_reconciliation_leaves_other_states_alone(tmp_path: Path) -> None:
    with (
        libnet.Controller(state_dir=tmp_path / "one") as one,
        libnet.Controller(state_dir=tmp_path / "two") as two,
    ):
        assert one.owner != two.owner
        network = one.new_network("bridge", "n1", ipam=N1)
        joined(one, network, "a")
        before = snapshot()
        report = two.reconcile(repair=True)
        assert report.findings == []
        assert snapshot() == before
        assert len(list(NETNS_DIR.iterdir())) == 1
