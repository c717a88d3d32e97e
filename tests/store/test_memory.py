"""MemoryStore: what the contract tests do not cover."""

from __future__ import annotations

import threading

import pytest

from libnet.store import MemoryStore


def test_instances_share_nothing() -> None:
    first, second = MemoryStore(), MemoryStore()
    first.put("k", b"v")
    assert not second.exists("k")


def test_rollback_restores_the_index_counter() -> None:
    store = MemoryStore()
    before = store.put("k", b"")
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.put("a", b"")
        txn.put("b", b"")
        raise RuntimeError
    assert store.put("k", b"").index == before.index + 1


def test_readers_wait_for_a_transaction_and_never_see_part_of_it() -> None:
    store = MemoryStore()
    seen: list[tuple[bool, bool]] = []
    in_transaction = threading.Event()

    def reader() -> None:
        in_transaction.wait()
        seen.append((store.exists("a"), store.exists("b")))

    thread = threading.Thread(target=reader)
    thread.start()
    with store.transaction() as txn:
        txn.put("a", b"")
        in_transaction.set()
        thread.join(0.05)
        txn.put("b", b"")
    thread.join(5)
    assert seen == [(True, True)]
