"""Commands import only what they use: read-only commands never load the heavy machinery.

Each command runs in a fresh interpreter, which then reports ``sys.modules``; a module on
the deny list means the command pays for something it does not need at every start.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from libnet.testing import PluginInstaller

from .conftest import clean_env, run

pytestmark = pytest.mark.slow

DENIED = (
    "pyroute2",
    "pluggy",
    "importlib_metadata",
    "libnet.hookspecs",
    "libnet.ipam.default",
    "libnet.ipam._bitmap",
    "libnet.drivers.bridge",
    "libnet.drivers.bridge.driver",
)
"""Modules that listing and inspecting never need: netlink, plugin loading, allocators."""

COMMANDS = [
    ("network", "ls"),
    ("network", "ls", "--format", "json"),
    ("network", "inspect", "plain"),
    ("network", "inspect", "viaplugin"),
    ("sandbox", "ls"),
    ("--help",),
    ("network", "--help"),
]

PLUGIN = """
import libnet


class Quiet(libnet.Driver):
    def create_network(self, nid, options, ipv4_data, ipv6_data): pass
    def delete_network(self, nid): pass
    def create_endpoint(self, nid, eid, iface, options): pass
    def delete_endpoint(self, nid, eid): pass
    def endpoint_oper_info(self, nid, eid): return {}
    def join(self, nid, eid, sandbox_key, jinfo, options): pass
    def leave(self, nid, eid): pass


@libnet.hookimpl
def libnet_driver_init(callback, config):
    callback.register_driver("viaplugin", Quiet(), libnet.Capability(data_scope="local"))
"""

PROBE = """
import json, sys
from libnet.cli._main import main
try:
    status = main(sys.argv[2:])
except SystemExit as exc:
    status = exc.code
with open(sys.argv[1], "w") as f:
    json.dump({"status": status, "modules": sorted(sys.modules)}, f)
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A state with a null network and a network of a plugin, the plugin installed."""
    root = tmp_path_factory.mktemp("imports")
    installer = PluginInstaller(root / "plugins")
    installer.install(PLUGIN, "viaplugin", dist="libnet-viaplugin", module="libnet_viaplugin")
    site = installer.site()
    installer.close()
    env = clean_env(PYTHONPATH=str(site), LIBNET_STATE_DIR=str(root / "state"))
    for args in (("network", "create", "-d", "null", "plain"),):
        assert run(*args, env=env, cwd=root).returncode == 0
    assert run("network", "create", "-d", "viaplugin", "viaplugin", env=env, cwd=root).ok()
    return root, env


def modules_of(root: Path, env: dict[str, str], *args: str) -> tuple[int, set[str]]:
    out = root / "modules.json"
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PROBE), str(out), *args],
        env=env,
        cwd=root,
        check=False,
        capture_output=True,
        timeout=60,
    )
    data = json.loads(out.read_text())
    return data["status"], set(data["modules"])


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_read_only_command_imports_nothing_on_the_deny_list(
    setup: tuple[Path, dict[str, str]], args: tuple[str, ...]
) -> None:
    root, env = setup
    status, modules = modules_of(root, env, *args)
    assert status == 0
    assert sorted(m for m in modules if m.startswith(DENIED)) == []
    assert "libnet_viaplugin" not in modules  # no plugin is imported to list or inspect


def test_drivers_imports_pluggy_only_to_load_plugins(
    setup: tuple[Path, dict[str, str]],
) -> None:
    root, env = setup
    without = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    status, modules = modules_of(root, without, "drivers")
    assert status == 0
    assert sorted(m for m in modules if m.startswith(DENIED)) == []
    # A plugin to load: pluggy is needed, and seen (the probe can fail).
    status, modules = modules_of(root, env, "drivers")
    assert status == 0 and "pluggy" in modules and "libnet_viaplugin" in modules
