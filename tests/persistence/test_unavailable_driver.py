"""A network whose driver is not installed in this process: listed, unusable, removable.

A child process with the ``rec`` driver creates network ``alpha`` with endpoints ``web``
(joined to sandbox ``ctr-1``) and ``idle``; this process, which has no such driver,
opens a copy of that state directory in each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import libnet
from libnet.errors import ActiveEndpointsError, UnknownDriverError

from ._support import REC, check_consistent, copy_state, dump, open_controller, run_worker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("made-elsewhere")
    return state_dir, run_worker("create", str(state_dir))


@pytest.fixture
def made(template: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return template[1]


@pytest.fixture
def controller(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> Iterator[libnet.Controller]:
    """A controller without the ``rec`` driver on a copy of the state the child made."""
    with libnet.Controller(state_dir=copy_state(template[0], tmp_path), plugins="off") as c:
        yield c


def test_network_is_listed_as_unavailable(controller: libnet.Controller) -> None:
    (net,) = controller.networks()
    assert (net.name, net.type, net.status) == ("alpha", REC, "unavailable")
    assert net.to_dict()["status"] == "unavailable"
    assert not controller.driver_available(REC)


def test_its_endpoints_and_joins_are_still_listed(
    controller: libnet.Controller, made: dict[str, Any]
) -> None:
    net = controller.network("alpha")
    assert [ep.name for ep in net.endpoints()] == ["idle", "web"]
    assert net.endpoint("web").info()["sandbox"] == made["sandbox"]
    assert [ep.id for ep in controller.sandbox("ctr-1").endpoints()] == [made["web"]]


def test_delete_without_force_names_the_fix(controller: libnet.Controller) -> None:
    net = controller.network("alpha")
    state = dump(controller._store)
    with pytest.raises(UnknownDriverError) as caught:
        net.delete()
    message = str(caught.value)
    assert "alpha" in message and REC in message and "delete(forget=True)" in message
    assert dump(controller._store) == state


def test_delete_without_force_is_refused_even_without_endpoints(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    state_dir = copy_state(template[0], tmp_path)
    with_driver, _ = open_controller(state_dir)
    with with_driver:
        net = with_driver.network("alpha")
        for ep in net.endpoints():
            ep.delete(force=True)
    with libnet.Controller(state_dir=state_dir, plugins="off") as controller:
        state = dump(controller._store)
        with pytest.raises(UnknownDriverError, match="forget"):
            controller.network("alpha").delete()
        assert dump(controller._store) == state


def test_delete_with_force_removes_network_and_endpoints(controller: libnet.Controller) -> None:
    controller.network("alpha").delete(force=True)
    assert controller.networks() == []
    sandbox = controller.sandbox("ctr-1")
    assert sandbox.endpoints() == []
    snap = check_consistent(controller._store)
    assert (len(snap.networks), len(snap.endpoints), len(snap.sandboxes)) == (0, 0, 1)
    sandbox.delete()
    assert dump(controller._store) == []


@pytest.mark.parametrize("operation", ["create_endpoint", "join", "leave", "delete_endpoint"])
def test_driver_operations_raise_unknown_driver_and_change_nothing(
    controller: libnet.Controller, operation: str
) -> None:
    net = controller.network("alpha")
    sandbox = controller.sandbox("ctr-1")
    calls: dict[str, Callable[[], object]] = {
        "create_endpoint": lambda: net.create_endpoint("new"),
        "join": lambda: net.endpoint("idle").join(sandbox),
        "leave": lambda: net.endpoint("web").leave(sandbox),
        "delete_endpoint": lambda: net.endpoint("idle").delete(),
    }
    state = dump(controller._store)
    with pytest.raises(UnknownDriverError, match=REC):
        calls[operation]()
    assert dump(controller._store) == state


def test_network_works_again_once_its_driver_is_back(
    template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    state_dir = copy_state(template[0], tmp_path)
    with libnet.Controller(state_dir=state_dir, plugins="off") as controller:
        assert controller.network("alpha").status == "unavailable"
    controller, driver = open_controller(state_dir)
    with controller:
        net = controller.network("alpha")
        assert net.status == "ok"
        net.delete(force=True)
        assert [m for m, _ in driver.calls][:1] == ["restore_network"]
        assert controller.networks() == []


def test_delete_keywords_ask_for_each_part_of_force(controller: libnet.Controller) -> None:
    net = controller.network("alpha")  # endpoints idle and web, web joined
    with pytest.raises(ActiveEndpointsError, match=r"active endpoints \(idle, web\)"):
        net.delete(forget=True)
    with pytest.raises(ActiveEndpointsError, match=r"joined to sandboxes \(web\)"):
        net.delete(forget=True, endpoints=True)
    assert [ep.name for ep in net.endpoints()] == ["idle", "web"]  # nothing removed
    net.delete(forget=True, endpoints=True, leave_joined=True)
    assert controller.networks() == []
