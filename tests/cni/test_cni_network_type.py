"""The ``cni`` network type: libnet runs Debian's reference plugins at join and leave.

Driven through the ``libnet`` command inside a throwaway host namespace, so the plugins'
bridges, macvlans and rules stay there.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _cni import LIBNET, Host, addresses, links, ping


class Libnet:
    """The ``libnet`` command on one state directory, run in ``host``."""

    def __init__(self, host: Host, state_dir: Path) -> None:
        self.host, self.state_dir = host, state_dir

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = self.host.run(
            [str(LIBNET), "--state-dir", str(self.state_dir), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"libnet {' '.join(args)}: {proc.stderr}")
        return proc

    def inspect(self, kind: str, *refs: str) -> dict[str, Any]:
        value = json.loads(self(kind, "inspect", *refs).stdout)
        return value[0] if isinstance(value, list) else value

    def key(self, sandbox: str) -> str:
        return str(self.inspect("sandbox", sandbox)["key"])


@pytest.fixture
def libnet(host: Host, state_dir: Path) -> Libnet:
    return Libnet(host, state_dir)


def two_joined(libnet: Libnet, network: str) -> tuple[str, str]:
    """Sandboxes s1 and s2 with endpoints e1 and e2 of ``network`` joined; their keys."""
    for i in (1, 2):
        libnet("sandbox", "create", "--create", f"s{i}")
        libnet("endpoint", "create", network, f"e{i}")
        libnet("endpoint", "join", network, f"e{i}", f"s{i}")
    return libnet.key("s1"), libnet.key("s2")


def cleanup(libnet: Libnet, network: str, keys: tuple[str, ...]) -> None:
    """Leave, delete, and check that nothing of it is left."""
    for i in (1, 2):
        libnet("endpoint", "leave", network, f"e{i}", f"s{i}")
    for key in keys:
        assert "eth0" not in links(key)
    assert not list((libnet.state_dir / "cni").glob("*.json"))
    for i in (1, 2):
        libnet("endpoint", "rm", network, f"e{i}")
        libnet("sandbox", "rm", f"s{i}")
    libnet("network", "rm", network)
    for key in keys:
        assert not Path(key).exists()


def test_bridge_plugin_with_libnets_addresses_through_static_ipam(
    libnet: Libnet, host: Host
) -> None:
    config = {
        "cniVersion": "1.0.0",
        "name": "cbr",
        "plugins": [{"type": "bridge", "bridge": "cnitest0", "isGateway": True}],
    }
    libnet(
        "network", "create", "-d", "cni", "-o", f"io.libnet.cni.config={json.dumps(config)}",
        "--subnet", "10.66.0.0/24", "cbr",
    )  # fmt: skip
    keys = two_joined(libnet, "cbr")
    e1, e2 = libnet.inspect("endpoint", "cbr", "e1"), libnet.inspect("endpoint", "cbr", "e2")
    assert addresses(keys[0], "eth0") == [e1["address"]]
    assert addresses(keys[1], "eth0") == [e2["address"]]
    assert links(keys[0])["eth0"]["address"] == e1["mac_address"]
    result = e1["driver_info"]["result"]
    assert result["ips"][0]["address"] == e1["address"]
    assert e1["driver_info"]["ipam"] == "libnet" and e1["gateway"] == "10.66.0.1"
    assert "cnitest0" in links(host.path)
    assert ping(keys[0], e2["address"].split("/")[0])
    cleanup(libnet, "cbr", keys)


def test_macvlan_plugin_from_a_conflist_file(libnet: Libnet, host: Host, tmp_path: Path) -> None:
    host.run(["ip", "link", "add", "cnimaster0", "type", "veth", "peer", "cnimaster1"], check=True)
    for name in ("cnimaster0", "cnimaster1"):
        host.run(["ip", "link", "set", name, "up"], check=True)
    conflist = tmp_path / "mv.conflist"
    conflist.write_text(
        json.dumps(
            {
                "cniVersion": "1.0.0",
                "name": "mv",
                "plugins": [{"type": "macvlan", "master": "cnimaster0", "mode": "bridge"}],
            }
        )
    )
    libnet(
        "network", "create", "-d", "cni", "-o", f"io.libnet.cni.conflist={conflist}",
        "--subnet", "10.67.0.0/24", "mv",
    )  # fmt: skip
    keys = two_joined(libnet, "mv")
    e2 = libnet.inspect("endpoint", "mv", "e2")
    assert links(keys[1])["eth0"].get("link_type") == "ether"
    assert addresses(keys[1], "eth0") == [e2["address"]]
    assert ping(keys[0], e2["address"].split("/")[0])
    cleanup(libnet, "mv", keys)


def test_ptp_plugin_with_its_own_ipam(libnet: Libnet, tmp_path: Path) -> None:
    """``--ipam-driver null``: the plugins' own IPAM (host-local) gives the addresses."""
    config = {
        "cniVersion": "1.0.0",
        "name": "pp",
        "plugins": [
            {
                "type": "ptp",
                "ipam": {
                    "type": "host-local",
                    "subnet": "10.68.0.0/24",
                    "dataDir": str(tmp_path / "host-local"),
                },
            }
        ],
    }
    libnet(
        "network", "create", "-d", "cni", "--ipam-driver", "null",
        "-o", f"io.libnet.cni.config={json.dumps(config)}", "pp",
    )  # fmt: skip
    keys = two_joined(libnet, "pp")
    e1, e2 = libnet.inspect("endpoint", "pp", "e1"), libnet.inspect("endpoint", "pp", "e2")
    assert e1["address"] is None and e1["driver_info"]["ipam"] == "plugin"
    got = [e["driver_info"]["result"]["ips"][0]["address"] for e in (e1, e2)]
    assert all(a.startswith("10.68.0.") for a in got) and got[0] != got[1]
    assert addresses(keys[1], "eth0") == [got[1]]
    assert ping(keys[0], got[1].split("/")[0])
    cleanup(libnet, "pp", keys)


def test_a_plugin_failing_in_the_chain_undoes_the_join(libnet: Libnet) -> None:
    config = {
        "cniVersion": "1.0.0",
        "name": "bad",
        "plugins": [
            {"type": "bridge", "bridge": "cnitest1"},
            {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.no_such_setting": "1"}},
        ],
    }
    libnet(
        "network", "create", "-d", "cni", "-o", f"io.libnet.cni.config={json.dumps(config)}",
        "--subnet", "10.69.0.0/24", "bad",
    )  # fmt: skip
    libnet("sandbox", "create", "--create", "s1")
    libnet("endpoint", "create", "bad", "e1")
    failed = libnet("endpoint", "join", "bad", "e1", "s1", check=False)
    assert failed.returncode != 0
    assert "tuning" in failed.stderr
    key = libnet.key("s1")
    assert "eth0" not in links(key)
    assert libnet.inspect("endpoint", "bad", "e1")["sandbox"] is None
    libnet("sandbox", "rm", "s1")
    assert not Path(key).exists()


def test_a_network_naming_a_missing_plugin_is_refused(libnet: Libnet) -> None:
    config = {"cniVersion": "1.0.0", "name": "x", "type": "no-such-plugin"}
    failed = libnet(
        "network", "create", "-d", "cni", "-o", f"io.libnet.cni.config={json.dumps(config)}",
        "x", check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "no-such-plugin" in failed.stderr and "/usr/lib/cni" in failed.stderr
    assert "x" not in libnet("network", "ls").stdout.split()
