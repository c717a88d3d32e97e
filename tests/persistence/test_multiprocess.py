"""Controllers in separate processes on one state directory see each other's changes."""

from __future__ import annotations

from pathlib import Path

import pytest

import libnet
from libnet.errors import SandboxExistsError

from ._support import KEY, REC, check_consistent, dump, open_controller, run_worker

pytestmark = pytest.mark.slow


def test_process_b_sees_and_removes_what_process_a_created(tmp_path: Path) -> None:
    made = run_worker("create", str(tmp_path))
    used = run_worker("use", str(tmp_path))
    seen = used["seen"]
    assert seen["networks"] == ["alpha"]
    assert seen["endpoints"] == ["idle", "web"]
    assert seen["sandbox_endpoints"] == [made["web"]]
    assert seen["web_sandbox"] == made["sandbox"]
    assert seen["options"] == {"mtu": 1400}
    with libnet.Controller(state_dir=tmp_path, plugins="off") as controller:
        assert dump(controller._store) == []


def test_process_b_restores_before_using_what_process_a_created(tmp_path: Path) -> None:
    made = run_worker("create", str(tmp_path))
    calls = [tuple(call) for call in run_worker("use", str(tmp_path))["calls"]]
    assert calls[:2] == [("restore_network", made["network"]), ("restore_endpoint", made["web"])]
    assert [c for c in calls if c[0].startswith("create")] == []
    assert ("restore_endpoint", made["idle"]) in calls


def test_open_controller_sees_other_process_changes_without_reopening(tmp_path: Path) -> None:
    controller, _ = open_controller(tmp_path)
    with controller:
        assert controller.networks() == []
        made = run_worker("create", str(tmp_path))
        net = controller.network("alpha")
        assert net.id == made["network"]
        assert controller.sandbox("ctr-1").endpoints() == [net.endpoint("web")]
        run_worker("use", str(tmp_path))
        assert controller.networks() == [] and controller.sandboxes() == []
        with pytest.raises(libnet.NetworkNotFoundError):
            net.create_endpoint("late")


def test_other_process_uses_what_this_process_created(tmp_path: Path) -> None:
    controller, driver = open_controller(tmp_path)
    with controller:
        net = controller.new_network(
            REC, "alpha", options={"mtu": 1400}, labels={"team": "blue"}, internal=True
        )
        web = net.create_endpoint("web", options={"port": 80})
        net.create_endpoint("idle")
        sandbox = controller.new_sandbox("ctr-1", key=KEY)
        web.join(sandbox)
        seen = run_worker("use", str(tmp_path))["seen"]
        assert seen["web_sandbox"] == sandbox.id
        assert controller.networks() == []
        # The same name can be used again here once the other process removed it.
        again = controller.new_network(REC, "alpha")
        assert again.id != net.id
        check_consistent(controller._store)
    assert [m for m, _ in driver.calls].count("create_network") == 2


def test_name_taken_in_another_process_is_refused_here(tmp_path: Path) -> None:
    controller, _ = open_controller(tmp_path)
    with controller:
        run_worker("create", str(tmp_path))
        with pytest.raises(libnet.NetworkExistsError):
            controller.new_network(REC, "alpha")
        with pytest.raises(SandboxExistsError, match="ctr-1"):
            controller.new_sandbox("ctr-1")
