"""The driver registry: the DriverCallback the controller hands to drivers and plugins."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, overload

from libnet._contract import missing_methods as _missing_methods
from libnet.driverapi import REQUIRED_METHODS, Capability, Driver, missing_methods
from libnet.errors import DriverRegistrationError

if TYPE_CHECKING:
    # Defaults (PEP 696): a bare ``DriverRegistry`` is the network-driver registry, as
    # ``DriverRegistry()`` makes; a bare ``Registered`` or ``DriverInfo`` is of any kind.
    from typing_extensions import TypeVar

    D = TypeVar("D", default=Driver)
    C = TypeVar("C", default=Capability)
    AnyD = TypeVar("AnyD", default=Any)
    AnyC = TypeVar("AnyC", default=Any)
    InfoC = TypeVar("InfoC", bound="_Capability", default=Any)
else:
    from typing import TypeVar

    D = TypeVar("D")
    C = TypeVar("C")
    AnyD = TypeVar("AnyD")
    AnyC = TypeVar("AnyC")
    InfoC = TypeVar("InfoC")


__all__ = [
    "NETWORK_DRIVERS",
    "DriverInfo",
    "DriverKind",
    "DriverOrigin",
    "DriverRegistry",
    "Registered",
    "check_driver_methods",
    "check_driver_name",
]


class _Capability(Protocol):
    """What every kind's capability offers (Capability, IpamCapability)."""

    def to_dict(self) -> Mapping[str, object]: ...


_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_NAME = 64


def check_driver_name(name: object) -> str:
    """Return ``name`` if it is a valid driver name, else raise DriverRegistrationError."""
    if not isinstance(name, str) or not name:
        raise DriverRegistrationError(f"driver name {name!r} must be a non-empty string")
    if len(name) > MAX_NAME:
        raise DriverRegistrationError(
            f"driver name {name[:20]!r}... is {len(name)} characters long; the limit is {MAX_NAME}"
        )
    if not _NAME_RE.fullmatch(name):
        raise DriverRegistrationError(
            f"driver name {name!r} is not valid: use lower-case letters, digits, '.', '_' "
            "and '-', starting with a letter or digit"
        )
    return name


def check_driver_methods(
    name: str,
    driver: object,
    missing: Callable[[object], list[str]] = missing_methods,
    base: str = "libnet.Driver",
) -> None:
    """Raise DriverRegistrationError naming the required methods ``driver`` lacks."""
    absent = missing(driver)
    if absent:
        raise DriverRegistrationError(
            f"driver {name!r} ({type(driver).__qualname__}) does not implement the required "
            f"method{'s' if len(absent) > 1 else ''} {', '.join(absent)}: "
            f"override them in your {base} subclass"
        )


@dataclass(frozen=True)
class DriverOrigin:
    """Where a driver comes from: built in, a Python entry point, or a Docker plugin."""

    source: str = "builtin"
    entry_point: str | None = None
    distribution: str | None = None
    version: str | None = None
    address: str | None = None

    def describe(self) -> str:
        """A short phrase naming the origin for error messages."""
        if self.source == "entrypoint":
            dist = f"{self.distribution} {self.version}" if self.version else self.distribution
            return f"entry point {self.entry_point!r} of distribution {dist}"
        if self.source == "docker-plugin":
            return f"Docker plugin at {self.address}"
        return "libnet (built in)"


@dataclass(frozen=True)
class DriverKind(Generic[D, C]):
    """What a registry holds: the contract its drivers follow and how errors name them."""

    label: str
    """What a registered name is, in messages: ``"network type"``, ``"IPAM driver"``."""
    base: type[D]
    """The contract's base class; a subclass must override each of ``required``."""
    base_name: str
    """The base class as a driver author imports it (``"libnet.Driver"``), for messages."""
    required: tuple[str, ...]
    """The methods every driver of this kind must implement."""
    capability_type: type[C]
    capability_hint: str
    """What to pass as capability, for the message refusing another value."""
    callback_method: str
    """The callback method a plugin calls to register one (``"register_driver"``)."""

    def missing_methods(self, driver: object) -> list[str]:
        """The required methods ``driver`` does not implement, in contract order."""
        return _missing_methods(driver, self.base, self.required)


NETWORK_DRIVERS: DriverKind[Driver, Capability] = DriverKind(
    label="network type",
    base=Driver,
    base_name="libnet.Driver",
    required=REQUIRED_METHODS,
    capability_type=Capability,
    capability_hint="a libnet.Capability, such as Capability(Scope.LOCAL)",
    callback_method="register_driver",
)
"""Network drivers, registered through :class:`~libnet.driverapi.DriverCallback`."""


@dataclass(frozen=True)
class Registered(Generic[AnyD, AnyC]):
    """A registered driver with its capability and origin."""

    name: str
    driver: AnyD
    capability: AnyC
    origin: DriverOrigin


@dataclass(frozen=True)
class DriverInfo(Generic[InfoC]):
    """One row of ``Controller.drivers()``: a driver that is, or could be, available."""

    name: str
    source: str
    status: str
    capability: InfoC | None = None
    entry_point: str | None = None
    distribution: str | None = None
    version: str | None = None
    address: str | None = None
    error: str | None = None
    traceback: str | None = None

    def to_dict(self, *, traceback: bool = False) -> dict[str, Any]:
        """Plain values for JSON; the traceback only when asked for."""
        data: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "status": self.status,
            "entry_point": self.entry_point,
            "distribution": self.distribution,
            "version": self.version,
            "capability": self.capability.to_dict() if self.capability else None,
            "error": self.error,
        }
        if self.address is not None:
            data["address"] = self.address
        if traceback:
            data["traceback"] = self.traceback
        return data


