"""The pytest plugin behind ``-p libnet.testing``: fixtures, a marker, the suite's command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from libnet.controller import Controller
from libnet.store import MemoryStore
from libnet.testing import _cli_suite
from libnet.testing._autoload import OPTION, add_options
from libnet.testing._install import InstalledPlugin, PluginInstaller

MARKER = "libnet_controller"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**kwargs): keyword arguments of the Controller the libnet_controller "
        "fixture makes, e.g. plugins='lazy' to discover installed plugins",
    )
    name = config.getoption("libnet_driver", None)
    if name:
        _check_driver(str(name))
        suite = str(Path(_cli_suite.__file__).resolve())
        if config.args_source == pytest.Config.ArgsSource.ARGS:
            config.args.append(suite)
        else:
            config.args[:] = [suite]


def _check_driver(name: str) -> None:
    """Stop at once, listing what is installed, if no driver of that name exists."""
    with Controller(plugins="lazy") as c:
        if c.driver_available(name):
            return
        reason = c.plugin_failure(name)
        names = sorted({row.name for row in c.drivers()})
    raise pytest.UsageError(
        f"{OPTION} {name}: "
        + (reason or f"no installed driver serves network type {name!r}")
        + f" (available: {', '.join(names)})"
    )


@pytest.fixture
def make_controller() -> Iterator[Callable[..., Controller]]:
    """Make isolated controllers: ``make_controller(**kwargs)`` takes Controller's arguments.

    Defaults: a fresh in-memory store and ``plugins="off"`` (no entry-point discovery);
    pass ``plugins="lazy"`` or ``"eager"`` to find installed plugins. Every controller made
    is closed after the test.
    """
    made: list[Controller] = []

    def make(**kwargs: Any) -> Controller:
        kwargs.setdefault("plugins", "off")
        if "store" not in kwargs and "state_dir" not in kwargs:
            kwargs["store"] = MemoryStore()
        controller = Controller(**kwargs)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.close()


@pytest.fixture
def libnet_controller(
    make_controller: Callable[..., Controller], request: pytest.FixtureRequest
) -> Controller:
    """An isolated Controller: in-memory store, no plugin discovery.

    ``@pytest.mark.libnet_controller(plugins="lazy", ...)`` passes arguments to it.
    """
    marker = request.node.get_closest_marker(MARKER)
    return make_controller(**(marker.kwargs if marker else {}))


@pytest.fixture
def _libnet_installer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginInstaller]:
    installer = PluginInstaller(tmp_path_factory.mktemp("libnet-site"))
    yield installer
    installer.close()


@pytest.fixture
def install_plugin(_libnet_installer: PluginInstaller) -> Callable[..., InstalledPlugin]:
    """Install a plugin as if pip had: ``install_plugin(plugin, name, **options)``.

    ``plugin`` is plugin source, a module, a driver object or a driver factory; ``name`` the
    entry-point name(s). Returns an :class:`~libnet.testing.InstalledPlugin`; everything is
    uninstalled after the test. See :meth:`~libnet.testing.PluginInstaller.install`.
    """
    return _libnet_installer.install


@pytest.fixture
def broken_distribution(_libnet_installer: PluginInstaller) -> Callable[..., InstalledPlugin]:
    """Install a deliberately broken distribution: ``broken_distribution(kind, name)``.

    See :data:`~libnet.testing.BROKEN_KINDS` and
    :meth:`~libnet.testing.PluginInstaller.install_broken`.
    """
    return _libnet_installer.install_broken
