"""The ``host`` driver: endpoints use the host's own network stack (libnetwork's ``host``)."""

from __future__ import annotations

from libnet.driverapi import Capability, DriverCallback, Scope
from libnet.drivers._single import SingleNetworkDriver

NAME = "host"


class HostDriver(SingleNetworkDriver):
    """Sandboxes joined to a ``host`` network share the host's namespace; one network at most."""

    network_type = NAME


def init(callback: DriverCallback) -> None:
    """Register the ``host`` driver."""
    callback.register_driver(NAME, HostDriver(), Capability(Scope.LOCAL))
