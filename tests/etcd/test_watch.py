"""EtcdStore watches against real etcd: compaction, and resuming when the leader dies."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable

from _etcd import EtcdCluster

from libnet.errors import StoreCompactedError
from libnet.store import EtcdStore, WatchEvent

NewEtcd = Callable[[int], EtcdCluster]


def _drain(watch: object, count: int, timeout: float = 15.0) -> list[WatchEvent]:
    events: list[WatchEvent] = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        events += watch.next(0.2)  # type: ignore[attr-defined]
    return events


def test_a_watch_from_a_compacted_revision_raises_and_a_new_listing_resumes(
    etcd1: EtcdCluster,
) -> None:
    with EtcdStore(etcd1.url(f"w-{uuid.uuid4().hex[:12]}")) as store:
        _, old = store.list_revision("k/")
        store.put("k/a", b"1")
        latest = store.put("k/a", b"2")
        store.compact(latest.index)
        with store.watch("k/", old) as watch:
            try:
                watch.next(5)
            except StoreCompactedError as e:
                assert e.revision >= latest.index
            else:
                raise AssertionError("no StoreCompactedError")
        pairs, now = store.list_revision("k/")
        assert [p.value for p in pairs] == [b"2"]
        with store.watch("k/", now) as watch:
            store.put("k/a", b"3")
            assert [e.value for e in _drain(watch, 1)] == [b"3"]


def test_a_watch_resumes_on_another_member_when_the_leader_dies_and_misses_nothing(
    new_etcd: NewEtcd,
) -> None:
    cluster = new_etcd(3)
    leader = cluster.leader()
    # The reader's watch is on the leader, so the kill cuts it.
    order = [leader] + [m for m in cluster.members if m is not leader]
    url = "etcd://" + ",".join(m.endpoint for m in order) + "/w/?timeout=15"
    with EtcdStore(url) as writer, EtcdStore(url) as reader:
        _, revision = reader.list_revision("p/")
        with reader.watch("p/", revision) as watch:
            writer.put("p/0", b"before")
            assert [e.key for e in _drain(watch, 1)] == ["p/0"]
            cluster.kill(leader.name, signal.SIGKILL)
            for n in range(1, 6):
                writer.put(f"p/{n}", b"after")
            events = _drain(watch, 5)
    assert [e.key for e in events] == [f"p/{n}" for n in range(1, 6)]
