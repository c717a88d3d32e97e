"""Two processes operating at once on one state directory lose, duplicate and tear nothing.

Both workers (see ``churn`` in :mod:`persistence._worker`) start together and, for
``ROUNDS`` rounds each, create an endpoint on the shared network, join it to the shared
sandbox or their own, read, leave and delete it (keeping every tenth), create and delete a
network of their own (keeping every tenth), and race each other to create network
``race-<round>``; more than 500 operations each. The tests then read the state left.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._support import (
    REC,
    WORKER_TIMEOUT,
    Snapshot,
    check_consistent,
    copy_state,
    open_controller,
    start_worker,
)

pytestmark = pytest.mark.slow

ROUNDS = 200
PREFIXES = ("a", "b")


@dataclass
class Churned:
    state_dir: Path
    results: dict[str, dict[str, Any]]
    snapshot: Snapshot


@pytest.fixture(scope="module")
def churned(tmp_path_factory: pytest.TempPathFactory) -> Churned:
    state_dir = tmp_path_factory.mktemp("churn")
    controller, _ = open_controller(state_dir)
    with controller:
        controller.new_network(REC, "shared")
        controller.new_sandbox("shared-box")
    go = state_dir / "go"
    workers = {p: start_worker("churn", str(state_dir), p, str(ROUNDS), str(go)) for p in PREFIXES}
    time.sleep(0.5)  # let both open their controllers; they wait for the go file
    go.touch()
    results = {}
    try:
        for prefix, proc in workers.items():
            out, err = proc.communicate(timeout=WORKER_TIMEOUT)
            assert proc.returncode == 0, f"worker {prefix} exited {proc.returncode}:\n{err}"
            results[prefix] = json.loads(out.splitlines()[-1])
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    controller, _ = open_controller(state_dir)
    with controller:
        snapshot = check_consistent(controller._store)
    return Churned(state_dir, results, snapshot)


def test_each_worker_did_over_500_operations(churned: Churned) -> None:
    assert all(r["ops"] > 500 for r in churned.results.values()), churned.results


def test_workers_ran_at_the_same_time(churned: Churned) -> None:
    # Each saw the other's endpoints on the shared network while it was working.
    assert all(r["saw_other"] > 0 for r in churned.results.values())


def test_kept_endpoints_are_present_exactly_once(churned: Churned) -> None:
    expected = sorted(n for r in churned.results.values() for n in r["kept_endpoints"])
    stored = sorted(ep.name for ep in churned.snapshot.endpoints.values())
    assert stored == expected
    assert len(expected) == len(PREFIXES) * ROUNDS // 10


def test_kept_networks_are_present_exactly_once(churned: Churned) -> None:
    kept = sorted(n for r in churned.results.values() for n in r["kept_networks"])
    races = sorted(f"race-{i}" for i in range(ROUNDS))
    stored = sorted(net.name for net in churned.snapshot.networks.values())
    assert stored == sorted(["shared", *kept, *races])


def test_each_contested_name_was_won_by_exactly_one_worker(churned: Churned) -> None:
    won = [i for r in churned.results.values() for i in r["won"]]
    assert sorted(won) == list(range(ROUNDS))


def test_sandbox_lists_match_endpoint_records(churned: Churned) -> None:
    snap = churned.snapshot
    boxes = {box.container_id: box for box in snap.sandboxes.values()}
    assert sorted(boxes) == ["a-box", "b-box", "shared-box"]
    for box in boxes.values():
        listed = [eid for _, eid in box.endpoints]
        pointing = [ep.id for ep in snap.endpoints.values() if ep.sandbox_id == box.id]
        assert sorted(listed) == sorted(pointing)
    # Even rounds joined the shared sandbox; every tenth round (even) kept its endpoint.
    shared = [snap.endpoints[eid].name for _, eid in boxes["shared-box"].endpoints]
    assert sorted(shared) == sorted(f"{p}-e{i}" for p in PREFIXES for i in range(0, ROUNDS, 10))


def test_every_object_is_usable_afterwards(churned: Churned, tmp_path: Path) -> None:
    controller, _ = open_controller(copy_state(churned.state_dir, tmp_path))
    with controller:
        for box in controller.sandboxes():
            box.delete()
        for net in controller.networks():
            for ep in net.endpoints():
                assert ep.sandbox_id is None
                ep.delete()
            net.delete()
        assert controller._store.list("") == []
