"""Running CNI plugins as a runtime does, inside a throwaway "host" namespace.

Only the standard library: the plugin under test is a real process. Every plugin runs in
the host namespace of its test (``nsenter --net=``), so bridges, routes and firewall rules
(libnet's and the reference plugins') stay there and go with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CNI_DIR = Path("/usr/lib/cni")
LIBNET_CNI = Path(sys.executable).with_name("libnet-cni")
LIBNET = Path(sys.executable).with_name("libnet")


def unavailable() -> str | None:
    """Why these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "nsenter"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not (CNI_DIR / "bridge").exists():
        return "needs Debian's containernetworking-plugins in /usr/lib/cni"
    if not LIBNET_CNI.exists():
        return f"libnet-cni is not installed next to {sys.executable} (pip install -e .)"
    return None


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def add_netns(name: str) -> str:
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return f"/run/netns/{name}"


def del_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@dataclass
class Reply:
    """What a plugin answered: exit status, parsed stdout (or None) and stderr."""

    status: int
    result: Any
    stderr: str
    stdout: str


@dataclass
class Host:
    """A throwaway namespace where plugins run as a runtime's host would run them."""

    name: str

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def run(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", f"--net={self.path}", *argv], **kw)

    def plugin(
        self,
        binary: str | os.PathLike[str],
        command: str,
        conf: Mapping[str, Any] | bytes,
        *,
        container: str = "",
        netns: str = "",
        ifname: str = "",
        env: Mapping[str, str] | None = None,
    ) -> Reply:
        """Run one plugin call; ``conf`` is JSON-encoded unless given as bytes."""
        full = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_PATH": str(CNI_DIR),
        }
        for key, value in (
            ("CNI_CONTAINERID", container),
            ("CNI_NETNS", netns),
            ("CNI_IFNAME", ifname),
        ):
            if value:
                full[key] = value
        full.update(env or {})
        data = conf if isinstance(conf, bytes) else json.dumps(conf).encode()
        proc = subprocess.run(
            ["nsenter", f"--net={self.path}", str(binary)],
            input=data,
            env=full,
            capture_output=True,
            check=False,
        )
        out = proc.stdout.decode()
        try:
            result = json.loads(out) if out.strip() else None
        except ValueError:
            result = None
        return Reply(proc.returncode, result, proc.stderr.decode(), out)


def links(netns: str) -> dict[str, dict[str, Any]]:
    """Interfaces of a namespace by name (``ip -j addr``)."""
    out = subprocess.run(
        ["nsenter", f"--net={netns}", "ip", "-j", "addr"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {entry["ifname"]: entry for entry in json.loads(out)}


def addresses(netns: str, ifname: str) -> list[str]:
    entry = links(netns).get(ifname) or {}
    return sorted(
        f"{a['local']}/{a['prefixlen']}"
        for a in entry.get("addr_info", [])
        if a.get("scope") == "global"
    )


def ping(netns: str, address: str) -> bool:
    proc = subprocess.run(
        ["nsenter", f"--net={netns}", "ping", "-c", "1", "-W", "2", address],
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0
