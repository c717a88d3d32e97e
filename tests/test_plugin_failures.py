"""A broken plugin is skipped, reported and undone; the plugin installed beside it keeps working.

Every case installs ``libnet-good`` (type ``good``) and ``libnet-bad`` (types ``bad`` and
``bad2``, both served by module ``libnet_bad``), which fails in one way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from _dists import FakeDists
from _drivers import install_plugin, plugin_source

import libnet
from libnet.errors import PluginLoadError, UnknownDriverError


@dataclass(frozen=True)
class Breakage:
    source: str
    error: str
    """A fragment of the error that must name the problem."""


_IMPORT = "import _drivers\n_drivers.EVENTS.append('import ' + __name__)\n"

BREAKAGES = {
    "import-error": Breakage(
        _IMPORT + "raise ImportError('libnet_bad needs pyroute2, which is not installed')\n",
        "ImportError: libnet_bad needs pyroute2",
    ),
    "import-exits": Breakage(_IMPORT + "raise SystemExit(3)\n", "SystemExit: 3"),
    "hook-raises-after-registering": Breakage(
        plugin_source("bad", "bad2", body="raise RuntimeError('cannot reach the switch')"),
        "RuntimeError: cannot reach the switch",
    ),
    "registers-a-built-in-name": Breakage(
        plugin_source(
            "bad",
            "bad2",
            body="callback.register_driver('bridge', _drivers.RecordingDriver(), _drivers.LOCAL)",
        ),
        "'bridge', which is built into libnet",
    ),
    "registers-an-unadvertised-type": Breakage(
        plugin_source(
            "bad",
            "bad2",
            body="callback.register_driver('other', _drivers.RecordingDriver(), _drivers.LOCAL)",
        ),
        "'other', which is not advertised",
    ),
    "swallows-its-registration-error": Breakage(
        plugin_source(
            "bad",
            "bad2",
            body="""\
            try:
                callback.register_driver('host', _drivers.RecordingDriver(), _drivers.LOCAL)
            except Exception:
                pass
            """,
        ),
        "'host', which is built into libnet",
    ),
    "registers-an-object-missing-methods": Breakage(
        plugin_source(
            "bad",
            body="""\
            class Half:
                def create_network(self, nid, options, ipv4_data, ipv6_data):
                    pass
            callback.register_driver('bad2', Half(), _drivers.LOCAL)
            """,
        ),
        "does not implement the required methods delete_network, create_endpoint",
    ),
    "registers-a-bad-capability": Breakage(
        plugin_source(
            "bad", body="callback.register_driver('bad2', _drivers.RecordingDriver(), 'local')"
        ),
        "pass a libnet.Capability",
    ),
    "registers-nothing": Breakage(
        plugin_source(), "the plugin was initialised but did not register"
    ),
    "implements-a-hook-with-no-spec": Breakage(
        _IMPORT
        + "import libnet\n\n@libnet.hookimpl\ndef libnet_driver_initt(callback, config):\n"
        + "    pass\n",
        "implements hook 'libnet_driver_initt', which libnet does not define",
    ),
    "init-hook-not-decorated": Breakage(
        _IMPORT + "def libnet_driver_init(callback, config):\n    pass\n",
        "libnet_driver_init is not marked as a hook: decorate it with @libnet.hookimpl",
    ),
    "no-init-hook": Breakage(_IMPORT + "VERSION = 1\n", "does not implement libnet_driver_init"),
}

BAD_TYPES = ("bad", "bad2")
STRAY_TYPES = ("bad", "bad2", "other", "bridge")


@pytest.fixture(params=sorted(BREAKAGES))
def breakage(request: pytest.FixtureRequest, dists: FakeDists) -> Breakage:
    broken = BREAKAGES[request.param]
    install_plugin(dists, "libnet-good", "good")
    dists.install(
        "libnet-bad",
        "0.9",
        entry_points={name: "libnet_bad" for name in BAD_TYPES},
        modules={"libnet_bad": broken.source},
    )
    return broken


def bad_rows(c: libnet.Controller) -> list[libnet.DriverInfo]:
    return [r for r in c.drivers() if r.distribution == "libnet-bad"]


def test_a_failing_plugin_is_listed_failed_with_an_error_naming_the_problem(
    breakage: Breakage,
) -> None:
    c = libnet.Controller(plugins="eager")
    rows = bad_rows(c)
    assert [(r.name, r.status) for r in rows] == [("bad", "failed"), ("bad2", "failed")]
    for row in rows:
        assert breakage.error in (row.error or "")


def test_a_failing_plugin_leaves_nothing_registered(breakage: Breakage) -> None:
    c = libnet.Controller(plugins="eager")
    assert [c._registry.get(name) for name in STRAY_TYPES if name != "bridge"] == [None] * 3
    bridge = c._registry.get("bridge")
    assert bridge is None or bridge.origin.source == "builtin"
    plugins = c._remote.loader.pm.get_plugins()
    assert [getattr(p, "__name__", None) for p in plugins] == ["libnet_good"]


def test_a_failing_plugin_is_logged_as_a_warning_on_the_plugins_logger(
    breakage: Breakage, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="libnet.plugins"):
        libnet.Controller(plugins="eager")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "libnet.plugins" and r.levelno == logging.WARNING
    ]
    assert warnings
    assert all("libnet-bad" in w and breakage.error in w for w in warnings)


def test_using_a_failed_type_raises_unknown_driver_saying_why_the_plugin_failed(
    breakage: Breakage,
) -> None:
    c = libnet.Controller()
    with pytest.raises(UnknownDriverError) as info:
        c.new_network("bad2", "b")
    assert "libnet-bad" in str(info.value)
    assert breakage.error in str(info.value)
    assert c.networks() == []


def test_a_good_plugin_beside_a_failing_one_keeps_working(
    breakage: Breakage, dists: FakeDists
) -> None:
    c = libnet.Controller(plugins="eager")
    network = c.new_network("good", "g")
    sandbox = c.new_sandbox("container")
    endpoint = network.create_endpoint("e")
    endpoint.join(sandbox)
    sandbox.delete()
    endpoint.delete()
    network.delete()
    assert dists.module("libnet_good").DRIVERS["good"].methods() == [
        "create_network",
        "create_endpoint",
        "join",
        "program_external_connectivity",
        "revoke_external_connectivity",
        "leave",
        "delete_endpoint",
        "delete_network",
    ]


def test_a_failed_plugin_is_not_tried_again(breakage: Breakage, events: list[str]) -> None:
    c = libnet.Controller()
    for network_type in ("bad", "bad2", "bad"):
        with pytest.raises(UnknownDriverError):
            c.new_network(network_type, "b")
    c.load_plugins()
    assert events.count("import libnet_bad") == 1
    assert events.count("init libnet_bad") <= 1


def test_strict_mode_refuses_to_start_with_a_failing_plugin(breakage: Breakage) -> None:
    with pytest.raises(PluginLoadError) as info:
        libnet.Controller(plugins="eager", strict_plugins=True)
    assert "libnet-bad" in str(info.value)
    assert breakage.error in str(info.value)


def test_LIBNET_STRICT_PLUGINS_raises_on_first_use_of_a_failing_plugin(
    breakage: Breakage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIBNET_STRICT_PLUGINS", "1")
    c = libnet.Controller()
    with pytest.raises(PluginLoadError) as info:
        c.new_network("bad", "b")
    assert "'bad'" in str(info.value)
    assert "libnet-bad" in str(info.value)
    assert [c._registry.get(name) for name in BAD_TYPES] == [None, None]
    assert c.networks() == []


def test_strict_mode_starts_when_every_plugin_loads(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-good", "good")
    c = libnet.Controller(plugins="eager", strict_plugins=True)
    assert [r.status for r in c.drivers() if r.distribution == "libnet-good"] == ["ok"]


def test_LIBNET_STRICT_PLUGINS_0_is_not_strict(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch
) -> None:
    dists.install("libnet-bad", entry_points={"bad": "libnet_bad"}, modules={"libnet_bad": "1/0"})
    monkeypatch.setenv("LIBNET_STRICT_PLUGINS", "0")
    c = libnet.Controller(plugins="eager")
    assert [r.status for r in bad_rows(c)] == ["failed"]


def test_the_failed_row_keeps_the_traceback(dists: FakeDists) -> None:
    dists.install(
        "libnet-bad",
        entry_points={"bad": "libnet_bad"},
        modules={"libnet_bad": plugin_source("bad", body="raise RuntimeError('boom')")},
    )
    (row,) = bad_rows(libnet.Controller(plugins="eager"))
    assert "Traceback" in (row.traceback or "")
    assert "libnet_bad" in (row.traceback or "")
    assert "traceback" not in row.to_dict()
    assert "RuntimeError: boom" in row.to_dict(traceback=True)["traceback"]


def test_a_hook_error_lists_only_the_hooks_libnet_defines(dists: FakeDists) -> None:
    typo = (
        "import libnet\n\n@libnet.hookimpl\ndef libnet_driver_initt(callback, config):\n    pass\n"
    )
    for dist in ("libnet-bad", "libnet-worse"):
        module = dist.replace("-", "_")
        dists.install(dist, entry_points={dist[7:]: module}, modules={module: typo})
    c = libnet.Controller(plugins="eager")
    errors = [r.error or "" for r in c.drivers() if r.status == "failed"]
    assert len(errors) == 2
    assert all("(known hooks: libnet_driver_init, libnet_ipam_init)" in e for e in errors)


def test_two_entry_points_naming_one_module_initialise_it_once(
    dists: FakeDists, events: list[str]
) -> None:
    module = install_plugin(dists, "libnet-l2", "vlan", "vxlan")
    c = libnet.Controller()
    c.new_network("vxlan", "x")
    c.new_network("vlan", "v")
    c.load_plugins()
    assert events == ["import libnet_l2", "init libnet_l2"]
    assert list(dists.module(module).DRIVERS) == ["vlan", "vxlan"]


def test_two_entry_points_naming_one_module_initialise_it_once_when_eager(
    dists: FakeDists, events: list[str]
) -> None:
    install_plugin(dists, "libnet-l2", "vlan", "vxlan")
    c = libnet.Controller(plugins="eager")
    assert events == ["import libnet_l2", "init libnet_l2"]
    assert [r.status for r in c.drivers() if r.distribution == "libnet-l2"] == ["ok", "ok"]
