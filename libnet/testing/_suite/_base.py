"""What a conformance test class sets: the driver under test, what it needs and declares.

:class:`SuiteBase` holds the settings a ``DriverConformance`` subclass overrides and the
``libnet_subject`` fixture built from them; every part of the suite derives from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import pytest

from libnet.driverapi import Capability
from libnet.testing._contract import TESTING
from libnet.testing._subject import ConformanceSubject

__all__ = ["SuiteBase"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class SuiteBase:
    """The settings of a conformance test class (documented on ``DriverConformance``)."""

    network_type: ClassVar[str] = ""
    """The network type under test; with :meth:`make_driver`, the name it is registered as
    (default ``"conformance"``)."""

    capability: ClassVar[Capability | None] = None
    """The capability a driver from :meth:`make_driver` registers with (default local)."""

    driver_config: ClassVar[Mapping[str, Any]] = _EMPTY
    """The configuration an installed plugin's init hook receives."""

    network_options: ClassVar[Mapping[str, Any]] = _EMPTY
    """Options of every network the suite creates (``Controller.new_network(options=)``)."""

    endpoint_options: ClassVar[Mapping[str, Any]] = _EMPTY
    """Options of every endpoint the suite creates."""

    join_options: ClassVar[Mapping[str, Any]] = _EMPTY
    """Options of every join."""

    max_networks: ClassVar[int | None] = None
    """How many networks of the type may exist at once; None for no limit. With a limit the
    driver must refuse one more with ``ForbiddenError``, and the two-network tests skip."""

    threads: ClassVar[int] = 4
    """Threads of the concurrency tests."""

    lifecycles_per_thread: ClassVar[int] = 25
    """Endpoint lifecycles each thread of the concurrency tests runs."""

    def make_driver(self) -> Any:
        """Return a new driver object to test, or None to test the installed driver.

        Called once per controller the suite makes, so each must be a new object.
        """
        return None

    def sandbox_options(self, index: int) -> Mapping[str, Any]:
        """Keyword arguments of ``Controller.new_sandbox`` for the suite's ``index``-th sandbox.

        The default makes logical sandboxes (no network namespace); a driver that needs
        one can return ``{"create": True}`` (needs root).
        """
        return _EMPTY

    def resolve_network_type(self, config: pytest.Config) -> str:
        """The network type under test; the command-line form reads ``--libnet-driver``."""
        return self.network_type

    @pytest.fixture
    def libnet_subject(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[ConformanceSubject]:
        """The driver under test, with its first controller ready."""
        network_type = self.resolve_network_type(request.config)
        first = self.make_driver()
        if first is None and not network_type:
            pytest.fail(
                f"{type(self).__name__} names no driver: set network_type, override "
                f"make_driver(), or run with --libnet-driver NAME (see {TESTING.link})",
                pytrace=False,
            )
        subject = ConformanceSubject(
            network_type or "conformance",
            make_driver=None if first is None else self.make_driver,
            first_driver=first,
            capability=self.capability,
            driver_config=self.driver_config,
            state_dir=tmp_path / "libnet-state",
        )
        yield subject
        subject.close()
