"""The well-known network options (:mod:`libnet.labels`) as the built-in drivers read them.

``create_network`` and ``restore_network`` are given a network's ``options``: the user's
``-o KEY=VALUE`` options are the mapping under ``com.docker.network.generic``; the others
(internal, IPv6, labels) are keys of ``options`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libnet import labels
from libnet.errors import InvalidOptionError

__all__ = ["generic_options", "internal_option", "mtu_option"]


def generic_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The user's options of a network (``com.docker.network.generic``), a copy."""
    return dict(options.get(labels.GENERIC) or {})


def internal_option(options: Mapping[str, Any]) -> bool:
    """Whether the network is internal (``com.docker.network.internal``)."""
    return bool(options.get(labels.INTERNAL, False))


def mtu_option(generic: Mapping[str, Any]) -> int | None:
    """``com.docker.network.driver.mtu`` of the user's options, None when not given;
    InvalidOptionError unless it is an MTU from 68 to 65535."""
    value = generic.get(labels.MTU)
    if value in (None, ""):
        return None
    try:
        mtu = int(value)
    except (TypeError, ValueError):
        mtu = 0
    if not 68 <= mtu <= 65535:
        raise InvalidOptionError(f"option {labels.MTU}={value!r} must be an MTU from 68 to 65535")
    return mtu
