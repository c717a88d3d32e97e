"""Three overlay hosts with real etcd and an agent process per host, for the agent tests.

The test's own namespace joins the underlay bridge as ``192.168.77.254`` (veth ``eroot``),
and etcd runs there, serving clients on loopback (the test's drivers) and on that address
(the agents, which run in the host namespaces through ``nsenter``). Each agent has a state
directory of its own and logs to ``agentN.log`` beside it. With ``cli`` the agents are
``libnet agent`` (the controller's agent, its owner mark the state directory's) and
:meth:`Agents.libnet` runs other ``libnet`` commands in a host with the same settings.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _etcd import ETCD, SKIP_REASON, EtcdCluster

from libnet.drivers.overlay import OverlayDriver
from libnet.osl import rtnl
from libnet.store import EtcdStore

from ._overlay import UNDERLAY, Cluster, cluster, fdb_macs

ROOT_ADDR = f"{UNDERLAY}.254"
TTL = 3


@dataclass
class Agents:
    c: Cluster
    etcd: EtcdCluster
    base: Path
    url: str
    """The store URL as the agents reach it (over the underlay)."""
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    cli: bool = False

    def state(self, n: int) -> Path:
        return self.base / f"state{n}"

    def options(self, n: int) -> list[str]:
        """The ``libnet`` global options of host ``n``."""
        host = self.c.hosts[n - 1]
        return [
            "--global-store", self.url, "--state-dir", str(self.state(n)),
            "--advertise-addr", host.vtep, "--host-id", host.name,
        ]  # fmt: skip

    def libnet(self, n: int, *args: str, status: int = 0) -> str:
        """Run ``libnet ARGS`` in host ``n``; its output (fails the test unless it exits
        with ``status``)."""
        argv = ["nsenter", f"--net={self.c.hosts[n - 1].key}", sys.executable, "-m", "libnet"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
        done = subprocess.run(
            [*argv, *self.options(n), *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == status, f"libnet {' '.join(args)} on host {n}: {done.stderr}"
        return done.stdout

    def start(self, n: int) -> None:
        """Start host ``n``'s agent (1-based) and wait until it registered."""
        host = self.c.hosts[n - 1]
        with (self.base / f"agent{n}.log").open("ab") as log:
            if self.cli:
                command = ["-m", "libnet", *self.options(n), "agent", "--ttl", str(TTL)]
            else:
                command = [
                    "-m", "libnet.agent", *self.options(n),
                    "--ttl", str(TTL), "--owner", host.driver.owner,
                ]  # fmt: skip
            args = ["nsenter", f"--net={host.key}", sys.executable, *command]
            self.procs[n] = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        assert self.c.store.__class__ is EtcdStore
        wait_for(lambda: self.c.store.exists(f"nodes/{host.name}"), 20, f"agent {n} registered")

    def signal(self, n: int, sig: int) -> None:
        proc = self.procs.pop(n)
        proc.send_signal(sig)
        proc.wait(10)

    def log(self, n: int) -> str:
        return (self.base / f"agent{n}.log").read_text()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.procs.clear()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check`` until it holds; the seconds it took. Fails naming ``what``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def _join_underlay(c: Cluster) -> None:
    """Give this (the test's) namespace the address ROOT_ADDR on the underlay bridge."""
    with rtnl.rtnl(c.underlay) as ipr:
        ipr.link("add", ifname="uroot", kind="veth", peer={"ifname": "eroot"})
        ipr.link(
            "set",
            index=ipr.link_lookup(ifname="uroot")[0],
            master=ipr.link_lookup(ifname="ubr")[0],
            state="up",
        )
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            ipr.link("set", index=ipr.link_lookup(ifname="eroot")[0], net_ns_fd=fd)
        finally:
            os.close(fd)
    with rtnl.rtnl() as ipr:
        index = ipr.link_lookup(ifname="eroot")[0]
        ipr.addr("add", index=index, address=ROOT_ADDR, prefixlen=24)
        ipr.link("set", index=index, state="up")


@contextmanager
def agents(base: Path, members: int = 1, cli: bool = False) -> Iterator[Agents]:
    """Three hosts, etcd on the underlay, and an agent in each host (stopped at the end);
    ``cli``: the agents are ``libnet agent``."""
    if ETCD is None:
        pytest.skip(SKIP_REASON)
    etcd = EtcdCluster(base / "etcd", members, also_on=ROOT_ADDR)
    store: EtcdStore | None = None
    group: Agents | None = None
    try:
        probe = cluster(count=3)  # the underlay and hosts first: etcd listens on the underlay
        _join_underlay(probe)
        etcd.start()
        store = EtcdStore(etcd.url("libnet/", timeout="15"))
        probe.store = store
        for n, host in enumerate(probe.hosts, start=1):
            host.driver = OverlayDriver(
                f"{n:012x}", store=store, vtep=host.vtep, host=host.name, netns=host.key
            )
        url = etcd.url("libnet/", host=ROOT_ADDR, timeout="15")
        group = Agents(probe, etcd, base, url, cli=cli)
        for n in (1, 2, 3):
            group.start(n)
        yield group
    finally:
        if group is not None:
            group.stop()
        if store is not None:
            store.close()
        etcd.stop()


def has_macs(c: Cluster, n: int, macs: set[str]) -> Callable[[], bool]:
    return lambda: macs <= fdb_macs(c.hosts[n - 1])


def lacks_macs(c: Cluster, n: int, macs: set[str]) -> Callable[[], bool]:
    return lambda: not (macs & fdb_macs(c.hosts[n - 1]))
