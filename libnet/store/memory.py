"""An in-memory Store: a dict behind one lock, for tests and for state that need not persist.

It is a :class:`~libnet.store.watch.WatchableStore`: every change is kept in a log (the
last ``LOG_SIZE``; older revisions count as compacted) for watches, and leases expire
``ttl`` seconds after their last keepalive (checked on every call and while watching).

It keeps objects: a value given with ``put_object`` is kept as that object (the pair's
``record``) and encoded only if someone reads its bytes (a watch, ``pair.value``).
"""

from __future__ import annotations

import builtins
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType

from libnet.errors import KeyNotFoundError, StoreCompactedError, StoreError, StoreLeaseLostError
from libnet.store._api import (
    BufferedTransaction,
    Encodable,
    KVPair,
    Transaction,
    check_previous,
    check_write,
)
from libnet.store.watch import DELETE, PUT, Watch, WatchableStore, WatchEvent

__all__ = ["LOG_SIZE", "MemoryStore"]

LOG_SIZE = 10000
"""How many changes a MemoryStore keeps for its watches."""

_get_ident = threading.get_ident
_Change = tuple[int, str, str, KVPair | None, KVPair | None]
"""A logged change: revision, PUT or DELETE, key, new pair (a PUT's), previous pair."""
_lease_ids = itertools.count(0x1000)


@dataclass
class _Lease:
    ttl: int
    deadline: float
    keys: set[str] = field(default_factory=set)


