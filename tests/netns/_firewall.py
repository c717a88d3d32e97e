"""What the firewall tests share: iptables present, a Docker-like host, an "outside" namespace.

"Outside" is a namespace of its own behind a veth pair (``192.0.2.2`` there, ``192.0.2.1``
in the test's namespace, which plays the host); it has no route to the networks' subnets
unless a test gives it one, so only masqueraded traffic gets an answer from it.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from libnet.osl import _sys, create_namespace, rtnl

from ._kernel import in_namespace

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}
N2 = {"config": [{"subnet": "10.2.0.0/24"}]}
DUAL = {"config": [{"subnet": "10.1.0.0/24"}, {"subnet": "fd00:1::/64"}]}
OUTSIDE = "192.0.2.2"
NO_FIREWALL = {"io.libnet.bridge.firewall": "false"}
BR_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


def needs_iptables() -> None:
    for tool in ("iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: apt-get install iptables)")


def ipt(*args: str) -> None:
    subprocess.run(["iptables", *args], check=True, capture_output=True)


def host_like(policy_drop: bool = True) -> None:
    """The test's namespace as a Docker host: forwarding on, FORWARD policy DROP, and
    bridges calling iptables (br_netfilter), where the kernel has it."""
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")
    if BR_NF.exists():
        BR_NF.write_text("1\n")
    if policy_drop:
        ipt("-P", "FORWARD", "DROP")


def outside(route_to: str | None = None) -> str:
    """The "outside" namespace behind a veth pair; a route back to ``route_to`` if given."""
    key = str(create_namespace("outside"))
    with rtnl.rtnl() as ipr:
        ipr.link("add", ifname="out0", kind="veth", peer={"ifname": "out1"})
        index = ipr.link_lookup(ifname="out0")[0]
        ipr.addr("add", index=index, address="192.0.2.1", prefixlen=24)
        ipr.link("set", index=index, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="out1")[0], net_ns_fd=key)
    with rtnl.rtnl(key) as ipr:
        index = ipr.link_lookup(ifname="out1")[0]
        ipr.addr("add", index=index, address=OUTSIDE, prefixlen=24)
        ipr.link("set", index=index, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        if route_to:
            ipr.route("add", dst=route_to, gateway="192.0.2.1")
    return key


def echo_requests() -> int:
    """ICMP echo requests this namespace received (``InEchos`` of /proc/net/snmp)."""
    lines = [line.split() for line in Path("/proc/self/net/snmp").read_text().splitlines()]
    names, values = [line for line in lines if line[0] == "Icmp:"][:2]
    return int(values[names.index("InEchos")])


HOST = "192.0.2.1"
"""The test namespace's ("the host's") address on the link to "outside"."""


@contextmanager
def serving(key: str, tcp_port: int, udp_port: int | None = None) -> Iterator[None]:
    """A small TCP (and UDP) server in the namespace at ``key``, answering each client with
    ``"tcp PEER"`` (``"udp PEER"``): the address it saw the client come from."""
    _sys.libc()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the server: never returns
        try:
            signal.alarm(60)  # bounded, whatever happens to the test
            os.close(ready_r)
            fd = os.open(key, os.O_RDONLY)
            _sys.setns(fd, _sys.CLONE_NEWNET)
            os.close(fd)
            tcp = socket.socket()
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind(("0.0.0.0", tcp_port))
            tcp.listen(8)
            socks = [tcp]
            if udp_port is not None:
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                udp.bind(("0.0.0.0", udp_port))
                socks.append(udp)
            os.write(ready_w, b"1")
            while True:
                for sock in select.select(socks, [], [])[0]:
                    if sock is tcp:
                        conn, (peer, _) = tcp.accept()
                        with conn:
                            conn.sendall(f"tcp {peer}".encode())
                    else:
                        _, (peer, port) = sock.recvfrom(100)
                        sock.sendto(f"udp {peer}".encode(), (peer, port))
        finally:
            os._exit(1)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"1", "the server did not start"
        yield
    finally:
        os.close(ready_r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def fetch(host: str, port: int, udp: bool = False, timeout: float = 2.0) -> str | None:
    """What a server at ``host:port`` answers (TCP, or one UDP datagram), or None."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        try:
            if udp:
                sock.sendto(b"hello", (host, port))
                return sock.recvfrom(100)[0].decode()
            sock.connect((host, port))
            return sock.recv(100).decode()
        except OSError:
            return None


def answers(key: str, host: str, port: int, udp: bool = False) -> str | None:
    """What ``fetch`` gets from inside the namespace at ``key``."""
    read_fd, write_fd = os.pipe()

    def probe() -> bool:
        os.write(write_fd, (fetch(host, port, udp) or "").encode())
        return True

    in_namespace(key, probe)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        text = pipe.read().decode()
    return text or None


FAIL_SCRIPT = """#!/bin/sh
count=$(( $(cat "$LIBNET_TEST_FAULTS/count") + 1 ))
echo "$count" > "$LIBNET_TEST_FAULTS/count"
if [ "$count" = "$(cat "$LIBNET_TEST_FAULTS/fail_at")" ]; then
    echo "injected failure of $(basename "$0") (call $count)" >&2
    echo "$0" > "$LIBNET_TEST_FAULTS/fired"
    exit 1
fi
exec {real} "$@"
"""


class FailingTools:
    """Wrappers of the iptables tools first on PATH, failing the ``fail_at``-th call of any
    of them (reads and writes alike): the real boundary libnet's firewall crosses."""

    TOOLS = ("iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        bin_dir = folder / "bin"
        bin_dir.mkdir(parents=True)
        for tool in self.TOOLS:
            real = shutil.which(tool)
            assert real is not None
            script = bin_dir / tool
            script.write_text(FAIL_SCRIPT.format(real=real))
            script.chmod(0o755)
        os.environ["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
        os.environ["LIBNET_TEST_FAULTS"] = str(folder)
        self.arm(0)

    def arm(self, fail_at: int) -> None:
        """Fail the ``fail_at``-th call from now on (0: none)."""
        (self.folder / "count").write_text("0\n")
        (self.folder / "fail_at").write_text(f"{fail_at}\n")
        (self.folder / "fired").unlink(missing_ok=True)

    @property
    def fired(self) -> bool:
        return (self.folder / "fired").exists()
