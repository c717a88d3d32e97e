"""The part of libnet's pytest plugin that pytest loads in every session: one option.

Registered through the ``pytest11`` entry point, it only adds ``--libnet-driver`` so that
``pytest -p libnet.testing --libnet-driver NAME`` parses; it imports nothing of libnet's
and changes nothing else. The fixtures and the conformance suite live in
:mod:`libnet.testing`, active only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

OPTION = "--libnet-driver"
PLUGIN = "libnet.testing"


def add_options(parser: pytest.Parser) -> None:
    """Add ``--libnet-driver`` unless it is there already (both modules may call this)."""
    group = parser.getgroup("libnet", "libnet driver conformance")
    if any(OPTION in option.names() for option in group.options):
        return
    group.addoption(
        OPTION,
        dest="libnet_driver",
        metavar="NAME",
        default=None,
        help=(
            "run libnet's driver conformance suite against the installed driver NAME "
            f"(needs -p {PLUGIN})"
        ),
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse ``--libnet-driver`` without the plugin that acts on it, rather than ignore it."""
    name = config.getoption("libnet_driver", None)
    if name and not config.pluginmanager.has_plugin(PLUGIN):
        import pytest

        raise pytest.UsageError(
            f"{OPTION} {name} needs libnet's pytest plugin: run pytest -p {PLUGIN} {OPTION} {name}"
        )
