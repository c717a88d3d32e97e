"""libnet's driver conformance suite against the installed ledger driver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from libnet.testing import DriverConformance


class TestLedgerConformance(DriverConformance):
    network_type = "ledger"
    endpoint_options: ClassVar[Mapping[str, str]] = {"ledger.address": "10.0.0.2/24"}
