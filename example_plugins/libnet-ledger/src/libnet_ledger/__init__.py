"""libnet-ledger: an example libnet driver plugin that records, and programs nothing.

Installing the distribution makes the ``ledger`` network type available to every
:class:`libnet.Controller`; the plugin module is imported the first time a ``ledger``
network is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libnet

from libnet_ledger._driver import ADDRESS_OPTION, DEFAULT_MAC_PREFIX, LedgerDriver

__all__ = ["ADDRESS_OPTION", "DEFAULT_MAC_PREFIX", "NETWORK_TYPE", "LedgerDriver"]

NETWORK_TYPE = "ledger"
"""The network type this plugin serves; also the name of its entry point."""


@libnet.hookimpl
def libnet_driver_init(callback: libnet.DriverCallback, config: Mapping[str, Any]) -> None:
    """Register the ledger driver, configured from ``driver_config["ledger"]``."""
    callback.register_driver(
        NETWORK_TYPE, LedgerDriver(config), libnet.Capability(libnet.Scope.LOCAL)
    )
