"""Install a plugin as pip would, without pip: a real ``.dist-info`` on a temporary sys.path.

:class:`PluginInstaller` writes ``NAME-VERSION.dist-info/`` (``METADATA``,
``entry_points.txt`` with a ``[libnet.drivers]`` section, ``RECORD``) and whatever must be
importable into a site directory it puts first on ``sys.path``, so ``importlib.metadata``
finds the distribution and libnet's discovery loads it through the ordinary import system.
:meth:`PluginInstaller.close` takes it all away again.
"""

from __future__ import annotations

import importlib
import itertools
import keyword
import re
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args

__all__ = [
    "BROKEN_KINDS",
    "DRIVER_GROUP",
    "BrokenKind",
    "InstalledPlugin",
    "PluginInstaller",
]

DRIVER_GROUP = "libnet.drivers"

BrokenKind = Literal[
    "import-error",
    "missing-module",
    "missing-attribute",
    "no-hook",
    "unmarked-hook",
    "unknown-hook",
    "hook-error",
    "no-registration",
    "wrong-name",
    "missing-methods",
    "bad-capability",
    "missing-metadata",
    "metadata-without-name",
]
"""How :meth:`PluginInstaller.install_broken` breaks a distribution."""

BROKEN_KINDS: tuple[BrokenKind, ...] = get_args(BrokenKind)

_COUNT = itertools.count(1)
_LIVE: dict[str, Any] = {}
_LIVE_LOCK = threading.Lock()


def live_object(module: str) -> Any:
    """The object a generated module stands for (used by the modules the installer writes)."""
    with _LIVE_LOCK:
        try:
            return _LIVE[module]
        except KeyError:
            raise ImportError(
                f"{module} was written by libnet.testing.install_plugin and its installer "
                "has been closed"
            ) from None


@dataclass(frozen=True)
class InstalledPlugin:
    """A distribution the installer wrote: what a test needs to know about it."""

    dist: str
    """The distribution name (``Name:`` in ``METADATA``)."""
    version: str
    entry_points: tuple[str, ...]
    """The names of its ``libnet.drivers`` entry points: the network types it advertises."""
    module: str | None
    """The module its entry points name, or None."""
    site: Path
    """The directory put on ``sys.path``."""
    dist_info: Path


_SHIM_MODULE = """\
import sys
from libnet.testing._install import live_object

sys.modules[__name__] = live_object(__name__)
"""

_SHIM_DRIVERS = """\
import libnet
from libnet.testing._install import live_object

_DRIVERS = live_object(__name__)


@libnet.hookimpl
def libnet_driver_init(callback, config):
    for name, (make, capability) in _DRIVERS.items():
        callback.register_driver(name, make(config), capability)
"""

_BROKEN_SOURCES: dict[str, str] = {
    "import-error": "raise ImportError('{dist} cannot be imported (on purpose)')\n",
    "no-hook": "import libnet\n",
    "unmarked-hook": "def libnet_driver_init(callback, config):\n    pass\n",
    "unknown-hook": (
        "import libnet\n\n"
        "@libnet.hookimpl\n"
        "def libnet_driver_init(callback, config):\n    pass\n\n"
        "@libnet.hookimpl\n"
        "def libnet_no_such_hook():\n    pass\n"
    ),
    "hook-error": (
        "import libnet\n\n"
        "@libnet.hookimpl\n"
        "def libnet_driver_init(callback, config):\n"
        "    raise RuntimeError('{dist} fails in its init hook (on purpose)')\n"
    ),
    "no-registration": (
        "import libnet\n\n@libnet.hookimpl\ndef libnet_driver_init(callback, config):\n    pass\n"
    ),
    "wrong-name": (
        "import libnet\nfrom libnet.testing._install import _NullishDriver\n\n"
        "@libnet.hookimpl\n"
        "def libnet_driver_init(callback, config):\n"
        "    callback.register_driver(\n"
        "        '{name}-unadvertised', _NullishDriver(), libnet.Capability('local')\n"
        "    )\n"
    ),
    "missing-methods": (
        "import libnet\n\n"
        "class HalfDriver(libnet.Driver):\n"
        "    def create_network(self, nid, options, ipv4_data, ipv6_data):\n        pass\n\n"
        "@libnet.hookimpl\n"
        "def libnet_driver_init(callback, config):\n"
        "    callback.register_driver('{name}', HalfDriver(), libnet.Capability('local'))\n"
    ),
    "bad-capability": (
        "import libnet\nfrom libnet.testing._install import _NullishDriver\n\n"
        "@libnet.hookimpl\n"
        "def libnet_driver_init(callback, config):\n"
        "    callback.register_driver('{name}', _NullishDriver(), 'local')\n"
    ),
}


