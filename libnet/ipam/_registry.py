"""IpamRegistry: the IpamCallback the controller hands to IPAM drivers and plugins."""

from __future__ import annotations

from libnet.ipam._api import REQUIRED_METHODS, Ipam, IpamCapability
from libnet.registry import DriverKind, DriverRegistry

__all__ = ["IPAM_DRIVERS", "IpamRegistry"]

IPAM_DRIVERS: DriverKind[Ipam, IpamCapability] = DriverKind(
    label="IPAM driver",
    base=Ipam,
    base_name="libnet.ipam.Ipam",
    required=REQUIRED_METHODS,
    capability_type=IpamCapability,
    capability_hint="a libnet.ipam.IpamCapability, such as IpamCapability()",
    callback_method="register_ipam_driver",
)
"""IPAM drivers, registered through :class:`~libnet.ipam.IpamCallback`."""


class IpamRegistry(DriverRegistry[Ipam, IpamCapability]):
    """A DriverRegistry of IPAM drivers: the IpamCallback the controller hands them."""

    def __init__(self, builtin_names: frozenset[str] = frozenset()) -> None:
        super().__init__(builtin_names, IPAM_DRIVERS)
