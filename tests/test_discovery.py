"""Finding plugins: entry points read without import, in a fixed order, filtered before import,
and loaded lazily on first use (or all at once when asked)."""

from __future__ import annotations

import logging
import re
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


# Two distributions advertising one type: a conflict, settled only by the user


def test_two_distributions_advertising_one_type_neither_serves_it(
    dists: FakeDists, events: list[str]
) -> None:
    install_plugin(dists, "libnet-zz", "vlan", site="one")
    install_plugin(dists, "libnet-aa", "vlan", site="two")
    c = libnet.Controller()
    with pytest.raises(UnknownDriverError) as info:
        c.new_network("vlan", "v")
    message = str(info.value)
    assert "libnet-aa" in message and "libnet-zz" in message
    assert "LIBNET_PLUGINS" in message and "LIBNET_DISABLE_PLUGINS" in message
    assert events == []
    assert c.networks() == []


def test_both_sides_of_a_conflict_are_listed_as_conflict(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-aa", "vlan")
    install_plugin(dists, "libnet-zz", "vlan")
    c = libnet.Controller()
    c.load_plugins()
    rows = {r.distribution: r for r in plugin_rows(c, dists)}
    assert {d: r.status for d, r in rows.items()} == {
        "libnet-aa": "conflict",
        "libnet-zz": "conflict",
    }
    assert "libnet-zz" in (rows["libnet-aa"].error or "")
    assert "libnet-aa" in (rows["libnet-zz"].error or "")


def test_a_conflict_leaves_the_other_types_of_both_distributions_working(
    dists: FakeDists, events: list[str]
) -> None:
    install_plugin(dists, "libnet-aa", "vlan", "alpha")
    install_plugin(dists, "libnet-zz", "vlan", "zeta")
    c = libnet.Controller()
    c.new_network("alpha", "a")
    c.new_network("zeta", "z")
    assert statuses(c, dists) == {
        ("alpha", "libnet-aa"): "ok",
        ("zeta", "libnet-zz"): "ok",
        ("vlan", "libnet-aa"): "conflict",
        ("vlan", "libnet-zz"): "conflict",
    }
    with pytest.raises(UnknownDriverError, match="libnet-aa"):
        c.new_network("vlan", "v")


CHOICES = [
    pytest.param(({"LIBNET_PLUGINS": "libnet-zz"}, {}), id="LIBNET_PLUGINS"),
    pytest.param(({}, {"plugins_allow": ["libnet-zz"]}), id="plugins_allow"),
    pytest.param(({"LIBNET_DISABLE_PLUGINS": "libnet-aa"}, {}), id="LIBNET_DISABLE_PLUGINS"),
    pytest.param(({}, {"plugins_deny": ["libnet-aa"]}), id="plugins_deny"),
]


@pytest.mark.parametrize("choice", CHOICES)
def test_an_allow_or_deny_entry_picks_the_winner_of_a_conflict(
    choice: tuple[dict[str, str], dict[str, Any]],
    dists: FakeDists,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, kwargs = choice
    install_plugin(dists, "libnet-aa", "vlan")
    winner = install_plugin(dists, "libnet-zz", "vlan")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    c = libnet.Controller(**kwargs)
    c.new_network("vlan", "v")
    assert list(dists.module(winner).DRIVERS) == ["vlan"]
    assert not dists.imported("libnet_aa")
    assert statuses(c, dists)[("vlan", "libnet-zz")] == "ok"


def test_a_conflict_is_logged_as_a_warning_naming_both(
    dists: FakeDists, caplog: pytest.LogCaptureFixture
) -> None:
    install_plugin(dists, "libnet-aa", "vlan")
    install_plugin(dists, "libnet-zz", "vlan")
    with caplog.at_level(logging.WARNING, logger="libnet.plugins"):
        libnet.Controller()
    (message,) = [r.getMessage() for r in caplog.records if r.name == "libnet.plugins"]
    assert "libnet-aa" in message and "libnet-zz" in message


def test_a_conflict_is_fatal_in_strict_mode(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-aa", "vlan")
    install_plugin(dists, "libnet-zz", "vlan")
    with pytest.raises(libnet.PluginLoadError, match="libnet-zz"):
        libnet.Controller(strict_plugins=True)


def test_an_ipam_type_advertised_twice_is_a_conflict_too(dists: FakeDists) -> None:
    for dist in ("libnet-aa", "libnet-zz"):
        dists.install(
            dist, entry_points={"pools": f"{dist.replace('-', '_')}"}, group="libnet.ipam"
        )
    c = libnet.Controller()
    rows = [r for r in c.ipam_drivers() if r.distribution in dists.names]
    assert {(r.name, r.distribution, r.status) for r in rows} == {
        ("pools", "libnet-aa", "conflict"),
        ("pools", "libnet-zz", "conflict"),
    }
    with pytest.raises(UnknownDriverError, match=r"libnet-aa.*libnet-zz"):
        c.new_network("null", "n", ipam={"driver": "pools"})


# The version gate: a plugin's Requires-Dist on libnet, checked before import


def test_a_plugin_requiring_another_libnet_is_skipped_before_import(
    dists: FakeDists, events: list[str]
) -> None:
    install_plugin(dists, "libnet-future", "future", requires=("libnet>=2,<3",))
    c = libnet.Controller()
    expected = f"requires libnet>=2,<3; this is {libnet.__version__}"
    with pytest.raises(UnknownDriverError, match=re.escape(expected)):
        c.new_network("future", "f")
    assert not dists.imported("libnet_future")
    assert events == []
    (row,) = plugin_rows(c, dists)
    assert (row.status, row.error) == ("failed", expected)


def test_a_version_mismatch_is_fatal_in_strict_mode(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-future", "future", requires=("libnet>=2",))
    c = libnet.Controller(strict_plugins=True)
    with pytest.raises(libnet.PluginLoadError, match="requires libnet>=2; this is"):
        c.load_plugins()


@pytest.mark.parametrize(
    "requires",
    [
        (),
        ("libnet>=0.1,<0.2",),
        ("Libnet_>=0.1",),
        ("pluggy>=1", "libnet"),
        ('libnet>=9; extra == "docs"',),
        ("libnet>=9; python_version < '3'",),
    ],
    ids=["none", "matching", "normalised-name", "unversioned", "extra", "marker"],
)
def test_a_plugin_whose_requirement_holds_is_loaded(
    dists: FakeDists, requires: tuple[str, ...]
) -> None:
    install_plugin(dists, "libnet-now", "now", requires=requires)
    c = libnet.Controller()
    assert c.new_network("now", "n").type == "now"


def test_the_scaffolds_requirement_admits_this_libnet(dists: FakeDists) -> None:
    from libnet.driverapi import DRIVER_API_REQUIREMENT

    install_plugin(dists, "libnet-now", "now", requires=(DRIVER_API_REQUIREMENT,))
    assert libnet.Controller().new_network("now", "n").type == "now"
    assert libnet.DRIVER_API_VERSION == (0, 1)


def test_an_invalid_requirement_is_a_failure_naming_it(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-odd", "odd", requires=("libnet >= = 1",))
    c = libnet.Controller()
    with pytest.raises(UnknownDriverError, match="not a valid requirement"):
        c.new_network("odd", "o")


def test_requirements_are_read_once_per_distribution(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch
) -> None:
    from libnet.drivers.remote import installed

    install_plugin(dists, "libnet-many", "one", "two", "three", requires=("libnet>=0.1",))
    reads: list[str | None] = []
    real = installed._head

    def counting(text: str) -> Any:
        head = real(text)
        reads.append(head[0])
        return head

    monkeypatch.setattr(installed, "_head", counting)
    specs = [s for s in discover(DRIVER_GROUP).specs if s.distribution in dists.names]
    assert [s.requires for s in specs] == [("libnet>=0.1",)] * 3
    assert reads.count("libnet-many") == 1


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
    with pytest.raises(
        UnknownDriverError, match=r"'nope' \(available: (.+, )?good, host, null, overlay\)"
    ):
        libnet.Controller().new_network("nope", "n")
