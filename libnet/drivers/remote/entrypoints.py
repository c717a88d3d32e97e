"""Plugins from entry points: discovery without import, then loading with failure isolation.

Discovery (:func:`discover`) takes one group's entry points from the one pass over the
installed distributions (:mod:`~libnet.drivers.remote.installed`, usually read back from the
discovery index, :mod:`~libnet.drivers.remote.index`), sorts them and applies the allow- and
deny-lists, all without importing anything. Two distributions advertising one name are a
conflict: neither serves it until an allow- or deny-list entry picks one. Loading
(:class:`PluginLoader`) first checks the distribution's ``Requires-Dist`` on libnet against
the running version (:mod:`~libnet.drivers.remote.requires`), then imports one plugin on
demand, registers it with a pluggy ``PluginManager`` built on :mod:`libnet.hookspecs`, and
runs its init hook with a callback scoped to that plugin. A plugin that fails at any step
is unregistered, undone and recorded as a :class:`PluginFailure`; nothing else is
affected. Whatever a plugin prints while libnet runs its code goes to stderr
(:func:`libnet._output.plugin_code`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pluggy

from libnet._output import plugin_code
from libnet.drivers.remote.index import Installed
from libnet.drivers.remote.index import installed as installed_now
from libnet.drivers.remote.installed import load_target, normalize_dist_name
from libnet.errors import PluginLoadError
from libnet.registry import DriverInfo

__all__ = [
    "Discovery",
    "PluginFailure",
    "PluginFilter",
    "PluginLoader",
    "PluginSpec",
    "discover",
    "normalize_dist_name",
]

log = logging.getLogger("libnet.plugins")


@dataclass(frozen=True)
class PluginSpec:
    """One entry point of a plugin group, found but not imported."""

    name: str
    value: str
    group: str
    distribution: str | None
    version: str | None
    requires: tuple[str, ...] = ()
    """The distribution's ``Requires-Dist`` entries on libnet, unparsed."""

    @cached_property
    def dist_key(self) -> str:
        """The normalised distribution name (empty when unknown)."""
        return normalize_dist_name(self.distribution or "")

    def load(self) -> object:
        """Import what the entry point names."""
        return load_target(self.value)

    def describe(self) -> str:
        dist = self.distribution or "an unknown distribution"
        version = f" {self.version}" if self.version else ""
        return f"entry point {self.name!r} ({self.value}) of {dist}{version}"


@dataclass(frozen=True)
class PluginFailure:
    """Why a plugin was skipped: which entry point, at which phase, with which error."""

    spec: PluginSpec
    phase: str
    error: str
    traceback: str | None = None

    def message(self) -> str:
        return f"{self.spec.describe()} failed at {self.phase}: {self.error}"


@dataclass(frozen=True)
class PluginFilter:
    """Allow- and deny-lists of entry-point or distribution names, applied before import.

    ``allow=None`` allows everything; an empty ``allow`` allows nothing.
    """

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    @classmethod
    def from_values(
        cls, allow: Iterable[str] | str | None, deny: Iterable[str] | str | None
    ) -> PluginFilter:
        return cls(
            None if allow is None else frozenset(_names(allow)),
            frozenset(_names(deny or ())),
        )

    def permits(self, spec: PluginSpec) -> bool:
        keys = {spec.name, spec.dist_key}
        if keys & self.deny:
            return False
        return self.allow is None or bool(keys & self.allow)


def _names(values: Iterable[str] | str) -> set[str]:
    """Split a comma-separated string or list of names; each matches as given or normalised."""
    if isinstance(values, str):
        values = values.split(",")
    out: set[str] = set()
    for value in values:
        value = value.strip()
        if value:
            out.update((value, normalize_dist_name(value)))
    return out


@dataclass(frozen=True)
class Discovery:
    """What a scan of one entry-point group found, in deterministic order."""

    specs: tuple[PluginSpec, ...]
    disabled: tuple[PluginSpec, ...]
    conflicts: tuple[PluginFailure, ...]


