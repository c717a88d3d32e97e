"""Crash safety: SIGKILL at a random point never leaves a state that is torn or unusable.

A child process (``crash`` in :mod:`persistence._worker`) runs random operations on one
state directory, which it inherits from the children before it, until the test kills it
with SIGKILL after a random delay. After each kill the test checks the file's integrity,
the records' invariants (:func:`~persistence._support.check_consistent`) and, on a copy,
that every object can be left and deleted without force.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._support import (
    WORKER_TIMEOUT,
    check_consistent,
    copy_state,
    exercise_all,
    open_controller,
    start_worker,
)

pytestmark = pytest.mark.slow

KILLS = 60
SEED = 20240611
MAX_DELAY = 0.25
"""Longest wait, in seconds, between the child's ``ready`` and its SIGKILL."""


def _check_file(db: Path) -> None:
    """SQLite's own integrity check passes and the write counter is ahead of every key."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (last,) = conn.execute("SELECT value FROM meta WHERE name = 'last_index'").fetchone()
        (highest,) = conn.execute("SELECT coalesce(max(idx), 0) FROM kv").fetchone()
        assert last >= highest, f"index counter {last} is behind key index {highest}"
    finally:
        conn.close()


def _check_records(state_dir: Path) -> int:
    """Open a controller, check every record; return the number of objects."""
    controller, _ = open_controller(state_dir)
    with controller:
        snap = check_consistent(controller._store)
    return len(snap.networks) + len(snap.endpoints) + len(snap.sandboxes)


def _check_usable(state_dir: Path, scratch: Path) -> None:
    """On a copy, so that the next child inherits the state: leave and delete everything."""
    scratch.mkdir()
    controller, _ = open_controller(copy_state(state_dir, scratch))
    with controller:
        exercise_all(controller)


def _failure(check: Callable[[], object]) -> str | None:
    try:
        check()
    except Exception:
        return traceback.format_exc()
    return None


@dataclass
class Kill:
    """One child's run and what the checks after its SIGKILL found (None: passed)."""

    seed: int
    delay: float
    returncode: int | None
    log: str
    file_error: str | None
    records_error: str | None
    usable_error: str | None
    objects: int


def _kill_at_random(state_dir: Path, seed: int, delay: float, log: Path) -> int | None:
    """Run a child until ``delay`` seconds after it is ready, SIGKILL it; its return code."""
    with log.open("w") as err:
        proc = start_worker("crash", str(state_dir), str(seed), stderr=err)
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() == "ready":
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=WORKER_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    return proc.returncode


def _kill_and_check(state_dir: Path, scratch: Path, seed: int, delay: float) -> Kill:
    log = scratch.with_suffix(".log")
    returncode = _kill_at_random(state_dir, seed, delay, log)
    objects: list[int] = []
    return Kill(
        seed,
        delay,
        returncode,
        log.read_text(),
        _failure(lambda: _check_file(state_dir / "state.db")),
        _failure(lambda: objects.append(_check_records(state_dir))),
        _failure(lambda: _check_usable(state_dir, scratch)),
        sum(objects),
    )


@pytest.fixture(scope="module")
def kills(tmp_path_factory: pytest.TempPathFactory) -> list[Kill]:
    """Start, kill and check ``KILLS`` children in turn on one state directory."""
    tmp = tmp_path_factory.mktemp("crash")
    rng = random.Random(SEED)
    kills = []
    for n in range(KILLS):
        seed, delay = rng.randrange(10**6), rng.uniform(0, MAX_DELAY)
        kills.append(_kill_and_check(tmp / "state", tmp / f"copy{n}", seed, delay))
    return kills


def _report(kills: list[Kill], field: str) -> str:
    bad = [k for k in kills if getattr(k, field)]
    if not bad:
        return ""
    first = bad[0]
    return (
        f"{len(bad)} of {len(kills)} kills; first: child seed {first.seed}, killed after "
        f"{first.delay:.3f} s:\n{getattr(first, field)}"
    )


def test_children_die_only_by_sigkill(kills: list[Kill]) -> None:
    # Any other end means a child failed by itself, e.g. on state restored from a crash.
    bad = [k for k in kills if k.returncode != -signal.SIGKILL]
    assert not bad, f"child seed {bad[0].seed} exited {bad[0].returncode}:\n{bad[0].log}"


def test_state_file_passes_integrity_check_after_every_kill(kills: list[Kill]) -> None:
    assert not _report(kills, "file_error"), _report(kills, "file_error")


def test_records_are_consistent_after_every_kill(kills: list[Kill]) -> None:
    assert not _report(kills, "records_error"), _report(kills, "records_error")


def test_every_object_is_usable_after_every_kill(kills: list[Kill]) -> None:
    assert not _report(kills, "usable_error"), _report(kills, "usable_error")


def test_children_leave_objects_to_check(kills: list[Kill]) -> None:
    assert len(kills) >= 50
    assert sum(k.objects for k in kills) > 0
    assert len({k.delay for k in kills}) == len(kills), "kill points must vary"
