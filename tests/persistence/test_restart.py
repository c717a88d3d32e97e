"""Restart: a new Controller on the same state directory finds everything and can use it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import libnet
from libnet import labels
from libnet.errors import ForbiddenError

from ._support import KEY, REC, RecorderDriver, check_consistent, dump, open_controller

Opened = tuple[libnet.Controller, RecorderDriver]


@dataclass
class Before:
    """What the first controller made, as it saw it, before it was closed."""

    state_dir: Path
    network: dict[str, object]
    web: dict[str, object]
    idle: dict[str, object]
    sandbox: dict[str, object]
    driver: RecorderDriver


@pytest.fixture
def before(tmp_path: Path) -> Before:
    """Network ``alpha`` with endpoint ``web`` joined to sandbox ``ctr-1`` and ``idle``."""
    controller, driver = open_controller(tmp_path)
    with controller:
        net = controller.new_network(
            REC,
            "alpha",
            options={"mtu": 1400, "mode": "test"},
            labels={"team": "blue"},
            internal=True,
            enable_ipv6=True,
        )
        web = net.create_endpoint("web", options={"port": 80})
        idle = net.create_endpoint("idle")
        sandbox = controller.new_sandbox("ctr-1", key=KEY)
        web.join(sandbox, options={"alias": "www"})
        return Before(
            tmp_path,
            net.to_dict(),
            web.to_dict(),
            idle.to_dict(),
            sandbox.to_dict(),
            driver,
        )


@pytest.fixture
def after(before: Before) -> Iterator[Opened]:
    """A second controller, with a fresh driver, on the same state directory."""
    controller, driver = open_controller(before.state_dir)
    with controller:
        yield controller, driver


def test_restart_keeps_network_attributes(before: Before, after: Opened) -> None:
    controller, _ = after
    net = controller.network("alpha")
    assert net.id == before.network["id"]
    assert (net.name, net.type, net.scope) == ("alpha", REC, "local")
    assert dict(net.options) == {"mtu": 1400, "mode": "test"}
    assert dict(net.labels) == {"team": "blue"}
    assert (net.internal, net.enable_ipv6) == (True, True)
    assert net.created == before.network["created"]
    assert net.status == "ok"
    assert net.to_dict() == before.network


def test_restart_keeps_endpoints_with_their_interfaces(before: Before, after: Opened) -> None:
    controller, _ = after
    net = controller.network("alpha")
    assert [ep.name for ep in net.endpoints()] == ["idle", "web"]
    web = net.endpoint("web")
    assert web.to_dict() == before.web
    assert web.info()["address"] == before.web["address"] is not None
    assert dict(web.options) == {"port": 80}
    assert net.endpoint("idle").to_dict() == before.idle


def test_restart_keeps_sandboxes_and_joins(before: Before, after: Opened) -> None:
    controller, _ = after
    sandbox = controller.sandbox("ctr-1")
    web = controller.network("alpha").endpoint("web")
    assert sandbox.to_dict() == before.sandbox
    assert (sandbox.key, sandbox.created) == (KEY, before.sandbox["created"])
    assert sandbox.endpoints() == [web]
    assert web.info()["sandbox"] == sandbox.id == web.sandbox_id
    assert web.info()["gateway"] == "10.0.0.1"
    assert controller.network("alpha").endpoint("idle").info()["sandbox"] is None


def test_restart_leaves_the_state_unchanged(before: Before) -> None:
    first, _ = open_controller(before.state_dir)
    with first:
        state = dump(first._store)
    second, _ = open_controller(before.state_dir)
    with second:
        assert dump(second._store) == state
        check_consistent(second._store)


def test_restart_objects_are_usable(before: Before, after: Opened) -> None:
    controller, _ = after
    net = controller.network("alpha")
    web, idle = net.endpoint("web"), net.endpoint("idle")
    sandbox = controller.sandbox("ctr-1")
    web.leave(sandbox)
    idle.join(sandbox)
    assert sandbox.endpoints() == [idle]
    assert web.driver_info() == idle.driver_info()
    idle.leave(sandbox)
    web.delete()
    idle.delete()
    sandbox.delete()
    net.delete()
    assert controller.networks() == [] and controller.sandboxes() == []
    # Only the IPAM driver's lasting records (such as its IPv6 prefix) may remain.
    assert [p.key for p in dump(controller._store) if not p.key.startswith("ipam/")] == []


def test_restart_allows_creating_more_objects(before: Before, after: Opened) -> None:
    controller, _ = after
    net = controller.network("alpha")
    extra = net.create_endpoint("extra")
    other = controller.new_network(REC, "beta")
    box = controller.new_sandbox("ctr-2")
    extra.join(box)
    other.create_endpoint("b1").join(box)
    assert [n.name for n in controller.networks()] == ["alpha", "beta"]
    assert [ep.name for ep in box.endpoints()] == ["extra", "b1"]
    with pytest.raises(libnet.NetworkExistsError):
        controller.new_network(REC, "alpha")
    check_consistent(controller._store)


def test_restart_reads_call_no_driver(before: Before, after: Opened) -> None:
    controller, driver = after
    for net in controller.networks():
        net.to_dict()
        for ep in net.endpoints():
            ep.to_dict()
    for sandbox in controller.sandboxes():
        sandbox.to_dict()
    assert driver.calls == []


def test_restore_runs_once_per_object_before_any_other_call(before: Before, after: Opened) -> None:
    controller, driver = after
    nid, web_id = str(before.network["id"]), str(before.web["id"])
    net = controller.network("alpha")
    web = net.endpoint("web")
    sandbox = controller.sandbox("ctr-1")
    web.leave(sandbox)
    web.join(sandbox)
    web.driver_info()
    web.leave(sandbox)
    web.delete()
    net.endpoint("idle").delete()
    net.delete()
    assert driver.calls[:2] == [("restore_network", nid), ("restore_endpoint", web_id)]
    assert driver.methods(nid) == ["restore_network", "delete_network"]
    assert driver.methods(web_id) == [
        "restore_endpoint",
        "revoke_external_connectivity",
        "leave",
        "join",
        "program_external_connectivity",
        "endpoint_oper_info",
        "revoke_external_connectivity",
        "leave",
        "delete_endpoint",
    ]
    assert driver.methods(str(before.idle["id"])) == ["restore_endpoint", "delete_endpoint"]


def test_restore_is_given_the_stored_network_and_endpoint(before: Before, after: Opened) -> None:
    controller, driver = after
    nid, web_id = str(before.network["id"]), str(before.web["id"])
    controller.network("alpha").endpoint("web").driver_info()
    assert driver.args[("restore_network", nid)] == (
        {
            labels.GENERIC: {"mtu": 1400, "mode": "test"},
            labels.ENABLE_IPV6: True,
            labels.INTERNAL: True,
            labels.NETWORK_LABELS: {"team": "blue"},
        },
    )
    iface = {k: before.web[k] for k in ("mac_address", "address", "address_ipv6")}
    assert driver.args[("restore_endpoint", web_id)] == (nid, iface, {"port": 80})


def test_restore_is_not_called_for_objects_made_in_this_process(
    before: Before, after: Opened
) -> None:
    controller, driver = after
    net = controller.new_network(REC, "beta")
    ep = net.create_endpoint("b1")
    box = controller.new_sandbox("ctr-2")
    ep.join(box)
    ep.leave(box)
    ep.delete()
    net.delete()
    assert driver.methods(net.id) == ["create_network", "delete_network"]
    assert driver.methods(ep.id)[0] == "create_endpoint"
    assert "restore_endpoint" not in driver.methods(ep.id)
    # Creating "beta" told the driver about the other network of its type, and only that.
    restored = [key for method, key in driver.calls if method.startswith("restore")]
    assert restored == [before.network["id"]]


def test_the_first_process_restores_nothing(before: Before) -> None:
    assert not [call for call in before.driver.calls if call[0].startswith("restore")]


def test_restore_failure_fails_the_operation_and_is_retried(before: Before) -> None:
    driver = RecorderDriver(fail={"restore_network": 0})
    controller, _ = open_controller(before.state_dir, driver)
    with controller:
        state = dump(controller._store)
        web = controller.network("alpha").endpoint("web")
        with pytest.raises(libnet.DriverError, match="restore_network"):
            web.leave(controller.sandbox("ctr-1"))
        assert dump(controller._store) == state
        driver.fail.clear()
        web.leave(controller.sandbox("ctr-1"))
        assert [m for m, _ in driver.calls].count("restore_network") == 2
        assert web.sandbox_id is None


class CreatingDriver(RecorderDriver):
    """A driver that keeps the Driver base class's restore methods."""

    restore_network = libnet.Driver.restore_network
    restore_endpoint = libnet.Driver.restore_endpoint


