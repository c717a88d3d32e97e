"""All or nothing through SQLite: a driver failing mid-operation leaves the file as it was.

The state: network ``alpha`` with endpoints ``web`` and ``db`` joined to sandbox ``ctr-1``
and ``idle`` joined to nothing. Each case makes one driver method fail (after ``after``
successful calls of it), runs one operation, and compares every key, value and index,
read through the controller's store and through a fresh connection to the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import libnet
from libnet.store import SqliteStore, Store

from ._support import REC, RecorderDriver, check_consistent, dump, open_controller


@dataclass
class World:
    controller: libnet.Controller
    driver: RecorderDriver
    state_dir: Path

    @property
    def net(self) -> libnet.Network:
        return self.controller.network("alpha")

    @property
    def box(self) -> libnet.Sandbox:
        return self.controller.sandbox("ctr-1")

    def ep(self, name: str) -> libnet.Endpoint:
        return self.net.endpoint(name)

    def on_disk(self) -> list[tuple[str, bytes]]:
        with SqliteStore(self.state_dir) as store:
            return content(store)


def content(store: Store) -> list[tuple[str, bytes]]:
    """Every key and value: the state. Indices are left out, because the built-in IPAM
    commits an allocation (recorded in the operation's intent) before the driver runs,
    and a failed operation releases it in a transaction of its own: the values come back,
    under new indices, and the allocator's change stamps (``heads``) move on."""
    return [(pair.key, pair.value) for pair in dump(store) if not pair.key.startswith(HEADS)]


HEADS = "ipam/default/heads/"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    controller, driver = open_controller(tmp_path)
    with controller:
        net = controller.new_network(REC, "alpha", options={"mtu": 1400})
        box = controller.new_sandbox("ctr-1")
        net.create_endpoint("web").join(box, options={"alias": "www"})
        net.create_endpoint("db").join(box)
        net.create_endpoint("idle")
        driver.calls.clear()
        yield World(controller, driver, tmp_path)


OPERATIONS: dict[str, tuple[str, int, Callable[[World], object]]] = {
    # case: (failing driver method, calls that succeed first, operation)
    "create network": ("create_network", 0, lambda w: w.controller.new_network(REC, "beta")),
    "create endpoint": ("create_endpoint", 0, lambda w: w.net.create_endpoint("new")),
    "join": ("join", 0, lambda w: w.ep("idle").join(w.box)),
    "join, connectivity": (
        "program_external_connectivity",
        0,
        lambda w: w.ep("idle").join(w.box),
    ),
    "leave": ("leave", 0, lambda w: w.ep("web").leave(w.box)),
    "leave, connectivity": (
        "revoke_external_connectivity",
        0,
        lambda w: w.ep("web").leave(w.box),
    ),
    "delete endpoint": ("delete_endpoint", 0, lambda w: w.ep("idle").delete()),
    "delete joined endpoint with force": (
        "delete_endpoint",
        0,
        lambda w: w.ep("web").delete(force=True),
    ),
    "delete network with force": ("delete_network", 0, lambda w: w.net.delete(force=True)),
    "delete network, second endpoint": (
        "delete_endpoint",
        1,
        lambda w: w.net.delete(force=True),
    ),
    "delete sandbox, second leave": ("leave", 1, lambda w: w.box.delete()),
}


@pytest.mark.parametrize("case", list(OPERATIONS))
def test_driver_failure_leaves_the_state_file_unchanged(world: World, case: str) -> None:
    method, after, operation = OPERATIONS[case]
    before, on_disk = content(world.controller._store), world.on_disk()
    world.driver.fail[method] = after
    with pytest.raises(libnet.DriverError, match=method):
        operation(world)
    assert world.driver.fail[method] == 0, "the failing call was not reached"
    assert content(world.controller._store) == before
    assert world.on_disk() == on_disk == before


@pytest.mark.parametrize("case", list(OPERATIONS))
def test_operation_succeeds_when_retried_after_a_driver_failure(world: World, case: str) -> None:
    method, after, operation = OPERATIONS[case]
    world.driver.fail[method] = after
    with pytest.raises(libnet.DriverError):
        operation(world)
    del world.driver.fail[method]
    before = dump(world.controller._store)
    operation(world)
    assert dump(world.controller._store) != before
    check_consistent(world.controller._store)


def test_interrupt_in_a_driver_call_rolls_back_too(world: World) -> None:
    before = content(world.controller._store)
    world.driver.error = KeyboardInterrupt
    world.driver.fail["program_external_connectivity"] = 0
    with pytest.raises(KeyboardInterrupt):
        world.ep("idle").join(world.box)
    assert world.on_disk() == content(world.controller._store) == before
    assert world.driver.calls[-1][0] == "leave"  # the join was undone


def test_failed_join_is_undone_in_the_driver(world: World) -> None:
    idle = world.ep("idle")
    world.driver.fail["program_external_connectivity"] = 0
    with pytest.raises(libnet.DriverError):
        idle.join(world.box)
    assert world.driver.methods(idle.id) == ["join", "program_external_connectivity", "leave"]


def test_failed_sandbox_delete_rejoins_the_endpoints_that_left(world: World) -> None:
    web, db = world.ep("web"), world.ep("db")
    world.driver.fail["leave"] = 1  # db (joined last) leaves first; web's leave fails
    with pytest.raises(libnet.DriverError):
        world.box.delete()
    assert world.driver.methods(db.id) == [
        "revoke_external_connectivity",
        "leave",
        "join",
        "program_external_connectivity",
    ]
    assert world.box.endpoints() == [web, db]


def test_failed_network_create_leaves_nothing_in_a_new_controller(world: World) -> None:
    world.driver.fail["create_network"] = 0
    with pytest.raises(libnet.DriverError):
        world.controller.new_network(REC, "beta")
    reopened, _ = open_controller(world.state_dir)
    with reopened:
        assert [n.name for n in reopened.networks()] == ["alpha"]
