"""The hooks a libnet plugin implements, as pluggy hook specifications.

A plugin module marks its implementation with :data:`hookimpl`; every hook name starts
with ``libnet_``. Implementing a hook that has no specification here is a plugin error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from libnet.driverapi import DriverCallback
from libnet.ipam._api import IpamCallback

PROJECT = "libnet"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def libnet_driver_init(callback: DriverCallback, config: Mapping[str, Any]) -> None:
    """Register the network drivers this plugin offers.

    Called once per controller, when that controller loads the plugin: on the first use
    of one of the network types its entry points advertise, or at start-up with eager
    loading. Call ``callback.register_driver(name, driver, capability)`` once per network
    type, with a new driver object each time (controllers do not share drivers, and a
    restart is a new controller); each ``name`` must be the name of one of the plugin's own
    ``libnet.drivers`` entry points.

    ``config`` is the read-only mapping the host application gave the controller for the
    network type being loaded (``Controller(driver_config={TYPE: {...}})``), empty when
    none was given. An exception raised here marks the plugin failed and undoes every
    registration it made.
    """


@hookspec
def libnet_ipam_init(callback: IpamCallback, config: Mapping[str, Any]) -> None:
    """Register the IPAM drivers this plugin offers.

    Called once per controller, when that controller loads the plugin: on the first use
    of one of the IPAM driver names its ``libnet.ipam`` entry points advertise, or at
    start-up with eager loading. Call ``callback.register_ipam_driver(name, driver,
    capability)`` once per name, with a new driver object each time and a
    ``libnet.ipam.IpamCapability``; each ``name`` must be the name of one of the plugin's
    own ``libnet.ipam`` entry points (``default`` and ``null`` are built in).

    ``config`` is the read-only mapping the host application gave the controller for the
    IPAM driver being loaded (``Controller(ipam_config={NAME: {...}})``), empty when none
    was given. An exception raised here marks the plugin failed and undoes every
    registration it made.
    """