class PluginInstaller:
    """Writes fake installed distributions into site directories under ``root``.

    Usable as a context manager; :meth:`close` removes the site directories from
    ``sys.path`` and forgets every module imported from them.
    """

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root)
        self._sites: dict[str, Path] = {}
        self._modules: set[str] = set()
        self._live: set[str] = set()
        self._closed = False

    def __enter__(self) -> PluginInstaller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def site(self, name: str = "site-packages") -> Path:
        """The site directory ``name``, created and put first on ``sys.path`` at first use."""
        path = self._sites.get(name)
        if path is None:
            path = self._root / name
            path.mkdir(parents=True, exist_ok=True)
            sys.path.insert(0, str(path))
            self._sites[name] = path
            importlib.invalidate_caches()
        return path

    def install(
        self,
        plugin: str | ModuleType | object,
        name: str | Sequence[str],
        *,
        dist: str | None = None,
        version: str = "1.0",
        module: str | None = None,
        capability: Any = None,
        requires: Iterable[str] = (),
        metadata: Mapping[str, str] | None = None,
        site: str = "site-packages",
    ) -> InstalledPlugin:
        """Install ``plugin`` as a distribution whose entry points advertise ``name``.

        ``plugin`` is the source of a plugin module (a string), a module object, a driver
        object, or a factory ``f(config) -> driver`` such as a driver class taking its
        config. A driver or factory gets a generated plugin module whose init hook registers
        it for every name with ``capability`` (default local); a factory makes a new driver
        for each controller, a driver object is shared by all of them. A module the import
        system cannot find again is served from memory. ``dist`` defaults to
        ``libnet-test-NAME``; ``metadata`` adds or replaces METADATA fields.
        """
        names = (name,) if isinstance(name, str) else tuple(name)
        if not names:
            raise ValueError("install_plugin needs at least one entry-point name")
        dist = dist or f"libnet-test-{names[0]}"
        if isinstance(plugin, str):
            target = module or self._module_name(names[0])
            self._write_module(self.site(site), target, textwrap.dedent(plugin))
        elif isinstance(plugin, ModuleType):
            target = module or plugin.__name__
            if module is not None or not _importable(plugin):
                target = module or self._module_name(names[0])
                self._serve(self.site(site), target, _SHIM_MODULE, plugin)
        else:
            make = _factory(plugin)
            from libnet.driverapi import Capability, Scope

            cap = capability if capability is not None else Capability(Scope.LOCAL)
            target = module or self._module_name(names[0])
            self._serve(self.site(site), target, _SHIM_DRIVERS, {n: (make, cap) for n in names})
        return self._write_dist(
            self.site(site),
            dist,
            version,
            {n: target for n in names},
            target,
            requires=requires,
            metadata=metadata,
        )

    def install_distribution(
        self,
        dist: str,
        version: str = "1.0",
        *,
        entry_points: Mapping[str, str],
        modules: Mapping[str, str] | None = None,
        group: str = DRIVER_GROUP,
        requires: Iterable[str] = (),
        site: str = "site-packages",
    ) -> InstalledPlugin:
        """Install distribution ``dist`` exactly as described, for tests of discovery itself.

        ``entry_points`` maps entry-point names of ``group`` to targets (``"module"`` or
        ``"module:attr"``); ``modules`` maps dotted module names to their (dedented) source.
        """
        root = self.site(site)
        files: list[Path] = []
        for module, source in (modules or {}).items():
            files += self._write_module(root, module, textwrap.dedent(source))
        first = next(iter(modules or {}), None)
        return self._write_dist(
            root, dist, version, entry_points, first, requires=requires, group=group, files=files
        )

    def install_broken(
        self,
        kind: BrokenKind,
        name: str = "broken",
        *,
        dist: str | None = None,
        version: str = "1.0",
    ) -> InstalledPlugin:
        """Install a distribution advertising ``name`` that is broken as ``kind`` says.

        Kinds: ``import-error`` (the module raises ImportError), ``missing-module`` and
        ``missing-attribute`` (the entry point names nothing), ``no-hook``,
        ``unmarked-hook`` (no ``@libnet.hookimpl``), ``unknown-hook`` (a ``libnet_`` hook
        libnet does not define), ``hook-error`` (the init hook raises),
        ``no-registration``, ``wrong-name`` (registers a name it does not advertise),
        ``missing-methods`` (a driver lacking required methods), ``bad-capability``,
        ``missing-metadata`` (no METADATA file) and ``metadata-without-name``.
        """
        dist = dist or f"libnet-test-{kind}-{name}"
        root = self.site()
        target = self._module_name(name)
        entry = target
        if kind == "missing-module":
            entry = f"{target}_not_installed"
        elif kind == "missing-attribute":
            self._write_module(root, target, "")
            entry = f"{target}:no_such_attribute"
        elif kind in ("missing-metadata", "metadata-without-name"):
            self._write_module(root, target, "")
        elif kind in _BROKEN_SOURCES:
            self._write_module(root, target, _BROKEN_SOURCES[kind].format(dist=dist, name=name))
        else:
            raise ValueError(f"unknown kind of broken distribution {kind!r}: use {BROKEN_KINDS}")
        plugin = self._write_dist(root, dist, version, {name: entry}, target)
        if kind == "missing-metadata":
            (plugin.dist_info / "METADATA").unlink()
        elif kind == "metadata-without-name":
            (plugin.dist_info / "METADATA").write_text(
                f"Metadata-Version: 2.1\nVersion: {version}\n"
            )
        return plugin

    def close(self) -> None:
        """Take the site directories off ``sys.path`` and forget their modules."""
        if self._closed:
            return
        self._closed = True
        sites = {str(p) for p in self._sites.values()}
        sys.path[:] = [p for p in sys.path if p not in sites]
        for mod in list(sys.modules):
            if mod.partition(".")[0] in self._modules:
                del sys.modules[mod]
        with _LIVE_LOCK:
            for mod in self._live:
                _LIVE.pop(mod, None)
        importlib.invalidate_caches()

    def _module_name(self, name: str) -> str:
        stem = re.sub(r"\W", "_", name)
        return f"libnet_test_{stem}_{next(_COUNT)}"

    def _write_module(self, root: Path, module: str, source: str) -> list[Path]:
        """Write ``module`` (and any missing package ``__init__``); return the files written."""
        parts = module.split(".")
        if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
            raise ValueError(f"{module!r} is not a module name")
        written = []
        for depth in range(1, len(parts)):
            init = root.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text("")
                written.append(init)
        path = root.joinpath(*parts[:-1], f"{parts[-1]}.py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        written.append(path)
        self._modules.add(parts[0])
        importlib.invalidate_caches()
        return written

    def _serve(self, root: Path, module: str, source: str, obj: Any) -> None:
        with _LIVE_LOCK:
            _LIVE[module] = obj
        self._live.add(module)
        self._write_module(root, module, source)

    def _write_dist(
        self,
        root: Path,
        dist: str,
        version: str,
        entry_points: Mapping[str, str],
        module: str | None,
        *,
        requires: Iterable[str] = (),
        metadata: Mapping[str, str] | None = None,
        group: str = DRIVER_GROUP,
        files: Iterable[Path] = (),
    ) -> InstalledPlugin:
        dist_info = root / f"{re.sub(r'[-_.]+', '_', dist)}-{version}.dist-info"
        if dist_info.exists():
            raise FileExistsError(f"distribution {dist} {version} is already installed here")
        dist_info.mkdir()
        fields = {"Metadata-Version": "2.1", "Name": dist, "Version": version}
        fields.update(metadata or {})
        lines = [f"{k}: {v}" for k, v in fields.items()]
        lines += [f"Requires-Dist: {req}" for req in requires]
        (dist_info / "METADATA").write_text("\n".join(lines) + "\n")
        eps = [f"[{group}]", *(f"{n} = {t}" for n, t in entry_points.items())]
        (dist_info / "entry_points.txt").write_text("\n".join(eps) + "\n")
        record = [f"{p.relative_to(root).as_posix()},," for p in files]
        record += [f"{dist_info.name}/{f},," for f in ("METADATA", "entry_points.txt", "RECORD")]
        (dist_info / "RECORD").write_text("\n".join(record) + "\n")
        importlib.invalidate_caches()
        return InstalledPlugin(dist, version, tuple(entry_points), module, root, dist_info)


def _importable(module: ModuleType) -> bool:
    """Whether importing ``module.__name__`` afresh would find this module's file."""
    spec = getattr(module, "__spec__", None)
    return sys.modules.get(module.__name__) is module and bool(spec and spec.origin)


def _factory(plugin: object) -> Callable[[Mapping[str, Any]], Any]:
    """``f(config) -> driver`` for a driver object, a driver class or another factory."""
    from libnet.driverapi import missing_methods

    if isinstance(plugin, type) or (callable(plugin) and missing_methods(plugin)):
        make: Callable[..., Any] = plugin
        return lambda config: make(config)
    missing = missing_methods(plugin)
    if missing:
        raise TypeError(
            f"install_plugin got {plugin!r}, which is not plugin source, a module, a driver "
            f"(it lacks {', '.join(missing)}) or a driver factory"
        )
    return lambda config: plugin


class _NullishDriver:
    """A driver that accepts every call (used by the broken distributions)."""

    def create_network(self, *args: Any) -> None: ...
    def delete_network(self, *args: Any) -> None: ...
    def create_endpoint(self, *args: Any) -> None: ...
    def delete_endpoint(self, *args: Any) -> None: ...
    def endpoint_oper_info(self, *args: Any) -> dict[str, Any]:
        return {}

    def join(self, *args: Any) -> None: ...
    def leave(self, *args: Any) -> None: ...
