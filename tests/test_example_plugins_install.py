"""The example plugins, pip-installed for real next to libnet in a fresh virtual environment.

Each plugin is installed, must then appear in ``libnet drivers --json`` (an IPAM plugin in
``libnet ipam ls --json``) and serve a short lifecycle through ``libnet.Controller`` in that
environment, and must disappear again once uninstalled. Nothing is faked: libnet finds the
plugins through the entry points pip wrote. Sources are copied first so that pip's in-tree
builds never write into the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from _venv import REPO, Venv, copy_tree, make_venv

pytestmark = pytest.mark.slow

EXAMPLES = REPO / "example_plugins"

LEDGER_LIFECYCLE = """
import libnet

with libnet.Controller() as c:
    net = c.new_network(
        "ledger", "demo", options={"color": "blue"}, labels={"team": "red"},
        ipam={"driver": "null"},  # the driver, not IPAM, gives the address
    )
    ep = net.create_endpoint("web", options={"ledger.address": "10.0.0.2/24"})
    sb = c.new_sandbox("container-1")
    ep.join(sb)
    info, oper = ep.info(), ep.driver_info()
    assert info["mac_address"].startswith("02:1e:"), info
    assert info["address"] == "10.0.0.2/24", info
    assert info["src_name"] == "ledger-" + ep.id[:7], info
    assert oper["joined"] is True and oper["network_labels"] == {"team": "red"}, oper
    ep.leave(sb)
    ep.delete()
    sb.delete()
    net.delete()
    assert c.networks() == []
print("lifecycle ok")
"""

MACVLAN_REFUSES_NO_PARENT = """
import libnet

with libnet.Controller() as c:
    try:
        c.new_network("macvlan", "noparent")
    except libnet.DriverError as exc:
        assert "parent" in str(exc), exc
    else:
        raise AssertionError("a macvlan network without a parent was created")
    assert c.networks() == []
print("validation ok")
"""

# Run under ``unshare -n``: the process has a network namespace of its own, which the
# kernel removes with it, so the parent link below never touches the host.
MACVLAN_LIFECYCLE = """
import libnet
from pyroute2 import IPRoute

with IPRoute() as ipr:
    ipr.link("add", ifname="parent0", kind="veth", peer="parent0p")
    parent_index = ipr.link_lookup(ifname="parent0")[0]
    with libnet.Controller() as c:
        net = c.new_network("macvlan", "lan", options={"parent": "parent0", "gateway": "192.0.2.1"})
        ep = net.create_endpoint("web")
        link = "mv" + ep.id[:11]
        (mv,) = ipr.get_links(ifname=link)
        assert mv.get("address") == ep.info()["mac_address"], mv
        assert mv.get("link") == parent_index, mv
        sb = c.new_sandbox("container-1")
        ep.join(sb)
        assert ep.info()["src_name"] == link and ep.info()["gateway"] == "192.0.2.1"
        ep.leave(sb)
        ep.delete()
        assert not ipr.get_links(ifname=link)
        sb.delete()
        net.delete()
print("lifecycle ok")
"""


STATIC_IPAM_LIFECYCLE = """
import json, os, tempfile
import libnet

path = os.path.join(tempfile.mkdtemp(), "static.json")
with open(path, "w") as f:
    json.dump({"pools": {"10.9.0.0/24": {"assignments": {"02:42:0a:09:00:0a": "10.9.0.10"}}}}, f)
with libnet.Controller(ipam_config={"static": {"file": path}}) as c:
    net = c.new_network("null", "lan", ipam={"driver": "static"})
    web = net.create_endpoint("web", options={libnet.labels.MAC_ADDRESS: "02:42:0a:09:00:0a"})
    other = net.create_endpoint("other")
    assert web.info()["address"] == "10.9.0.10/24", web.info()
    assert other.info()["address"] == "10.9.0.2/24", other.info()
    net.delete(force=True)
    assert c.networks() == []
print("lifecycle ok")
"""


@dataclass(frozen=True)
class Example:
    directory: str
    distribution: str
    network_type: str
    """The network type (or, for an IPAM plugin, the IPAM driver) the example provides."""
    scripts: tuple[str, ...]
    kernel_script: str | None = None
    ipam: bool = False
    """An IPAM plugin: listed by ``libnet ipam ls``, loaded with $LIBNET_STATIC_IPAM_FILE."""


EXAMPLES_UNDER_TEST = [
    Example("libnet-ledger", "libnet-ledger", "ledger", (LEDGER_LIFECYCLE,)),
    Example(
        "libnet-macvlan",
        "libnet-macvlan",
        "macvlan",
        (MACVLAN_REFUSES_NO_PARENT,),
        kernel_script=MACVLAN_LIFECYCLE,
    ),
    Example(
        "libnet-static-ipam",
        "libnet-static-ipam",
        "static",
        (STATIC_IPAM_LIFECYCLE,),
        ipam=True,
    ),
]


def _can_unshare_net() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh virtual environment with libnet installed from this repository."""
    return make_venv(tmp_path_factory.mktemp("example-plugins"))


@pytest.mark.parametrize("example", EXAMPLES_UNDER_TEST, ids=lambda e: e.network_type)
def test_installed_example_is_listed_serves_and_disappears_when_uninstalled(
    venv: Venv, example: Example, tmp_path: Path
) -> None:
    if example.ipam:  # the static IPAM plugin loads only with its assignments file
        table = tmp_path / "static.json"
        table.write_text(json.dumps({"pools": {"10.9.0.0/24": {}}}))
        venv = Venv(venv.path, {**venv.env, "LIBNET_STATIC_IPAM_FILE": str(table)})
    assert example.network_type not in venv.drivers(example.ipam)
    venv.pip("install", "--quiet", str(copy_tree(EXAMPLES / example.directory, tmp_path / "src")))
    try:
        row = venv.drivers(example.ipam).get(example.network_type)
        assert row is not None, f"{example.network_type} is not listed after install"
        assert (row["source"], row["status"], row["distribution"]) == (
            "entrypoint",
            "ok",
            example.distribution,
        ), row
        for source in example.scripts:
            venv.script(source)
        if example.kernel_script is not None and _can_unshare_net():
            assert "lifecycle ok" in venv.script(example.kernel_script, prefix=("unshare", "-n"))
    finally:
        venv.pip("uninstall", "--yes", "--quiet", example.distribution)
    assert example.network_type not in venv.drivers(example.ipam)