def discover(
    group: str,
    plugin_filter: PluginFilter | None = None,
    kind: str = "network type",
    installed: Installed | None = None,
) -> Discovery:
    """Enumerate the entry points of ``group`` without importing them.

    ``installed`` is what one pass found for every group (else :func:`installed_now`).
    Entry points are de-duplicated by distribution (the first on ``sys.path`` wins, as
    for imports) and sorted by name, then distribution. A name that two distributions
    advertise (after the allow- and deny-lists) is a conflict: neither serves it.
    """
    if installed is None:
        installed = installed_now()
    plugin_filter = plugin_filter or PluginFilter()
    found = [
        PluginSpec(ep.name, ep.value, group, ep.distribution, ep.version, ep.requires)
        for ep in installed.group(group)
    ]
    found.sort(key=lambda s: (s.name, s.dist_key, s.value))
    disabled: list[PluginSpec] = []
    by_name: dict[str, dict[str, PluginSpec]] = {}
    for spec in found:
        if not plugin_filter.permits(spec):
            disabled.append(spec)
        else:  # the same distribution naming one type twice: its first entry point
            by_name.setdefault(spec.name, {}).setdefault(spec.dist_key, spec)
    specs: list[PluginSpec] = []
    conflicts: list[PluginFailure] = []
    for name, rivals in by_name.items():
        if len(rivals) == 1:
            specs.extend(rivals.values())
            continue
        for spec in rivals.values():
            others = [s for s in rivals.values() if s is not spec]
            conflicts.append(PluginFailure(spec, "discovery", _conflict(kind, name, others)))
    return Discovery(tuple(specs), tuple(disabled), tuple(conflicts))


def _conflict(kind: str, name: str, others: list[PluginSpec]) -> str:
    """The error of one side of a conflict: who else advertises ``name``, and how to choose."""
    rivals = ", ".join(s.describe() for s in others)
    example = others[0].distribution or others[0].name
    return (
        f"{kind} {name!r} is also advertised by {rivals}, so neither serves it; choose one "
        f"with an allow-list (LIBNET_PLUGINS / plugins_allow) or a deny-list entry "
        f"(LIBNET_DISABLE_PLUGINS / plugins_deny), such as LIBNET_DISABLE_PLUGINS={example}"
    )


class _ScopedCallback:
    """The callback a plugin's init hook receives: registers only the plugin's own names.

    A name of the plugin's own that the allow- or deny-list disabled, or that another
    distribution advertises too, is skipped quietly, so its other types keep working.
    """

    def __init__(
        self,
        loader: PluginLoader,
        spec: PluginSpec,
        advertised: Mapping[str, PluginSpec],
        disabled: frozenset[str],
        method: str,
    ) -> None:
        self._loader = loader
        self._spec = spec
        self._advertised = advertised
        self._disabled = disabled
        self.registered: list[str] = []
        self.errors: list[BaseException] = []
        setattr(self, method, self._register)

    def _register(self, name: str, obj: Any, capability: Any) -> None:
        try:
            own = self._advertised.get(name)
            if own is None and name in self._disabled:
                log.info(
                    "%s: not registering %r, which is disabled or in conflict",
                    self._spec.describe(),
                    name,
                )
                return
            if own is None:
                reason = (
                    "is built into libnet"
                    if name in self._loader.reserved
                    else "is not advertised by any of its entry points"
                )
                raise self._loader.registration_error(
                    f"{self._spec.describe()} tried to register {name!r}, which {reason}; "
                    f"a plugin may register only the names of its own {self._spec.group!r} "
                    "entry points"
                )
            self._loader.register(own, name, obj, capability)
        except (Exception, SystemExit) as exc:
            self.errors.append(exc)
            raise
        self.registered.append(name)


