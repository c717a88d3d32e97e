"""An operation's view of the store: reads go to the store, writes wait for the commit.

An operation runs its drivers outside any store transaction (see ARCHITECTURE.md,
"Locks and intents"), so the records it writes are kept here and written by
:meth:`Journal.commit` in one short transaction. A key the operation read before writing
it must still have the index it was read with; otherwise the commit fails with
StaleVersionError and nothing is written (the object locks make that a bug, not a race).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable

from libnet.errors import KeyNotFoundError, StaleVersionError
from libnet.store import KVOps, KVPair, Store, Transaction
from libnet.store._api import Encodable

__all__ = ["PENDING", "Journal"]

PENDING = -1
"""The index of a pair written in the journal and not committed yet."""


class Journal(KVOps):
    """Reads through ``store``, with this operation's pending writes laid over them."""

    __slots__ = ("_listed", "_pairs", "_read", "_store", "_writes")

    def __init__(self, store: Store) -> None:
        self._store = store
        self._writes: dict[str, bytes | Encodable | None] = {}  # None: deleted
        self._read: dict[str, int | None] = {}  # index at the first read; None: absent
        self._pairs: dict[str, KVPair | None] = {}
        """What ``get`` found: read once per operation (its locks keep the objects as
        read; a key written meanwhile still fails the commit's check)."""
        self._listed = False  # whether a prefix was listed (keys added there go unseen)

    def _seen(self, key: str, pair: KVPair | None) -> None:
        if key not in self._read and key not in self._writes:
            self._read[key] = None if pair is None else pair.index

    def get(self, key: str) -> KVPair:
        if key in self._writes:
            value = self._writes[key]
            if value is None:
                raise KeyNotFoundError(key)
            return KVPair(key, value, PENDING)
        if key in self._pairs:
            found = self._pairs[key]
            if found is None:
                raise KeyNotFoundError(key)
            return found
        try:
            pair = self._store.get(key)
        except KeyNotFoundError:
            self._seen(key, None)
            self._pairs[key] = None
            raise
        self._seen(key, pair)
        self._pairs[key] = pair
        return pair

    def exists(self, key: str) -> bool:
        try:
            self.get(key)
        except KeyNotFoundError:
            return False
        return True

    def unchanged(self) -> bool:
        """Whether every key read so far still has the index it was read with (or is
        still absent), nothing was listed and nothing written: what was read then still
        holds now."""
        if self._listed or self._writes:
            return False
        store = self._store
        return all(_index(store, key) == index for key, index in self._read.items())

    def list(self, prefix: str) -> builtins.list[KVPair]:
        self._listed = True
        pairs = {}
        for pair in self._store.list(prefix):
            self._seen(pair.key, pair)
            pairs[pair.key] = pair
        for key, value in self._writes.items():
            if key.startswith(prefix):
                if value is None:
                    pairs.pop(key, None)
                else:
                    pairs[key] = KVPair(key, value, PENDING)
        return [pairs[key] for key in sorted(pairs)]

    def put(self, key: str, value: bytes) -> KVPair:
        self._writes[key] = value
        return KVPair(key, value, PENDING)

    def put_object(self, key: str, value: Encodable) -> KVPair:
        self._writes[key] = value
        return KVPair(key, value, PENDING)

    def delete(self, key: str) -> None:
        self.get(key)  # KeyNotFoundError if it is not there
        self._writes[key] = None

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        current = self.get(key) if self.exists(key) else None
        if (current is None) != (previous is None) or (
            current is not None and previous is not None and current.index != previous.index
        ):
            raise StaleVersionError(key, "it changed since it was read")
        return self.put(key, value)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self.atomic_put(key, b"", previous)
        self._writes[key] = None

    def commit(self, extra: Callable[[Transaction], None] | None = None) -> dict[str, int]:
        """Write every pending change in one transaction, with ``extra(tx)`` in it too;
        return the new index of each key written."""
        indices: dict[str, int] = {}
        with self._store.transaction() as tx:
            for key, value in self._writes.items():
                read = key in self._read
                if read:
                    _check(tx, key, self._read[key])
                if value is None:
                    if self._read[key] is not None if read else tx.exists(key):
                        tx.delete(key)
                elif isinstance(value, bytes):
                    indices[key] = tx.put(key, value).index
                else:
                    indices[key] = tx.put_object(key, value).index
            if extra is not None:
                extra(tx)
        return indices


def _index(kv: KVOps, key: str) -> int | None:
    """The index of ``key`` in ``kv``; None if it is absent."""
    try:
        return kv.get(key).index
    except KeyNotFoundError:
        return None


def _check(tx: Transaction, key: str, index: int | None) -> None:
    """StaleVersionError unless ``key`` still has ``index`` (None: still absent)."""
    if _index(tx, key) != index:
        raise StaleVersionError(
            key, "another process changed it while this operation ran; try again"
        )