class MemoryStore(WatchableStore):
    """A thread-safe Store in a dict.

    One lock guards the dict. A transaction holds the lock from start to end, buffers its
    writes and applies them when it commits, so other threads never see half of one.
    Pairs are also filed by folder (the key up to its last '/'), so listing a prefix costs
    the folders and pairs under it, not every key of the store.
    """

    __slots__ = (
        "_changed",
        "_closed",
        "_compacted",
        "_data",
        "_folders",
        "_index",
        "_leases",
        "_lock",
        "_log",
        "_owner",
        "_waiting",
    )

    @property
    def durable(self) -> bool:
        """False: it dies with its process (no intents, no recovery)."""
        return False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._data: dict[str, KVPair] = {}
        self._folders: dict[str, dict[str, KVPair]] = {}
        self._index = 0
        self._owner: int | None = None  # thread running a transaction
        self._closed = False
        self._log: deque[_Change] = deque()
        self._waiting = 0  # watches waiting for a change
        self._compacted = 0  # changes up to this revision are no longer in the log
        self._leases: dict[int, _Lease] = {}

    # Changes, recorded for watches (the lock held).

    def _delete(self, key: str, previous: KVPair) -> None:
        """Remove ``key`` and log it (the lock held)."""
        self._index += 1
        self._pop(key)
        if self._leases:
            for lease in self._leases.values():
                lease.keys.discard(key)
        self._log.append((self._index, DELETE, key, None, previous))
        self._changed_now()

    def _changed_now(self) -> None:
        """Keep the log to LOG_SIZE and wake the waiting watches (the lock held)."""
        if len(self._log) > LOG_SIZE:
            self._trim()
        if self._waiting:
            self._changed.notify_all()

    def _trim(self, upto: int = 0) -> None:
        """Drop the changes beyond the last LOG_SIZE, and those up to revision ``upto``."""
        log = self._log
        dropped = 0
        while log and (len(log) > LOG_SIZE or log[0][0] <= upto):
            dropped = log.popleft()[0]
        self._compacted = max(self._compacted, dropped, upto)

    def _put(self, key: str, value: bytes | Encodable) -> KVPair:
        previous = self._data.get(key)
        self._index += 1
        pair = self._set(KVPair(key, value, self._index))
        if self._leases:
            for lease in self._leases.values():
                lease.keys.discard(key)
        self._log.append((self._index, PUT, key, pair, previous))
        self._changed_now()
        return pair

    def _expire(self) -> None:
        now = time.monotonic()
        for lease_id in [i for i, lease in self._leases.items() if lease.deadline <= now]:
            self._end(lease_id)

    def _end(self, lease_id: int) -> None:
        lease = self._leases.pop(lease_id)
        for key in sorted(lease.keys):
            previous = self._data.get(key)
            if previous is not None:
                self._delete(key, previous)

    def _events(self, prefix: str, after: int) -> list[WatchEvent]:
        log = self._log
        if after < self._compacted:
            raise StoreCompactedError(
                f"the memory store no longer keeps the changes after revision {after} (it "
                f"keeps the last {LOG_SIZE}, from {self._compacted + 1}): list {prefix!r} "
                "again and watch from there",
                self._compacted + 1,
            )
        return [
            WatchEvent(
                PUT if kind == PUT else DELETE,
                key,
                b"" if new is None else new.value,
                None if previous is None else previous.value,
                revision,
            )
            for revision, kind, key, new, previous in log
            if revision > after and key.startswith(prefix)
        ]

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
        if self._leases:
            self._expire()

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
        return self._put_now(key, value)

    def put_object(self, key: str, value: Encodable) -> KVPair:
        check_write(key, b"")
        return self._put_now(key, value)

    def _put_now(self, key: str, value: bytes | Encodable) -> KVPair:
        self._acquire()
        try:
            pair = self._put(key, value)
        finally:
            self._lock.release()
        return pair

    def _set(self, pair: KVPair) -> KVPair:
        """File ``pair`` (the lock held)."""
        key = pair.key
        self._data[key] = pair
        folder = self._folders.get(_folder(key))
        if folder is None:
            folder = self._folders[_folder(key)] = {}
        folder[key] = pair
        return pair

    def _pop(self, key: str) -> KVPair | None:
        """Remove ``key`` (the lock held); its pair, or None if there was none."""
        pair = self._data.pop(key, None)
        if pair is not None:
            name = _folder(key)
            folder = self._folders[name]
            del folder[key]
            if not folder:
                del self._folders[name]
        return pair

    def _under(self, prefix: str) -> dict[str, KVPair]:
        """Every pair whose key starts with ``prefix``, unsorted (the lock held)."""
        name = _folder(prefix)
        found = {
            key: pair for key, pair in self._folders.get(name, {}).items() if key.startswith(prefix)
        }
        for other, folder in self._folders.items():
            if other != name and (other + "/").startswith(prefix):
                found.update(folder)
        return found

    def delete(self, key: str) -> None:
        self._acquire()
        try:
            pair = self._data.get(key)
            if pair is not None:
                self._delete(key, pair)
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
            found = list(self._under(prefix).values())
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
            pair = self._put(key, value)
        finally:
            self._lock.release()
        return pair

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._acquire()
        try:
            current = self._data.get(key)
            check_previous(key, None if current is None else current.index, previous)
            assert current is not None  # check_previous refuses an absent key
            self._delete(key, current)
        finally:
            self._lock.release()

    def transaction(self) -> Transaction:
        return _MemoryTransaction(self)

    # Watches and leases.

    def list_revision(self, prefix: str) -> tuple[builtins.list[KVPair], int]:
        self._acquire()
        try:
            found = list(self._under(prefix).values())
            revision = self._index
        finally:
            self._lock.release()
        found.sort(key=_by_key)
        return found, revision

    def watch(self, prefix: str, after: int) -> Watch:
        return _MemoryWatch(self, prefix, after)

    def compact(self, revision: int) -> None:
        """Forget the changes up to ``revision``: watches behind it get StoreCompactedError
        (as etcd's compaction does; for tests)."""
        self._acquire()
        try:
            self._trim(min(revision, self._index))
        finally:
            self._lock.release()

    def grant_lease(self, ttl: int) -> int:
        ttl = max(int(ttl), 1)
        self._acquire()
        try:
            lease_id = next(_lease_ids)
            self._leases[lease_id] = _Lease(ttl, time.monotonic() + ttl)
        finally:
            self._lock.release()
        return lease_id

    def _lease(self, lease_id: int) -> _Lease:
        lease = self._leases.get(lease_id)
        if lease is None:
            raise StoreLeaseLostError(
                f"lease {lease_id:x} of the memory store expired or was revoked: grant another"
            )
        return lease

    def keepalive_lease(self, lease: int) -> int:
        self._acquire()
        try:
            found = self._lease(lease)
            found.deadline = time.monotonic() + found.ttl
        finally:
            self._lock.release()
        return found.ttl

    def revoke_lease(self, lease: int) -> None:
        self._acquire()
        try:
            if lease in self._leases:
                self._end(lease)
        finally:
            self._lock.release()

    def put_leased(self, key: str, value: bytes, lease: int) -> KVPair:
        check_write(key, value)
        self._acquire()
        try:
            found = self._lease(lease)
            pair = self._put(key, value)
            found.keys.add(key)
        finally:
            self._lock.release()
        return pair

    def close(self) -> None:
        if self._owner == _get_ident():
            raise StoreError("the memory store cannot be closed inside one of its transactions")
        with self._lock:
            self._closed = True
            self._data = {}
            self._folders = {}
            self._log = deque()
            self._leases = {}
            self._changed.notify_all()


