"""Per-object locks: exclusive and shared, all or none, a clear timeout, files that go."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from libnet.errors import LockTimeoutError, StoreBusyError
from libnet.store import ALL, Locks, SqliteStore, ThreadLocks
from libnet.store._locks import FileLocks

KINDS: dict[str, Callable[[Path], Locks]] = {
    "thread": lambda _: ThreadLocks(),
    "file": lambda path: FileLocks(path / "locks"),
}


@pytest.fixture(params=list(KINDS))
def locks(request: pytest.FixtureRequest, tmp_path: Path) -> Locks:
    return KINDS[request.param](tmp_path)


def test_exclusive_locks_exclude_and_shared_ones_share(locks: Locks) -> None:
    held = locks.try_acquire({ALL: False, "network-a": True})
    assert held is not None
    assert locks.try_acquire({"network-a": True}) is None
    other = locks.try_acquire({ALL: False, "network-b": True})  # another object: free
    assert other is not None
    assert locks.try_acquire({ALL: True}) is None  # reconciliation waits for both
    held.release()
    other.release()
    assert locks.try_acquire({ALL: True}) is not None


def test_all_or_none(locks: Locks) -> None:
    first = locks.try_acquire({"network-b": True})
    assert locks.try_acquire({"network-a": True, "network-b": True}) is None
    assert first is not None
    first.release()
    again = locks.try_acquire({"network-a": True})  # "a" was given back
    assert again is not None


def test_a_timeout_names_the_object_and_is_retryable(locks: Locks) -> None:
    held = locks.try_acquire({"network-a": True})
    assert held is not None
    with pytest.raises(LockTimeoutError) as caught:
        locks.acquire({"network-a": True}, {"network-a": "network 'web'"}, 0.05)
    assert isinstance(caught.value, StoreBusyError)
    message = str(caught.value)
    assert message.startswith("network 'web' is busy: process ")
    assert f"process {os.getpid()} (" in message and "try again" in message


def test_a_waiter_gets_the_lock_when_it_is_released(locks: Locks) -> None:
    held = locks.try_acquire({"network-a": True})
    assert held is not None
    timer = threading.Timer(0.05, held.release)
    timer.start()
    locks.acquire({"network-a": True}, {}, 10.0).release()
    timer.join()


def test_thread_locks_keep_nothing_for_a_lock_no_one_holds() -> None:
    locks = ThreadLocks()
    for i in range(100):
        with locks.acquire({ALL: False, f"network-{i}": True, "sandbox-s": False}, {}, 1.0):
            assert locks.held() == 3
    shared = [locks.try_acquire({"sandbox-s": False}) for _ in range(3)]
    assert locks.try_acquire({"sandbox-s": True}) is None  # refused: nothing kept from it
    assert locks.held() == 1
    for held in shared:
        assert held is not None
        held.release()
        held.release()  # idempotent
    assert locks.held() == 0


def test_a_removed_lock_file_is_taken_again_by_its_waiter(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path / "locks")
    held = locks.try_acquire({"network-a": True})
    assert held is not None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(locks.acquire({"network-a": True}, {}, 10)))
    waiter.start()
    held.release(frozenset({"network-a"}))  # the network was deleted: its file goes
    waiter.join()
    assert (tmp_path / "locks" / "network-a").exists()  # the waiter made a new one
    assert locks.try_acquire({"network-a": True}) is None  # and holds it
    got[0].release()  # type: ignore[attr-defined]


def test_a_dead_holders_lock_is_free(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    code = (
        "import os, sys; from libnet.store import SqliteStore;"
        f"SqliteStore({str(tmp_path)!r}).locks().try_acquire({{'network-a': True}});"
        "os.kill(os.getpid(), 9)"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, timeout=60)
    assert proc.returncode == -9  # killed while holding it
    held = store.locks().try_acquire({"network-a": True})
    assert held is not None
    held.release()
    store.close()
