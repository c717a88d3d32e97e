"""The Store contract, run against every backend (see the ``store`` fixture)."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from libnet.errors import (
    BadRequestError,
    ForbiddenError,
    KeyNotFoundError,
    NotFoundError,
    StaleVersionError,
    StoreError,
)
from libnet.store import KVPair, Store

# Reads and writes.


def test_put_then_get_returns_the_value(store: Store) -> None:
    written = store.put("local/network/n1", b'{"name": "n1"}')
    assert written == KVPair("local/network/n1", b'{"name": "n1"}', written.index)
    assert store.get("local/network/n1") == written


def test_overwrite_replaces_value_and_raises_index(store: Store) -> None:
    first = store.put("k", b"1")
    second = store.put("k", b"2")
    assert second.index > first.index
    assert store.get("k") == second


def test_index_is_never_reused_after_delete(store: Store) -> None:
    old = store.put("k", b"1")
    store.delete("k")
    assert store.put("k", b"1").index > old.index


def test_empty_value_is_stored(store: Store) -> None:
    store.put("k", b"")
    assert store.get("k").value == b""


def test_get_missing_key_raises_key_not_found_naming_it(store: Store) -> None:
    with pytest.raises(KeyNotFoundError, match="local/network/nope") as info:
        store.get("local/network/nope")
    assert info.value.key == "local/network/nope"
    assert isinstance(info.value, NotFoundError)


def test_delete_removes_the_key(store: Store) -> None:
    store.put("k", b"v")
    store.delete("k")
    assert not store.exists("k")
    with pytest.raises(KeyNotFoundError):
        store.get("k")


def test_delete_missing_key_raises_key_not_found(store: Store) -> None:
    with pytest.raises(KeyNotFoundError, match="'k'"):
        store.delete("k")


def test_exists(store: Store) -> None:
    assert not store.exists("k")
    store.put("k", b"v")
    assert store.exists("k")


def test_list_returns_pairs_under_prefix_sorted_by_key(store: Store) -> None:
    for key in ["a/2", "b/1", "a/10", "a/1", "ab/1"]:
        store.put(key, key.encode())
    assert [p.key for p in store.list("a/")] == ["a/1", "a/10", "a/2"]
    assert [p.value for p in store.list("a/")] == [b"a/1", b"a/10", b"a/2"]
    assert store.list("a/1") == [store.get("a/1"), store.get("a/10")]


def test_list_reaches_nested_keys_and_forgets_deleted_ones(store: Store) -> None:
    keys = ["x", "x/a", "x/a/1", "x/a/b/2", "x/ab/3", "x/b", "xa/4"]
    for key in keys:
        store.put(key, b"")
    assert [p.key for p in store.list("x/a")] == ["x/a", "x/a/1", "x/a/b/2", "x/ab/3"]
    assert [p.key for p in store.list("x/a/")] == ["x/a/1", "x/a/b/2"]
    assert [p.key for p in store.list("x")] == keys
    store.delete("x/a/b/2")
    with store.transaction() as tx:
        tx.delete("x/a/1")
        tx.put("x/a/c/5", b"")
    assert [p.key for p in store.list("x/a/")] == ["x/a/c/5"]


def test_list_with_empty_prefix_returns_everything(store: Store) -> None:
    store.put("b", b"")
    store.put("a", b"")
    assert [p.key for p in store.list("")] == ["a", "b"]


def test_list_with_no_match_is_empty(store: Store) -> None:
    store.put("a/1", b"")
    assert store.list("b/") == []


def test_list_handles_non_ascii_prefix_and_keys(store: Store) -> None:
    keys = ["é/1", "é/\U0010ffff", "é\U0010ffff", "é\U0010ffffx", "ê"]
    for key in keys:
        store.put(key, b"")
    assert [p.key for p in store.list("é/")] == ["é/1", "é/\U0010ffff"]
    assert [p.key for p in store.list("é\U0010ffff")] == ["é\U0010ffff", "é\U0010ffffx"]
    assert [p.key for p in store.list("é")] == keys[:4]


def test_kvpair_is_frozen() -> None:
    pair = KVPair("k", b"v", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.index = 2  # type: ignore[misc]


@pytest.mark.parametrize("key", ["", None, 7])
def test_put_refuses_a_key_that_is_not_a_non_empty_string(store: Store, key: object) -> None:
    with pytest.raises(BadRequestError, match="non-empty string"):
        store.put(key, b"v")  # type: ignore[arg-type]


def test_put_refuses_a_value_that_is_not_bytes(store: Store) -> None:
    with pytest.raises(BadRequestError, match="str; it must be bytes"):
        store.put("k", "text")  # type: ignore[arg-type]
    assert not store.exists("k")


# Atomic writes.


def test_atomic_put_with_no_previous_creates_the_key(store: Store) -> None:
    created = store.atomic_put("k", b"v", None)
    assert store.get("k") == created


def test_atomic_put_with_no_previous_refuses_an_existing_key(store: Store) -> None:
    store.put("k", b"v")
    with pytest.raises(StaleVersionError, match=r"'k'.*exists") as info:
        store.atomic_put("k", b"new", None)
    assert info.value.key == "k"
    assert store.get("k").value == b"v"


def test_atomic_put_with_current_previous_replaces_the_value(store: Store) -> None:
    current = store.put("k", b"1")
    replaced = store.atomic_put("k", b"2", current)
    assert replaced.index > current.index
    assert store.get("k") == replaced


def test_atomic_put_with_stale_previous_raises_and_keeps_the_value(store: Store) -> None:
    stale = store.put("k", b"1")
    store.put("k", b"2")
    with pytest.raises(StaleVersionError, match="expected"):
        store.atomic_put("k", b"3", stale)
    assert store.get("k").value == b"2"


def test_atomic_put_after_delete_raises_stale(store: Store) -> None:
    stale = store.put("k", b"1")
    store.delete("k")
    with pytest.raises(StaleVersionError, match="deleted"):
        store.atomic_put("k", b"2", stale)
    assert not store.exists("k")


def test_atomic_put_after_delete_and_recreate_raises_stale(store: Store) -> None:
    stale = store.put("k", b"1")
    store.delete("k")
    store.put("k", b"1")
    with pytest.raises(StaleVersionError):
        store.atomic_put("k", b"2", stale)


def test_atomic_put_refuses_a_previous_for_another_key(store: Store) -> None:
    other = store.put("other", b"")
    store.put("k", b"")
    with pytest.raises(BadRequestError, match="'other', not 'k'"):
        store.atomic_put("k", b"v", other)


def test_atomic_delete_with_current_previous_deletes(store: Store) -> None:
    current = store.put("k", b"v")
    store.atomic_delete("k", current)
    assert not store.exists("k")


def test_atomic_delete_with_stale_previous_raises_and_keeps_the_key(store: Store) -> None:
    stale = store.put("k", b"1")
    store.put("k", b"2")
    with pytest.raises(StaleVersionError):
        store.atomic_delete("k", stale)
    assert store.get("k").value == b"2"


def test_atomic_delete_of_a_deleted_key_raises_stale(store: Store) -> None:
    stale = store.put("k", b"1")
    store.delete("k")
    with pytest.raises(StaleVersionError):
        store.atomic_delete("k", stale)


def test_stale_version_error_is_a_retryable_forbidden_error() -> None:
    error = StaleVersionError("k", "index is 2, expected 1")
    assert isinstance(error, ForbiddenError)
    assert error.retryable is True


# Transactions.


def test_transaction_commits_all_writes(store: Store) -> None:
    store.put("gone", b"")
    with store.transaction() as txn:
        txn.put("a", b"1")
        txn.put("b", b"2")
        txn.delete("gone")
    assert store.get("a").value == b"1"
    assert store.get("b").value == b"2"
    assert not store.exists("gone")


def test_transaction_reads_its_own_writes(store: Store) -> None:
    store.put("p/old", b"old")
    store.put("p/gone", b"")
    with store.transaction() as txn:
        written = txn.put("p/new", b"new")
        txn.put("p/old", b"changed")
        txn.delete("p/gone")
        assert txn.get("p/new") == written
        assert txn.exists("p/new")
        assert not txn.exists("p/gone")
        assert [(p.key, p.value) for p in txn.list("p/")] == [
            ("p/new", b"new"),
            ("p/old", b"changed"),
        ]
        with pytest.raises(KeyNotFoundError):
            txn.get("p/gone")


def test_transaction_rolls_back_everything_on_exception(store: Store) -> None:
    kept = store.put("keep", b"before")
    store.put("doomed", b"before")
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as txn:
        txn.put("new", b"x")
        txn.put("keep", b"after")
        txn.delete("doomed")
        raise RuntimeError("boom")
    assert not store.exists("new")
    assert store.get("keep") == kept
    assert store.get("doomed").value == b"before"
    assert store.put("after", b"").index > kept.index


def test_transaction_rolls_back_on_stale_atomic_write(store: Store) -> None:
    stale = store.put("k", b"1")
    store.put("k", b"2")
    with pytest.raises(StaleVersionError), store.transaction() as txn:
        txn.put("other", b"x")
        txn.atomic_put("k", b"3", stale)
    assert not store.exists("other")
    assert store.get("k").value == b"2"


def test_transaction_atomic_operations(store: Store) -> None:
    with store.transaction() as txn:
        created = txn.atomic_put("k", b"1", None)
        updated = txn.atomic_put("k", b"2", created)
        with pytest.raises(StaleVersionError):
            txn.atomic_delete("k", created)
        txn.atomic_delete("k", updated)
        assert not txn.exists("k")
    assert not store.exists("k")


def test_read_modify_write_in_a_transaction(store: Store) -> None:
    store.put("counter", b"41")
    with store.transaction() as txn:
        txn.put("counter", str(int(txn.get("counter").value) + 1).encode())
    assert store.get("counter").value == b"42"


def test_transaction_cannot_be_used_after_it_ends(store: Store) -> None:
    with store.transaction() as txn:
        txn.put("k", b"")
    with pytest.raises(StoreError, match="not active"):
        txn.put("k", b"again")
    with pytest.raises(StoreError, match="not active"):
        txn.get("k")


def test_transaction_cannot_be_started_twice(store: Store) -> None:
    txn = store.transaction()
    with txn:
        pass
    with pytest.raises(StoreError, match="twice"), txn:
        pass


def test_using_the_store_inside_its_own_transaction_raises_instead_of_deadlocking(
    store: Store,
) -> None:
    with store.transaction() as txn:
        txn.put("k", b"")
        with pytest.raises(StoreError, match="transaction"):
            store.get("k")
        with pytest.raises(StoreError, match="transaction"):
            store.transaction().__enter__()
        with pytest.raises(StoreError, match="transaction"):
            store.close()
    assert store.exists("k")


def test_transaction_blocks_other_writers_until_it_ends(store: Store) -> None:
    started = threading.Event()
    order: list[str] = []

    def writer() -> None:
        started.wait()
        store.put("k", b"other thread")
        order.append("writer done")

    thread = threading.Thread(target=writer)
    thread.start()
    with store.transaction() as txn:
        started.set()
        time.sleep(0.1)
        txn.put("k", b"transaction")
        order.append("transaction done")
    thread.join(5)
    assert order == ["transaction done", "writer done"]
    assert store.get("k").value == b"other thread"


def test_concurrent_read_modify_write_from_threads_loses_no_update(store: Store) -> None:
    store.put("counter", b"0")

    def increment() -> None:
        for _ in range(100):
            with store.transaction() as txn:
                count = int(txn.get("counter").value)
                txn.put("counter", str(count + 1).encode())

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("counter").value == b"400"


def test_concurrent_atomic_put_retries_lose_no_update(store: Store) -> None:
    store.put("counter", b"0")

    def increment() -> None:
        for _ in range(100):
            while True:
                current = store.get("counter")
                try:
                    store.atomic_put("counter", str(int(current.value) + 1).encode(), current)
                    break
                except StaleVersionError as e:
                    assert e.retryable

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("counter").value == b"400"


# Closing.


def test_closed_store_refuses_operations(store: Store) -> None:
    store.put("k", b"")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get("k")
    with pytest.raises(StoreError, match="closed"):
        store.put("k", b"")
    with pytest.raises(StoreError, match="closed"), store.transaction():
        pass


def test_close_is_idempotent(store: Store) -> None:
    store.close()
    store.close()


def test_context_manager_closes_the_store(store: Store) -> None:
    with store as entered:
        assert entered is store
    with pytest.raises(StoreError, match="closed"):
        store.exists("k")
