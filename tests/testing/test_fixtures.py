"""The fixtures of libnet.testing: isolated controllers, plugins installed without pip."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import libnet
from libnet.store import MemoryStore
from libnet.testing import BROKEN_KINDS, InstalledPlugin, PluginInstaller

from .reference_driver import ReferenceDriver

if sys.version_info >= (3, 12):
    from importlib import metadata
else:
    import importlib_metadata as metadata

Install = Callable[..., InstalledPlugin]

PLUGIN_SOURCE = """
import libnet
from testing.reference_driver import ReferenceDriver

@libnet.hookimpl
def libnet_driver_init(callback, config):
    callback.register_driver("fromsource", ReferenceDriver(config), libnet.Capability("local"))
"""


def _types(c: libnet.Controller) -> set[str]:
    return {row.name for row in c.drivers()}


def test_libnet_controller_is_isolated(
    libnet_controller: libnet.Controller, install_plugin: Install
) -> None:
    assert libnet_controller.networks() == []
    assert libnet_controller.state_dir is None
    install_plugin(ReferenceDriver, "late")
    assert {row.source for row in libnet_controller.drivers()} == {"builtin"}
    assert "late" not in _types(libnet_controller)


@pytest.fixture
def installed_reference(install_plugin: Install) -> InstalledPlugin:
    return install_plugin(ReferenceDriver, "viamarker")


@pytest.mark.libnet_controller(plugins="eager", driver_config={"viamarker": {"k": "v"}})
def test_the_marker_passes_arguments_to_libnet_controller(
    installed_reference: InstalledPlugin, libnet_controller: libnet.Controller
) -> None:
    (row,) = [r for r in libnet_controller.drivers() if r.name == "viamarker"]
    assert (row.status, row.distribution) == ("ok", "libnet-test-viamarker")
    network = libnet_controller.new_network("viamarker", "net")
    assert network.type == "viamarker"


def test_make_controller_takes_controller_arguments(
    make_controller: Callable[..., libnet.Controller], tmp_path: Path
) -> None:
    first, second = make_controller(), make_controller(state_dir=tmp_path)
    first.new_network("null", "none")
    assert second.networks() == [] and second.state_dir == tmp_path
    assert (tmp_path / "state.db").exists()


def test_an_installed_source_module_is_discovered_and_imported_on_first_use(
    install_plugin: Install, make_controller: Callable[..., libnet.Controller]
) -> None:
    plugin = install_plugin(PLUGIN_SOURCE, "fromsource", dist="libnet-fromsource", version="2.3")
    assert plugin.dist == "libnet-fromsource" and plugin.entry_points == ("fromsource",)
    dist = metadata.distribution("libnet-fromsource")
    assert dist.version == "2.3"
    assert [ep.name for ep in dist.entry_points if ep.group == "libnet.drivers"] == ["fromsource"]
    c = make_controller(plugins="lazy")
    assert plugin.module is not None and plugin.module not in sys.modules
    c.new_network("fromsource", "net").create_endpoint("ep")
    assert plugin.module in sys.modules


def test_a_module_object_is_installed_even_if_nothing_can_import_it(
    install_plugin: Install, make_controller: Callable[..., libnet.Controller]
) -> None:
    module = types.ModuleType("made_in_memory")

    @libnet.hookimpl
    def libnet_driver_init(callback: Any, config: Any) -> None:
        callback.register_driver("inmemory", ReferenceDriver(), libnet.Capability("local"))

    module.libnet_driver_init = libnet_driver_init  # type: ignore[attr-defined]
    plugin = install_plugin(module, "inmemory")
    c = make_controller(plugins="eager")
    assert c.new_network("inmemory", "net").type == "inmemory"
    assert sys.modules[plugin.module or ""] is module


def test_an_importable_module_is_advertised_under_its_own_name(install_plugin: Install) -> None:
    plugin = install_plugin(importlib.import_module("libnet.drivers.null"), "nullish")
    assert plugin.module == "libnet.drivers.null"
    (ep,) = metadata.distribution(plugin.dist).entry_points
    assert ep.value == "libnet.drivers.null"


def test_a_driver_object_is_shared_and_a_factory_makes_one_per_controller(
    install_plugin: Install, make_controller: Callable[..., libnet.Controller]
) -> None:
    shared = ReferenceDriver()
    install_plugin(shared, "shared")
    install_plugin(ReferenceDriver, "fresh", capability=libnet.Capability("global"))
    first = make_controller(plugins="eager", global_store=MemoryStore())  # for "fresh"
    second = make_controller(plugins="eager")
    drivers = [
        [c.resolve_driver(name).driver.wrapped for c in (first, second)]
        for name in ("shared", "fresh")
    ]
    assert drivers[0][0] is drivers[0][1] is shared
    assert drivers[1][0] is not drivers[1][1]
    assert first.new_network("fresh", "net").scope == "global"


def test_one_plugin_may_advertise_several_network_types(
    install_plugin: Install, make_controller: Callable[..., libnet.Controller]
) -> None:
    plugin = install_plugin(ReferenceDriver, ["alpha", "beta"], requires=["libnet>=0.1"])
    assert plugin.entry_points == ("alpha", "beta")
    assert metadata.distribution(plugin.dist).requires == ["libnet>=0.1"]
    c = make_controller(plugins="eager")
    assert {"alpha", "beta"} <= _types(c)


def test_closing_the_installer_uninstalls_everything(tmp_path: Path) -> None:
    before = list(sys.path)
    with PluginInstaller(tmp_path) as installer:
        plugin = installer.install(PLUGIN_SOURCE, "fromsource")
        installer.install(ReferenceDriver(), "object")
        importlib.import_module(plugin.module or "")
        assert str(plugin.site) == sys.path[0]
    assert sys.path == before
    assert not any(name.startswith("libnet_test_") for name in sys.modules)
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution(plugin.dist)
    assert "fromsource" not in {ep.name for ep in metadata.entry_points(group="libnet.drivers")}


def test_install_plugin_refuses_what_is_no_plugin(install_plugin: Install) -> None:
    with pytest.raises(TypeError, match="not plugin source, a module, a driver"):
        install_plugin(object(), "nothing")
    with pytest.raises(ValueError, match="at least one entry-point name"):
        install_plugin(ReferenceDriver, [])


EXPECTED_FAILURES = {
    "import-error": "ImportError: libnet-test-import-error-broken cannot be imported (on purpose)",
    "missing-module": "ModuleNotFoundError: No module named",
    "missing-attribute": "AttributeError: module",
    "no-hook": "it does not implement libnet_driver_init",
    "unmarked-hook": "libnet_driver_init is not marked as a hook",
    "unknown-hook": "it implements hook 'libnet_no_such_hook', which libnet does not define",
    "hook-error": "RuntimeError: libnet-test-hook-error-broken fails in its init hook (on purpose)",
    "no-registration": "the plugin was initialised but did not register 'broken'",
    "wrong-name": "tried to register 'broken-unadvertised', which is not advertised",
    "missing-methods": "does not implement the required methods delete_network",
    "bad-capability": "was registered with capability 'local'; pass a libnet.Capability",
}
METADATA_KINDS = ("missing-metadata", "metadata-without-name")


def test_every_broken_kind_is_covered() -> None:
    assert set(BROKEN_KINDS) == set(EXPECTED_FAILURES) | set(METADATA_KINDS)


@pytest.mark.parametrize("kind", sorted(EXPECTED_FAILURES))
def test_a_broken_distribution_fails_as_its_kind_says_and_is_reported(
    broken_distribution: Install,
    install_plugin: Install,
    make_controller: Callable[..., libnet.Controller],
    kind: str,
) -> None:
    broken = broken_distribution(kind)
    install_plugin(ReferenceDriver, "healthy")
    c = make_controller(plugins="eager")
    (row,) = [r for r in c.drivers() if r.name == "broken"]
    assert (row.status, row.distribution) == ("failed", broken.dist)
    assert EXPECTED_FAILURES[kind] in (row.error or "")
    assert c.new_network("healthy", "net").type == "healthy"


@pytest.mark.filterwarnings("ignore:Implicit None on return values:DeprecationWarning")
@pytest.mark.parametrize("kind", METADATA_KINDS)
def test_a_distribution_with_broken_metadata_is_found_broken(
    broken_distribution: Install, kind: str
) -> None:
    broken = broken_distribution(kind)
    (dist,) = [d for d in metadata.distributions(path=[str(broken.site)])]
    assert [ep.name for ep in dist.entry_points] == ["broken"]
    try:
        name = dist.metadata["Name"]
    except (KeyError, OSError):  # importlib_metadata >= 8; stdlib 3.12+ returns None
        name = None
    assert name is None


@pytest.mark.parametrize("kind", METADATA_KINDS)
def test_a_distribution_with_broken_metadata_does_not_stop_the_controller(
    broken_distribution: Install,
    install_plugin: Install,
    make_controller: Callable[..., libnet.Controller],
    kind: str,
) -> None:
    broken_distribution(kind)
    install_plugin(ReferenceDriver, "healthy")
    c = make_controller(plugins="eager")
    assert c.new_network("healthy", "net").type == "healthy"
