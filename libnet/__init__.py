"""libnet: Docker libnetwork's Container Network Model in Python.

Host applications use :class:`Controller`; plugin authors subclass :class:`Driver` and
implement the ``libnet_driver_init`` hook marked with :data:`hookimpl`.
"""

from libnet._version import __version__
from libnet.controller import Controller
from libnet.driverapi import (
    Capability,
    Driver,
    DriverCallback,
    InterfaceInfo,
    IPAMData,
    JoinInfo,
    RouteType,
    Scope,
    StaticRoute,
)
from libnet.errors import (
    ActiveContainerError,
    ActiveEndpointsError,
    DriverError,
    EndpointNotFoundError,
    LibnetError,
    NetworkExistsError,
    NetworkNotFoundError,
    PluginLoadError,
    UnknownDriverError,
)
from libnet.hookspecs import hookimpl
from libnet.network import Endpoint, Network
from libnet.registry import DriverInfo
from libnet.sandbox import Sandbox

__all__ = [
    "ActiveContainerError",
    "ActiveEndpointsError",
    "Capability",
    "Controller",
    "Driver",
    "DriverCallback",
    "DriverError",
    "DriverInfo",
    "Endpoint",
    "EndpointNotFoundError",
    "IPAMData",
    "InterfaceInfo",
    "JoinInfo",
    "LibnetError",
    "Network",
    "NetworkExistsError",
    "NetworkNotFoundError",
    "PluginLoadError",
    "RouteType",
    "Sandbox",
    "Scope",
    "StaticRoute",
    "UnknownDriverError",
    "__version__",
    "hookimpl",
]
