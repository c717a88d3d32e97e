"""A driver's own part of the global store: :class:`DriverStore`, and :class:`Lease`.

A multi-host driver (built in, or from a plugin package) keeps its data in the global store
through a DriverStore: a prefix of its own (``overlay/`` for the overlay driver), keys
relative to it, and the operations such a driver needs::

    view = DriverStore(global_store, "mydriver/")
    view.create("network/n1", b"...")              # only if absent, else StaleVersionError
    pair = view.get("network/n1")
    view.compare_and_swap("network/n1", b"...", pair)   # only if unchanged since read
    pairs, revision = view.list_revision("peer/")
    with view.watch("peer/", revision) as watch:   # every change after that revision
        for event in watch.next(timeout=1.0): ...
    with view.lease(ttl=10) as lease:              # kept alive by a thread
        view.put("node/me", b"...", lease=lease)   # gone when the lease ends

Reads, puts, compare-and-swap and deletes work on every Store; watches and leases need a
:class:`~libnet.store.watch.WatchableStore` (``MemoryStore``, ``EtcdStore``), else they fail
naming the store. Keys and events given back are relative to the prefix.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from libnet.errors import (
    InvalidOptionError,
    KeyNotFoundError,
    StoreError,
    StoreLeaseLostError,
    UnsupportedOperationError,
)
from libnet.store._api import KVPair, Store
from libnet.store.watch import Watch, WatchableStore, WatchEvent

__all__ = ["DriverStore", "Lease"]

log = logging.getLogger("libnet")


class DriverStore:
    """The keys of ``store`` under ``prefix`` (which ends with '/'), addressed relatively."""

    __slots__ = ("prefix", "store")

    def __init__(self, store: Store, prefix: str) -> None:
        if not prefix or not prefix.endswith("/") or prefix.startswith("/"):
            raise InvalidOptionError(
                f"driver store prefix {prefix!r} must be a non-empty path ending with '/', "
                "such as 'mydriver/'"
            )
        self.store = store
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"DriverStore({self.store!r}, {self.prefix!r})"

    def key(self, key: str) -> str:
        """The full store key of relative ``key``."""
        return self.prefix + key

    def _rel(self, pair: KVPair) -> KVPair:
        return KVPair(pair.key[len(self.prefix) :], pair.value, pair.index)

    def _full(self, pair: KVPair | None) -> KVPair | None:
        return None if pair is None else KVPair(self.key(pair.key), pair.value, pair.index)

    def _watchable(self, what: str) -> WatchableStore:
        if not isinstance(self.store, WatchableStore):
            raise UnsupportedOperationError(
                f"{what} needs a store with watches and leases (etcd, or memory for tests); "
                f"{type(self.store).__name__} has none: use an etcd global store"
            )
        return self.store

    # Reads.

    def get(self, key: str) -> KVPair:
        """The pair at ``key``; KeyNotFoundError if none."""
        return self._rel(self.store.get(self.key(key)))

    def find(self, key: str) -> KVPair | None:
        """The pair at ``key``, or None."""
        try:
            return self.get(key)
        except KeyNotFoundError:
            return None

    def list(self, prefix: str = "") -> builtins.list[KVPair]:
        """Every pair under relative ``prefix``, by key."""
        return [self._rel(p) for p in self.store.list(self.key(prefix))]

    def list_revision(self, prefix: str = "") -> tuple[builtins.list[KVPair], int]:
        """Every pair under ``prefix`` and the revision to watch from."""
        pairs, revision = self._watchable("listing at a revision").list_revision(self.key(prefix))
        return [self._rel(p) for p in pairs], revision

    # Writes.

    def put(self, key: str, value: bytes, *, lease: Lease | None = None) -> KVPair:
        """Store ``value`` at ``key``; with ``lease``, the key goes when the lease ends."""
        if lease is None:
            return self._rel(self.store.put(self.key(key), value))
        store = self._watchable("a put under a lease")
        return self._rel(store.put_leased(self.key(key), value, lease.id))

    def create(self, key: str, value: bytes) -> KVPair:
        """Store ``value`` at ``key`` only if it is absent; StaleVersionError if not."""
        return self._rel(self.store.atomic_put(self.key(key), value, None))

    def compare_and_swap(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        """Store ``value`` only if ``key`` is still as ``previous`` (read here) says (None:
        absent); StaleVersionError if another writer changed it."""
        return self._rel(self.store.atomic_put(self.key(key), value, self._full(previous)))

    def delete(self, key: str) -> bool:
        """Remove ``key``; False if it was absent."""
        try:
            self.store.delete(self.key(key))
        except KeyNotFoundError:
            return False
        return True

    def compare_and_delete(self, key: str, previous: KVPair) -> None:
        """Remove ``key`` only if unchanged since ``previous``; StaleVersionError if not."""
        full = self._full(previous)
        assert full is not None
        self.store.atomic_delete(self.key(key), full)

    # Watches and leases.

    def watch(self, prefix: str, after: int) -> Watch:
        """Changes under relative ``prefix`` after revision ``after`` (relative keys)."""
        store = self._watchable("a watch")
        return _RelativeWatch(store.watch(self.key(prefix), after), len(self.prefix))

    def lease(self, ttl: int, on_lost: Callable[[], None] | None = None) -> Lease:
        """A new lease of ``ttl`` seconds kept alive by a thread (see :class:`Lease`)."""
        return Lease(self._watchable("a lease"), ttl, on_lost)


class _RelativeWatch(Watch):
    def __init__(self, inner: Watch, strip: int) -> None:
        self._inner = inner
        self._strip = strip
        self.revision = inner.revision

    def next(self, timeout: float) -> builtins.list[WatchEvent]:
        events = self._inner.next(timeout)
        self.revision = self._inner.revision
        strip = self._strip
        return [
            WatchEvent(e.kind, e.key[strip:], e.value, e.prev_value, e.revision) for e in events
        ]

    def close(self) -> None:
        self._inner.close()


class Lease:
    """A lease in ``store``, granted now and renewed every third of its TTL by a thread.

    When renewal fails for longer than the TTL (the store unreachable) or the store says the
    lease is gone, ``lost`` is set and ``on_lost`` called (from the thread): the keys under it
    are gone, and a new lease is needed. ``revoke`` (also on leaving a ``with`` block) ends it
    at once, deleting its keys; ``release`` stops renewing and leaves it to expire.
    """

    def __init__(
        self, store: WatchableStore, ttl: int, on_lost: Callable[[], None] | None = None
    ) -> None:
        if ttl < 1:
            raise InvalidOptionError(f"lease TTL {ttl} must be at least 1 second")
        self.store = store
        self.ttl = ttl
        self.id = store.grant_lease(ttl)
        self.lost = threading.Event()
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="libnet-lease", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Lease({self.id:x}, ttl={self.ttl})"

    def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self.ttl / 3):
            try:
                self.store.keepalive_lease(self.id)
                renewed = time.monotonic()
                continue
            except StoreLeaseLostError:
                pass
            except StoreError as e:
                if time.monotonic() - renewed < self.ttl:
                    log.debug("lease %x not renewed yet: %s", self.id, e)
                    continue
            if not self._stop.is_set():
                self.lost.set()
                log.warning("lease %x of %s was lost", self.id, self.store)
                if self._on_lost is not None:
                    self._on_lost()
            return

    def release(self) -> None:
        """Stop renewing; the lease expires after its TTL (as if this process were killed)."""
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def revoke(self) -> None:
        """End the lease now: its keys go at once. Idempotent; store errors are logged."""
        self.release()
        with contextlib.suppress(StoreError):
            self.store.revoke_lease(self.id)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.revoke()
