"""Object locks and intents between processes: a hung plugin blocks only its own network,
a name being created is reserved, a process killed mid-operation is rolled back at the
next start, and a controller brings its drivers in step with other processes' changes.

The other process is :mod:`persistence._locks_worker`, whose driver hangs inside
``create_network`` / ``create_endpoint`` until the test releases it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import libnet
from libnet._intents import intents
from libnet.errors import LockTimeoutError, NetworkExistsError, NetworkNotFoundError
from libnet.store import SqliteStore

from ._locks_worker import HOLD, HoldingDriver, open_controller
from ._support import WORKER_TIMEOUT, worker_env

pytestmark = pytest.mark.slow


class Hang:
    """A worker process hanging inside a driver call until :meth:`release`."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.dir = tmp_path / f"hang-{len(list(tmp_path.iterdir()))}"
        self.dir.mkdir()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "persistence._locks_worker", *args, str(self.dir)],
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + WORKER_TIMEOUT
        while not (self.dir / "entered").exists():
            assert self.proc.poll() is None, f"worker ended early: {self.proc.communicate()}"
            assert time.monotonic() < deadline, "the worker never reached the driver call"
            time.sleep(0.01)

    @property
    def hanging(self) -> bool:
        return self.proc.poll() is None and not (self.dir / "release").exists()

    def release(self) -> dict[str, object]:
        (self.dir / "release").touch()
        out, err = self.proc.communicate(timeout=WORKER_TIMEOUT)
        assert self.proc.returncode == 0, err
        result: dict[str, object] = json.loads(out.splitlines()[-1])
        return result

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=WORKER_TIMEOUT)


def run(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "persistence._locks_worker", *args],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def ctl(state: Path) -> Iterator[tuple[libnet.Controller, HoldingDriver]]:
    controller, driver = open_controller(str(state))
    with controller:
        yield controller, driver


def test_a_hung_plugin_delays_no_operation_on_other_networks(tmp_path: Path, state: Path) -> None:
    hang = Hang(tmp_path, "create-network", str(state), "stuck")
    # Short waits: a store-wide lock held by the hung call would fail each operation.
    controller = libnet.Controller(store=SqliteStore(state, timeout=1.0), plugins="off")
    controller.register_driver(HOLD, HoldingDriver(), libnet.Capability(libnet.Scope.LOCAL))
    done = 0
    with controller:
        for i in range(10):
            net = controller.new_network(HOLD, f"other-{i}")
            ep = net.create_endpoint("ep")
            sandbox = controller.new_sandbox(f"ctr-{i}")
            ep.join(sandbox)
            sandbox.delete()
            net.delete(force=True) if i % 2 else None
            done += 6 if i % 2 else 5
        assert hang.hanging, "the hung call ended before the other operations did"
        assert done == 55
        assert sorted(n.name for n in controller.networks()) == [
            f"other-{i}" for i in (0, 2, 4, 6, 8)
        ]
        result = hang.release()
        assert "error" not in result
        assert controller.network("stuck").id == result["id"]


def test_a_lock_held_too_long_names_the_object_and_its_holder(
    tmp_path: Path, state: Path, ctl: tuple[libnet.Controller, HoldingDriver]
) -> None:
    ctl[0].new_network(HOLD, "busy")
    hang = Hang(tmp_path, "create-endpoint", str(state), "busy", "slow")
    controller = libnet.Controller(store=SqliteStore(state, timeout=0.3), plugins="off")
    controller.register_driver(HOLD, HoldingDriver(), libnet.Capability(libnet.Scope.LOCAL))
    with controller, pytest.raises(LockTimeoutError) as caught:
        controller.network("busy").create_endpoint("other")
    message = str(caught.value)
    assert "network 'busy' is busy" in message
    assert f"process {hang.proc.pid} (" in message and "_locks_worker" in message
    assert caught.value.retryable if hasattr(caught.value, "retryable") else True
    assert "error" not in hang.release()


def test_two_processes_creating_one_name_give_one_success(
    tmp_path: Path, state: Path, ctl: tuple[libnet.Controller, HoldingDriver]
) -> None:
    hang = Hang(tmp_path, "create-network", str(state), "dup")
    controller, driver = ctl
    # The second create waits for the first (its name is reserved), then sees it exists.
    timer = threading.Timer(0.5, lambda: (hang.dir / "release").touch())
    timer.start()
    with pytest.raises(NetworkExistsError, match="already exists; choose another"):
        controller.new_network(HOLD, "dup")
    timer.join()
    assert driver.calls == []  # refused before any driver call
    assert "error" not in hang.release()
    assert [n.name for n in controller.networks()] == ["dup"]


