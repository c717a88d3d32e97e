"""What a driver contract requires: one check for network drivers and IPAM drivers alike.

The bottom layer: it imports nothing from libnet, so each contract module
(:mod:`libnet.driverapi`, :mod:`libnet.ipam._api`) and the registry can use it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["missing_methods"]


def missing_methods(obj: object, base: type, required: Iterable[str]) -> list[str]:
    """The ``required`` methods ``obj`` does not implement, in the order given.

    A subclass of ``base`` must override each one; any other object must have a callable
    attribute of that name.
    """
    missing = []
    for name in required:
        attr = getattr(obj, name, None)
        if not callable(attr) or (
            isinstance(obj, base) and getattr(type(obj), name) is getattr(base, name)
        ):
            missing.append(name)
    return missing
