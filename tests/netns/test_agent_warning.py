"""``libnet info`` and ``libnet doctor`` warn when overlay endpoints are on this host and no
agent runs for it: real etcd (in the test's namespace), real overlay links, the command run
as a user runs it.

The agent's presence is its node record in the global store (``nodes/<host ID>``, under its
lease): absent before any agent, there while ``Controller.agent()`` or ``libnet agent``
runs, gone again as soon as the agent stops (SIGTERM revokes the lease).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _etcd import ETCD, SKIP_REASON, EtcdCluster

import libnet
from libnet.store import EtcdStore

from ._agents import wait_for
from .test_overlay import SUBNET, _underlay_here

ADDRESS = "192.168.88.1"


@contextmanager
def host(tmp_path: Path) -> Iterator[tuple[libnet.Controller, str]]:
    """etcd on this namespace's loopback, a VTEP link, and this host's controller."""
    if ETCD is None:
        pytest.skip(SKIP_REASON)
    _underlay_here(ADDRESS)
    etcd = EtcdCluster(tmp_path / "etcd").start()
    url = etcd.url("libnet/")
    try:
        with libnet.Controller(
            state_dir=tmp_path / "state", global_store=url, advertise_addr=ADDRESS
        ) as c:
            yield c, url
    finally:
        etcd.stop()


def cli(c: libnet.Controller, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``libnet ARGS`` on the controller's state and global store."""
    assert c.state_dir is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    argv = [sys.executable, "-m", "libnet", "--state-dir", str(c.state_dir)]
    argv += ["--global-store", url, "--advertise-addr", ADDRESS, *args]
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=c.state_dir.parent, timeout=60
    )


def overlay_with_endpoint(
    c: libnet.Controller, name: str = "ov1", subnet: str = SUBNET
) -> libnet.Network:
    network = c.new_network("overlay", name, ipam={"config": [{"subnet": subnet}]})
    network.create_endpoint("web")
    return network


def assert_no_warning(c: libnet.Controller, url: str) -> None:
    assert c.networks_without_agent() == []
    assert c.reconcile(repair=False).ok
    info = cli(c, url, "info")
    assert (info.returncode, info.stderr) == (0, ""), info
    assert json.loads(cli(c, url, "info", "--json").stdout)["warnings"] == []
    doctor = cli(c, url, "doctor")
    assert (doctor.returncode, doctor.stdout.strip()) == (0, "no problems found"), doctor


def test_info_and_doctor_warn_of_overlay_endpoints_without_an_agent(tmp_path: Path) -> None:
    with host(tmp_path) as (c, url):
        overlay_with_endpoint(c, "ov1")
        overlay_with_endpoint(c, "ov2", "10.203.0.0/24")
        c.new_network("overlay", "empty", ipam={"config": [{"subnet": "10.201.0.0/24"}]})
        assert c.networks_without_agent() == ["ov1", "ov2"]

        info = cli(c, url, "info")
        assert info.returncode == 0, info
        [warning] = info.stderr.splitlines()
        assert warning.startswith("WARNING: overlay networks 'ov1', 'ov2' have endpoints")
        assert "Start 'libnet agent'" in warning and "docs/libnet-agent.service" in warning
        assert "'empty'" not in warning
        assert json.loads(cli(c, url, "info", "--json").stdout)["warnings"] == [warning[9:]]

        report = c.reconcile(repair=True)
        [finding] = report.findings
        assert (finding.kind, finding.object, finding.action) == (
            "missing",
            f"agent of host {c.host_id}",
            "reported",
        )
        assert not finding.repairable and not report.ok
        for args in (("doctor",), ("doctor", "--repair")):
            doctor = cli(c, url, *args)
            assert doctor.returncode == 1, doctor
            assert f"agent of host {c.host_id}" in doctor.stdout
            assert doctor.stderr == "libnet: 1 problem(s) left\n"  # --repair would not help
        data = json.loads(cli(c, url, "doctor", "--json").stdout)
        assert data["ok"] is False and data["findings"][0]["repairable"] is False


def test_no_warning_while_the_controllers_agent_runs(tmp_path: Path) -> None:
    with host(tmp_path) as (c, url):
        overlay_with_endpoint(c)
        with c.agent(ttl=5):
            assert_no_warning(c, url)
        assert c.networks_without_agent() == ["ov1"]  # its lease revoked at once


@contextmanager
def libnet_agent(c: libnet.Controller, url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``libnet agent --ttl 2`` on the controller's state, once it registered (killed at
    the end if still running)."""
    assert c.state_dir is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    argv = [sys.executable, "-m", "libnet", "--state-dir", str(c.state_dir)]
    argv += ["--global-store", url, "--advertise-addr", ADDRESS, "agent", "--ttl", "2"]
    with log.open("wb") as out:
        agent = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with EtcdStore(url) as store:
            wait_for(lambda: store.exists(f"nodes/{c.host_id}"), 20, "the agent registered")
        yield agent
    finally:
        if agent.poll() is None:
            agent.kill()
        agent.wait()


def test_no_warning_while_libnet_agent_runs_and_again_once_sigterm_stopped_it(
    tmp_path: Path,
) -> None:
    with host(tmp_path) as (c, url):
        overlay_with_endpoint(c)
        log = tmp_path / "agent.log"
        with libnet_agent(c, url, log) as agent:
            assert_no_warning(c, url)
            agent.send_signal(signal.SIGTERM)
            assert agent.wait(15) == 0, log.read_text()
        assert c.networks_without_agent() == ["ov1"]  # the lease revoked: at once
        assert "WARNING: overlay network 'ov1' has endpoints" in cli(c, url, "info").stderr


def test_after_sigkill_the_warning_comes_back_when_the_lease_expires(tmp_path: Path) -> None:
    with host(tmp_path) as (c, url):
        overlay_with_endpoint(c)
        with libnet_agent(c, url, tmp_path / "agent.log") as agent:
            agent.kill()
            agent.wait()
        wait_for(lambda: c.networks_without_agent() == ["ov1"], 20, "the lease expired")
        assert "'ov1'" in cli(c, url, "info").stderr


def test_no_warning_without_overlay_endpoints_on_this_host(tmp_path: Path) -> None:
    with host(tmp_path) as (c, url):
        network = c.new_network("overlay", "ov1", ipam={"config": [{"subnet": SUBNET}]})
        c.new_network("bridge", "local1", ipam={"config": [{"subnet": "10.202.0.0/24"}]})
        assert_no_warning(c, url)
        # another host's endpoint is that host's agent's business
        with libnet.Controller(
            state_dir=tmp_path / "other", global_store=url, advertise_addr=ADDRESS
        ) as other:
            other.network("ov1").create_endpoint("elsewhere")
            assert other.networks_without_agent() == ["ov1"]
            assert_no_warning(c, url)
            other.network("ov1").endpoint("elsewhere").delete()
        endpoint = network.create_endpoint("here")
        assert c.networks_without_agent() == ["ov1"]
        endpoint.delete()
        assert_no_warning(c, url)
