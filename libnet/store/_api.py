"""The state-store contract, after docker/libkv: KVPair, Store and Transaction.

Keys are '/'-separated strings such as ``local/network/<id>``; values are bytes (callers
store JSON). A caller may also hand a value over as an :class:`Encodable` object with
:meth:`KVOps.put_object`: stores that persist write its bytes, the memory store keeps the
object itself (``KVPair.record``), so an in-memory host does not pay for encoding. Every
write gives the key a new ``index`` taken from a store-wide counter, as libkv's LastIndex
does, so an index is never reused: a key deleted and created again never matches a KVPair
read before the delete.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from dataclasses import FrozenInstanceError
from types import TracebackType
from typing import TypeVar

from libnet.errors import BadRequestError, KeyNotFoundError, StaleVersionError
from libnet.store._locks import Locks, ThreadLocks

__all__ = ["BufferedTransaction", "Encodable", "KVOps", "KVPair", "Store", "Transaction"]

_S = TypeVar("_S", bound="Store")


class Encodable(ABC):
    """A value kept as an object: its bytes are made only when a store or reader needs them.

    It must not change once handed to a store (readers share it): give out copies.
    """

    __slots__ = ()

    @abstractmethod
    def encode(self) -> bytes:
        """The value's bytes, as a store that persists it writes them."""


_set = object.__setattr__


class KVPair:
    """A key, its value and its index (the store's write counter at the key's last write).

    Made with an :class:`Encodable` instead of bytes, the pair keeps it as ``record`` and
    encodes ``value`` on first use.
    """

    __slots__ = ("_value", "index", "key", "record")

    key: str
    index: int
    record: Encodable | None
    _value: bytes | None

    def __init__(self, key: str, value: bytes | Encodable, index: int) -> None:
        _set(self, "key", key)
        _set(self, "index", index)
        if isinstance(value, bytes):
            _set(self, "_value", value)
            _set(self, "record", None)
        else:
            _set(self, "_value", None)
            _set(self, "record", value)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r} of a KVPair")

    @property
    def value(self) -> bytes:
        value = self._value
        if value is None:  # two threads may both encode: same bytes
            assert self.record is not None
            value = self.record.encode()
            _set(self, "_value", value)
        return value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KVPair):
            return NotImplemented
        return (self.key, self.index, self.value) == (other.key, other.index, other.value)

    def __hash__(self) -> int:
        return hash((self.key, self.index))

    def __reduce__(self) -> tuple[type[KVPair], tuple[str, bytes | Encodable, int]]:
        return KVPair, (self.key, self.record or self.value, self.index)

    def __repr__(self) -> str:
        return f"KVPair(key={self.key!r}, value={self.value!r}, index={self.index!r})"


class KVOps(ABC):
    """The reads and writes a Store and its transactions both offer."""

    __slots__ = ()

    @abstractmethod
    def get(self, key: str) -> KVPair:
        """The pair stored at ``key``; KeyNotFoundError if there is none."""

    @abstractmethod
    def put(self, key: str, value: bytes) -> KVPair:
        """Store ``value`` at ``key``, creating or replacing it; return the new pair."""

    def put_object(self, key: str, value: Encodable) -> KVPair:
        """Store ``value`` at ``key`` as :meth:`put` does; a store that keeps objects keeps
        it as is (never changed afterwards), the others write its bytes."""
        return self.put(key, value.encode())

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; KeyNotFoundError if there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a value is stored at ``key``."""

    @abstractmethod
    def list(self, prefix: str) -> builtins.list[KVPair]:
        """Every pair whose key starts with ``prefix``, sorted by key; empty if none."""

    @abstractmethod
    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        """Put only if ``key`` is still as ``previous`` says (None: it must not exist).

        Raises StaleVersionError when the key's index differs from ``previous.index``,
        or the key exists although ``previous`` is None, or is gone although it is not.
        """

    @abstractmethod
    def atomic_delete(self, key: str, previous: KVPair) -> None:
        """Delete only if ``key`` still has ``previous.index``; StaleVersionError if not."""


class Transaction(KVOps):
    """Reads and writes that commit all together or not at all.

    Use it as a context manager: the writes commit when the block ends normally and are
    discarded when an exception leaves it. It serialises with every other writer of the
    store, so a read-modify-write inside it is never interleaved with another.
    """

    __slots__ = ()

    @abstractmethod
    def __enter__(self) -> Transaction:
        """Start the transaction, waiting for other writers to finish."""

    @abstractmethod
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Commit, or roll back if an exception is leaving the block."""


