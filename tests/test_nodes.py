"""Node discovery on a shared (memory) store: registration under a lease, and the
discover_new / discover_delete calls global-scope drivers get as hosts come and go."""

from __future__ import annotations

import time
from typing import Any

import pytest

from libnet.driverapi import Driver
from libnet.errors import InvalidOptionError
from libnet.nodes import ENV_ADVERTISE_ADDR, DiscoveryType, NodeDiscovery, advertise_address
from libnet.store import MemoryStore


class Recorder(Driver):
    """A global driver that remembers the discovery calls it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict[str, Any]]] = []

    def discover_new(self, discovery_type: int, data: Any) -> None:
        self.calls.append(("new", discovery_type, dict(data)))

    def discover_delete(self, discovery_type: int, data: Any) -> None:
        self.calls.append(("delete", discovery_type, dict(data)))


def wait(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def node(address: str, self_: bool) -> dict[str, Any]:
    return {"Address": address, "BindAddress": address, "Self": self_}


def test_each_host_hears_of_itself_and_the_others() -> None:
    store = MemoryStore()
    a, b = Recorder(), Recorder()
    with NodeDiscovery(store, "host-a", "192.0.2.1", [a], ttl=5):
        with NodeDiscovery(store, "host-b", "192.0.2.2", [b], ttl=5):
            wait(lambda: len(a.calls) == 2)
            assert a.calls == [
                ("new", DiscoveryType.NODE, node("192.0.2.1", True)),
                ("new", DiscoveryType.NODE, node("192.0.2.2", False)),
            ]
            assert sorted(b.calls, key=str) == sorted(
                [
                    ("new", DiscoveryType.NODE, node("192.0.2.1", False)),
                    ("new", DiscoveryType.NODE, node("192.0.2.2", True)),
                ],
                key=str,
            )
        # host-b stopped: its lease was revoked, host-a hears at once
        wait(lambda: len(a.calls) == 3, timeout=1.0)
        assert a.calls[-1] == ("delete", DiscoveryType.NODE, node("192.0.2.2", False))
    assert store.list("nodes/") == []


def test_a_host_that_stops_renewing_goes_when_its_lease_expires() -> None:
    store = MemoryStore()
    a = Recorder()
    with NodeDiscovery(store, "host-a", "192.0.2.1", [a], ttl=5) as watcher:
        dead = NodeDiscovery(store, "host-c", "192.0.2.3", ttl=1).start()
        wait(lambda: "host-c" in watcher.nodes)
        dead.stop(revoke=False)  # as if killed: the lease is left to expire
        assert "host-c" in watcher.nodes
        wait(lambda: "host-c" not in watcher.nodes, timeout=5.0)
        assert a.calls[-1] == ("delete", DiscoveryType.NODE, node("192.0.2.3", False))


def test_drivers_given_as_a_function_are_asked_at_each_event() -> None:
    store = MemoryStore()
    late: list[Driver] = []
    recorder = Recorder()
    with NodeDiscovery(store, "host-a", "192.0.2.1", lambda: late):
        late.append(recorder)
        with NodeDiscovery(store, "host-b", "192.0.2.2"):
            wait(lambda: len(recorder.calls) == 1)
    assert recorder.calls[0][2]["Address"] == "192.0.2.2"


def test_the_advertise_address_is_given_then_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_ADVERTISE_ADDR, "198.51.100.7")
    assert advertise_address("192.0.2.9") == "192.0.2.9"
    assert advertise_address() == "198.51.100.7"
    with pytest.raises(InvalidOptionError, match="--advertise-addr"):
        advertise_address("not-an-ip")
    monkeypatch.setenv(ENV_ADVERTISE_ADDR, "bogus")
    with pytest.raises(InvalidOptionError, match=ENV_ADVERTISE_ADDR):
        advertise_address()


def test_a_bad_host_id_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="host ID"):
        NodeDiscovery(MemoryStore(), "bad/id", "192.0.2.1")
