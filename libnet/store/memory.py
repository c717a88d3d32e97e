"""An in-memory Store: a dict behind one lock, for tests and for state that need not persist."""

from __future__ import annotations

import builtins
import threading
from types import TracebackType

from libnet.errors import KeyNotFoundError, StoreError
from libnet.store._api import (
    BufferedTransaction,
    KVPair,
    Store,
    Transaction,
    check_previous,
    check_write,
)

__all__ = ["MemoryStore"]

_get_ident = threading.get_ident


class MemoryStore(Store):
    """A thread-safe Store in a dict.

    One lock guards the dict. A transaction holds the lock from start to end, buffers its
    writes and applies them when it commits, so other threads never see half of one.
    """

    __slots__ = ("_closed", "_data", "_index", "_lock", "_owner")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, KVPair] = {}
        self._index = 0
        self._owner: int | None = None  # thread running a transaction
        self._closed = False

    def _acquire(self) -> None:
        if self._owner == _get_ident():
            raise StoreError(
                "the memory store was used directly inside one of its own transactions; "
                "use the transaction object instead"
            )
        self._lock.acquire()
        if self._closed:
            self._lock.release()
            raise StoreError("the memory store is closed")

    def get(self, key: str) -> KVPair:
        self._acquire()
        try:
            pair = self._data.get(key)
        finally:
            self._lock.release()
        if pair is None:
            raise KeyNotFoundError(key)
        return pair

    def put(self, key: str, value: bytes) -> KVPair:
        check_write(key, value)
        self._acquire()
        try:
            self._index += 1
            pair = self._data[key] = KVPair(key, value, self._index)
        finally:
            self._lock.release()
        return pair

    def delete(self, key: str) -> None:
        self._acquire()
        try:
            pair = self._data.pop(key, None)
        finally:
            self._lock.release()
        if pair is None:
            raise KeyNotFoundError(key)

    def exists(self, key: str) -> bool:
        self._acquire()
        try:
            found = key in self._data
        finally:
            self._lock.release()
        return found

    def list(self, prefix: str) -> builtins.list[KVPair]:
        self._acquire()
        try:
            found = [pair for key, pair in self._data.items() if key.startswith(prefix)]
        finally:
            self._lock.release()
        found.sort(key=_by_key)
        return found

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        check_write(key, value)
        self._acquire()
        try:
            current = self._data.get(key)
            check_previous(key, None if current is None else current.index, previous)
            self._index += 1
            pair = self._data[key] = KVPair(key, value, self._index)
        finally:
            self._lock.release()
        return pair

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._acquire()
        try:
            current = self._data.get(key)
            check_previous(key, None if current is None else current.index, previous)
            del self._data[key]
        finally:
            self._lock.release()

    def transaction(self) -> Transaction:
        return _MemoryTransaction(self)

    def close(self) -> None:
        if self._owner == _get_ident():
            raise StoreError("the memory store cannot be closed inside one of its transactions")
        with self._lock:
            self._closed = True
            self._data = {}


def _by_key(pair: KVPair) -> str:
    return pair.key


class _MemoryTransaction(BufferedTransaction):
    """A MemoryStore transaction: holds the store's lock and buffers writes until commit."""

    __slots__ = ("_active", "_start_index", "_started", "_store", "_writes")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._writes: dict[str, KVPair | None] = {}  # None: deleted
        self._started = False
        self._active = False
        self._start_index = 0

    def __enter__(self) -> _MemoryTransaction:
        if self._started:
            raise StoreError("a memory store transaction cannot be started twice")
        store = self._store
        if store._owner == _get_ident():
            raise StoreError("memory store transactions cannot be nested")
        store._acquire()
        store._owner = _get_ident()
        self._start_index = store._index
        self._started = self._active = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        store = self._store
        try:
            if exc_type is None:
                data = store._data
                for key, pair in self._writes.items():
                    if pair is None:
                        data.pop(key, None)
                    else:
                        data[key] = pair
            else:
                store._index = self._start_index
        finally:
            self._active = False
            store._owner = None
            store._lock.release()

    def _check(self) -> None:
        if not self._active:
            raise StoreError(
                "the memory store transaction is not active: use it inside its 'with' block"
            )

    def _current(self, key: str) -> KVPair | None:
        self._check()
        if key in self._writes:
            return self._writes[key]
        return self._store._data.get(key)

    def _write(self, key: str, value: bytes) -> KVPair:
        store = self._store
        store._index += 1
        pair = self._writes[key] = KVPair(key, value, store._index)
        return pair

    def list(self, prefix: str) -> builtins.list[KVPair]:
        self._check()
        stored = {key: pair for key, pair in self._store._data.items() if key.startswith(prefix)}
        return self._overlay(stored, prefix)