class Store(KVOps):
    """A key-value store holding libnet's state; thread-safe; a context manager that closes."""

    __slots__ = ()

    @property
    def durable(self) -> bool:
        """Whether what it holds can outlive this process (a file, a cluster). The
        controller records intents for crash recovery only in a durable store: a store
        that dies with its process leaves no operation to recover."""
        return True

    @abstractmethod
    def transaction(self) -> Transaction:
        """A new transaction, to be used in a ``with`` block."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's resources; further use raises StoreError. Idempotent."""

    def locks(self) -> Locks:
        """The per-object locks of this store's users (see :mod:`libnet.store._locks`).

        This default serves stores living in one process; a store shared between
        processes must return locks that those processes share.
        """
        return _PROCESS_LOCKS

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_PROCESS_LOCKS = ThreadLocks()


class BufferedTransaction(Transaction):
    """A transaction that keeps its writes in ``_writes`` until it commits.

    Subclasses say how a key is read (``_current``: the buffered write, else the stored
    pair), how a write is buffered (``_write``) and a deletion (``_remove``); the reads and
    writes of the contract follow from those.
    """

    __slots__ = ()

    _writes: dict[str, KVPair | None]  # None: deleted

    @abstractmethod
    def _check(self) -> object:
        """Raise StoreError unless the transaction is active."""

    @abstractmethod
    def _current(self, key: str) -> KVPair | None:
        """The pair at ``key`` as this transaction sees it (None: absent)."""

    @abstractmethod
    def _write(self, key: str, value: bytes) -> KVPair:
        """Buffer a write and return the pair it makes."""

    def _remove(self, key: str) -> None:
        """Buffer the deletion of ``key``, which exists."""
        self._writes[key] = None

    def get(self, key: str) -> KVPair:
        pair = self._current(key)
        if pair is None:
            raise KeyNotFoundError(key)
        return pair

    def exists(self, key: str) -> bool:
        return self._current(key) is not None

    def put(self, key: str, value: bytes) -> KVPair:
        check_write(key, value)
        self._check()
        return self._write(key, value)

    def delete(self, key: str) -> None:
        if self._current(key) is None:
            raise KeyNotFoundError(key)
        self._remove(key)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        check_write(key, value)
        current = self._current(key)
        check_previous(key, None if current is None else current.index, previous)
        return self._write(key, value)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        current = self._current(key)
        check_previous(key, None if current is None else current.index, previous)
        self._remove(key)

    def _overlay(self, stored: dict[str, KVPair], prefix: str) -> builtins.list[KVPair]:
        """``stored`` (the pairs under ``prefix``) with this transaction's writes, by key."""
        for key, pair in self._writes.items():
            if key.startswith(prefix):
                if pair is None:
                    stored.pop(key, None)
                else:
                    stored[key] = pair
        return [stored[key] for key in sorted(stored)]


# Helpers shared by the backends.


def check_write(key: str, value: bytes) -> None:
    """Raise BadRequestError unless ``key`` is a non-empty string and ``value`` is bytes."""
    if not key or not isinstance(key, str):
        raise BadRequestError(f"state store key {key!r} must be a non-empty string")
    if not isinstance(value, bytes):
        raise BadRequestError(
            f"value for state store key {key!r} is {type(value).__name__}; it must be bytes"
        )


def check_previous(key: str, index: int | None, previous: KVPair | None) -> None:
    """Raise StaleVersionError unless ``key``'s current ``index`` (None: absent) matches."""
    if previous is None:
        if index is not None:
            raise StaleVersionError(key, "it exists, and was expected not to")
        return
    if previous.key != key:
        raise BadRequestError(f"previous pair is for key {previous.key!r}, not {key!r}")
    if index is None:
        raise StaleVersionError(key, f"it was deleted after index {previous.index}")
    if index != previous.index:
        raise StaleVersionError(key, f"index is {index}, expected {previous.index}")


def prefix_end(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (None: no bound)."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return None
    code = ord(stem[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # skip surrogates, which cannot be encoded
        code = 0xE000
    return stem[:-1] + chr(code)
