"""libnet-macvlan: an example libnet driver plugin that gives endpoints macvlan links.

Installing the distribution makes the ``macvlan`` network type available to every
:class:`libnet.Controller`; the plugin module is imported the first time a ``macvlan``
network is used (or ``libnet drivers`` lists it), pyroute2 when the driver first talks to the
kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libnet

from libnet_macvlan._driver import MODES, NETWORK_OPTIONS, MacvlanDriver, link_name

__all__ = ["MODES", "NETWORK_OPTIONS", "NETWORK_TYPE", "MacvlanDriver", "link_name"]

NETWORK_TYPE = "macvlan"
"""The network type this plugin serves; also the name of its entry point."""


@libnet.hookimpl
def libnet_driver_init(callback: libnet.DriverCallback, config: Mapping[str, Any]) -> None:
    """Register the macvlan driver, configured from ``driver_config["macvlan"]``."""
    callback.register_driver(
        NETWORK_TYPE, MacvlanDriver(config), libnet.Capability(libnet.Scope.LOCAL)
    )
