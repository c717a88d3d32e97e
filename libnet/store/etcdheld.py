"""The per-object lock model (:class:`~libnet.store._locks.Locks`) on etcd.

Each object lock is an :class:`~libnet.store.etcdlock.EtcdLock`: a key under a lease, so
the lock of a holder that died (SIGKILL, host lost) frees itself when the lease expires.
etcd's locks are exclusive only: a shared lock is taken exclusively (the runtime asks for
shared locks only for ``all``, which stays in the local store). The locks held give the
fence of the commits made under them (``EtcdHeld.fences``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from libnet.errors import LockTimeoutError, StoreLockTimeoutError
from libnet.store._locks import Held, Locks
from libnet.store.etcdlock import EtcdLock, EtcdLocks

if TYPE_CHECKING:
    from libnet.store.etcd import EtcdStore

__all__ = ["LOCK_TTL", "EtcdHeld", "EtcdObjectLocks"]

LOCK_TTL = 5.0
"""Seconds a dead holder keeps an object lock: half the runtime's wait for a lock (10 s),
so an operation waiting behind a holder killed by SIGKILL gets the lock in time."""


class EtcdObjectLocks(Locks):
    """Lease-backed object locks in ``store``; a dead holder's expire after ``ttl`` s."""

    __slots__ = ("_locks",)

    def __init__(self, store: EtcdStore, ttl: float = LOCK_TTL) -> None:
        self._locks = EtcdLocks(store, ttl=ttl)

    def acquire(self, names: Mapping[str, bool], what: Mapping[str, str], timeout: float) -> Held:
        held = EtcdHeld([])
        try:
            for name in sorted(names):
                try:
                    held.locks.append(self._locks.acquire(name, wait=timeout))
                except StoreLockTimeoutError as exc:
                    raise LockTimeoutError(
                        f"{what.get(name, name)} is busy on another host or process: {exc}"
                    ) from exc
        except BaseException:
            held.release()
            raise
        return held

    def try_acquire(self, names: Mapping[str, bool]) -> Held | None:
        held = EtcdHeld([])
        try:
            for name in sorted(names):
                held.locks.append(self._locks.acquire(name, wait=0))
        except StoreLockTimeoutError:
            held.release()
            return None
        except BaseException:
            held.release()
            raise
        return held


class EtcdHeld(Held):
    """etcd locks taken together."""

    __slots__ = ("locks",)

    def __init__(self, locks: list[EtcdLock]) -> None:
        self.locks = locks

    @property
    def fences(self) -> list[EtcdLock]:
        """Every lock held: each is fenced."""
        return self.locks

    def release(self, discard: frozenset[str] = frozenset()) -> None:
        locks, self.locks = self.locks, []
        for lock in reversed(locks):
            lock.release()
