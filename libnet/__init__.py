"""libnet: Docker libnetwork's Container Network Model in Python.

Host applications use :class:`Controller`; plugin authors subclass :class:`Driver` and
implement the ``libnet_driver_init`` hook marked with :data:`hookimpl`.

The public names are imported on first use, so ``import libnet`` stays cheap for code that
only needs part of it (such as the pytest plugin that pytest loads in every session).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from libnet._version import __version__

if TYPE_CHECKING:
    from libnet.controller import Controller
    from libnet.driverapi import (
        DRIVER_API_VERSION,
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
        AddressInUseError,
        AmbiguousIDError,
        BadRequestError,
        DriverError,
        DriverRegistrationError,
        EndpointExistsError,
        EndpointInSandboxError,
        EndpointNotFoundError,
        ForbiddenError,
        InternalError,
        InvalidAddressError,
        InvalidNameError,
        InvalidOptionError,
        InvalidPoolError,
        LibnetError,
        NetworkExistsError,
        NetworkNotFoundError,
        NotFoundError,
        OperationTimeoutError,
        PluginLoadError,
        PoolExhaustedError,
        PoolOverlapError,
        SandboxExistsError,
        SandboxNotFoundError,
        StoreBusyError,
        StoreCorruptError,
        StoreError,
        StoreReadOnlyError,
        StoreVersionError,
        UnknownDriverError,
        UnsupportedOperationError,
    )
    from libnet.hookspecs import hookimpl
    from libnet.network import Endpoint, Network
    from libnet.portmap import PortBinding
    from libnet.registry import DriverInfo
    from libnet.sandbox import Sandbox

__all__ = [
    "DRIVER_API_VERSION",
    "ActiveContainerError",
    "ActiveEndpointsError",
    "AddressInUseError",
    "AmbiguousIDError",
    "BadRequestError",
    "Capability",
    "Controller",
    "Driver",
    "DriverCallback",
    "DriverError",
    "DriverInfo",
    "DriverRegistrationError",
    "Endpoint",
    "EndpointExistsError",
    "EndpointInSandboxError",
    "EndpointNotFoundError",
    "ForbiddenError",
    "IPAMData",
    "InterfaceInfo",
    "InternalError",
    "InvalidAddressError",
    "InvalidNameError",
    "InvalidOptionError",
    "InvalidPoolError",
    "JoinInfo",
    "LibnetError",
    "Network",
    "NetworkExistsError",
    "NetworkNotFoundError",
    "NotFoundError",
    "OperationTimeoutError",
    "PluginLoadError",
    "PoolExhaustedError",
    "PoolOverlapError",
    "PortBinding",
    "RouteType",
    "Sandbox",
    "SandboxExistsError",
    "SandboxNotFoundError",
    "Scope",
    "StaticRoute",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "UnknownDriverError",
    "UnsupportedOperationError",
    "__version__",
    "hookimpl",
]

_HOMES = {
    "libnet.controller": ("Controller",),
    "libnet.driverapi": (
        "DRIVER_API_VERSION",
        "Capability",
        "Driver",
        "DriverCallback",
        "IPAMData",
        "InterfaceInfo",
        "JoinInfo",
        "RouteType",
        "Scope",
        "StaticRoute",
    ),
    "libnet.errors": (
        "ActiveContainerError",
        "ActiveEndpointsError",
        "AddressInUseError",
        "AmbiguousIDError",
        "BadRequestError",
        "DriverError",
        "DriverRegistrationError",
        "EndpointExistsError",
        "EndpointInSandboxError",
        "EndpointNotFoundError",
        "ForbiddenError",
        "InternalError",
        "InvalidAddressError",
        "InvalidNameError",
        "InvalidOptionError",
        "InvalidPoolError",
        "LibnetError",
        "NetworkExistsError",
        "NetworkNotFoundError",
        "NotFoundError",
        "OperationTimeoutError",
        "PluginLoadError",
        "PoolExhaustedError",
        "PoolOverlapError",
        "SandboxExistsError",
        "SandboxNotFoundError",
        "StoreBusyError",
        "StoreCorruptError",
        "StoreError",
        "StoreReadOnlyError",
        "StoreVersionError",
        "UnknownDriverError",
        "UnsupportedOperationError",
    ),
    "libnet.hookspecs": ("hookimpl",),
    "libnet.network": ("Endpoint", "Network"),
    "libnet.portmap": ("PortBinding",),
    "libnet.registry": ("DriverInfo",),
    "libnet.sandbox": ("Sandbox",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule such as ``libnet.labels``, on first use."""
    module = _HOME.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
