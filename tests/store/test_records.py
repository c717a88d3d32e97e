"""Records kept as objects: the memory store keeps them, the others write their bytes,
and no reader or writer can change a kept record through the object it holds."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

import libnet
from libnet._journal import Journal
from libnet._records import EndpointRecord, NetworkRecord, SandboxRecord
from libnet._state import State, Stored, endpoint_key, sandbox_key
from libnet.errors import InvalidOptionError, StoreReadOnlyError
from libnet.store import MemoryStore, SqliteStore, Store
from libnet.store.readonly import ReadOnlyStore
from libnet.store.watch import PUT

NET = NetworkRecord("n1", "net", "null", "local", {}, {}, False, False, "t")


def endpoint() -> EndpointRecord:
    return EndpointRecord(
        id="e1",
        name="web",
        network_id="n1",
        options={"deep": {"list": [1]}},
        interface={"address": "10.0.0.2/24", "mac_address": None, "address_ipv6": None},
        created="t",
        allocations=[["pool", "10.0.0.2/24"]],
    )


def change_deeply(rec: EndpointRecord) -> None:
    rec.options["deep"]["list"].append(2)
    rec.options["new"] = 1
    rec.interface["address"] = "10.9.9.9/24"
    rec.allocations[0][1] = "10.9.9.9/24"
    rec.allocations.append(["pool", "10.0.0.3/24"])
    rec.name = "changed"


def test_the_memory_store_keeps_the_record_and_encodes_it_only_when_asked() -> None:
    store = MemoryStore()
    State(store).put_endpoint(NET, endpoint())
    pair = store.get(endpoint_key("local", "n1", "e1"))
    assert isinstance(pair.record, Stored)
    assert pair.record.record == endpoint()
    assert json.loads(pair.value)["options"] == {"deep": {"list": [1]}}


def test_sqlite_writes_the_bytes_of_an_object(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "state.db") as store:
        State(store).put_endpoint(NET, endpoint())
        pair = store.get(endpoint_key("local", "n1", "e1"))
        assert pair.record is None
        assert json.loads(pair.value)["allocations"] == [["pool", "10.0.0.2/24"]]
        assert State(store).endpoint(NET, "e1") == endpoint()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")


def test_a_writer_changing_its_record_after_the_put_changes_nothing_kept(store: Store) -> None:
    state = State(store)
    rec = endpoint()
    state.put_endpoint(NET, rec)
    change_deeply(rec)
    assert state.endpoint(NET, "e1") == endpoint()
    assert State(store).endpoint(NET, "e1") == endpoint()  # a fresh cache too


def test_a_reader_changing_what_it_got_changes_nothing_kept(store: Store) -> None:
    state = State(store)
    state.put_endpoint(NET, endpoint())
    for got in (state.endpoint(NET, "e1"), state.endpoints(NET)[0]):
        change_deeply(got)
        assert state.endpoint(NET, "e1") == endpoint()


def test_records_written_through_a_journal_are_isolated_too(store: Store) -> None:
    cache_state = State(store)
    journal = Journal(store)
    state = State(journal, cache_state._cache)
    rec = endpoint()
    state.put_endpoint(NET, rec)
    change_deeply(rec)
    pending = state.endpoint(NET, "e1")  # the journal's pending write
    change_deeply(pending)
    state.commit_cache(journal.commit())
    change_deeply(rec)
    assert cache_state.endpoint(NET, "e1") == endpoint()
    assert State(store).endpoint(NET, "e1") == endpoint()


def test_sandbox_endpoints_are_tuples_whatever_the_store(store: Store) -> None:
    state = State(store)
    state.put_sandbox(SandboxRecord("s1", "c1", None, "t", [("n1", "e1")]))
    assert State(store).sandbox("s1").endpoints == [("n1", "e1")]
    assert json.loads(store.get(sandbox_key("s1")).value)["endpoints"] == [["n1", "e1"]]


def test_a_watch_sees_the_bytes_of_a_kept_record() -> None:
    store = MemoryStore()
    _, revision = store.list_revision("local/endpoint/")
    State(store).put_endpoint(NET, endpoint())
    with store.watch("local/endpoint/", revision) as watch:
        (event,) = watch.next(1.0)
    assert event.kind == PUT
    assert json.loads(event.value)["name"] == "web"


def test_a_read_only_snapshot_refuses_an_object(tmp_path: Path) -> None:
    snapshot = ReadOnlyStore(tmp_path / "state.db", [])
    with pytest.raises(StoreReadOnlyError, match="read-only"):
        State(snapshot).put_endpoint(NET, endpoint())


def test_a_caller_changing_an_endpoints_options_changes_nothing_kept() -> None:
    with libnet.Controller(plugins="off") as controller:
        network = controller.new_network("null", "n")
        ep = network.create_endpoint("e", options={"deep": {"list": [1]}})
        got = ep.to_dict()
        got["options"]["deep"]["list"].append(2)
        assert ep.to_dict()["options"] == {"deep": {"list": [1]}}
        assert controller.network_by_name("n").endpoint_by_name("e").to_dict() == ep.to_dict()


def test_a_pair_of_a_kept_record_copies_and_pickles_as_its_bytes_say() -> None:
    store = MemoryStore()
    State(store).put_endpoint(NET, endpoint())
    pair = store.get(endpoint_key("local", "n1", "e1"))
    for other in (copy.copy(pair), copy.deepcopy(pair), pickle.loads(pickle.dumps(pair))):
        assert other == pair
        assert json.loads(other.value) == json.loads(pair.value)


@pytest.mark.parametrize("where", ["memory", "sqlite"])
def test_a_value_json_cannot_hold_is_refused_by_every_store(where: str, tmp_path: Path) -> None:
    state_dir = None if where == "memory" else tmp_path / "state"
    with libnet.Controller(state_dir=state_dir, plugins="off") as controller:
        network = controller.new_network("null", "n")
        with pytest.raises(InvalidOptionError, match=r"options\['x'\]\[1\] of state record .*set"):
            network.create_endpoint("e", options={"x": ["ok", {1, 2}]})
        assert network.endpoints() == []
        network.create_endpoint("e", options={"x": ["ok", {"n": 1.5, "b": None}]})