def _by_key(pair: KVPair) -> str:
    return pair.key


class _MemoryWatch(Watch):
    """A watch on a MemoryStore: reads its change log."""

    def __init__(self, store: MemoryStore, prefix: str, after: int) -> None:
        self._store = store
        self._prefix = prefix
        self.revision = after
        self._closed = False

    def next(self, timeout: float) -> builtins.list[WatchEvent]:
        store = self._store
        deadline = time.monotonic() + timeout
        store._acquire()
        try:
            while not self._closed:
                events = store._events(self._prefix, self.revision)
                if events:
                    self.revision = events[-1].revision
                    return events
                self.revision = max(self.revision, store._index)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                store._waiting += 1
                try:
                    store._changed.wait(min(remaining, 0.1))
                finally:
                    store._waiting -= 1
                if store._closed:
                    raise StoreError("the memory store is closed")
                if store._leases:
                    store._expire()
        finally:
            store._lock.release()
        return []

    def close(self) -> None:
        self._closed = True


def _by_revision(change: _Change) -> int:
    return change[0]


def _folder(key: str) -> str:
    """The folder of ``key``: all before its last '/' ('' if it has none)."""
    return key.rpartition("/")[0]


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
                self._commit(store)
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

    def _commit(self, store: MemoryStore) -> None:
        """Apply the writes and log them in revision order (the lock held)."""
        data, leases = store._data, store._leases
        changes: builtins.list[_Change] = []
        for key, pair in self._writes.items():
            previous = data.get(key)
            if pair is None:
                if previous is not None:
                    store._index += 1  # a delete's revision comes after every write's
                    store._pop(key)
                    changes.append((store._index, DELETE, key, None, previous))
            else:
                store._set(pair)
                changes.append((pair.index, PUT, key, pair, previous))
            if leases:
                for lease in leases.values():
                    lease.keys.discard(key)
        changes.sort(key=_by_revision)  # only this transaction's: later than all logged
        store._log.extend(changes)
        store._changed_now()

    def put_object(self, key: str, value: Encodable) -> KVPair:
        check_write(key, b"")
        self._check()
        return self._write(key, value)

    def _write(self, key: str, value: bytes | Encodable) -> KVPair:
        store = self._store
        store._index += 1
        pair = self._writes[key] = KVPair(key, value, store._index)
        return pair

    def list(self, prefix: str) -> builtins.list[KVPair]:
        self._check()
        stored = self._store._under(prefix)
        return self._overlay(stored, prefix)
