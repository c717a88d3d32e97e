"""What the tests look at in the kernel: probes between namespaces and state snapshots."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from typing import Any

from libnet.osl import NETNS_DIR, _sys, rtnl

IFF_UP = 1


def in_namespace(key: str, fn: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Run ``fn`` in a forked child that entered the namespace at ``key``; its result."""
    _sys.libc()
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            fd = os.open(key, os.O_RDONLY)
            _sys.setns(fd, _sys.CLONE_NEWNET)
            os.close(fd)
            ok = bool(fn())
        except BaseException:
            ok = False
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return False
        time.sleep(0.005)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_echo(target: str, timeout: float = 1.0) -> bool:
    """Send one ICMP echo request to ``target`` (IPv4) and wait for its reply (raw socket)."""
    ident = os.getpid() & 0xFFFF
    payload = b"libnet-probe"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 1) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(packet, (target, 0))
        except OSError:
            return False  # no route, prohibited, unreachable
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, (source, _) = sock.recvfrom(2048)
            except TimeoutError:
                return False
            except OSError:
                return False
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if source == target and kind == 0 and rid == ident:
                return True
    return False


def reaches(key: str, target: str, timeout: float = 1.0) -> bool:
    """Whether the namespace at ``key`` gets an ICMP echo reply from ``target``."""
    return in_namespace(key, lambda: icmp_echo(target, timeout), timeout + 5)


def _links(ipr: Any) -> list[tuple[Any, ...]]:
    names = {int(link["index"]): str(link.get("ifname")) for link in ipr.get_links()}
    out = []
    for link in ipr.get_links():
        index = int(link["index"])
        addresses = sorted(
            f"{a.get('address')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=index)
            if not str(a.get("address")).startswith("fe80:")  # set up by the kernel, in its time
        )
        out.append(
            (
                names[index],
                link.get(("linkinfo", "kind")),
                names.get(link.get("master") or -1),
                link.get("address"),
                link.get("mtu"),
                bool(int(link["flags"]) & IFF_UP),
                link.get("ifalias"),
                tuple(addresses),
            )
        )
    return sorted(out, key=lambda t: str(t[0]))


def _routes(ipr: Any) -> list[tuple[Any, ...]]:
    """Routes of every table, but IPv6 link-local and multicast ones (the kernel's own)."""
    names = {int(link["index"]): str(link.get("ifname")) for link in ipr.get_links()}
    out = []
    for family in (2, 10):
        for r in ipr.get_routes(family=family):
            dst = str(r.get("dst") or "")
            if family == 10 and (dst.startswith("fe80:") or dst.startswith("ff00:")):
                continue
            out.append(_route(r, names, family))
    return sorted(set(out), key=repr)


def _route(r: Any, names: dict[int, str], family: int) -> tuple[Any, ...]:
    dst = r.get("dst") or ("::" if family == 10 else "0.0.0.0")
    return (
        family,
        r.get("table"),
        f"{dst}/{r['dst_len']}",
        r["type"],
        names.get(r.get("oif") or -1),
        r.get("gateway"),
    )


def _rules(ipr: Any) -> list[tuple[Any, ...]]:
    out = []
    for family in (2, 10):
        for rule in ipr.get_rules(family=family):
            out.append((family, rule.get("priority"), rule.get("iifname"), rule.get("table")))
    return sorted(out, key=repr)


def iptables(key: str | None = None) -> dict[str, list[str]]:
    """The chains and rules of ``iptables-save`` and ``ip6tables-save`` here, or in the
    namespace at ``key`` (none where the tools are missing); counters and comment lines left
    out, and a table holding only its built-in chains with their default policy counts as no
    table."""
    out: dict[str, list[str]] = {}
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool) is None:
            continue
        argv = [tool] if key is None else ["nsenter", f"--net={key}", tool]
        text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        lines = []
        for line in text.splitlines():
            if line.startswith("-") or (line.startswith(":") and " ACCEPT " not in line):
                lines.append(line.split(" [")[0] if line.startswith(":") else line)
        out[tool] = sorted(lines)
    return out


def snapshot() -> dict[str, Any]:
    """Links, addresses, routes, rules and iptables here, and links and routes inside every
    namespace under /run/netns; IPv6 link-local addresses and interface indexes are left out."""
    with rtnl.rtnl() as ipr:
        snap: dict[str, Any] = {
            "links": _links(ipr),
            "routes": _routes(ipr),
            "rules": _rules(ipr),
        }
    snap["iptables"] = iptables()
    namespaces: dict[str, Any] = {}
    for name in sorted(os.listdir(NETNS_DIR)) if NETNS_DIR.is_dir() else []:
        with rtnl.rtnl(str(NETNS_DIR / name)) as ipr:
            namespaces[name] = {"links": _links(ipr), "routes": _routes(ipr)}
    snap["namespaces"] = namespaces
    return snap


def link_names() -> list[str]:
    with rtnl.rtnl() as ipr:
        return sorted(str(link.get("ifname")) for link in ipr.get_links())


def store_dump(controller: Any) -> dict[str, bytes]:
    """Every key and value of the controller's store but the built-in allocator's change
    stamps (``heads``): a failed operation releases its allocations in a transaction of
    its own (they were committed, with the intent, before the driver ran), which moves the
    stamps on while the allocations come back as they were."""
    return {
        pair.key: pair.value
        for pair in controller._store.list("")
        if not pair.key.startswith("ipam/default/heads/")
    }


def ip(endpoint: Any) -> str:
    """An endpoint's IPv4 address, without its prefix length."""
    return str(endpoint.info()["address"]).split("/")[0]


def joined(c: Any, network: Any, name: str) -> tuple[str, Any]:
    """A new sandbox with its own namespace, and a new endpoint of ``network`` joined to it."""
    sandbox = c.new_sandbox(name, create=True)
    endpoint = network.create_endpoint(name)
    endpoint.join(sandbox)
    assert sandbox.key is not None
    return sandbox.key, endpoint