class PluginLoader:
    """Loads the plugins of one entry-point group on demand, isolating their failures.

    ``hook`` is the init hook's name, ``callback_method`` the method the plugin calls on the
    callback, ``register(spec, name, obj, capability)`` performs one registration and
    ``unregister(name)`` undoes it.
    """

    def __init__(
        self,
        discovery: Discovery,
        *,
        hook: str,
        callback_method: str,
        register: Callable[[PluginSpec, str, Any, Any], None],
        unregister: Callable[[str], None],
        config: Mapping[str, Mapping[str, Any]],
        reserved: frozenset[str],
        registration_error: Callable[[str], Exception],
        strict: bool = False,
    ) -> None:
        self.reserved = reserved
        self.register = register
        self.registration_error = registration_error
        self._unregister = unregister
        self._hook = hook
        self._callback_method = callback_method
        self._config = config
        self._strict = strict
        self._specs = {s.name: s for s in discovery.specs}
        self._disabled = discovery.disabled
        self._by_dist: dict[str, list[PluginSpec]] = {}
        for spec in discovery.specs:
            self._by_dist.setdefault(spec.dist_key, []).append(spec)
        self._failures: dict[str, PluginFailure] = {}
        self._loaded: set[str] = set()
        self._conflicts = discovery.conflicts
        reported: set[str] = set()
        for failure in discovery.conflicts:  # one warning per conflict: it names every side
            if failure.spec.name not in reported:
                reported.add(failure.spec.name)
                self._report(failure)

    @cached_property
    def pm(self) -> pluggy.PluginManager:
        """The pluggy manager of the plugins loaded, made at the first load (pluggy and the
        hook specifications are imported only then)."""
        import pluggy

        from libnet import hookspecs

        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        return pm

    @property
    def specs(self) -> Mapping[str, PluginSpec]:
        return self._specs

    @property
    def disabled(self) -> tuple[PluginSpec, ...]:
        return self._disabled

    @property
    def failures(self) -> list[PluginFailure]:
        """Failures of discovered plugins, keyed by the name they advertise."""
        return list(self._failures.values())

    @property
    def conflicts(self) -> tuple[PluginFailure, ...]:
        """Entry points that lost a name to another distribution at discovery."""
        return self._conflicts

    def failure(self, name: str) -> PluginFailure | None:
        return self._failures.get(name)

    def status(self, name: str) -> str:
        """``ok``, ``failed`` or ``not-loaded`` for a usable discovered name."""
        if name in self._failures:
            return "failed"
        return "ok" if name in self._loaded else "not-loaded"

    def advertises(self, name: str) -> bool:
        """Whether an entry point names ``name``: usable, disabled or lost in a conflict."""
        return (
            name in self._specs
            or any(s.name == name for s in self._disabled)
            or any(f.spec.name == name for f in self._conflicts)
        )

    def failure_reason(self, name: str) -> str | None:
        """Why the plugin advertising ``name`` failed or is disabled, or None."""
        failure = self._failures.get(name)
        if failure is not None:
            return failure.message()
        rivals = [f.spec for f in self._conflicts if f.spec.name == name]
        if rivals:
            first = rivals[0].distribution or rivals[0].name
            return (
                f"it is advertised by {len(rivals)} distributions, "
                f"{' and '.join(s.describe() for s in rivals)}, so none of them serves it; "
                "choose one with an allow-list entry (LIBNET_PLUGINS / plugins_allow) or "
                f"deny the others (LIBNET_DISABLE_PLUGINS / plugins_deny, such as "
                f"LIBNET_DISABLE_PLUGINS={first})"
            )
        for spec in self._disabled:
            if spec.name == name:
                return (
                    f"{spec.describe()} is disabled by LIBNET_PLUGINS / LIBNET_DISABLE_PLUGINS "
                    "(or the controller's plugins_allow / plugins_deny)"
                )
        return None

    def infos(self, capability: Callable[[str], Any]) -> list[DriverInfo]:
        """One row per entry point: loaded, not loaded, failed, in conflict or disabled.

        ``capability(name)`` gives the capability a loaded name registered with, or None.
        """
        rows = []
        for spec in self._specs.values():
            failure = self._failures.get(spec.name)
            rows.append(
                _row(
                    spec,
                    self.status(spec.name),
                    capability(spec.name),
                    failure.error if failure else None,
                    failure.traceback if failure else None,
                )
            )
        rows.extend(_row(f.spec, "conflict", None, f.error, None) for f in self._conflicts)
        rows.extend(_row(spec, "disabled", None, None, None) for spec in self._disabled)
        return rows

    def load_all(self) -> None:
        """Load every discovered plugin that is not loaded yet, in sorted order."""
        for name in list(self._specs):
            self.load(name)

    def load(self, name: str) -> bool:
        """Load the plugin that advertises ``name``; True if ``name`` is now registered."""
        if name in self._loaded:
            return True
        spec = self._specs.get(name)
        if spec is None or name in self._failures:
            return False
        # Every entry point of the distribution with the same target is the same plugin.
        group = [s for s in self._by_dist[spec.dist_key] if s.value == spec.value]
        advertised = {s.name: s for s in self._by_dist[spec.dist_key]}
        disabled = frozenset(
            s.name
            for s in (*self._disabled, *(f.spec for f in self._conflicts))
            if s.dist_key == spec.dist_key
        )
        from libnet.drivers.remote.requires import version_mismatch  # at the first load

        mismatch = version_mismatch(spec.requires)
        if mismatch is not None:
            for s in group:
                self._fail(PluginFailure(s, "version check", mismatch))
            return False
        try:
            with plugin_code():
                plugin = spec.load()
        except (Exception, SystemExit) as exc:
            self._fail_all(group, "import", exc)
            return False
        if self.pm.is_registered(plugin):
            # Another entry point named the same object: it was initialised already.
            self._check_registered(group, spec)
            return name in self._loaded
        if not self._register_plugin(plugin, spec, group):
            return False
        callback = _ScopedCallback(self, spec, advertised, disabled, self._callback_method)
        caller = self.pm.subset_hook_caller(
            self._hook, remove_plugins=[p for p in self.pm.get_plugins() if p is not plugin]
        )
        try:
            with plugin_code():
                caller(callback=callback, config=MappingProxyType(dict(self._config.get(name, {}))))
            if callback.errors:
                raise callback.errors[0]
        except (Exception, SystemExit) as exc:
            for registered in callback.registered:
                self._unregister(registered)
            self.pm.unregister(plugin)
            phase = "registration" if callback.errors else "init"
            self._fail_all(group, phase, exc)
            return False
        self._loaded.update(callback.registered)
        if not callback.registered:
            self.pm.unregister(plugin)
        self._check_registered(group, spec)
        return name in self._loaded

    def _register_plugin(self, plugin: object, spec: PluginSpec, group: list[PluginSpec]) -> bool:
        """Register with pluggy and check its hooks; undo and record a failure on error."""
        plugin_name = f"{spec.dist_key or '?'}:{spec.value}"
        try:
            self.pm.register(plugin, name=plugin_name)
            self._check_hooks(plugin)
        except (Exception, SystemExit) as exc:
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)
            self._fail_all(group, "hook validation", exc)
            return False
        return True

    def _check_hooks(self, plugin: object) -> None:
        import pluggy

        # A failed plugin's unknown hook stays an attribute of pm.hook, without a spec.
        known = sorted(
            n
            for n in dir(self.pm.hook)
            if n.startswith("libnet_") and getattr(self.pm.hook, n).has_spec()
        )
        for caller in self.pm.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                raise pluggy.PluginValidationError(
                    plugin,
                    f"it implements hook {caller.name!r}, which libnet does not define "
                    f"(known hooks: {', '.join(known)})",
                )
        for attr in dir(plugin):
            if attr in known and self.pm.parse_hookimpl_opts(plugin, attr) is None:
                raise pluggy.PluginValidationError(
                    plugin, f"{attr} is not marked as a hook: decorate it with @libnet.hookimpl"
                )
        if not any(
            impl.plugin is plugin for impl in getattr(self.pm.hook, self._hook).get_hookimpls()
        ):
            raise pluggy.PluginValidationError(
                plugin, f"it does not implement {self._hook} (decorated with @libnet.hookimpl)"
            )

    def _check_registered(self, group: list[PluginSpec], spec: PluginSpec) -> None:
        for s in group:
            if s.name not in self._loaded and s.name not in self._failures:
                self._fail(
                    PluginFailure(
                        s,
                        "registration",
                        f"the plugin was initialised but did not register {s.name!r}, the "
                        f"name its entry point advertises; call "
                        f"callback.{self._callback_method}({s.name!r}, ...) in {self._hook}",
                    )
                )

    def _fail_all(self, group: list[PluginSpec], phase: str, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = f"{type(exc).__name__}: {exc}"
        for s in group:
            self._fail(PluginFailure(s, phase, error, tb), exc)

    def _fail(self, failure: PluginFailure, exc: BaseException | None = None) -> None:
        self._failures[failure.spec.name] = failure
        self._report(failure, exc)

    def _report(self, failure: PluginFailure, exc: BaseException | None = None) -> None:
        log.warning("skipping libnet plugin: %s", failure.message())
        if self._strict:
            raise PluginLoadError(
                f"{failure.message()} (strict plugin loading is on: fix or uninstall "
                f"{failure.spec.distribution or 'the plugin'}, or disable it with "
                "LIBNET_DISABLE_PLUGINS)"
            ) from exc


def _row(
    spec: PluginSpec, status: str, capability: Any, error: str | None, tb: str | None
) -> DriverInfo:
    return DriverInfo(
        name=spec.name,
        source="entrypoint",
        status=status,
        capability=capability,
        entry_point=spec.value,
        distribution=spec.distribution,
        version=spec.version,
        error=error,
        traceback=tb,
    )
