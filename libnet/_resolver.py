"""How the controller finds a driver by name, for network drivers and IPAM drivers alike.

A :class:`_Drivers` resolver holds a registry and an ordered list of sources: the
entry-point group (:class:`~libnet.drivers.remote.group.PluginGroup`), then Docker plugins
(:mod:`libnet.drivers.remote.sources`). :class:`~libnet.drivers.remote.RemoteManager` and
:class:`~libnet.ipam.remote.IpamPlugins` configure one each.
A name not registered yet is asked of each source in turn until one registers it or
claims it (an entry point that names it, even disabled or failed, hides the Docker plugin
of that name). :func:`_check_config` checks ``driver_config`` and ``ipam_config``.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Generic, Protocol

from libnet.errors import InvalidOptionError, UnknownDriverError
from libnet.registry import C, D, DriverInfo, DriverRegistry, Registered

__all__ = ["_Drivers", "_Source", "_check_config"]


class _Source(Protocol):
    """Somewhere a driver not registered yet can come from."""

    def resolve(self, name: str) -> bool:
        """Register the driver ``name`` if this source has it; True if it is registered."""
        ...

    def claims(self, name: str) -> bool:
        """Whether this source decides about ``name``: later sources are not asked."""
        ...

    def available(self, name: str) -> bool: ...

    def failure_reason(self, name: str) -> str | None: ...

    def infos(self, shadowed: Collection[str]) -> list[DriverInfo]:
        """Rows of what this source offers; ``shadowed`` names earlier sources serve."""
        ...

    def names(self) -> Collection[str]:
        """The names this source is known to offer without contacting anything."""
        ...

    def load_all(self) -> None: ...


class _Drivers(Generic[D, C]):
    """Drivers of one kind by name: registered, or loaded now from the first source that can.

    ``unavailable`` and ``unknown`` are the messages of UnknownDriverError, formatted with
    ``name`` and ``reason`` (a source's failure), or ``name`` and ``known`` names.
    """

    def __init__(
        self,
        registry: DriverRegistry[D, C],
        sources: Sequence[_Source],
        *,
        unavailable: str,
        unknown: str,
    ) -> None:
        self.registry = registry
        self._sources = sources
        self._unavailable = unavailable
        self._unknown = unknown

    def get(self, name: str) -> Registered[D, C]:
        """The driver ``name``, loading it now if need be; UnknownDriverError if none."""
        reg = self.registry.get(name)
        if reg is None:
            for source in self._sources:
                if source.resolve(name):
                    reg = self.registry.get(name)
                    break
                if source.claims(name):
                    break
        if reg is not None:
            return reg
        reason = self.failure_reason(name)
        if reason is not None:
            raise UnknownDriverError(self._unavailable.format(name=name, reason=reason))
        raise UnknownDriverError(self._unknown.format(name=name, known=", ".join(self.known())))

    def loaded(self, name: str) -> Registered[D, C] | None:
        """The driver ``name`` if it is registered already; never loads anything."""
        return self.registry.get(name)

    def loaded_all(self) -> list[Registered[D, C]]:
        """Every registered driver, sorted by name."""
        return self.registry.all()

    def known(self) -> list[str]:
        """Every name registered or offered by a source, sorted, without loading anything."""
        names = set(self.registry.names())
        for source in self._sources:
            names.update(source.names())
        return sorted(names)

    def available(self, name: str) -> bool:
        """Whether ``name`` is registered or could be loaded, without loading it."""
        if name in self.registry:
            return True
        for source in self._sources:
            if source.claims(name):
                return source.available(name)
        return False

    def failure_reason(self, name: str) -> str | None:
        """Why the plugin that would serve ``name`` failed or is disabled, or None."""
        for source in self._sources:
            reason = source.failure_reason(name)
            if reason is not None:
                return reason
        return None

    def infos(self) -> list[DriverInfo]:
        """One row per driver: registered, not loaded yet, failed or disabled."""
        rows: list[DriverInfo] = []
        shadowed: set[str] = set()
        for source in self._sources:
            rows.extend(source.infos(shadowed))
            shadowed.update(source.names())
        rows.extend(
            DriverInfo(
                name=name,
                source=origin.source,
                status="ok",
                capability=capability,
                address=origin.address,
            )
            for name, capability, origin in self.registry.described()
            if origin.source != "entrypoint"
        )
        return sorted(rows, key=lambda r: (r.name, r.source, r.distribution or ""))

    def load_all(self) -> None:
        """Load every enabled plugin of every source now (eager loading)."""
        for source in self._sources:
            source.load_all()

    def warn_unknown(self, config: Mapping[str, object], option: str) -> None:
        """Warn about each key of ``config`` that names no built-in or discovered driver."""
        known = set(self.registry.builtin_names).union(self.known())
        for key in config:
            if key not in known:
                warnings.warn(
                    f"{option} configures {self.registry.kind.label} {key!r}, which no "
                    f"built-in driver nor enabled plugin serves (known: "
                    f"{', '.join(sorted(known))}); check the name, or install its plugin",
                    UserWarning,
                    stacklevel=3,
                )


def _check_config(value: object, option: str, what: str) -> dict[str, Mapping[str, Any]]:
    """``driver_config`` or ``ipam_config``, checked: read-only copies of each mapping.

    ``what`` names a key's meaning (``"network type"``); InvalidOptionError names the key
    whose value is not a mapping, and says what to pass.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidOptionError(
            f"{option}={value!r} is not a mapping: pass a dict from {what} to the "
            "configuration its plugin's init hook receives, such as {'NAME': {'key': 'value'}}"
        )
    checked: dict[str, Mapping[str, Any]] = {}
    for key, config in value.items():
        if not isinstance(key, str):
            raise InvalidOptionError(f"{option} key {key!r} is not a string: use the {what}")
        if not isinstance(config, Mapping):
            raise InvalidOptionError(
                f"{option}[{key!r}] is {config!r}, not a mapping: pass a dict of the "
                f"configuration the plugin serving {what} {key!r} receives, such as "
                "{'key': 'value'}"
            )
        checked[key] = MappingProxyType(dict(config))
    return checked
