"""The built-in ``bridge`` driver: Linux bridges and veth pairs through pyroute2."""

from libnet.drivers.bridge.driver import NAME, BridgeDriver, init

__all__ = ["NAME", "BridgeDriver", "init"]
