"""Watches and leases: what a store shared by hosts offers beyond the key-value contract.

A :class:`WatchableStore` (``MemoryStore``, ``EtcdStore``) reports every change under a
prefix as a :class:`WatchEvent`, in revision order, from any revision it still keeps:

    pairs, revision = store.list_revision("overlay/peer/")
    with store.watch("overlay/peer/", after=revision) as watch:
        while running:
            for event in watch.next(timeout=1.0):
                ...  # event.kind is "PUT" or "DELETE"

A watch survives reconnects by itself (it resumes after the last revision it gave). When the
revision it must resume from has been compacted away, ``next`` raises
:class:`~libnet.errors.StoreCompactedError`: list again and watch from the new revision.

A lease is a time-to-live shared by keys: :meth:`WatchableStore.put_leased` ties a key to
one, and the key goes (with a DELETE event) when the lease is revoked or not kept alive
within its TTL. :class:`libnet.store.view.Lease` keeps one alive from a thread.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from libnet.store._api import KVPair, Store

__all__ = ["DELETE", "PUT", "Watch", "WatchEvent", "WatchableStore"]

PUT: Literal["PUT"] = "PUT"
DELETE: Literal["DELETE"] = "DELETE"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change: a PUT (``value`` is the new value) or a DELETE (``value`` is empty).

    ``prev_value`` is the value before the change (None: the key did not exist, or the
    store no longer knew it); ``revision`` is the change's store revision (a PUT's is the
    new pair's index).
    """

    kind: Literal["PUT", "DELETE"]
    key: str
    value: bytes
    prev_value: bytes | None
    revision: int


class Watch(ABC):
    """The changes under one prefix, from a revision on; a context manager that closes."""

    revision: int
    """The revision of the last event given (or the one the watch started after)."""

    @abstractmethod
    def next(self, timeout: float) -> builtins.list[WatchEvent]:
        """The events that came since the last call, waiting up to ``timeout`` seconds for
        one; empty when none came. StoreCompactedError when events were compacted away."""

    @abstractmethod
    def close(self) -> None:
        """Stop watching; idempotent."""

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class WatchableStore(Store):
    """A Store with watches and leases (see the module's docstring)."""

    __slots__ = ()

    @abstractmethod
    def list_revision(self, prefix: str) -> tuple[builtins.list[KVPair], int]:
        """Every pair under ``prefix`` and the store revision they were read at (one
        snapshot): watch from that revision to miss nothing."""

    @abstractmethod
    def watch(self, prefix: str, after: int) -> Watch:
        """The changes under ``prefix`` with a revision above ``after``."""

    @abstractmethod
    def grant_lease(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds (at least 1); its ID."""

    @abstractmethod
    def keepalive_lease(self, lease: int) -> int:
        """Renew ``lease`` for its full TTL; the TTL. StoreLeaseLostError if it is gone."""

    @abstractmethod
    def revoke_lease(self, lease: int) -> None:
        """End ``lease`` now, deleting its keys; a lease gone already is fine."""

    @abstractmethod
    def put_leased(self, key: str, value: bytes, lease: int) -> KVPair:
        """Put ``value`` at ``key``, tied to ``lease``; StoreLeaseLostError if it is gone."""
