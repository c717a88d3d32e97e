"""IpamRegistry: the IpamCallback the controller hands to IPAM drivers and plugins."""

from __future__ import annotations

from typing import Any

from libnet.ipam._api import IpamCapability, missing_methods
from libnet.registry import DriverOrigin, DriverRegistry


class IpamRegistry(DriverRegistry):
    """Thread-safe map from IPAM driver name to driver, validated as DriverRegistry does."""

    kind = "IPAM driver"
    base = "libnet.ipam.Ipam"
    capability_type = IpamCapability
    capability_hint = "a libnet.ipam.IpamCapability, such as IpamCapability()"

    @staticmethod
    def missing_methods(driver: object) -> list[str]:
        return missing_methods(driver)

    def register_ipam_driver(self, name: str, driver: Any, capability: Any) -> None:
        """Register ``driver`` as IPAM driver ``name`` (the IpamCallback method)."""
        origin = getattr(driver, "origin", None)
        self.add(name, driver, capability, origin if isinstance(origin, DriverOrigin) else None)
