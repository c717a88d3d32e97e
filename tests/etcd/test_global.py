"""Global scope on real etcd: two hosts are two processes with their own state directories
sharing one store (see tests/etcd/_host.py for what each runs)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from _etcd import EtcdCluster

from libnet import Controller
from libnet.driverapi import Capability, Scope
from libnet.drivers.null import NullDriver
from libnet.errors import InvalidOptionError, OperationTimeoutError
from libnet.store.etcd import EtcdStore

HOST = str(Path(__file__).with_name("_host.py"))


def start(state: Path, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, HOST, str(state), url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(proc: subprocess.Popen[str], timeout: float = 120) -> list[dict[str, Any]]:
    stdout, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, stderr
    return [json.loads(line) for line in stdout.splitlines()]


def host(state: Path, url: str, *args: str) -> list[dict[str, Any]]:
    return results(start(state, url, *args))


@pytest.fixture
def url(etcd1: EtcdCluster) -> str:
    return etcd1.url(f"global-{uuid.uuid4().hex[:8]}/")


def test_network_created_on_a_is_listed_and_usable_on_b(tmp_path: Path, url: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (made,) = host(a, url, "create", "shared")
    (listed,) = host(b, url, "ls")
    assert listed["networks"] == [["shared", "global"]]
    assert listed["host"] != made["host"]
    (ep,) = host(b, url, "endpoints", "shared", "1", "on-b")
    assert ep["address"].startswith("10.")
    with Controller(state_dir=a, global_store=url) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        (info,) = ctl.network("shared").to_dict()["endpoints"].values()
        assert (info["name"], info["host"]) == ("on-b0", listed["host"])


def test_the_same_name_at_once_on_two_hosts_is_made_once(tmp_path: Path, url: str) -> None:
    procs = [start(tmp_path / h, url, "create", "race") for h in ("a", "b")]
    outcomes = [results(p)[0] for p in procs]
    assert sum("id" in o for o in outcomes) == 1, outcomes
    (refused,) = [o for o in outcomes if "error" in o]
    assert refused["error"] == "NetworkExistsError", refused
    assert "already exists" in refused["message"]


def test_two_hosts_creating_endpoints_get_distinct_addresses(tmp_path: Path, url: str) -> None:
    count = 200
    host(tmp_path / "a", url, "create", "many", "10.77.0.0/16")
    procs = [start(tmp_path / h, url, "endpoints", "many", str(count), h) for h in ("a", "b")]
    made = [r for p in procs for r in results(p, timeout=600)]
    assert not [r for r in made if "error" in r]
    addresses = [r["address"] for r in made]
    assert len(addresses) == 2 * count
    assert len(set(addresses)) == 2 * count
    with Controller(state_dir=tmp_path / "c", global_store=url) as ctl:
        assert len(ctl.network("many").endpoints()) == 2 * count


def test_deleting_a_network_with_endpoints_on_another_host_names_it(
    tmp_path: Path, url: str
) -> None:
    (made,) = host(tmp_path / "a", url, "create", "busy")
    host(tmp_path / "a", url, "endpoints", "busy", "1", "on-a")
    (refused,) = host(tmp_path / "b", url, "rm", "busy")
    assert refused["error"] == "ActiveEndpointsError"
    assert made["host"] in refused["message"]
    (listed,) = host(tmp_path / "b", url, "ls")
    assert listed["networks"] == [["busy", "global"]]


def test_a_killed_lock_holder_lets_the_other_host_proceed(tmp_path: Path, url: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    host(a, url, "create", "locked")
    holder = start(a, url, "hang", "locked", "stuck")
    assert holder.stdout is not None
    assert json.loads(holder.stdout.readline()) == {"hanging": True}  # lock held, address taken
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    (ep,) = host(b, url, "endpoints", "locked", "1", "on-b")  # waits for the lease to expire
    assert "address" in ep, ep
    endpoints, allocated = _seen_from(b, url, "locked")
    assert endpoints == ["on-b0"]  # nothing half-written
    assert len(allocated) == 2  # on-b's, and the one the killed operation took
    # A's next start rolls its intent back: that address is given back.
    assert host(a, url, "recover", "locked") == [{"recovered": True}]
    assert _seen_from(b, url, "locked")[1] == {ep["address"]}


def _seen_from(state: Path, url: str, name: str) -> tuple[list[str], set[str]]:
    """Network ``name``'s endpoints and the addresses its global default pool holds (but
    the gateway)."""
    with Controller(state_dir=state, global_store=url) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        net = ctl.network(name)
        (pool,) = net._rec().ipam["ipv4"]
        gateway = {pool["gateway"]} if pool["gateway"] else set()
        ipam = ctl.resolve_ipam("default").driver
        held = set(ipam.addresses(pool["pool_id"])) - gateway  # type: ignore[attr-defined]
        return [e.name for e in net.endpoints()], held


def test_a_process_killed_once_its_address_is_in_etcd_leaks_nothing(
    tmp_path: Path, url: str
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    host(a, url, "create", "leaky")
    dying = start(a, url, "die", "leaky", "lost")
    stdout, _ = dying.communicate(timeout=120)
    assert dying.returncode == -signal.SIGKILL
    assert json.loads(stdout.splitlines()[-1]) == {"dying": True}
    endpoints, allocated = _seen_from(b, url, "leaky")
    assert (endpoints, len(allocated)) == ([], 1)  # the address is in etcd, then the kill
    with EtcdStore(url) as store:
        assert len(store.list("global/claim/")) == 1  # and the claim naming it
    # B waits for the dead process's lock to expire; A's next operation rolls it back.
    (ep,) = host(b, url, "endpoints", "leaky", "1", "on-b")
    assert host(a, url, "recover", "leaky") == [{"recovered": True}]
    assert _seen_from(b, url, "leaky") == (["on-b0"], {ep["address"]})
    with EtcdStore(url) as store:
        assert store.list("global/claim/") == []  # nothing left behind


def test_etcd_down_fails_global_operations_fast_and_leaves_local_ones(tmp_path: Path) -> None:
    dead = "etcd://127.0.0.1:1/?timeout=1"
    with Controller(state_dir=tmp_path / "a", global_store=dead) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        began = time.monotonic()
        with pytest.raises(OperationTimeoutError) as caught:
            ctl.new_network("gnull", "unreachable")
        assert time.monotonic() - began < 30
        assert "etcd" in str(caught.value)
        local = ctl.new_network("null", "still-works")
        assert [n.name for n in ctl.networks()] == ["still-works"]
        local.delete()
        assert ctl.networks() == []


def test_a_global_network_without_a_global_store_names_the_setting(tmp_path: Path) -> None:
    with Controller(state_dir=tmp_path) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        with pytest.raises(InvalidOptionError, match="LIBNET_GLOBAL_STORE"):
            ctl.new_network("gnull", "nowhere")


def test_the_loop_goes_on_when_the_etcd_leader_is_killed(
    tmp_path: Path, etcd3: EtcdCluster
) -> None:
    url = etcd3.url(f"leader-{uuid.uuid4().hex[:8]}/")
    host(tmp_path / "a", url, "create", "survives")
    loop = start(tmp_path / "b", url, "loop", "survives", "8")
    time.sleep(3)
    etcd3.kill(etcd3.leader().name)
    (done,) = results(loop)
    assert done["loops"] > 0, done
    with Controller(state_dir=tmp_path / "c", global_store=url) as ctl:
        ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
        assert ctl.network("survives").endpoints() == []  # each loop deleted what it made
