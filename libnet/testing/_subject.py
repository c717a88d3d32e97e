"""The driver under test: the controllers made for it, its store, and the faults injected."""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from libnet.controller import BUILTIN_DRIVERS, Controller
from libnet.driverapi import Capability, Scope
from libnet.drivers.remote import RemoteDriver
from libnet.errors import InjectedFault
from libnet.network import Network
from libnet.registry import Registered
from libnet.store import KVPair, Locks, MemoryStore, SqliteStore, Store, Transaction

INTENTS = "local/intent/"
"""Where operations record their intents (libnet._intents; testing uses public names)."""

__all__ = ["ConformanceSubject", "FaultyStore", "InjectedFault"]


class FaultyStore(Store):
    """A Store that delegates to another and can fail the commit of its next operation
    (the transaction that writes an operation's records and removes its intent).

    The controller undoes every driver step of an operation whose transaction fails, so
    arming the store before a join makes the controller call the driver's ``leave`` right
    after its ``join`` succeeded: the path of a join that fails halfway.
    """

    __slots__ = ("_armed", "_inner")

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self._armed: InjectedFault | None = None

    @property
    def path(self) -> Any:
        """The inner store's file, if it has one (the controller derives names from it)."""
        return getattr(self._inner, "path", None)

    @property
    def durable(self) -> bool:
        """As the inner store."""
        return self._inner.durable

    def fail_next_commit(self, reason: str) -> None:
        """Make the next transaction fail with :class:`InjectedFault` instead of committing."""
        self._armed = InjectedFault(f"injected by the libnet conformance suite: {reason}")

    def _take(self) -> InjectedFault | None:
        fault, self._armed = self._armed, None
        return fault

    def get(self, key: str) -> KVPair:
        return self._inner.get(key)

    def put(self, key: str, value: bytes) -> KVPair:
        return self._inner.put(key, value)

    def delete(self, key: str) -> None:
        self._inner.delete(key)

    def exists(self, key: str) -> bool:
        return self._inner.exists(key)

    def list(self, prefix: str) -> builtins.list[KVPair]:
        return self._inner.list(prefix)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        return self._inner.atomic_put(key, value, previous)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._inner.atomic_delete(key, previous)

    def transaction(self) -> Transaction:
        return _FaultyTransaction(self, self._inner.transaction())

    def locks(self) -> Locks:
        return self._inner.locks()

    def close(self) -> None:
        self._inner.close()


class _FaultyTransaction(Transaction):
    __slots__ = ("_commits", "_store", "_tx")

    def __init__(self, store: FaultyStore, tx: Transaction) -> None:
        self._store = store
        self._tx = tx
        self._commits = False  # it writes a record: it commits an operation

    def __enter__(self) -> _FaultyTransaction:
        self._tx.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fault = self._store._take() if exc_type is None and self._commits else None
        if fault is None:
            self._tx.__exit__(exc_type, exc, tb)
            return
        self._tx.__exit__(type(fault), fault, None)
        raise fault

    def get(self, key: str) -> KVPair:
        return self._tx.get(key)

    def put(self, key: str, value: bytes) -> KVPair:
        self._record(key)
        return self._tx.put(key, value)

    def _record(self, key: str) -> None:
        if not key.startswith((INTENTS, "ipam/")):
            self._commits = True

    def delete(self, key: str) -> None:
        self._record(key)
        self._tx.delete(key)

    def exists(self, key: str) -> bool:
        return self._tx.exists(key)

    def list(self, prefix: str) -> builtins.list[KVPair]:
        return self._tx.list(prefix)

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        return self._tx.atomic_put(key, value, previous)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._tx.atomic_delete(key, previous)


