"""``libnet sandbox create --netns/--create``, ``libnet sandbox exec`` and ``libnet doctor``,
run as a user runs them (``python -m libnet`` in a subprocess, inside the test's namespaces)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import libnet
from libnet.osl import NETNS_DIR, create_namespace

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}


def libnet_cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    return subprocess.run(
        [sys.executable, "-m", "libnet", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=state.parent,
        timeout=60,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    return proc.stdout


def test_sandbox_create_with_netns_create_and_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    create_namespace("web")
    sid = ok(libnet_cli(state, "sandbox", "create", "c1", "--create")).strip()
    by_name = ok(libnet_cli(state, "sandbox", "create", "c2", "--netns", "web")).strip()
    own = f"/proc/{os.getpid()}/ns/net"  # this test's namespace, by path
    by_path = ok(libnet_cli(state, "sandbox", "create", "c3", "--netns", own)).strip()
    boxes = {
        b["container_id"]: b
        for b in json.loads(ok(libnet_cli(state, "sandbox", "inspect", sid, by_name, by_path)))
    }
    assert boxes["c1"]["namespace_created_by_libnet"] is True
    assert Path(boxes["c1"]["key"]).parent == NETNS_DIR
    assert os.path.exists(boxes["c1"]["key"])
    assert (boxes["c2"]["key"], boxes["c2"]["namespace_created_by_libnet"]) == (
        str(NETNS_DIR / "web"),
        False,
    )
    assert boxes["c3"]["key"] == own

    missing = libnet_cli(state, "sandbox", "create", "c4", "--netns", "nosuch")
    assert missing.returncode == 1 and "/run/netns/nosuch" in missing.stderr
    both = libnet_cli(state, "sandbox", "create", "c5", "--create", "--netns", "web")
    assert both.returncode == 2 and "not allowed with" in both.stderr

    assert ok(libnet_cli(state, "sandbox", "rm", "c1", "c2")).split() == ["c1", "c2"]
    assert not os.path.exists(boxes["c1"]["key"])
    assert os.path.exists(NETNS_DIR / "web")  # not libnet's: left alone


def test_sandbox_exec_runs_in_the_namespace_and_passes_the_status(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with libnet.Controller(state_dir=state) as c:
        endpoint = c.new_network("bridge", "n1", ipam=N1).create_endpoint("e1")
        endpoint.join(c.new_sandbox("c1", create=True))
        c.new_sandbox("logical")
    devices = ok(libnet_cli(state, "sandbox", "exec", "c1", "--", "cat", "/proc/net/dev"))
    names = {line.split(":")[0].strip() for line in devices.splitlines() if ":" in line}
    assert names == {"eth0", "lo"}
    assert libnet_cli(state, "sandbox", "exec", "c1", "--", "sh", "-c", "exit 7").returncode == 7
    killed = libnet_cli(state, "sandbox", "exec", "c1", "--", "sh", "-c", "kill -9 $$")
    assert killed.returncode == 137
    logical = libnet_cli(state, "sandbox", "exec", "logical", "--", "true")
    assert logical.returncode == 1 and "is logical" in logical.stderr
    nothing = libnet_cli(state, "sandbox", "exec", "c1")
    assert nothing.returncode == 1 and "no command" in nothing.stderr


def test_doctor_and_network_inspect(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert ok(libnet_cli(state, "doctor")).strip() == "no problems found"
    with libnet.Controller(state_dir=state) as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        network.create_endpoint("e1").join(c.new_sandbox("c1", create=True))
        bridge = network.endpoint("e1").driver_info()["bridge"]
    (net,) = json.loads(ok(libnet_cli(state, "network", "inspect", "n1")))
    assert net["kernel"] == {"status": "ok", "problems": []}

    subprocess.run(["ip", "link", "del", bridge], check=True)
    (net,) = json.loads(ok(libnet_cli(state, "network", "inspect", "n1")))
    assert net["kernel"]["status"] == "degraded"

    check = libnet_cli(state, "doctor")
    assert check.returncode == 1 and "libnet doctor --repair" in check.stderr
    assert "missing" in check.stdout and bridge in check.stdout
    report = json.loads(libnet_cli(state, "doctor", "--json").stdout)
    assert report["ok"] is False and report["findings"]

    repaired = libnet_cli(state, "doctor", "--repair")
    assert repaired.returncode == 0, repaired
    assert "repaired" in repaired.stdout
    assert ok(libnet_cli(state, "doctor")).strip() == "no problems found"
    (net,) = json.loads(ok(libnet_cli(state, "network", "inspect", "n1")))
    assert net["kernel"]["status"] == "ok"


def test_doctor_repair_removes_an_orphaned_firewall_rule(tmp_path: Path) -> None:
    if shutil.which("iptables-restore") is None:
        pytest.skip("iptables is not installed (Debian: apt-get install iptables)")
    state = tmp_path / "state"
    with libnet.Controller(state_dir=state) as c:
        c.new_network("bridge", "n1", ipam=N1)
        chain, owner = f"LIBNET-FWD-{c.owner}", c.owner
    mark = f"libnet:{owner}:net:{'f' * 64}"  # a network this state does not know
    orphan = ["-i", "gone0", "-m", "comment", "--comment", mark, "-j", "ACCEPT"]
    subprocess.run(["iptables", "-A", chain, *orphan], check=True)
    check = libnet_cli(state, "doctor")
    assert check.returncode == 1 and "firewall" in check.stdout and "gone0" in check.stdout
    assert ok(libnet_cli(state, "doctor", "--repair"))
    rules = subprocess.run(["iptables", "-S", chain], capture_output=True, text=True).stdout
    assert "gone0" not in rules and "ACCEPT" in rules  # the stored network's rules stay
    assert ok(libnet_cli(state, "doctor")).strip() == "no problems found"


def test_endpoint_inspect_shows_the_bridge_drivers_kernel_field(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with libnet.Controller(state_dir=state) as c:
        c.new_network("bridge", "n1", ipam=N1).create_endpoint("e1")
    (ep,) = json.loads(ok(libnet_cli(state, "endpoint", "inspect", "n1", "e1")))
    assert ep["driver_info"]["kernel"] == "ok"
    assert ep["driver_info"]["bridge"].startswith("br-")


def test_endpoint_join_publish_then_leave_in_another_process(tmp_path: Path) -> None:
    if shutil.which("iptables-restore") is None:
        pytest.skip("iptables is not installed (Debian: apt-get install iptables)")
    state = tmp_path / "state"
    before = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    with libnet.Controller(state_dir=state) as c:
        c.new_network("bridge", "n1", ipam=N1).create_endpoint("e1")
        c.new_sandbox("c1", create=True)
    bad = libnet_cli(state, "endpoint", "join", "n1", "e1", "c1", "--publish", "80:http")
    assert bad.returncode == 1 and "write [HOST_IP:]HOST_PORT:CONTAINER_PORT" in bad.stderr
    ok(libnet_cli(state, "endpoint", "join", "n1", "e1", "c1", "-p", "18080:80", "-p", "81/udp"))
    (ep,) = json.loads(ok(libnet_cli(state, "endpoint", "inspect", "n1", "e1")))
    tcp, udp = ep["ports"]
    assert tcp == "0.0.0.0:18080->80/tcp" and udp.endswith("->81/udp")
    made = ep["driver_info"]["com.docker.network.portmap"]  # this process learnt them
    assert [m["HostPort"] for m in made] == [18080, int(udp.split(":")[1].split("-")[0])]
    saved = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    assert "--dport 18080" in saved and "--to-destination 10.1.0.2:80" in saved
    assert ok(libnet_cli(state, "doctor")).strip() == "no problems found"
    ok(libnet_cli(state, "endpoint", "leave", "n1", "e1", "c1"))  # a third process removes them
    ok(libnet_cli(state, "network", "rm", "--with-endpoints", "n1"))
    assert (
        subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.count("LIBNET")
        == before.count("LIBNET")
        == 0
    )
