"""DriverStoreConformance: the contract of watches, leases and DriverStore, as a test class.

A store backend meant to be a global store (``WatchableStore``) subclasses it as a
``Test...`` class and says how to make a fresh, empty store; every test then states one rule
that multi-host drivers rely on through :class:`~libnet.store.DriverStore`: ordered
PUT/DELETE events with previous values, replay from a revision, transactions watched, leases
that expire, are kept alive and are revoked, compare-and-swap under a prefix::

    from libnet.testing import DriverStoreConformance

    class TestMyStore(DriverStoreConformance):
        def make_store(self, request):
            return MyStore(...)
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from libnet.errors import StaleVersionError, StoreLeaseLostError
from libnet.store import DriverStore, Watch, WatchableStore, WatchEvent

__all__ = ["DriverStoreConformance"]


def _drain(watch: Watch, count: int, timeout: float = 5.0) -> list[WatchEvent]:
    """Events until ``count`` came (or the timeout passed)."""
    events: list[WatchEvent] = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        events += watch.next(0.2)
    return events


class DriverStoreConformance:
    """The watch, lease and DriverStore contract; override :meth:`make_store`."""

    def make_store(self, request: pytest.FixtureRequest) -> WatchableStore:
        """A fresh, empty store (``request`` reaches other fixtures); closed after the test."""
        raise NotImplementedError("override make_store to return the store under test")

    @pytest.fixture
    def watchable(self, request: pytest.FixtureRequest) -> Iterator[WatchableStore]:
        with self.make_store(request) as store:
            yield store

    def test_a_watch_reports_puts_and_deletes_under_its_prefix_in_order(
        self, watchable: WatchableStore
    ) -> None:
        _, revision = watchable.list_revision("a/")
        with watchable.watch("a/", revision) as watch:
            first = watchable.put("a/x", b"1")
            watchable.put("b/y", b"2")
            watchable.put("a/x", b"3")
            watchable.delete("a/x")
            events = _drain(watch, 3)
        assert [(e.kind, e.key, e.value, e.prev_value) for e in events] == [
            ("PUT", "a/x", b"1", None),
            ("PUT", "a/x", b"3", b"1"),
            ("DELETE", "a/x", b"", b"3"),
        ]
        assert events[0].revision == first.index
        assert events[0].revision < events[1].revision < events[2].revision

    def test_a_watch_from_an_old_revision_replays_what_came_after_it(
        self, watchable: WatchableStore
    ) -> None:
        _, start = watchable.list_revision("p/")
        watchable.put("p/1", b"a")
        watchable.put("p/2", b"b")
        pairs, now = watchable.list_revision("p/")
        assert [p.key for p in pairs] == ["p/1", "p/2"] and now > start
        with watchable.watch("p/", start) as watch:
            assert [e.key for e in _drain(watch, 2)] == ["p/1", "p/2"]
        with watchable.watch("p/", now) as watch:
            assert watch.next(0.3) == []

    def test_transaction_writes_are_watched(self, watchable: WatchableStore) -> None:
        watchable.put("t/gone", b"x")
        _, revision = watchable.list_revision("t/")
        with watchable.watch("t/", revision) as watch:
            with watchable.transaction() as txn:
                txn.put("t/new", b"1")
                txn.delete("t/gone")
            assert sorted((e.kind, e.key) for e in _drain(watch, 2)) == [
                ("DELETE", "t/gone"),
                ("PUT", "t/new"),
            ]

    def test_a_revoked_lease_deletes_its_keys_with_events(self, watchable: WatchableStore) -> None:
        lease = watchable.grant_lease(30)
        watchable.put_leased("l/k", b"v", lease)
        watchable.put("l/other", b"w")
        _, revision = watchable.list_revision("l/")
        with watchable.watch("l/", revision) as watch:
            watchable.revoke_lease(lease)
            (event,) = _drain(watch, 1)
        assert (event.kind, event.key, event.prev_value) == ("DELETE", "l/k", b"v")
        assert [p.key for p in watchable.list("l/")] == ["l/other"]
        watchable.revoke_lease(lease)  # idempotent
        with pytest.raises(StoreLeaseLostError, match="grant another"):
            watchable.keepalive_lease(lease)
        with pytest.raises(StoreLeaseLostError):
            watchable.put_leased("l/k", b"v", lease)

    def test_a_lease_not_kept_alive_expires_after_its_ttl(self, watchable: WatchableStore) -> None:
        lease = watchable.grant_lease(1)
        watchable.put_leased("e/k", b"v", lease)
        assert watchable.keepalive_lease(lease) >= 1
        deadline = time.monotonic() + 5
        while watchable.exists("e/k") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not watchable.exists("e/k")

    def test_a_lease_object_keeps_its_keys_alive_past_the_ttl(
        self, watchable: WatchableStore
    ) -> None:
        view = DriverStore(watchable, "d/")
        with view.lease(1) as lease:
            view.put("alive", b"1", lease=lease)
            time.sleep(2.2)
            assert view.get("alive").value == b"1"
            assert not lease.lost.is_set()
        assert view.find("alive") is None  # revoked on leaving the block

    def test_a_released_lease_expires_as_after_a_crash(self, watchable: WatchableStore) -> None:
        view = DriverStore(watchable, "d/")
        lease = view.lease(1)
        view.put("k", b"1", lease=lease)
        lease.release()
        assert view.find("k") is not None
        deadline = time.monotonic() + 5
        while view.find("k") is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert view.find("k") is None

    def test_the_driver_view_keeps_keys_under_its_prefix(self, watchable: WatchableStore) -> None:
        view = DriverStore(watchable, "drivers/mine/")
        created = view.create("net/n1", b"v1")
        assert created.key == "net/n1"
        assert watchable.get("drivers/mine/net/n1").value == b"v1"
        with pytest.raises(StaleVersionError):
            view.create("net/n1", b"again")
        swapped = view.compare_and_swap("net/n1", b"v2", created)
        with pytest.raises(StaleVersionError):
            view.compare_and_swap("net/n1", b"v3", created)  # stale: read before the swap
        assert [(p.key, p.value) for p in view.list("net/")] == [("net/n1", b"v2")]
        with pytest.raises(StaleVersionError):
            view.compare_and_delete("net/n1", created)
        view.compare_and_delete("net/n1", swapped)
        assert view.delete("net/n1") is False
        watchable.put("drivers/minex/k", b"not mine")
        assert view.list() == []

    def test_the_driver_view_watches_with_relative_keys(self, watchable: WatchableStore) -> None:
        view = DriverStore(watchable, "drv/")
        _, revision = view.list_revision("peer/")
        with view.watch("peer/", revision) as watch:
            view.put("peer/n/e", b"r")
            view.put("other/x", b"-")
            (event,) = _drain(watch, 1)
        assert (event.kind, event.key) == ("PUT", "peer/n/e")