class _RollbackLog(logging.Handler):
    """Collects the controller's "rollback of ... failed" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("rollback of"):
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text += f": {type(exc).__name__}: {exc}"
            self.failures.append(text)


class ConformanceSubject:
    """One driver under test for one test: controllers on a shared store, and its driver.

    ``make_driver`` (when given) builds a fresh driver object for each controller, which
    registers it as an application driver; otherwise each controller finds ``network_type``
    as libnet would, built in or through its installed plugin, whose init hook then runs
    again. Every controller shares one store (SQLite in ``state_dir``, as libnet's default,
    else in memory), so a second controller is what a restarted process sees.
    """

    def __init__(
        self,
        network_type: str,
        *,
        make_driver: Callable[[], Any] | None = None,
        capability: Capability | None = None,
        driver_config: Mapping[str, Any] | None = None,
        first_driver: Any = None,
        state_dir: Path | None = None,
    ) -> None:
        self.network_type = network_type
        self._make_driver = make_driver
        self._first_driver = first_driver
        self._capability = capability
        self._driver_config = MappingProxyType(dict(driver_config or {}))
        inner = SqliteStore(state_dir) if state_dir is not None else MemoryStore()
        self.store = FaultyStore(inner)
        self._log = _RollbackLog()
        logging.getLogger("libnet").addHandler(self._log)
        self.controllers: list[Controller] = []
        self.controller = self.new_controller()

    @property
    def source(self) -> str:
        """How the driver is found: ``make_driver``, ``builtin`` or ``entry point``."""
        if self._make_driver is not None:
            return "make_driver"
        return "builtin" if self.network_type in BUILTIN_DRIVERS else "entry point"

    def new_controller(self) -> Controller:
        """A controller on the shared store with a driver instance of its own."""
        nt = self.network_type
        if self._make_driver is not None:
            c = Controller(store=self.store, plugins="off")
            driver, self._first_driver = self._first_driver, None
            if driver is None:
                driver = self._make_driver()
            c.register_driver(nt, driver, self._capability or Capability(Scope.LOCAL))
        elif nt in BUILTIN_DRIVERS:
            c = Controller(store=self.store, plugins="off")
        else:
            c = Controller(
                store=self.store,
                plugins="lazy",
                plugins_allow=[nt],
                plugins_deny=[],
                strict_plugins=True,
                driver_config={nt: self._driver_config},
            )
        c.resolve_driver(nt)  # load the plugin now: a broken one fails here, naming itself
        self.controllers.append(c)
        return c

    def registered(self, controller: Controller | None = None) -> Registered:
        """The registry entry of the network type in ``controller`` (default: the first)."""
        return (controller or self.controller).resolve_driver(self.network_type)

    def driver(self, controller: Controller | None = None) -> Any:
        """The driver object itself, unwrapped from the remote driver's proxy."""
        driver = self.registered(controller).driver
        return driver.wrapped if isinstance(driver, RemoteDriver) else driver

    def new_network(
        self,
        name: str | None = None,
        options: Mapping[str, Any] | None = None,
        controller: Controller | None = None,
    ) -> Network:
        c = controller or self.controller
        return c.new_network(self.network_type, name or unique("net"), options=options)

    def fail_next_commit(self, reason: str) -> None:
        self.store.fail_next_commit(reason)

    @property
    def rollback_failures(self) -> list[str]:
        """The controller's rollback steps that failed (it logs them, never raises them)."""
        return list(self._log.failures)

    def close(self) -> None:
        """Delete what the test left (best effort, through the newest controller), then close."""
        logging.getLogger("libnet").removeHandler(self._log)
        c = self.controllers[-1] if self.controllers else None
        if c is not None:
            for action in [sb.delete for sb in _quiet(c.sandboxes, [])]:
                _quiet(action, None)
            for network in _quiet(c.networks, []):
                _quiet(partial(network.delete, force=True), None)
        self.store.close()


def _quiet(fn: Callable[[], Any], default: Any) -> Any:
    try:
        return fn()
    except Exception:
        return default


def unique(prefix: str) -> str:
    """A short unique name such as ``net-3f9a1c``."""
    return f"{prefix}-{secrets.token_hex(3)}"


def new_id() -> str:
    """A random 64-hex-character ID, as the controller makes them."""
    return secrets.token_hex(32)