def test_default_restore_creates_the_objects_again(before: Before) -> None:
    controller, driver = open_controller(before.state_dir, CreatingDriver())
    with controller:
        web = controller.network("alpha").endpoint("web")
        web.leave(controller.sandbox("ctr-1"))
        nid, eid = str(before.network["id"]), str(before.web["id"])
        assert driver.calls[:2] == [("create_network", nid), ("create_endpoint", eid)]
        assert web.info()["address"] == before.web["address"]


def test_restart_keeps_a_single_network_driver_single(tmp_path: Path) -> None:
    with libnet.Controller(state_dir=tmp_path, plugins="off") as controller:
        controller.new_network("null", "none")
    with libnet.Controller(state_dir=tmp_path, plugins="off") as controller:
        with pytest.raises(ForbiddenError, match="only one network"):
            controller.new_network("null", "other")
        assert [n.name for n in controller.networks()] == ["none"]
        controller.network("none").delete()
        controller.new_network("null", "other")


def test_memory_controllers_share_nothing() -> None:
    with libnet.Controller() as first:
        first.new_network("null", "none")
    with libnet.Controller() as second:
        assert second.networks() == []


def test_a_network_deleted_by_another_controller_is_forgotten_by_this_ones_driver(
    tmp_path: Path,
) -> None:
    first = libnet.Controller(state_dir=tmp_path)
    second = libnet.Controller(state_dir=tmp_path)
    with first, second:
        first.new_network("null", "none")
        second.network("none").create_endpoint("e").delete()  # second's driver restores it
        first.network("none").delete()
        # second's null driver held the deleted network and would refuse another one.
        assert second.new_network("null", "other").type == "null"
        with pytest.raises(ForbiddenError, match="only one network of type 'null'"):
            first.new_network("null", "third")
