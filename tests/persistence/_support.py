"""What the persistence tests and their worker processes share.

:class:`RecorderDriver` records each call by method and object ID; :func:`check_consistent`
reads every record of a store and checks the invariants that must hold after any sequence
of operations, including one cut short by SIGKILL; :func:`exercise_all` proves each object
usable by leaving and deleting everything without force; :func:`run_worker` and
:func:`start_worker` run :mod:`persistence._worker` in a real child process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libnet
from libnet._intents import INTENTS, Intent
from libnet._records import EndpointRecord, NetworkRecord, SandboxRecord
from libnet._state import SCOPES, State
from libnet.store import KVPair, Store

REC = "rec"
"""The network type the tests register :class:`RecorderDriver` under."""

LOCAL = libnet.Capability(libnet.Scope.LOCAL)
KEY = "/proc/self/ns/net"
"""A sandbox key that exists in every process; the driver names no interface to move there."""
TESTS_DIR = Path(__file__).resolve().parent.parent
WORKER_TIMEOUT = 180.0
"""Seconds a worker process may take; generous, for a loaded 2-core machine."""


class RecorderDriver(libnet.Driver):
    """Records each call as ``(method, object ID)`` and fails on demand.

    Network methods are keyed by network ID, endpoint methods by endpoint ID; ``args``
    keeps the other arguments of each method's last call per object. ``fail`` maps a
    method name to how many of its calls succeed before each further one raises
    ``error``. The driver keeps no state that could make a call fail by itself, so
    controllers in several processes can share the networks it serves. It fills the
    interface only where it is empty, as the driver contract asks.
    """

    def __init__(
        self,
        fail: Mapping[str, int] | None = None,
        error: type[BaseException] = RuntimeError,
    ) -> None:
        self.fail = dict(fail or {})
        self.error = error
        self.calls: list[tuple[str, str]] = []
        self.args: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._lock = threading.Lock()
        self._addresses = 0

    def _call(self, method: str, key: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((method, key))
            self.args[(method, key)] = args
            left = self.fail.get(method)
            if left is not None:
                if left <= 0:
                    raise self.error(f"{method} failed on purpose")
                self.fail[method] = left - 1

    def methods(self, key: str) -> list[str]:
        """The methods called about object ``key``, in order."""
        return [method for method, k in self.calls if k == key]

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        self._call("create_network", nid, dict(options))

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        self._call("restore_network", nid, dict(options))

    def delete_network(self, nid: str) -> None:
        self._call("delete_network", nid)

    def create_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        self._call("create_endpoint", eid, nid, dict(options))
        with self._lock:
            self._addresses += 1
            n = self._addresses
        if iface.address is None:
            iface.set_ip_address(f"10.{os.getpid() % 250}.{n // 250}.{n % 250 + 2}/8")
        if iface.mac_address is None:
            iface.set_mac_address(f"02:42:0a:00:{n // 250 % 256:02x}:{n % 250 + 2:02x}")

    def restore_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        self._call("restore_endpoint", eid, nid, iface.to_dict(), dict(options))

    def delete_endpoint(self, nid: str, eid: str) -> None:
        self._call("delete_endpoint", eid, nid)

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        self._call("endpoint_oper_info", eid, nid)
        return {"pid": os.getpid()}

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: libnet.JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        self._call("join", eid, nid, sandbox_key, dict(options))
        jinfo.set_gateway("10.0.0.1")  # no interface names: nothing to move into a namespace

    def leave(self, nid: str, eid: str) -> None:
        self._call("leave", eid, nid)

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        self._call("program_external_connectivity", eid, nid, dict(options))

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        self._call("revoke_external_connectivity", eid, nid)


def open_controller(
    state_dir: str | os.PathLike[str], driver: RecorderDriver | None = None
) -> tuple[libnet.Controller, RecorderDriver]:
    """A controller on ``state_dir`` (no plugins) with ``driver`` serving :data:`REC`."""
    driver = driver or RecorderDriver()
    controller = libnet.Controller(state_dir=state_dir, plugins="off")
    controller.register_driver(REC, driver, LOCAL)
    return controller, driver


def dump(store: Store) -> list[KVPair]:
    """Every key, value and index in the store."""
    return store.list("")


@dataclass
class Snapshot:
    """The decoded records of a store, by ID."""

    networks: dict[str, NetworkRecord]
    endpoints: dict[str, EndpointRecord]
    sandboxes: dict[str, SandboxRecord]


def check_consistent(store: Store) -> Snapshot:
    """Decode every record and check the state's invariants; AssertionError names a breach.

    Every key but the IPAM driver's is a network, endpoint or sandbox key and decodes, or
    the intent of an operation a kill cut short (the next operation rolls it back);
    every endpoint's network exists and matches its key; names and container IDs are
    unique; each sandbox's endpoint list has no duplicates and is exactly the endpoints
    whose ``sandbox_id`` points to it.
    """
    st = State(store)
    pairs = store.list("")
    kinds: Counter[str] = Counter()
    for pair in pairs:
        if pair.key.startswith("ipam/"):
            continue  # the IPAM driver's own records (checked in tests/ipam)
        if pair.key.startswith(INTENTS):
            Intent.decode(pair.key, pair.value)
            continue
        parts = pair.key.split("/")
        expected = {"network": 3, "endpoint": 4, "sandbox": 3}
        assert parts[0] in SCOPES, f"unknown scope in key {pair.key!r}"
        assert expected.get(parts[1]) == len(parts), f"unexpected key {pair.key!r}"
        assert isinstance(json.loads(pair.value), dict), f"{pair.key!r} is not a JSON object"
        kinds[parts[1]] += 1

    networks = {rec.id: rec for rec in st.networks()}
    assert len(networks) == kinds["network"], "a network ID is stored twice"
    names = Counter(rec.name for rec in networks.values())
    assert all(n == 1 for n in names.values()), f"duplicate network names: {names}"
    for pair in pairs:
        parts = pair.key.split("/")
        if parts[1] == "endpoint":
            assert parts[2] in networks, f"endpoint {pair.key!r} has no network"

    sandboxes = {rec.id: rec for rec in st.sandboxes()}
    containers = Counter(rec.container_id for rec in sandboxes.values())
    assert all(n == 1 for n in containers.values()), f"duplicate containers: {containers}"

    endpoints: dict[str, EndpointRecord] = {}
    joined: dict[str, set[tuple[str, str]]] = {sid: set() for sid in sandboxes}
    for net in networks.values():
        eps = st.endpoints(net)
        ep_names = Counter(ep.name for ep in eps)
        assert all(n == 1 for n in ep_names.values()), f"duplicate endpoints on {net.name}"
        for ep in eps:
            assert ep.network_id == net.id, f"endpoint {ep.name} names another network"
            assert ep.id not in endpoints, f"endpoint {ep.id} stored twice"
            endpoints[ep.id] = ep
            if ep.sandbox_id is not None:
                assert ep.sandbox_id in sandboxes, f"endpoint {ep.name} joins a lost sandbox"
                assert ep.join is not None, f"joined endpoint {ep.name} has no join info"
                joined[ep.sandbox_id].add((net.id, ep.id))
            else:
                assert ep.join is None, f"endpoint {ep.name} keeps join info after leaving"
    assert len(endpoints) == kinds["endpoint"], "endpoint records without a network"

    for sid, sbox in sandboxes.items():
        listed = [tuple(pair) for pair in sbox.endpoints]
        assert len(listed) == len(set(listed)), f"sandbox {sid[:12]} lists an endpoint twice"
        assert set(listed) == joined[sid], (
            f"sandbox {sid[:12]} lists {sorted(listed)} but {sorted(joined[sid])} point to it"
        )
    return Snapshot(networks, endpoints, sandboxes)


def exercise_all(controller: libnet.Controller) -> None:
    """Leave and delete every object without force, then create and remove a fresh set."""
    for sandbox in controller.sandboxes():
        for endpoint in sandbox.endpoints():
            endpoint.leave(sandbox)
    for network in controller.networks():
        for endpoint in network.endpoints():
            endpoint.delete()
        network.delete()
    for sandbox in controller.sandboxes():
        sandbox.delete()
    assert controller._store.list("") == []
    network = controller.new_network(REC, "fresh")
    endpoint = network.create_endpoint("fresh-ep")
    sandbox = controller.new_sandbox("fresh-ctr")
    endpoint.join(sandbox)
    sandbox.delete()
    network.delete(force=True)
    assert controller._store.list("") == []


def copy_state(state_dir: Path, target: Path) -> Path:
    """Copy the state files of a directory no process has open into ``target``."""
    for path in state_dir.glob("state.db*"):
        if path.is_file():  # not the lock files' directory
            shutil.copy2(path, target / path.name)
    return target


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "persistence._worker", *args]


def worker_env() -> dict[str, str]:
    """The environment of a worker: this one, with the tests on the path and no plugins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBNET_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    return env


def run_worker(*args: str) -> Any:
    """Run a worker to its end and return the JSON it printed last; fail on a non-zero exit."""
    proc = subprocess.run(
        worker_command(*args),
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"worker {args} exited {proc.returncode}:\n{proc.stderr}"
    return json.loads(proc.stdout.splitlines()[-1])


def start_worker(*args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """Start a worker; its output is piped."""
    return subprocess.Popen(
        worker_command(*args),
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
