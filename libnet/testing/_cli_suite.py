"""The conformance suite run by ``pytest -p libnet.testing --libnet-driver NAME``.

The plugin adds this file to the paths pytest collects when the option is given.
"""

from __future__ import annotations

import pytest

from libnet.testing._suite import DriverConformance

__all__ = ["TestDriverConformance"]


class TestDriverConformance(DriverConformance):
    """The suite against the installed driver named by ``--libnet-driver``."""

    def resolve_network_type(self, config: pytest.Config) -> str:
        return str(config.getoption("libnet_driver", None) or "")
