"""The static IPAM driver as a host application meets it: through an installed entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import libnet
import libnet.labels
import pytest
from libnet.errors import AddressInUseError, UnknownDriverError

from libnet_static_ipam import FILE_ENV

WEB_MAC = "02:42:0a:09:00:0a"
DB_MAC = "02:42:0a:09:00:0b"
STATIC = {"driver": "static"}


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    if not entry_points(group="libnet.ipam", name="static"):
        pytest.fail(
            "libnet-static-ipam is not installed, so no controller can find it: "
            "pip install ./example_plugins/libnet-static-ipam first"
        )


@pytest.fixture
def controller(assignments_file: Path) -> Iterator[libnet.Controller]:
    with libnet.Controller(ipam_config={"static": {"file": str(assignments_file)}}) as c:
        yield c


def with_mac(mac: str) -> dict[str, str]:
    return {libnet.labels.MAC_ADDRESS: mac}


def static_row(c: libnet.Controller) -> libnet.DriverInfo:
    (row,) = [r for r in c.ipam_drivers() if r.name == "static"]
    return row


def test_static_is_listed_before_it_is_loaded(controller: libnet.Controller) -> None:
    row = static_row(controller)
    assert (row.source, row.status, row.distribution) == (
        "entrypoint",
        "not-loaded",
        "libnet-static-ipam",
    )


def test_eager_loading_registers_it_requiring_mac_addresses(assignments_file: Path) -> None:
    config = {"static": {"file": str(assignments_file)}}
    with libnet.Controller(plugins="eager", ipam_config=config) as c:
        row = static_row(c)
    assert row.status == "ok"
    assert row.to_dict()["capability"] == {
        "requires_mac_address": True,
        "requires_request_replay": False,
    }


def test_without_a_file_it_fails_and_says_how_to_configure_it() -> None:
    with libnet.Controller() as c:
        with pytest.raises(UnknownDriverError, match=FILE_ENV):
            c.new_network("null", "lan", ipam=STATIC)
        assert c.networks() == []
        assert static_row(c).status == "failed"


def test_the_file_can_come_from_the_environment(
    assignments_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FILE_ENV, str(assignments_file))
    with libnet.Controller() as c:
        net = c.new_network("null", "lan", ipam=STATIC)
        assert net.to_dict()["ipam"]["config"][0]["subnet"] == "10.9.0.0/24"


def test_endpoints_get_their_fixed_address_or_the_next_free_one(
    controller: libnet.Controller,
) -> None:
    net = controller.new_network("null", "lan", ipam=STATIC)
    ipam = net.to_dict()["ipam"]
    assert ipam["driver"] == "static"
    assert ipam["config"] == [  # as Docker, the network shows the ip-range it was given
        {
            "subnet": "10.9.0.0/24",
            "ip_range": None,
            "gateway": "10.9.0.1",
            "aux_addresses": {},
        }
    ]
    web = net.create_endpoint("web", options=with_mac(WEB_MAC.upper())).info()
    assert (web["address"], web["mac_address"]) == ("10.9.0.10/24", WEB_MAC)
    other = net.create_endpoint("other").info()  # a random MAC, given to the IPAM driver
    assert other["address"] == "10.9.0.128/24"
    assert other["mac_address"] not in (None, WEB_MAC, DB_MAC)
    assert int(other["mac_address"][:2], 16) & 0b11 == 0b10  # locally administered unicast
    db = net.create_endpoint("db", options=with_mac(DB_MAC)).info()
    assert db["address"] == "10.9.0.11/24"


def test_a_mac_cannot_take_its_address_twice_and_gets_it_back_when_freed(
    controller: libnet.Controller,
) -> None:
    net = controller.new_network("null", "lan", ipam=STATIC)
    net.create_endpoint("web", options=with_mac(WEB_MAC))
    with pytest.raises(AddressInUseError, match=re.escape("10.9.0.10 is already in use")):
        net.create_endpoint("web2", options=with_mac(WEB_MAC))
    assert [e.name for e in net.endpoints()] == ["web"]
    net.endpoint("web").delete()
    assert net.create_endpoint("web2", options=with_mac(WEB_MAC)).info()["address"] == (
        "10.9.0.10/24"
    )


def test_ipv6_endpoints_get_their_ipv6_assignment(controller: libnet.Controller) -> None:
    net = controller.new_network("null", "lan", enable_ipv6=True, ipam=STATIC)
    pools = [p["subnet"] for p in net.to_dict()["ipam"]["config"]]
    assert pools == ["10.9.0.0/24", "fd00:9::/64"]
    info = net.create_endpoint("web", options=with_mac(WEB_MAC)).info()
    assert (info["address"], info["address_ipv6"]) == ("10.9.0.10/24", "fd00:9::10/64")


def test_deleting_the_network_frees_its_pool(controller: libnet.Controller) -> None:
    net = controller.new_network("null", "lan", ipam=STATIC)
    net.create_endpoint("web", options=with_mac(WEB_MAC))
    net.delete(force=True)
    again = controller.new_network(
        "null", "lan", ipam={**STATIC, "config": [{"subnet": "10.9.0.0/24"}]}
    )
    assert again.create_endpoint("web", options=with_mac(WEB_MAC)).info()["address"] == (
        "10.9.0.10/24"
    )


def test_allocations_survive_a_restart(assignments_file: Path, tmp_path: Path) -> None:
    config = {"static": {"file": str(assignments_file)}}
    with libnet.Controller(state_dir=tmp_path / "state", ipam_config=config) as c:
        c.new_network("null", "lan", ipam=STATIC).create_endpoint("web", options=with_mac(WEB_MAC))
    with libnet.Controller(state_dir=tmp_path / "state", ipam_config=config) as c:
        net = c.network("lan")
        with pytest.raises(AddressInUseError):
            net.create_endpoint("web2", options=with_mac(WEB_MAC))
        assert net.create_endpoint("next").info()["address"] == "10.9.0.128/24"


def libnet_cli(state: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "libnet", "--state-dir", str(state), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_libnet_command_with_the_file_in_the_environment(
    assignments_file: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    env[FILE_ENV] = str(assignments_file)
    state = tmp_path / "state"
    rows = {r["name"]: r for r in json.loads(libnet_cli(state, env, "ipam", "ls", "--json"))}
    assert rows["static"]["status"] == "ok"
    libnet_cli(state, env, "network", "create", "-d", "null", "--ipam-driver", "static", "lan")
    libnet_cli(state, env, "endpoint", "create", "lan", "web", "--mac-address", WEB_MAC)
    libnet_cli(state, env, "endpoint", "create", "lan", "other")
    eps = json.loads(libnet_cli(state, env, "endpoint", "inspect", "lan", "web", "other"))
    assert [e["address"] for e in eps] == ["10.9.0.10/24", "10.9.0.128/24"]
