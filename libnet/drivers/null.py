"""The ``null`` driver: a network with no connectivity at all (libnetwork's ``null``)."""

from __future__ import annotations

from libnet.driverapi import Capability, DriverCallback, Scope
from libnet.drivers._single import SingleNetworkDriver

NAME = "null"


class NullDriver(SingleNetworkDriver):
    """Endpoints on a ``null`` network get no interface; at most one such network exists."""

    network_type = NAME


def init(callback: DriverCallback) -> None:
    """Register the ``null`` driver."""
    callback.register_driver(NAME, NullDriver(), Capability(Scope.LOCAL))
