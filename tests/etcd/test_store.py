"""EtcdStore against real etcd: what the contract suite does not cover.

Revisions as indexes, transactions between two clients, etcd's limits, and failures: the
leader killed mid-loop, the cluster down or hung, the whole cluster restarted.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _etcd import EtcdCluster, b64, gateway_call

from libnet.errors import (
    KeyNotFoundError,
    OperationTimeoutError,
    StaleVersionError,
    StoreLimitError,
    StoreOutcomeUnknownError,
    StoreUnavailableError,
)
from libnet.store import EtcdStore, KVPair
from libnet.store.etcd import PROVISIONAL_INDEX

NewEtcd = Callable[[int], EtcdCluster]


def _prefix() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def prefix() -> str:
    return _prefix()


# Keys, revisions, prefixes.


def test_index_is_etcds_mod_revision_and_keys_live_under_the_prefix(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        pair = store.put("global/network/n1", b"{}")
    raw = gateway_call(
        etcd1.members[0].client_port, "kv/range", {"key": b64(f"{prefix}/global/network/n1")}
    )
    assert int(raw["kvs"][0]["mod_revision"]) == pair.index


def test_two_prefixes_on_one_cluster_share_nothing(etcd1: EtcdCluster) -> None:
    with EtcdStore(etcd1.url(_prefix())) as first, EtcdStore(etcd1.url(_prefix())) as second:
        first.put("k", b"1")
        assert not second.exists("k")
        assert second.list("") == []


def test_the_default_prefix_is_libnet(etcd1: EtcdCluster) -> None:
    with EtcdStore(etcd1.url()) as store:
        key = f"k-{uuid.uuid4().hex}"
        store.put(key, b"v")
        raw = gateway_call(etcd1.members[0].client_port, "kv/range", {"key": b64(f"libnet/{key}")})
        assert raw["kvs"]
        store.delete(key)


def test_list_pages_through_more_keys_than_one_answer_holds(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        for start in range(0, 2500, 100):
            with store.transaction() as txn:
                for i in range(start, start + 100):
                    txn.put(f"p/{i:05d}", b"x")
        found = store.list("p/")
    assert [p.key for p in found] == [f"p/{i:05d}" for i in range(2500)]


def test_pairs_written_in_a_transaction_carry_provisional_indexes_then_the_commit_revision(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        with store.transaction() as txn:
            inside = txn.put("a", b"1")
            txn.put("b", b"2")
        assert inside.index > PROVISIONAL_INDEX
        assert txn.revision is not None
        assert store.get("a") == KVPair("a", b"1", txn.revision)
        assert store.get("b").index == txn.revision


# Transactions between two clients.


def test_a_transaction_whose_read_changed_meanwhile_writes_nothing(
    etcd1: EtcdCluster, prefix: str
) -> None:
    url = etcd1.url(prefix)
    with EtcdStore(url) as mine, EtcdStore(url) as other:
        mine.put("counter", b"1")
        with pytest.raises(StaleVersionError, match="'counter'") as info, mine.transaction() as txn:
            value = int(txn.get("counter").value)
            other.put("counter", b"5")
            txn.put("counter", str(value + 1).encode())
            txn.put("side", b"effect")
        assert info.value.retryable
        assert mine.get("counter").value == b"5"
        assert not mine.exists("side")


def test_a_key_created_under_a_listed_prefix_meanwhile_fails_the_commit(
    etcd1: EtcdCluster, prefix: str
) -> None:
    url = etcd1.url(prefix)
    with EtcdStore(url) as mine, EtcdStore(url) as other:
        with pytest.raises(StaleVersionError, match="'ep/'"), mine.transaction() as txn:
            assert txn.list("ep/") == []
            other.put("ep/1", b"")
            txn.put("net", b"deleted")
        assert not mine.exists("net")


def test_a_key_deleted_under_a_listed_prefix_meanwhile_fails_the_commit(
    etcd1: EtcdCluster, prefix: str
) -> None:
    url = etcd1.url(prefix)
    with EtcdStore(url) as mine, EtcdStore(url) as other:
        mine.put("ep/1", b"")
        with pytest.raises(StaleVersionError, match="ep/1"), mine.transaction() as txn:
            assert len(txn.list("ep/")) == 1
            other.delete("ep/1")
            txn.put("count", b"1")
        assert not mine.exists("count")


def test_a_read_only_transaction_sees_one_snapshot(etcd1: EtcdCluster, prefix: str) -> None:
    url = etcd1.url(prefix)
    with EtcdStore(url) as mine, EtcdStore(url) as other:
        mine.put("a", b"1")
        mine.put("b", b"1")
        with mine.transaction() as txn:
            assert txn.get("a").value == b"1"
            other.put("b", b"2")
            assert txn.get("b").value == b"1"
        assert mine.get("b").value == b"2"


def test_delete_in_a_transaction_of_a_key_written_blind_there_deletes_the_stored_one(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        store.put("k", b"old")
        with store.transaction() as txn:
            txn.put("k", b"new")
            txn.delete("k")
        assert not store.exists("k")


# etcd's limits.


def test_127_writes_in_a_transaction_commit_and_128_are_refused_before_sending(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        with store.transaction() as txn:
            for i in range(127):
                txn.put(f"a/{i}", b"")
        assert len(store.list("a/")) == 127
        too_many = pytest.raises(StoreLimitError, match=r"128 writes.*at most 127.*max-txn-ops")
        with too_many, store.transaction() as txn:
            for i in range(128):
                txn.put(f"b/{i}", b"")
        assert store.list("b/") == []


def test_etcds_own_refusal_of_too_many_operations_is_a_limit_error(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        ops = [{"request_put": {"key": b64(f"{prefix}/x{i}"), "value": ""}} for i in range(129)]
        with pytest.raises(StoreLimitError, match="max-txn-ops"):
            store.gateway.call("kv/txn", {"success": ops})


def test_a_value_over_etcds_request_limit_is_refused_naming_it(
    etcd1: EtcdCluster, prefix: str
) -> None:
    with EtcdStore(etcd1.url(prefix)) as store:
        with pytest.raises(StoreLimitError, match="max-request-bytes"):
            store.put("big", b"x" * (1600 * 1024))
        too_large = pytest.raises(StoreLimitError, match="max-request-bytes")
        with too_large, store.transaction() as txn:
            for i in range(4):
                txn.put(f"big/{i}", b"x" * (500 * 1024))
        assert store.list("big") == []
        store.put("big", b"x" * (1024 * 1024))  # under the limit
        assert len(store.get("big").value) == 1024 * 1024


# Failures.


def _create(store: EtcdStore, key: str, value: bytes) -> None:
    """Create-if-absent that resolves a lost answer by reading the key back."""
    while True:
        try:
            store.atomic_put(key, value, None)
            return
        except StoreOutcomeUnknownError:
            try:
                if store.get(key).value == value:
                    return
            except KeyNotFoundError:
                pass


def _increment(store: EtcdStore, expected: int) -> None:
    """counter := expected + 1 in a transaction; a lost answer is resolved by reading."""
    while True:
        try:
            with store.transaction() as txn:
                assert int(txn.get("counter").value) == expected
                txn.put("counter", str(expected + 1).encode())
            return
        except StoreOutcomeUnknownError:
            if int(store.get("counter").value) == expected + 1:
                return


def test_sigkill_of_the_leader_during_a_loop_of_operations(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(3)
    leader = cluster.leader()
    # The client talks to the leader first, so the kill cuts its connection.
    order = [leader] + [m for m in cluster.members if m is not leader]
    url = "etcd://" + ",".join(m.endpoint for m in order) + "/loop?timeout=10"
    done = 0
    failures: list[BaseException] = []
    progress = threading.Event()

    def loop() -> None:
        nonlocal done
        try:
            with EtcdStore(url) as store:
                store.put("counter", b"0")
                for i in range(300):
                    _create(store, f"items/{i:03d}", str(i).encode())
                    _increment(store, i)
                    done = i + 1
                    if done == 50:
                        progress.set()
        except BaseException as e:
            failures.append(e)
            progress.set()

    thread = threading.Thread(target=loop)
    thread.start()
    assert progress.wait(60)
    cluster.kill(leader.name, signal.SIGKILL)
    killed_at = done
    thread.join(120)
    assert not failures, failures
    assert killed_at < 300  # the kill came before the end, and the loop went on
    assert done == 300
    with EtcdStore("etcd://" + ",".join(m.endpoint for m in order[1:]) + "/loop") as store:
        assert store.get("counter").value == b"300"
        items = store.list("items/")
    assert [(p.key, p.value) for p in items] == [
        (f"items/{i:03d}", str(i).encode()) for i in range(300)
    ]
    assert cluster.leader() is not leader


def test_etcd_down_gives_one_clear_retryable_error_within_the_timeout(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(1)
    with EtcdStore(cluster.url("down", timeout="1")) as store:
        store.put("k", b"v")
        cluster.stop()
        began = time.monotonic()
        unavailable = pytest.raises(StoreUnavailableError, match=r"answered within 1 s")
        with unavailable as info:
            store.get("k")
        elapsed = time.monotonic() - began
    assert cluster.members[0].endpoint in str(info.value)
    assert "retry" in str(info.value)
    assert info.value.retryable
    assert isinstance(info.value, OperationTimeoutError)
    assert elapsed < 1 + 2  # the call's timeout bounds the wait (generous slack)


def _wait_stopped(pid: int) -> None:
    """Until every thread of ``pid`` is stopped (SIGSTOP is delivered asynchronously)."""
    deadline = time.monotonic() + 10
    tasks = Path(f"/proc/{pid}/task")
    while True:
        states = {(t / "stat").read_text().rsplit(")", 1)[1].split()[0] for t in tasks.iterdir()}
        if states <= {"T", "t"}:
            return
        assert time.monotonic() < deadline, f"process {pid} did not stop: {states}"
        time.sleep(0.01)


def test_a_hung_member_is_given_up_on_within_the_timeout(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(1)
    member = cluster.members[0]
    with EtcdStore(cluster.url("hung", timeout="1")) as store:
        before = store.atomic_put("k", b"v", None)
        assert member.proc is not None
        member.proc.send_signal(signal.SIGSTOP)
        _wait_stopped(member.proc.pid)
        try:
            began = time.monotonic()
            with pytest.raises(StoreUnavailableError):
                store.get("k")
            with pytest.raises(StoreOutcomeUnknownError, match="may or may not"):
                store.atomic_put("k", b"w", before)
            elapsed = time.monotonic() - began
        finally:
            member.proc.send_signal(signal.SIGCONT)
        assert elapsed < 3 * 1 + 2  # a read, then a write and its check, 1 s each at most
        assert store.get("k").value in (b"v", b"w")  # back once the member is


def test_a_member_down_is_skipped_while_others_answer(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(3)
    with EtcdStore(cluster.url("skip")) as store:
        store.put("k", b"1")
        cluster.kill(cluster.members[0].name)
        assert store.get("k").value == b"1"
        store.atomic_put("k", b"2", store.get("k"))
        assert store.get("k").value == b"2"


def test_the_whole_cluster_restarted_keeps_its_data(new_etcd: NewEtcd) -> None:
    cluster = new_etcd(3)
    url = cluster.url("restart")
    with EtcdStore(url) as store:
        with store.transaction() as txn:
            txn.put("global/network/n1", b'{"name": "n1"}')
            txn.put("global/endpoint/n1/e1", b"{}")
        written = store.list("")
    cluster.restart()
    with EtcdStore(url) as store:
        assert store.list("") == written
        assert store.put("after", b"").index > max(p.index for p in written)


# A lost answer, made on purpose: a proxy that passes a request on and drops its answer.


class _AnswerDropper:
    """A TCP proxy to one etcd member that can drop the next answer and cut the connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_next = threading.Event()
        self.dropped = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers and self.drop_next.is_set():
                    self.drop_next.clear()
                    self.dropped += 1
                    break  # the write went through; its answer never arrives
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closing = True
        self._server.close()


