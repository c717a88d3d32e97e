"""Named locks kept in a store, with fencing: the contract the controller's global locks use.

A lock is held under a lease: while its holder lives it keeps the lease alive; a holder that
dies (even by SIGKILL) loses the lock when the lease expires. Every acquisition gets a
*fencing token* that no later acquisition shares; a store transaction opened with
``fence=lock`` commits only if the lock's key still carries that token, so a holder whose
lease expired (paused, partitioned) can never write after another took over.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

__all__ = ["LockService", "StoreLock"]


class StoreLock(ABC):
    """One acquisition of a named lock; release it, or use it as a context manager."""

    __slots__ = ()

    @property
    @abstractmethod
    def name(self) -> str:
        """The lock's name, as given to :meth:`LockService.acquire`."""

    @property
    @abstractmethod
    def key(self) -> str:
        """The store key that holds the lock while it is held."""

    @property
    @abstractmethod
    def token(self) -> int:
        """The fencing token: the store revision at which this acquisition was made."""

    @property
    @abstractmethod
    def lost(self) -> bool:
        """Whether the lock is known to be lost (lease expired, or released)."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock up; idempotent, and quiet if it was already lost."""

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class LockService(ABC):
    """Hands out named locks whose holders are fenced."""

    __slots__ = ()

    @abstractmethod
    def acquire(self, name: str, *, wait: float | None = None) -> StoreLock:
        """Take lock ``name``, waiting up to ``wait`` seconds (None: the service's default).

        Raises StoreLockTimeoutError, naming the holder, when it stayed held that long.
        """
