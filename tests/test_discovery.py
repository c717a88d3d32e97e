"""Finding plugins: entry points read without import, in a fixed order, filtered before import,
and loaded lazily on first use (or all at once when asked)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from _dists import DRIVER_GROUP, FakeDists
from _drivers import install_plugin

import libnet
from libnet.drivers.remote.entrypoints import discover
from libnet.errors import InvalidOptionError, UnknownDriverError
from libnet.registry import DriverInfo


def plugin_rows(c: libnet.Controller, dists: FakeDists) -> list[DriverInfo]:
    """The controller's rows for the distributions this test installed."""
    return [r for r in c.drivers() if r.source == "entrypoint" and r.distribution in dists.names]


def statuses(c: libnet.Controller, dists: FakeDists) -> dict[tuple[str, str | None], str]:
    return {(r.name, r.distribution): r.status for r in plugin_rows(c, dists)}


# Discovery without import


def test_discovery_reads_entry_points_without_importing_the_plugin(
    dists: FakeDists, events: list[str]
) -> None:
    module = install_plugin(dists, "libnet-spy", "spy")
    found = discover(DRIVER_GROUP)
    assert "spy" in [s.name for s in found.specs]
    assert events == []
    assert not dists.imported(module)


def test_creating_a_controller_imports_no_plugin(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-spy", "spy")
    install_plugin(dists, "libnet-other", "other")
    c = libnet.Controller()
    assert statuses(c, dists) == {
        ("other", "libnet-other"): "not-loaded",
        ("spy", "libnet-spy"): "not-loaded",
    }
    assert events == []


def test_discovery_records_distribution_version_and_target(dists: FakeDists) -> None:
    dists.install(
        "Libnet_VLAN", "2.3.1", entry_points={"vlan": "vlan_plugin.api:plugin"}, modules={}
    )
    (spec,) = [s for s in discover(DRIVER_GROUP).specs if s.distribution in dists.names]
    assert (spec.name, spec.value, spec.distribution, spec.version, spec.dist_key) == (
        "vlan",
        "vlan_plugin.api:plugin",
        "Libnet_VLAN",
        "2.3.1",
        "libnet-vlan",
    )


def test_entry_points_are_sorted_by_name_whatever_the_install_order(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-a", "zeta", "mid", site="one")
    install_plugin(dists, "libnet-z", "alpha", site="two")
    install_plugin(dists, "libnet-m", "beta", "omega", site="one")
    names = [s.name for s in discover(DRIVER_GROUP).specs if s.distribution in dists.names]
    assert names == ["alpha", "beta", "mid", "omega", "zeta"]


def test_controller_rows_are_sorted_by_name(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-a", "zeta", site="one")
    install_plugin(dists, "libnet-z", "alpha", site="two")
    names = [r.name for r in libnet.Controller().drivers()]
    assert names == sorted(names)
    assert {"alpha", "zeta", "host", "null"} <= set(names)


def test_a_distribution_on_sys_path_twice_is_found_once(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-vlan", "vlan", site="one")
    install_plugin(dists, "libnet-vlan", "vlan", site="two")
    found = discover(DRIVER_GROUP)
    assert [s.name for s in found.specs if s.distribution in dists.names] == ["vlan"]
    assert found.conflicts == ()


def test_the_copy_of_a_distribution_first_on_sys_path_wins(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-vlan", "vlan", version="1.0", site="older")
    install_plugin(dists, "libnet-vlan", "vlan", version="2.0", site="newer")  # first on path
    (row,) = plugin_rows(libnet.Controller(), dists)
    assert (row.name, row.version, row.status) == ("vlan", "2.0", "not-loaded")


def test_two_distributions_advertising_one_type_the_first_by_name_serves_it(
    dists: FakeDists,
) -> None:
    install_plugin(dists, "libnet-zz", "vlan", site="one")
    winner = install_plugin(dists, "libnet-aa", "vlan", site="two")
    c = libnet.Controller()
    c.new_network("vlan", "v")
    assert list(dists.module(winner).DRIVERS) == ["vlan"]
    assert not dists.imported("libnet_zz")


def test_the_distribution_that_loses_a_type_is_reported_failed_with_a_conflict(
    dists: FakeDists,
) -> None:
    install_plugin(dists, "libnet-aa", "vlan")
    install_plugin(dists, "libnet-zz", "vlan")
    rows = {r.distribution: r for r in plugin_rows(libnet.Controller(), dists)}
    assert rows["libnet-aa"].status == "not-loaded"
    assert rows["libnet-zz"].status == "failed"
    error = rows["libnet-zz"].error or ""
    assert "also advertised by" in error
    assert "libnet-aa" in error


def test_a_conflict_is_logged_as_a_warning(
    dists: FakeDists, caplog: pytest.LogCaptureFixture
) -> None:
    install_plugin(dists, "libnet-aa", "vlan")
    install_plugin(dists, "libnet-zz", "vlan")
    with caplog.at_level(logging.WARNING, logger="libnet.plugins"):
        libnet.Controller()
    assert any(r.name == "libnet.plugins" and "libnet-zz" in r.getMessage() for r in caplog.records)


# Allow- and deny-lists, applied before import

FILTERS = [
    pytest.param(({"LIBNET_PLUGINS": "good"}, {}), id="LIBNET_PLUGINS-entry-point"),
    pytest.param(({"LIBNET_PLUGINS": "libnet-good"}, {}), id="LIBNET_PLUGINS-distribution"),
    pytest.param(({}, {"plugins_allow": ["good"]}), id="plugins_allow-entry-point"),
    pytest.param(({}, {"plugins_allow": ["libnet-good"]}), id="plugins_allow-distribution"),
    pytest.param(({"LIBNET_DISABLE_PLUGINS": "spy"}, {}), id="LIBNET_DISABLE_PLUGINS-entry-point"),
    pytest.param(
        ({"LIBNET_DISABLE_PLUGINS": "libnet-spy"}, {}), id="LIBNET_DISABLE_PLUGINS-distribution"
    ),
    pytest.param(({}, {"plugins_deny": ["spy"]}), id="plugins_deny-entry-point"),
    pytest.param(({}, {"plugins_deny": ["libnet-spy"]}), id="plugins_deny-distribution"),
]


@pytest.fixture
def filtered(
    request: pytest.FixtureRequest, dists: FakeDists, monkeypatch: pytest.MonkeyPatch
) -> libnet.Controller:
    """A controller whose filter lets ``libnet-good`` through and keeps ``libnet-spy`` out."""
    env, kwargs = request.param
    install_plugin(dists, "libnet-good", "good")
    install_plugin(dists, "libnet-spy", "spy")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return libnet.Controller(**kwargs)


@pytest.mark.parametrize("filtered", FILTERS, indirect=True)
def test_a_filtered_out_plugin_is_never_imported_even_when_all_are_loaded(
    filtered: libnet.Controller, dists: FakeDists, events: list[str]
) -> None:
    filtered.load_plugins()
    with pytest.raises(UnknownDriverError):
        filtered.new_network("spy", "s")
    assert not dists.imported("libnet_spy")
    assert events == ["import libnet_good", "init libnet_good"]


@pytest.mark.parametrize("filtered", FILTERS, indirect=True)
def test_a_filtered_out_plugin_is_listed_as_disabled(
    filtered: libnet.Controller, dists: FakeDists
) -> None:
    assert statuses(filtered, dists) == {
        ("good", "libnet-good"): "not-loaded",
        ("spy", "libnet-spy"): "disabled",
    }


@pytest.mark.parametrize("filtered", FILTERS, indirect=True)
def test_using_a_filtered_out_type_says_it_is_disabled(filtered: libnet.Controller) -> None:
    with pytest.raises(UnknownDriverError, match=r"'spy' is not available: .* is disabled"):
        filtered.new_network("spy", "s")


@pytest.mark.parametrize("filtered", FILTERS, indirect=True)
def test_the_plugin_a_filter_lets_through_works(
    filtered: libnet.Controller, dists: FakeDists
) -> None:
    network = filtered.new_network("good", "g")
    assert network.type == "good"
    assert dists.module("libnet_good").DRIVERS["good"].methods() == ["create_network"]


def test_an_allowed_distribution_matches_after_name_normalisation(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(dists, "libnet-good", "good")
    monkeypatch.setenv("LIBNET_PLUGINS", "Libnet_Good")
    assert statuses(libnet.Controller(), dists) == {("good", "libnet-good"): "not-loaded"}


def test_several_names_are_separated_by_commas(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch
) -> None:
    for dist, name in (("libnet-a", "a"), ("libnet-b", "b"), ("libnet-c", "c")):
        install_plugin(dists, dist, name)
    monkeypatch.setenv("LIBNET_PLUGINS", "a, libnet-c,")
    assert statuses(libnet.Controller(), dists) == {
        ("a", "libnet-a"): "not-loaded",
        ("b", "libnet-b"): "disabled",
        ("c", "libnet-c"): "not-loaded",
    }


def test_an_empty_LIBNET_PLUGINS_loads_no_plugin(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch, events: list[str]
) -> None:
    install_plugin(dists, "libnet-good", "good")
    install_plugin(dists, "libnet-spy", "spy")
    monkeypatch.setenv("LIBNET_PLUGINS", "")
    c = libnet.Controller(plugins="eager")
    assert set(statuses(c, dists).values()) == {"disabled"}
    assert events == []


def test_an_empty_plugins_allow_loads_no_plugin(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-good", "good")
    c = libnet.Controller(plugins="eager", plugins_allow=[])
    assert statuses(c, dists) == {("good", "libnet-good"): "disabled"}
    assert events == []


def test_the_deny_list_wins_over_the_allow_list(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-spy", "spy")
    c = libnet.Controller(plugins="eager", plugins_allow=["spy"], plugins_deny=["libnet-spy"])
    assert statuses(c, dists) == {("spy", "libnet-spy"): "disabled"}
    assert events == []


@pytest.mark.parametrize(
    ("env", "kwargs"),
    [
        ({"LIBNET_PLUGINS": "spy"}, {"plugins_allow": ["good"]}),
        ({"LIBNET_DISABLE_PLUGINS": "good"}, {"plugins_deny": ["spy"]}),
    ],
    ids=["allow", "deny"],
)
def test_a_controller_argument_replaces_the_environment_variable(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kwargs: Any
) -> None:
    install_plugin(dists, "libnet-good", "good")
    install_plugin(dists, "libnet-spy", "spy")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert statuses(libnet.Controller(**kwargs), dists) == {
        ("good", "libnet-good"): "not-loaded",
        ("spy", "libnet-spy"): "disabled",
    }


def test_denying_one_type_of_a_plugin_keeps_its_other_types(dists: FakeDists) -> None:
    module = install_plugin(dists, "libnet-l2", "vlan", "vxlan")
    c = libnet.Controller(plugins_deny=["vxlan"])
    c.new_network("vlan", "v")
    assert statuses(c, dists) == {
        ("vlan", "libnet-l2"): "ok",
        ("vxlan", "libnet-l2"): "disabled",
    }
    assert c._registry.get("vxlan") is None
    with pytest.raises(UnknownDriverError, match="disabled"):
        c.new_network("vxlan", "x")
    assert list(dists.module(module).DRIVERS) == ["vlan", "vxlan"]


def test_each_disabled_entry_point_has_its_own_row(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-aa", "vlan")
    install_plugin(dists, "libnet-zz", "vlan")
    rows = plugin_rows(libnet.Controller(plugins_allow=[]), dists)
    assert sorted((r.distribution, r.status) for r in rows) == [
        ("libnet-aa", "disabled"),
        ("libnet-zz", "disabled"),
    ]


# Lazy and eager loading


def test_first_use_of_a_type_imports_only_its_plugin(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-good", "good")
    install_plugin(dists, "libnet-spy", "spy")
    c = libnet.Controller()
    c.new_network("good", "g")
    assert events == ["import libnet_good", "init libnet_good"]
    assert not dists.imported("libnet_spy")


def test_a_loaded_plugin_is_not_initialised_again_on_later_use(
    dists: FakeDists, events: list[str]
) -> None:
    install_plugin(dists, "libnet-good", "good")
    c = libnet.Controller()
    for name in ("g1", "g2"):
        c.new_network("good", name).create_endpoint("e")
    c.load_plugins()
    assert events == ["import libnet_good", "init libnet_good"]


def test_an_eager_controller_loads_every_plugin_at_start(
    dists: FakeDists, events: list[str]
) -> None:
    install_plugin(dists, "libnet-good", "good")
    install_plugin(dists, "libnet-spy", "spy")
    c = libnet.Controller(plugins="eager")
    assert sorted(events) == sorted(
        ["import libnet_good", "init libnet_good", "import libnet_spy", "init libnet_spy"]
    )
    assert set(statuses(c, dists).values()) == {"ok"}


def test_eager_loading_follows_the_sorted_order(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-b", "beta", site="one")
    install_plugin(dists, "libnet-a", "zeta", site="two")
    install_plugin(dists, "libnet-c", "alpha", site="three")
    libnet.Controller(plugins="eager")
    assert [e for e in events if e.startswith("init")] == [
        "init libnet_c",
        "init libnet_b",
        "init libnet_a",
    ]


def test_load_plugins_loads_every_plugin_now(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-good", "good")
    install_plugin(dists, "libnet-spy", "spy")
    c = libnet.Controller()
    c.load_plugins()
    assert dists.imported("libnet_good")
    assert dists.imported("libnet_spy")
    assert set(statuses(c, dists).values()) == {"ok"}


def test_a_loaded_row_reports_its_capability(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-good", "good")
    c = libnet.Controller()
    assert [r.capability for r in plugin_rows(c, dists)] == [None]
    c.load_plugins()
    assert [r.capability for r in plugin_rows(c, dists)] == [libnet.Capability(libnet.Scope.LOCAL)]


def test_with_plugins_off_no_plugin_is_found(dists: FakeDists, events: list[str]) -> None:
    install_plugin(dists, "libnet-good", "good")
    c = libnet.Controller(plugins="off")
    c.load_plugins()
    assert [r for r in c.drivers() if r.source != "builtin"] == []
    with pytest.raises(UnknownDriverError, match="no driver serves network type 'good'"):
        c.new_network("good", "g")
    assert events == []


def test_an_unknown_loading_mode_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="'lazy', 'eager' or 'off'"):
        libnet.Controller(plugins="sometimes")  # type: ignore[arg-type]


def test_an_unknown_type_names_the_available_ones(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-good", "good")
    with pytest.raises(UnknownDriverError, match=r"'nope' \(available: (.+, )?good, host, null\)"):
        libnet.Controller().new_network("nope", "n")
