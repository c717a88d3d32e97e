"""libnet's driver conformance suite against the installed macvlan driver.

Each test gets a throwaway network namespace with a parent interface (see conftest.py),
so it needs root; elsewhere the tests are skipped with the reason.
"""

from __future__ import annotations

import pytest
from libnet.testing import DriverConformance

pytest.importorskip("pyroute2", reason="pyroute2 is not installed")


class TestMacvlanConformance(DriverConformance):
    network_type = "macvlan"
    max_networks = 1  # the tests' namespace has one parent, and a parent serves one network

    @pytest.fixture(autouse=True)
    def _in_a_namespace(self, netns: str, parent: str) -> None:
        """Point the driver at the test's namespace and its networks at the parent there."""
        self.driver_config = {"netns": netns}  # type: ignore[misc]
        self.network_options = {"parent": parent}  # type: ignore[misc]
