"""Two stores behind one: the host's local store and the global store other hosts share.

A controller with a global store keeps networks of global-scope drivers, their endpoints
and their default-IPAM pools and addresses in the global store (etcd), everything else
(local networks, sandboxes, intents) in the local one (see ARCHITECTURE.md, "Global
scope"). :class:`ScopedStore` routes each key by its name: ``global/...`` and the default
IPAM's ``GlobalDefault`` address space go to the global store.

A transaction touches the global store only once it reads or writes a global key, and
commits the global part first: a global commit refused (a conflict, a lost lock, etcd
unreachable) leaves the local part unwritten. Locks named ``global/...`` are the global
store's (lease-backed in etcd); while an operation holds them, this thread's global
commits are fenced by the first of them.
"""

from __future__ import annotations

import builtins
import threading
from abc import abstractmethod
from collections.abc import Mapping
from types import TracebackType

from libnet.store._api import KVOps, KVPair, Store, Transaction
from libnet.store._locks import ALL, Held, Locks
from libnet.store.lock import StoreLock

__all__ = ["GLOBAL_LOCK", "ScopedStore", "is_global"]

GLOBAL_LOCK = "global/"
"""Lock names with this prefix are taken in the global store."""

_IPAM_GLOBAL = ("pools", "heads", "bits")


def is_global(key: str) -> bool:
    """Whether ``key`` belongs in the global store."""
    if key.startswith("global/"):
        return True
    parts = key.split("/", 4)
    return (
        len(parts) >= 4
        and parts[0] == "ipam"
        and parts[2] in _IPAM_GLOBAL
        and parts[3] == "GlobalDefault"
    )


class _Routed(KVOps):
    """The reads and writes of the contract, each sent to the part ``_for`` picks."""

    __slots__ = ()

    @abstractmethod
    def _for(self, key: str) -> KVOps:
        """The store or transaction that holds ``key``."""

    def get(self, key: str) -> KVPair:
        return self._for(key).get(key)

    def put(self, key: str, value: bytes) -> KVPair:
        return self._for(key).put(key, value)

    def delete(self, key: str) -> None:
        self._for(key).delete(key)

    def exists(self, key: str) -> bool:
        return self._for(key).exists(key)

    def list(self, prefix: str) -> builtins.list[KVPair]:
        return self._for(prefix).list(prefix)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        return self._for(key).atomic_put(key, value, previous)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._for(key).atomic_delete(key, previous)


class ScopedStore(_Routed, Store):
    """``local`` for local keys, ``global_`` for global ones (see the module docstring)."""

    __slots__ = ("_fences", "global_", "local")

    def __init__(self, local: Store, global_: Store) -> None:
        self.local = local
        self.global_ = global_
        self._fences = threading.local()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.local!r}, {self.global_!r})"

    @property
    def path(self) -> object:
        """The local store's file, if it has one (the controller's state directory)."""
        return getattr(self.local, "path", None)

    @property
    def durable(self) -> bool:
        """Durable when either part is (intents then guard the allocations in both)."""
        return self.local.durable or self.global_.durable

    def _for(self, key: str) -> Store:
        return self.global_ if is_global(key) else self.local

    def transaction(self) -> ScopedTransaction:
        return ScopedTransaction(self)

    def close(self) -> None:
        try:
            self.global_.close()
        finally:
            self.local.close()

    def locks(self) -> Locks:
        return ScopedLocks(self)

    def fence(self) -> StoreLock | None:
        """The lock fencing this thread's global commits (None: not fenced)."""
        held: list[StoreLock] = getattr(self._fences, "locks", [])
        return held[0] if held else None

    def _fenced(self, locks: builtins.list[StoreLock], on: bool) -> None:
        held: builtins.list[StoreLock] = self._fences.__dict__.setdefault("locks", [])
        if on:
            held.extend(locks)
        else:
            for lock in locks:
                if lock in held:
                    held.remove(lock)


class ScopedTransaction(_Routed, Transaction):
    """A transaction over both stores; the global one is opened on first use."""

    __slots__ = ("_global", "_local", "_store")

    def __init__(self, store: ScopedStore) -> None:
        self._store = store
        self._local = store.local.transaction()
        self._global: Transaction | None = None

    def __enter__(self) -> ScopedTransaction:
        self._local.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._global is not None:
                self._global.__exit__(exc_type, exc, tb)
        except BaseException as error:
            self._local.__exit__(type(error), error, error.__traceback__)
            raise
        self._local.__exit__(exc_type, exc, tb)

    def _for(self, key: str) -> KVOps:
        if not is_global(key):
            return self._local
        if self._global is None:
            store = self._store.global_
            fence = self._store.fence()
            tx = (
                store.transaction(fence=fence)  # type: ignore[call-arg]
                if fence is not None
                else store.transaction()
            )
            tx.__enter__()
            self._global = tx
        return self._global


class ScopedLocks(Locks):
    """Lock names ``global/...`` in the global store, the others in the local one."""

    __slots__ = ("_store",)

    def __init__(self, store: ScopedStore) -> None:
        self._store = store

    @staticmethod
    def _split(names: Mapping[str, bool]) -> tuple[dict[str, bool], dict[str, bool]]:
        local = {n: x for n, x in names.items() if n == ALL or not n.startswith(GLOBAL_LOCK)}
        global_ = {n: x for n, x in names.items() if n not in local}
        return local, global_

    def acquire(self, names: Mapping[str, bool], what: Mapping[str, str], timeout: float) -> Held:
        local, global_ = self._split(names)
        held_local = self._store.local.locks().acquire(local, what, timeout)
        if not global_:
            return held_local
        try:
            held_global = self._store.global_.locks().acquire(global_, what, timeout)
        except BaseException:
            held_local.release()
            raise
        return ScopedHeld(self._store, held_local, held_global)

    def try_acquire(self, names: Mapping[str, bool]) -> Held | None:
        local, global_ = self._split(names)
        held_local = self._store.local.locks().try_acquire(local)
        if held_local is None or not global_:
            return held_local
        try:
            held_global = self._store.global_.locks().try_acquire(global_)
        except BaseException:
            held_local.release()
            raise
        if held_global is None:
            held_local.release()
            return None
        return ScopedHeld(self._store, held_local, held_global)


class ScopedHeld(Held):
    """Local and global locks held together; the global ones fence this thread's commits."""

    __slots__ = ("_fences", "_global", "_local", "_store")

    def __init__(self, store: ScopedStore, local: Held, global_: Held) -> None:
        self._store = store
        self._local = local
        self._global = global_
        self._fences: builtins.list[StoreLock] = list(global_.fences)
        store._fenced(self._fences, True)

    @property
    def fences(self) -> builtins.list[StoreLock]:
        return self._fences

    def release(self, discard: frozenset[str] = frozenset()) -> None:
        self._store._fenced(self._fences, False)
        self._fences = []
        try:
            self._global.release(discard)
        finally:
            self._local.release(discard)
