"""The overlay driver's data in a Store: VNI bitmap and peer database, on memory and SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import libnet
from libnet.drivers.overlay import (
    CAPABILITY,
    OverlayDriver,
    PeerDB,
    PeerRecord,
    VniAllocator,
    parse_peer_key,
)
from libnet.drivers.overlay.driver import _vni_option
from libnet.drivers.overlay.vni import BLOCK_BITS, FIRST
from libnet.errors import InvalidOptionError, PoolExhaustedError
from libnet.store import MemoryStore, SqliteStore, Store

A = PeerRecord("10.200.0.2", "02:42:0a:c8:00:02", "192.0.2.1", "host-a")
B = PeerRecord("10.200.0.3", "02:42:0a:c8:00:03", "192.0.2.2", "host-b")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path)
    yield s
    s.close()


def test_vnis_start_at_4096_and_are_never_handed_out_twice(store: Store) -> None:
    vnis = VniAllocator(store)
    got = [vnis.allocate() for _ in range(5)]
    assert got == list(range(FIRST, FIRST + 5))
    vnis.release(FIRST + 1)
    assert vnis.allocate() == FIRST + 1


def test_two_allocators_on_one_store_share_the_bitmap(store: Store) -> None:
    a, b = VniAllocator(store), VniAllocator(store)
    assert {a.allocate(), b.allocate(), a.allocate()} == {FIRST, FIRST + 1, FIRST + 2}


def test_concurrent_allocation_gives_distinct_vnis(store: Store) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        vnis = VniAllocator(store)
        for _ in range(20):
            vni = vnis.allocate()
            with lock:
                got.append(vni)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 80 and len(set(got)) == 80


def test_a_range_crossing_a_block_boundary_is_used_to_its_end(store: Store) -> None:
    first = 2 * BLOCK_BITS - 2
    vnis = VniAllocator(store, first=first, last=first + 3)
    assert [vnis.allocate() for _ in range(4)] == [first, first + 1, first + 2, first + 3]
    with pytest.raises(PoolExhaustedError, match="vxlanid_list"):
        vnis.allocate()


def test_a_reserved_vni_is_refused_to_the_next_asker_and_skipped_by_allocation(
    store: Store,
) -> None:
    vnis = VniAllocator(store)
    vnis.reserve(FIRST)
    with pytest.raises(InvalidOptionError, match=f"VNI {FIRST} is in use"):
        vnis.reserve(FIRST)
    assert vnis.allocate() == FIRST + 1


def test_released_vnis_leave_no_key_behind(store: Store) -> None:
    vnis = VniAllocator(store)
    vni = vnis.allocate()
    vnis.release(vni)
    vnis.release(vni)  # free already is fine
    assert store.list("overlay/") == []


@pytest.mark.parametrize("value", ["x", "1,2", "0", str(1 << 24)])
def test_a_bad_vxlanid_list_is_refused_naming_the_option(value: str) -> None:
    with pytest.raises(InvalidOptionError, match="vxlanid_list"):
        _vni_option({"com.docker.network.driver.overlay.vxlanid_list": value})


def test_peers_are_published_listed_and_withdrawn(store: Store) -> None:
    db = PeerDB(store)
    db.publish("n1", "e1", A)
    db.publish("n1", "e1", A)  # idempotent
    db.publish("n1", "e2", B)
    db.publish("n2", "e3", B)
    assert db.peers("n1") == {"e1": A, "e2": B}
    assert db.remote_peers("n1", A.vtep) == [B.peer()]
    assert db.host_peers("host-b") == [("n1", "e2"), ("n2", "e3")]
    assert db.withdraw("n1", "e2") == B
    assert db.withdraw("n1", "e2") is None
    assert db.peers("n1") == {"e1": A}


def test_a_republished_peer_replaces_the_old_record(store: Store) -> None:
    db = PeerDB(store)
    db.publish("n1", "e1", A)
    moved = PeerRecord(A.ip, A.mac, "192.0.2.9", "host-c")
    db.publish("n1", "e1", moved)
    assert db.peer("n1", "e1") == moved


def test_peer_keys_are_one_per_endpoint_under_the_prefix(store: Store) -> None:
    db = PeerDB(store, "drivers/overlay/")
    db.publish("n1", "e1", A)
    (pair,) = store.list(db.view.key(db.peers_prefix()))
    assert pair.key == "drivers/overlay/peer/n1/e1"
    assert parse_peer_key(pair.key, "drivers/overlay/") == ("n1", "e1")
    assert PeerRecord.decode(pair.value) == A
    assert parse_peer_key("drivers/overlay/network/n1", "drivers/overlay/") is None


def test_a_network_keeps_the_vni_recorded_first(store: Store) -> None:
    db = PeerDB(store)
    assert db.claim_network("n1", 5000) == 5000
    assert db.claim_network("n1", 6000) == 5000
    assert db.networks() == {"n1": 5000}
    db.forget_network("n1")
    assert db.network_vni("n1") is None


def test_a_host_adopts_the_vni_another_host_allocated(store: Store) -> None:
    a = OverlayDriver("a" * 12, store=store, vtep="192.0.2.1")
    b = OverlayDriver("b" * 12, store=store, vtep="192.0.2.2")
    a.create_network("n1", {}, [], [])
    b.restore_network("n1", {}, [], [])
    assert a._net("n1").vni == b._net("n1").vni == FIRST
    a.delete_network("n1")
    assert store.list("overlay/") == []


def test_discovery_of_this_host_sets_the_vtep() -> None:
    d = OverlayDriver("a" * 12, store=MemoryStore())
    d.discover_new(1, {"Address": "192.0.2.7", "BindAddress": "192.0.2.7", "Self": True})
    d.discover_new(1, {"Address": "192.0.2.8", "Self": False})
    assert d.vtep == "192.0.2.7"
    assert d.nodes == {"192.0.2.7": True, "192.0.2.8": False}
    d.discover_delete(1, {"Address": "192.0.2.8", "Self": False})
    assert d.nodes == {"192.0.2.7": True}


def test_the_controller_serves_overlay_and_without_a_global_store_names_the_setting() -> None:
    with libnet.Controller() as c:
        assert [d.name for d in c.drivers()].count("overlay") == 1
        assert c.resolve_driver("overlay").capability == CAPABILITY
        with pytest.raises(libnet.LibnetError, match="LIBNET_GLOBAL_STORE"):
            c.new_network("overlay", "ov1")
        assert c.networks() == []


def test_a_network_deleted_on_another_host_does_not_free_a_vni_twice(store: Store) -> None:
    a = OverlayDriver("a" * 12, store=store, vtep="192.0.2.1")
    b = OverlayDriver("b" * 12, store=store, vtep="192.0.2.2")
    a.create_network("n1", {}, [], [])
    b.restore_network("n1", {}, [], [])
    a.delete_network("n1")
    a.create_network("n2", {}, [], [])  # takes the VNI n1 had
    b.delete_network("n1")  # B catches up: forgets n1 without touching n2's VNI
    assert VniAllocator(store).allocated(a._net("n2").vni)
    assert PeerDB(store).networks() == {"n2": a._net("n2").vni}
