"""EtcdLocks against real etcd: exclusion, fencing, waiting, and holders that die."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from _etcd import EtcdCluster, gateway_call

from libnet.errors import (
    BadRequestError,
    OperationTimeoutError,
    StoreLockLostError,
    StoreLockTimeoutError,
    StoreUnavailableError,
)
from libnet.store import EtcdLocks, EtcdStore, LockService, MemoryStore, StoreLock
from libnet.store.etcdlock import EtcdLock
from libnet.store.scoped import ScopedStore

NewEtcd = Callable[[int], EtcdCluster]


@pytest.fixture
def url(etcd1: EtcdCluster) -> str:
    return etcd1.url(f"t-{uuid.uuid4().hex[:12]}")


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_etcd_locks_implement_the_store_lock_contract(url: str) -> None:
    with EtcdStore(url) as store:
        locks = EtcdLocks(store, ttl=5)
        assert isinstance(locks, LockService)
        with locks.acquire("net/n1") as lock:
            assert isinstance(lock, StoreLock)
            assert (lock.name, lock.key, lock.lost) == ("net/n1", "locks/net/n1", False)
            assert store.get("locks/net/n1").index == lock.token
        assert lock.lost
        assert not store.exists("locks/net/n1")


def test_a_second_acquire_waits_then_fails_naming_the_holder_and_the_wait(url: str) -> None:
    with EtcdStore(url) as store:
        holder = EtcdLocks(store, ttl=5, holder="host-a pid 1")
        waiter = EtcdLocks(store, ttl=5, holder="host-b pid 2")
        with holder.acquire("n1") as held:
            with pytest.raises(StoreLockTimeoutError) as info:
                waiter.acquire("n1", wait=0.3)
            assert "'n1'" in str(info.value)
            assert "host-a pid 1" in str(info.value)
            assert f"revision {held.token}" in str(info.value)
            assert "waited 0.3 s" in str(info.value)
            assert info.value.retryable
            assert isinstance(info.value, OperationTimeoutError)
            assert not held.lost
        # The waiter's lease was revoked: it left nothing behind.
        assert store.list("locks/") == []


def test_a_waiter_gets_the_lock_once_it_is_released(url: str) -> None:
    with EtcdStore(url) as store:
        locks = EtcdLocks(store, ttl=5)
        first = locks.acquire("n1")
        got: list[StoreLock] = []
        thread = threading.Thread(target=lambda: got.append(locks.acquire("n1", wait=20)))
        thread.start()
        thread.join(0.3)
        assert not got  # still waiting
        first.release()
        thread.join(20)
        assert len(got) == 1
        assert got[0].token > first.token
        got[0].release()


def test_locks_of_different_names_do_not_exclude(url: str) -> None:
    with EtcdStore(url) as store:
        locks = EtcdLocks(store, ttl=5)
        with locks.acquire("n1"), locks.acquire("n2", wait=0):
            pass


def test_bad_names_and_settings_are_refused(url: str) -> None:
    with EtcdStore(url) as store:
        with pytest.raises(BadRequestError, match="lock name"):
            EtcdLocks(store).acquire("")
        with pytest.raises(BadRequestError, match="ttl"):
            EtcdLocks(store, ttl=0)


# Fencing.


def test_a_fenced_commit_writes_while_the_lock_is_held(url: str) -> None:
    with EtcdStore(url) as store, EtcdLocks(store, ttl=5).acquire("n1") as lock:
        with store.transaction(fence=lock) as txn:
            txn.put("global/network/n1", b"{}")
        assert store.exists("global/network/n1")


def test_a_holder_whose_lease_expired_cannot_commit(url: str, etcd1: EtcdCluster) -> None:
    with EtcdStore(url) as store:
        locks = EtcdLocks(store, ttl=5)
        stale = locks.acquire("n1")
        # The lease ends behind the holder's back (as when it was paused past its TTL).
        gateway_call(etcd1.members[0].client_port, "lease/revoke", {"ID": str(stale.lease)})
        lost = pytest.raises(StoreLockLostError, match=r"lock 'n1' was lost.*nothing was written")
        with lost, store.transaction(fence=stale) as txn:
            txn.put("global/network/n1", b"stale")
        newer = locks.acquire("n1", wait=0)
        with pytest.raises(StoreLockLostError), store.transaction(fence=stale) as txn:
            txn.put("global/network/n1", b"stale")
        with store.transaction(fence=newer) as txn:
            txn.put("global/network/n1", b"newer")
        assert store.get("global/network/n1").value == b"newer"
        _wait_until(lambda: stale.lost)  # its keepalive noticed too
        stale.release()  # quiet
        newer.release()


def test_object_locks_in_a_scoped_store_fence_its_global_commits(
    url: str, etcd1: EtcdCluster
) -> None:
    """The global object locks an operation holds (``Held.fences``) fence the commits of the
    ScopedStore it took them from: a lost one lets nothing through, local part included."""
    with ScopedStore(MemoryStore(), EtcdStore(url)) as store:
        names = {"global/network/n1": True, "local/sandbox/s1": True}
        held = store.locks().acquire(names, {}, 5.0)
        (lock,) = held.fences
        assert isinstance(lock, EtcdLock) and lock.name == "global/network/n1"
        assert store.fence() is lock
        with store.transaction() as txn:
            txn.put("global/network/n1", b"held")
        gateway_call(etcd1.members[0].client_port, "lease/revoke", {"ID": str(lock.lease)})
        lost = pytest.raises(StoreLockLostError, match="global/network/n1")
        with lost, store.transaction() as txn:
            txn.put("local/sandbox/s1", b"stale")
            txn.put("global/network/n1", b"stale")
        assert store.get("global/network/n1").value == b"held"
        assert not store.exists("local/sandbox/s1")
        held.release()
        assert store.fence() is None and held.fences == []
        with store.locks().acquire({"local/sandbox/s1": True}, {}, 5.0) as local:
            assert local.fences == ()


def test_a_lease_that_is_kept_alive_outlives_its_ttl(url: str) -> None:
    with EtcdStore(url) as store, EtcdLocks(store, ttl=3).acquire("n1") as lock:
        time.sleep(lock.ttl * 2)
        assert not lock.lost
        with store.transaction(fence=lock) as txn:
            txn.put("k", b"v")


# Between processes.

_WORKER = """
import sys, time
from libnet.store import EtcdLocks, EtcdStore

url, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
with EtcdStore(url) as store:
    locks = EtcdLocks(store, ttl=5, holder=name)
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(rounds):
        with locks.acquire("counter", wait=60):
            # A plain read-then-write: only the lock keeps the two processes apart.
            value = int(store.get("counter").value)
            time.sleep(0.002)
            store.put("counter", str(value + 1).encode())
"""


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.split()[:1] in (["ready"], ["held"]), line
    return proc


def _reap(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs, wait for it, close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


@pytest.mark.slow
def test_two_processes_exclude_each_other(url: str) -> None:
    with EtcdStore(url) as store:
        store.put("counter", b"0")
    procs = [_spawn(_WORKER, url, name, "40") for name in ("a", "b")]
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        assert [proc.wait(120) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            _reap(proc)
    with EtcdStore(url) as store:
        assert store.get("counter").value == b"80"
        assert store.list("locks/") == []


_HOLDER = """
import os, sys, time
from libnet.store import EtcdLocks, EtcdStore

store = EtcdStore(sys.argv[1])
lock = EtcdLocks(store, ttl=5, holder=f"victim pid {os.getpid()}").acquire("n1")
print("held", lock.token, lock.ttl, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_holder_killed_by_sigkill_releases_at_its_lease_expiry(url: str) -> None:
    proc = _spawn(_HOLDER, url)
    try:
        with EtcdStore(url) as store:
            locks = EtcdLocks(store, ttl=5)
            with pytest.raises(StoreLockTimeoutError, match=f"victim pid {proc.pid}"):
                locks.acquire("n1", wait=0)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            holder = json.loads(store.get("locks/n1").value)
            assert holder["holder"] == f"victim pid {proc.pid}"  # still there: lease not over
            with locks.acquire("n1", wait=30) as lock:  # the lease expires, the waiter wakes
                assert not lock.lost
    finally:
        _reap(proc)


def test_acquiring_with_etcd_down_is_a_clear_unavailable_error(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(1)
    with EtcdStore(cluster.url("down", timeout="1")) as store:
        locks = EtcdLocks(store, ttl=5)
        cluster.stop()
        with pytest.raises(StoreUnavailableError, match="no etcd member answered"):
            locks.acquire("n1", wait=1)


def test_a_lock_survives_the_loss_of_a_follower_and_fences_after_leader_failover(
    new_etcd: NewEtcd, tmp_path: Path
) -> None:
    cluster = new_etcd(3)
    with EtcdStore(cluster.url("failover", timeout="10")) as store:
        lock = EtcdLocks(store, ttl=5).acquire("n1")
        cluster.kill(cluster.leader().name)
        with store.transaction(fence=lock) as txn:
            txn.put("k", b"after failover")
        assert not lock.lost
        lock.release()
        assert store.list("locks/") == []
