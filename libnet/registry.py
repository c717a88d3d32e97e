"""The driver registry: the DriverCallback the controller hands to drivers and plugins."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from libnet.driverapi import Capability, missing_methods
from libnet.errors import DriverRegistrationError

__all__ = [
    "DriverInfo",
    "DriverOrigin",
    "DriverRegistry",
    "Registered",
    "check_driver_methods",
    "check_driver_name",
]

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
class Registered:
    """A registered driver with its capability and origin."""

    name: str
    driver: Any
    capability: Any
    origin: DriverOrigin


@dataclass(frozen=True)
class DriverInfo:
    """One row of ``Controller.drivers()``: a driver that is, or could be, available."""

    name: str
    source: str
    status: str
    capability: Capability | None = None
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


class DriverRegistry:
    """Thread-safe map from network type to driver; the controller's DriverCallback.

    Registration validates the name, the driver's required methods and the capability,
    and refuses to replace a driver already registered. Names listed as built in can only
    be registered with a built-in origin. Subclasses set the class attributes to hold
    another kind of driver (see :class:`libnet.ipam.IpamRegistry`).
    """

    kind = "network type"
    base = "libnet.Driver"
    capability_type: type = Capability
    capability_hint = "a libnet.Capability, such as Capability(Scope.LOCAL)"

    @staticmethod
    def missing_methods(driver: object) -> list[str]:
        return missing_methods(driver)

    def __init__(self, builtin_names: frozenset[str] = frozenset()) -> None:
        self._lock = threading.Lock()
        self._drivers: dict[str, Registered] = {}
        self._builtin_names = builtin_names

    @property
    def builtin_names(self) -> frozenset[str]:
        """Network types reserved for libnet's own drivers."""
        return self._builtin_names

    def register_driver(self, name: str, driver: Any, capability: Any) -> None:
        """Register ``driver`` for network type ``name`` (the DriverCallback method)."""
        origin = getattr(driver, "origin", None)
        self.add(name, driver, capability, origin if isinstance(origin, DriverOrigin) else None)

    def add(
        self,
        name: str,
        driver: Any,
        capability: Any,
        origin: DriverOrigin | None = None,
    ) -> Registered:
        """Validate and register a driver; the origin defaults to built in."""
        origin = origin or DriverOrigin()
        check_driver_name(name)
        check_driver_methods(name, driver, self.missing_methods, self.base)
        if not isinstance(capability, self.capability_type):
            raise DriverRegistrationError(
                f"driver {name!r} was registered with capability {capability!r}; "
                f"pass {self.capability_hint}"
            )
        if origin.source != "builtin" and name in self._builtin_names:
            raise DriverRegistrationError(
                f"{self.kind} {name!r} is built into libnet; {origin.describe()} "
                "cannot replace it: choose another name"
            )
        entry = Registered(name, driver, capability, origin)
        with self._lock:
            current = self._drivers.get(name)
            if current is not None:
                raise DriverRegistrationError(
                    f"{self.kind} {name!r} is already served by {current.origin.describe()}; "
                    "uninstall or disable one of them"
                )
            self._drivers[name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Forget the driver for ``name`` (used to undo a failed plugin's registrations)."""
        with self._lock:
            self._drivers.pop(name, None)

    def get(self, name: str) -> Registered | None:
        """The registered driver for ``name``, or None."""
        return self._drivers.get(name)

    def all(self) -> list[Registered]:
        """Every registered driver, sorted by name."""
        with self._lock:
            return sorted(self._drivers.values(), key=lambda r: r.name)
