"""A store behind one lock in its process, and a transaction holding it from start to end.

The SQLite and etcd backends share this: each call takes the store's lock; a transaction
takes it at ``__enter__`` (refusing to nest) and gives it back at ``__exit__``, after its
backend committed or rolled back; the thread running a transaction may not use the store
directly or close it. The errors name the store as its backend's ``_name()`` says.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from libnet.errors import StoreError
from libnet.store._api import Store, Transaction

__all__ = ["GuardedStore", "GuardedTransaction"]

_get_ident = threading.get_ident
_NEW, _ACTIVE, _DONE = 0, 1, 2


class GuardedStore(Store):
    """A Store whose calls and transactions take ``_lock``; see the module's docstring.

    Subclasses name themselves in errors with ``_name()`` and ``KIND``.
    """

    __slots__ = ("_closed", "_lock", "_owner")

    KIND: ClassVar[str]
    """What the store is, in errors about its transactions ("etcd store")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread running a transaction
        self._closed = False

    @abstractmethod
    def _name(self) -> str:
        """The store in errors, at the start of a sentence ("the etcd store at ...")."""

    def _acquire(self) -> None:
        """Take the lock for one call; StoreError inside a transaction or once closed."""
        if self._owner == _get_ident():
            raise StoreError(
                f"{self._name()} was used directly inside one of its own "
                "transactions; use the transaction object instead"
            )
        self._lock.acquire()
        if self._closed:
            self._lock.release()
            raise StoreError(f"{self._name()} is closed")

    def _begin(self) -> None:
        """Take the lock for a transaction of this thread, then run ``_start``."""
        if self._owner == _get_ident():
            raise StoreError(f"{self.KIND} transactions cannot be nested")
        self._acquire()
        try:
            self._start()
        except BaseException:
            self._lock.release()
            raise
        self._owner = _get_ident()

    def _start(self) -> None:
        """What the backend does when a transaction starts, the lock held (default: nothing)."""

    def _finish(self) -> None:
        """Give back the lock a transaction took."""
        self._owner = None
        self._lock.release()

    def _check_close(self) -> None:
        """StoreError if this thread is inside one of the store's transactions."""
        if self._owner == _get_ident():
            raise StoreError(f"{self._name()} cannot be closed inside its transaction")


_S = TypeVar("_S", bound=GuardedStore)
_T = TypeVar("_T", bound="GuardedTransaction[Any]")


class GuardedTransaction(Transaction, Generic[_S]):
    """A transaction of a GuardedStore: new, then active inside its block, then done.

    Subclasses say how the block ends (``_end``).
    """

    __slots__ = ("_state", "_store")

    def __init__(self, store: _S) -> None:
        self._store = store
        self._state = _NEW

    def __enter__(self: _T) -> _T:
        if self._state != _NEW:
            raise StoreError(f"the {self._store.KIND} transaction cannot be started twice")
        self._store._begin()
        self._state = _ACTIVE
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state != _ACTIVE:
            return
        self._state = _DONE
        try:
            self._end(exc_type is None)
        finally:
            self._store._finish()

    @abstractmethod
    def _end(self, commit: bool) -> None:
        """Commit (``commit``) or roll back, the store's lock still held."""

    def _check(self) -> _S:
        """The store; StoreError unless the transaction is active."""
        if self._state != _ACTIVE:
            raise StoreError(
                f"the {self._store.KIND} transaction is not active: use it inside its 'with' block"
            )
        return self._store