class DriverRegistry(Generic[D, C]):
    """Thread-safe map from name to driver of one kind; the controller's driver callback.

    Registration validates the name, the driver's required methods and the capability,
    and refuses to replace a driver already registered. Names listed as built in can only
    be registered with a built-in origin. ``kind`` says which drivers it holds: network
    drivers (the default; it is then a :class:`~libnet.driverapi.DriverCallback`) or, as
    :func:`libnet.ipam.IpamRegistry` makes it, IPAM drivers (an IpamCallback).
    """

    @overload
    def __init__(
        self: DriverRegistry[Driver, Capability], builtin_names: frozenset[str] = ...
    ) -> None: ...

    @overload
    def __init__(self, builtin_names: frozenset[str], kind: DriverKind[D, C]) -> None: ...

    def __init__(
        self, builtin_names: frozenset[str] = frozenset(), kind: DriverKind[Any, Any] | None = None
    ) -> None:
        self._lock = threading.RLock()
        self._drivers: dict[str, Registered[D, C]] = {}
        self._deferred: dict[str, tuple[Callable[[], D], C]] = {}
        self._builtin_names = builtin_names
        self._kind: DriverKind[D, C] = kind or NETWORK_DRIVERS  # type: ignore[assignment]

    @property
    def kind(self) -> DriverKind[D, C]:
        """Which drivers this registry holds."""
        return self._kind

    @property
    def builtin_names(self) -> frozenset[str]:
        """Names reserved for libnet's own drivers."""
        return self._builtin_names

    def register_driver(self, name: str, driver: D, capability: C) -> None:
        """Register ``driver`` for network type ``name`` (the DriverCallback method)."""
        self._callback("register_driver", name, driver, capability)

    def register_ipam_driver(self, name: str, driver: D, capability: C) -> None:
        """Register ``driver`` as IPAM driver ``name`` (the IpamCallback method)."""
        self._callback("register_ipam_driver", name, driver, capability)

    def _callback(self, method: str, name: str, driver: D, capability: C) -> None:
        """One registration through callback ``method``, which must be this kind's."""
        if method != self._kind.callback_method:
            raise DriverRegistrationError(
                f"{method}({name!r}, ...) was called on the registry of {self._kind.label}s; "
                f"register them with {self._kind.callback_method}"
            )
        origin = getattr(driver, "origin", None)
        self.add(name, driver, capability, origin if isinstance(origin, DriverOrigin) else None)

    def add(
        self,
        name: str,
        driver: D,
        capability: C,
        origin: DriverOrigin | None = None,
    ) -> Registered[D, C]:
        """Validate and register a driver; the origin defaults to built in."""
        origin = origin or DriverOrigin()
        kind = self._kind
        check_driver_name(name)
        check_driver_methods(name, driver, kind.missing_methods, kind.base_name)
        if not isinstance(capability, kind.capability_type):
            raise DriverRegistrationError(
                f"driver {name!r} was registered with capability {capability!r}; "
                f"pass {kind.capability_hint}"
            )
        if origin.source != "builtin" and name in self._builtin_names:
            raise DriverRegistrationError(
                f"{kind.label} {name!r} is built into libnet; {origin.describe()} "
                "cannot replace it: choose another name"
            )
        entry = Registered(name, driver, capability, origin)
        with self._lock:
            current = self._drivers.get(name)
            if current is not None:
                raise DriverRegistrationError(
                    f"{kind.label} {name!r} is already served by {current.origin.describe()}; "
                    "uninstall or disable one of them"
                )
            self._drivers[name] = entry
        return entry

    def add_builtin(self, name: str, make: Callable[[], D], capability: C) -> None:
        """Register built-in driver ``name``, made by ``make()`` when first looked up, so that
        a process that never uses it never imports its module (the ``bridge`` driver and
        pyroute2, the ``default`` IPAM allocator)."""
        check_driver_name(name)
        with self._lock:
            if name in self._drivers or name in self._deferred:
                raise DriverRegistrationError(f"{self._kind.label} {name!r} is registered twice")
            self._deferred[name] = (make, capability)

    def remove(self, name: str) -> None:
        """Forget the driver for ``name`` (used to undo a failed plugin's registrations)."""
        with self._lock:
            self._drivers.pop(name, None)

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is registered, without making a deferred built-in driver."""
        return name in self._drivers or name in self._deferred

    def get(self, name: str) -> Registered[D, C] | None:
        """The registered driver for ``name``, or None."""
        found = self._drivers.get(name)
        if found is None and name in self._deferred:
            with self._lock:
                deferred = self._deferred.pop(name, None)
                if deferred is not None:
                    make, capability = deferred
                    self.add(name, make(), capability)
                found = self._drivers.get(name)
        return found

    def all(self) -> list[Registered[D, C]]:
        """Every registered driver, sorted by name."""
        for name in list(self._deferred):
            self.get(name)
        with self._lock:
            return sorted(self._drivers.values(), key=lambda r: r.name)

    def described(self) -> list[tuple[str, C, DriverOrigin]]:
        """(name, capability, origin) of every driver, sorted by name, without making a
        deferred built-in driver."""
        with self._lock:
            rows = [(r.name, r.capability, r.origin) for r in self._drivers.values()]
            rows += [(n, c, DriverOrigin()) for n, (_, c) in self._deferred.items()]
        return sorted(rows, key=lambda row: row[0])

    def names(self) -> list[str]:
        """Every registered name, sorted, without making a deferred built-in driver."""
        with self._lock:
            return sorted({*self._drivers, *self._deferred})