@pytest.fixture
def dropper(etcd1: EtcdCluster) -> Iterator[_AnswerDropper]:
    proxy = _AnswerDropper(etcd1.members[0].client_port)
    yield proxy
    proxy.close()


def test_a_conditional_write_whose_answer_was_lost_applies_once(
    dropper: _AnswerDropper, prefix: str
) -> None:
    with EtcdStore(f"etcd://127.0.0.1:{dropper.port}/{prefix}") as store:
        store.atomic_put("warm", b"", None)  # the store's marker lease exists
        dropper.drop_next.set()
        created = store.atomic_put("k", b"v", None)  # applied; answer lost; checked
        assert dropper.dropped == 1
        assert store.get("k") == created
        store.put("counter", b"0")
        dropper.drop_next.set()
        with store.transaction() as txn:
            txn.put("counter", str(int(txn.get("counter").value) + 1).encode())
        assert dropper.dropped == 2
        assert store.get("counter").value == b"1"  # once, not twice, and no error


def test_a_delete_whose_answer_was_lost_does_not_report_a_missing_key(
    dropper: _AnswerDropper, prefix: str
) -> None:
    with EtcdStore(f"etcd://127.0.0.1:{dropper.port}/{prefix}") as store:
        store.atomic_put("k", b"v", None)
        dropper.drop_next.set()
        store.delete("k")
        assert dropper.dropped == 1
        assert not store.exists("k")


def test_a_transaction_whose_snapshot_was_compacted_is_a_retryable_conflict(
    etcd1: EtcdCluster, prefix: str
) -> None:
    port = etcd1.members[0].client_port
    with EtcdStore(etcd1.url(prefix)) as store:
        store.put("a", b"1")
        compacted = pytest.raises(StaleVersionError, match="compacted")
        with compacted as info, store.transaction() as txn:
            txn.get("a")  # the snapshot's revision
            written = gateway_call(port, "kv/put", {"key": b64(f"{prefix}/b"), "value": ""})
            gateway_call(port, "kv/compaction", {"revision": written["header"]["revision"]})
            txn.get("b")
        assert info.value.retryable
