"""Commands import only what they use: read-only commands never load the heavy machinery.

Each command runs in a fresh interpreter, which then reports ``sys.modules``; a module on
the deny list means the command pays for something it does not need at every start. The
same holds for a host application: ``import libnet; Controller()`` and the first network
of a plugin's type import only what they use (modules an empty interpreter has already
do not count).
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
    "packaging",
    "libnet.hookspecs",
    "libnet.ipam.default",
    "libnet.ipam._bitmap",
    "libnet.drivers.bridge",
    "libnet.drivers.bridge.driver",
    "libnet.osl",
    "ctypes",
    "socket",
)
"""Modules that listing and inspecting never need: netlink, the OS layer's system calls,
plugin loading and the version gate's parser, allocators."""

NOT_LOOKED_UP = ("libnet.dockerplugin",)
"""Docker plugins: nothing the read-only commands list or inspect needs one."""

CONTROLLER_DENIED = (
    *DENIED,
    *NOT_LOOKED_UP,
    "libnet.reconcile",
    "libnet.ipam._config",
    "libnet.store.sqlite",
    "libnet.store.hostid",
    "libnet.portmap",
    "libnet._publish",
    "sqlite3",
    "hashlib",
    "uuid",
    "platform",
)
"""What ``import libnet; Controller()`` (memory state) never needs: the OS layer,
reconciliation, Docker plugins, SQLite, pools, ports, host IDs, plugin loading."""

FIRST_USE = ("pluggy", "libnet.hookspecs", "libnet.ipam._config", "libnet.ipam.default")
FIRST_USE_DENIED = tuple(
    m for m in CONTROLLER_DENIED if m not in FIRST_USE and m != "libnet.ipam._bitmap"
)
"""The first network of a plugin's type loads that plugin (pluggy, the hook
specifications), checks its pools and allocates one, and imports nothing else listed."""

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
    installer.install(
        PLUGIN,
        "viaplugin",
        dist="libnet-viaplugin",
        module="libnet_viaplugin",
        requires=("libnet>=0.1",),  # the version gate runs at its first use
    )
    site = installer.site()
    installer.close()
    env = clean_env(
        PYTHONPATH=str(site),
        LIBNET_STATE_DIR=str(root / "state"),
        LIBNET_CACHE_DIR=str(root / "cache"),
    )
    for args in (("network", "create", "-d", "null", "plain"),):
        assert run(*args, env=env, cwd=root).returncode == 0
    assert run("network", "create", "-d", "viaplugin", "viaplugin", env=env, cwd=root).ok()
    return root, env


def modules_of(
    root: Path, env: dict[str, str], *args: str, probe: str = PROBE
) -> tuple[int, set[str]]:
    out = root / "modules.json"
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(probe), str(out), *args],
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
    assert denied(modules, (*DENIED, *NOT_LOOKED_UP), root, env) == []
    assert "libnet_viaplugin" not in modules  # no plugin is imported to list or inspect


def test_drivers_imports_pluggy_only_to_load_plugins(
    setup: tuple[Path, dict[str, str]],
) -> None:
    root, env = setup
    without = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    status, modules = modules_of(root, without, "drivers")
    assert status == 0
    assert denied(modules, DENIED, root, without) == []
    # A plugin to load: pluggy is needed, and seen (the probe can fail).
    status, modules = modules_of(root, env, "drivers")
    assert status == 0 and "pluggy" in modules and "libnet_viaplugin" in modules


EMPTY = """
import json, sys
with open(sys.argv[1], "w") as f:
    json.dump({"status": 0, "modules": sorted(sys.modules)}, f)
"""

LIBRARY = """
import json, sys
import libnet
c = libnet.Controller(**json.loads(sys.argv[3]))
if sys.argv[2]:
    c.new_network(sys.argv[2], "n")
c.close()
with open(sys.argv[1], "w") as f:
    json.dump({"status": 0, "modules": sorted(sys.modules)}, f)
"""


def denied(modules: set[str], deny: tuple[str, ...], root: Path, env: dict[str, str]) -> list[str]:
    """The modules on ``deny`` (or in a package on it) that an empty interpreter, started
    the same way, does not have already."""
    _status, empty = modules_of(root, env, probe=EMPTY)
    return sorted(m for m in modules - empty if any(m == d or m.startswith(d + ".") for d in deny))


@pytest.mark.parametrize(
    ("network_type", "kwargs", "deny"),
    [
        ("", {}, CONTROLLER_DENIED),
        ("", {"plugins": "off"}, CONTROLLER_DENIED),
        ("viaplugin", {}, FIRST_USE_DENIED),
        ("null", {}, FIRST_USE_DENIED),
    ],
    ids=["controller", "plugins-off", "first-use-of-a-plugin", "first-null-network"],
)
def test_a_controller_imports_only_what_it_uses(
    setup: tuple[Path, dict[str, str]],
    network_type: str,
    kwargs: dict[str, str],
    deny: tuple[str, ...],
) -> None:
    root, env = setup
    args = (network_type, json.dumps(kwargs))
    status, modules = modules_of(root, env, *args, probe=LIBRARY)
    assert status == 0
    assert denied(modules, deny, root, env) == []
    assert ("libnet_viaplugin" in modules) == (network_type == "viaplugin")


def test_a_state_directory_brings_sqlite_and_nothing_more(
    setup: tuple[Path, dict[str, str]],
) -> None:
    root, env = setup
    kwargs = {"state_dir": str(root / "library-state")}
    status, modules = modules_of(root, env, "", json.dumps(kwargs), probe=LIBRARY)
    assert status == 0
    assert "libnet.store.sqlite" in modules  # the probe sees what it is asked for
    allowed = ("libnet.store.sqlite", "sqlite3", "hashlib", "libnet.store.hostid")
    deny = tuple(m for m in CONTROLLER_DENIED if m not in allowed)
    assert denied(modules, deny, root, env) == []