def test_a_create_waiting_for_a_hung_one_of_its_name_says_who_holds_it(
    tmp_path: Path, state: Path
) -> None:
    hang = Hang(tmp_path, "create-network", str(state), "dup")
    controller = libnet.Controller(store=SqliteStore(state, timeout=0.3), plugins="off")
    controller.register_driver(HOLD, HoldingDriver(), libnet.Capability(libnet.Scope.LOCAL))
    with (
        controller,
        pytest.raises(LockTimeoutError, match=f"network 'dup' is busy: process {hang.proc.pid} "),
    ):
        controller.new_network(HOLD, "dup")
    assert "error" not in hang.release()


def test_a_network_create_killed_mid_call_is_rolled_back_at_the_next_start(
    tmp_path: Path, state: Path
) -> None:
    hang = Hang(tmp_path, "create-network", str(state), "killed")
    with SqliteStore(state) as store:
        (intent,) = intents(store)
    assert intent.pid == hang.proc.pid
    pools = [step[3] for step in intent.undo if step[:3] == ["ipam", "default", "release_pool"]]
    (network_step,) = [step for step in intent.undo if step[0] == "network"]
    assert len(pools) == 1
    hang.kill()

    controller, driver = open_controller(str(state))
    with controller:
        assert [n.name for n in controller.networks()] == []  # never committed
        after = controller.new_network(HOLD, "after")  # the first operation recovers
        assert intents(controller.store) == []
        # The pool is free again: the next network gets the same one.
        assert after.to_dict()["ipam"]["config"][0]["subnet"] in pools[0]
        nid = network_step[2]
        assert ["restore_network", nid] in driver.calls
        assert ["delete_network", nid] in driver.calls and nid not in driver.networks
        assert controller.store.locks().try_acquire(dict(intent.locks)) is not None


def test_an_endpoint_create_killed_mid_call_is_rolled_back_at_the_next_start(
    tmp_path: Path, state: Path, ctl: tuple[libnet.Controller, HoldingDriver]
) -> None:
    first = ctl[0].new_network(HOLD, "net").create_endpoint("first")
    hang = Hang(tmp_path, "create-endpoint", str(state), "net", "killed")
    with SqliteStore(state) as store:
        (intent,) = intents(store)
    (address,) = [s[4] for s in intent.undo if s[:3] == ["ipam", "default", "release_address"]]
    (ep_step,) = [step for step in intent.undo if step[0] == "endpoint"]
    hang.kill()

    controller, driver = open_controller(str(state))
    with controller:
        net = controller.network("net")
        assert [e.name for e in net.endpoints()] == ["first"]
        again = net.create_endpoint("again")
        assert intents(controller.store) == []
        assert again.info()["address"] == address  # released, so handed out again
        assert again.info()["address"] != first.info()["address"]
        assert ["delete_endpoint", ep_step[2]] in driver.calls
        assert (net.id, ep_step[2]) not in driver.endpoints


def test_a_network_deleted_by_another_process_is_forgotten_by_this_ones_driver(
    state: Path, ctl: tuple[libnet.Controller, HoldingDriver]
) -> None:
    controller, driver = ctl
    net = controller.new_network(HOLD, "n")
    ep = net.create_endpoint("e")
    assert net.id in driver.networks
    run("delete-network", str(state), "n")
    with pytest.raises(NetworkNotFoundError):
        ep.join(controller.new_sandbox("box"))
    assert net.id not in driver.networks and ["delete_network", net.id] in driver.calls
    # The name is free, and this process's driver takes a network of it again.
    assert controller.new_network(HOLD, "n").id in driver.networks


def test_an_endpoint_deleted_by_another_process_is_forgotten_by_this_ones_driver(
    state: Path, ctl: tuple[libnet.Controller, HoldingDriver]
) -> None:
    controller, driver = ctl
    net = controller.new_network(HOLD, "n")
    ep = net.create_endpoint("e")
    run("delete-endpoint", str(state), "n", "e")
    with pytest.raises(libnet.EndpointNotFoundError):
        ep.join(controller.new_sandbox("box"))
    assert (net.id, ep.id) not in driver.endpoints


def test_objects_another_process_created_reach_this_ones_driver_first(
    state: Path, ctl: tuple[libnet.Controller, HoldingDriver]
) -> None:
    controller, driver = ctl
    made = run("create-all", str(state), "m", "e")
    ep = controller.network("m").endpoint("e")
    ep.join(controller.new_sandbox("box"))
    nid = controller.network("m").id
    assert driver.calls[:2] == [["restore_network", nid], ["restore_endpoint", made["id"]]]
    assert (nid, ep.id) in driver.endpoints
    assert os.getpid() != 0
