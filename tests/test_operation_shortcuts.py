"""The work an operation skips keeps its guarantees.

Intents are for crash recovery, so only a durable store records them: a store that dies
with its process (``MemoryStore``, ``durable`` False) leaves no operation to recover, and
its operations store an intent only to reserve a name. A SQLite store records the intent
of every operation before its driver runs. Either way a failed operation is undone.

An operation whose locks depend on the state reads that state once: if it is unchanged
once the locks are held, the locks stand; if not, they are computed again.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from _drivers import LOCAL, RecordingDriver

import libnet
from libnet.store import MemoryStore, SqliteStore, Store

INTENTS = "local/intent/"


class Watching(RecordingDriver):
    """Records, at each call, the intents stored then (by what they do)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.seen: dict[str, list[str]] = {}

    def _call(self, method: str, *args: Any) -> None:
        found = self.store.list(INTENTS)
        self.seen[method] = [json.loads(pair.value)["what"] for pair in found]
        super()._call(method, *args)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return MemoryStore()
    return SqliteStore(tmp_path / "state.db")


def test_the_store_says_whether_it_is_durable(tmp_path: Path) -> None:
    assert MemoryStore().durable is False
    with SqliteStore(tmp_path / "state.db") as sqlite:
        assert sqlite.durable is True


def _world(store: Store) -> tuple[libnet.Controller, Watching, libnet.Endpoint, libnet.Sandbox]:
    """A controller on ``store`` with network ``net`` (type ``watched``), endpoint ``ep``
    and sandbox ``container-1``."""
    driver = Watching(store)
    c = libnet.Controller(store=store, plugins="off")
    c.register_driver("watched", driver, LOCAL)
    endpoint = c.new_network("watched", "net").create_endpoint("ep")
    return c, driver, endpoint, c.new_sandbox("container-1")


def test_only_a_durable_store_records_the_intent_of_an_operation(store: Store) -> None:
    c, driver, endpoint, sandbox = _world(store)
    with c:
        endpoint.join(sandbox)
        endpoint.leave(sandbox)
        endpoint.delete()
        endpoint.network.delete()
        assert store.list(INTENTS) == []
    # A network create reserves its name in every store; an endpoint create records the
    # endpoint to undo after a crash only in a durable one.
    assert driver.seen["create_network"] == ["creation of network 'net'"]
    made = ["creation of endpoint 'ep'"] if store.durable else []
    assert driver.seen["create_endpoint"] == made


def test_a_failure_in_a_store_that_is_not_durable_is_undone() -> None:
    store = MemoryStore()
    c, driver, endpoint, sandbox = _world(store)
    with c:
        driver.fail_on = {"program_external_connectivity"}
        with pytest.raises(libnet.errors.DriverError):
            endpoint.join(sandbox)
        assert driver.methods()[-2:] == ["program_external_connectivity", "leave"]
        assert endpoint.sandbox_id is None
        assert store.list(INTENTS) == []


class _SlowJoin(RecordingDriver):
    """Holds its ``join`` until ``go`` is set (``joining`` says it started)."""

    def __init__(self) -> None:
        super().__init__()
        self.joining = threading.Event()
        self.go = threading.Event()

    def join(self, *args: Any) -> None:
        self.joining.set()
        assert self.go.wait(10)
        super().join(*args)


def test_a_delete_whose_endpoint_joins_while_it_waits_for_its_locks_sees_the_join() -> None:
    """The delete computes its locks (the endpoint is not joined), waits for the network
    lock a join holds, and must then see the join: the answer it computed is stale."""
    store = MemoryStore()
    slow = _SlowJoin()
    with (
        libnet.Controller(store=store, plugins="off") as a,
        libnet.Controller(store=store, plugins="off") as b,
    ):
        a.register_driver("slow", slow, LOCAL)
        b.register_driver("slow", slow, LOCAL)
        endpoint = a.new_network("slow", "net").create_endpoint("ep")
        sandbox = a.new_sandbox("container-1")
        joiner = threading.Thread(target=b.network("net").endpoint("ep").join, args=(sandbox,))
        joiner.start()
        assert slow.joining.wait(10)
        outcome: list[BaseException | None] = []

        def delete() -> None:
            try:
                endpoint.delete()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        deleter = threading.Thread(target=delete)
        deleter.start()
        deleter.join(0.2)  # it waits for the network lock
        slow.go.set()
        joiner.join(10)
        deleter.join(10)
        assert isinstance(outcome[0], libnet.errors.ActiveContainerError), outcome
        assert endpoint.sandbox_id == sandbox.id
