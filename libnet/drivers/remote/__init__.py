"""The built-in remote driver: drivers from entry points (and, later, Docker plugins)."""

from libnet.drivers.remote.manager import DRIVER_GROUP, RemoteManager
from libnet.drivers.remote.proxy import RemoteDriver

__all__ = ["DRIVER_GROUP", "RemoteDriver", "RemoteManager"]
