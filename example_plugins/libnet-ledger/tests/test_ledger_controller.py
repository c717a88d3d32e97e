"""The ledger driver as a host application meets it: through an installed entry point."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import libnet
import pytest
from libnet.errors import DriverError, InvalidOptionError, UnknownDriverError


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    if not entry_points(group="libnet.drivers", name="ledger"):
        pytest.fail(
            "libnet-ledger is not installed, so no controller can find it: "
            "pip install ./example_plugins/libnet-ledger first"
        )


@pytest.fixture
def controller() -> Iterator[libnet.Controller]:
    with libnet.Controller() as c:
        yield c


def ledger_row(c: libnet.Controller) -> libnet.DriverInfo:
    (row,) = [r for r in c.drivers() if r.name == "ledger"]
    return row


def test_ledger_is_listed_before_it_is_loaded(controller: libnet.Controller) -> None:
    row = ledger_row(controller)
    assert (row.source, row.status, row.distribution) == (
        "entrypoint",
        "not-loaded",
        "libnet-ledger",
    )


def test_eager_loading_registers_ledger_as_a_local_driver() -> None:
    with libnet.Controller(plugins="eager") as c:
        row = ledger_row(c)
    assert row.status == "ok"
    assert row.capability == libnet.Capability(libnet.Scope.LOCAL)


def test_first_use_of_the_network_type_loads_the_plugin(controller: libnet.Controller) -> None:
    network = controller.new_network("ledger", "first-use")
    assert network.type == "ledger"
    assert "libnet_ledger" in sys.modules
    assert ledger_row(controller).status == "ok"


def test_full_lifecycle_through_the_controller(controller: libnet.Controller) -> None:
    network = controller.new_network("ledger", "life")
    endpoint = network.create_endpoint("web")
    sandbox = controller.new_sandbox("container-1")
    endpoint.join(sandbox)
    assert endpoint.driver_info()["joined"] is True
    endpoint.leave(sandbox)
    assert endpoint.driver_info()["joined"] is False
    endpoint.delete()
    network.delete()
    assert controller.networks() == []


def test_endpoint_gets_the_ledger_mac(controller: libnet.Controller) -> None:
    endpoint = controller.new_network("ledger", "macs").create_endpoint("web")
    mac = endpoint.info()["mac_address"]
    assert mac.startswith("02:1e:")
    assert endpoint.driver_info()["mac_address"] == mac


def test_join_names_the_interface_ledger_and_eth(controller: libnet.Controller) -> None:
    endpoint = controller.new_network("ledger", "names").create_endpoint("web")
    endpoint.join(controller.new_sandbox("container-1"))
    info = endpoint.info()
    assert (info["src_name"], info["dst_prefix"]) == ("ledger-" + endpoint.id[:7], "eth")


def test_options_and_labels_reach_the_driver(controller: libnet.Controller) -> None:
    network = controller.new_network(
        "ledger",
        "labelled",
        options={"color": "blue"},
        labels={"team": "red"},
        ipam={"driver": "null"},  # no IPAM address, so the ledger takes the option's
    )
    endpoint = network.create_endpoint("web", options={"ledger.address": "10.0.0.2/24"})
    assert endpoint.driver_info()["network_labels"] == {"team": "red"}
    assert endpoint.info()["address"] == "10.0.0.2/24"


def test_driver_config_reaches_the_plugin() -> None:
    with libnet.Controller(driver_config={"ledger": {"mac_prefix": "0a:bc"}}) as c:
        endpoint = c.new_network("ledger", "configured").create_endpoint("web")
        assert endpoint.info()["mac_address"].startswith("0a:bc:")


def test_bad_driver_config_marks_the_plugin_failed() -> None:
    with libnet.Controller(driver_config={"ledger": {"mac_prefix": "01"}}) as c:
        with pytest.raises(UnknownDriverError, match="mac_prefix"):
            c.new_network("ledger", "broken")
        row = ledger_row(c)
    assert row.status == "failed"
    assert "InvalidOptionError" in (row.error or "")


def test_bad_endpoint_option_fails_cleanly_and_leaves_no_endpoint(
    controller: libnet.Controller,
) -> None:
    network = controller.new_network("ledger", "strict", ipam={"driver": "null"})
    with pytest.raises(DriverError, match=r"ledger\.address") as caught:
        network.create_endpoint("web", options={"ledger.address": "10.0.0.2"})
    assert isinstance(caught.value.__cause__, InvalidOptionError)
    assert network.endpoints() == []


def test_a_restarted_controller_restores_the_ledger_from_its_state(tmp_path: Path) -> None:
    with libnet.Controller(state_dir=tmp_path) as before:
        network = before.new_network("ledger", "kept", labels={"team": "red"})
        endpoint = network.create_endpoint("web")
        sandbox = before.new_sandbox("container-1")
        endpoint.join(sandbox)
        mac = endpoint.info()["mac_address"]
    with libnet.Controller(state_dir=tmp_path) as after:
        network = after.network_by_name("kept")
        endpoint = network.endpoint_by_name("web")
        info = endpoint.driver_info()
        assert (info["restored"], info["mac_address"], info["network_labels"]) == (
            True,
            mac,
            {"team": "red"},
        )
        endpoint.leave(after.sandbox_by_id(sandbox.id))
        endpoint.delete()
        network.delete()
        assert after.networks() == []
