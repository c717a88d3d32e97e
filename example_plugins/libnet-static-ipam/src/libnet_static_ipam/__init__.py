"""libnet-static-ipam: an example libnet IPAM plugin handing out fixed addresses per MAC.

Installing the distribution makes the ``static`` IPAM driver available to every
:class:`libnet.Controller`; the plugin is imported, and its assignments file read, the
first time a network asks for it (``ipam={"driver": "static"}``, or
``libnet network create --ipam-driver static``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libnet
from libnet.ipam import IpamCallback, IpamCapability

from libnet_static_ipam._ipam import ADDRESS_SPACE, KEY_PREFIX, StaticIpam
from libnet_static_ipam._table import (
    FILE_ENV,
    PoolPlan,
    Table,
    TableError,
    load_table,
    parse_table,
    table_path,
)

__all__ = [
    "ADDRESS_SPACE",
    "CAPABILITY",
    "FILE_ENV",
    "IPAM_DRIVER",
    "KEY_PREFIX",
    "PoolPlan",
    "StaticIpam",
    "Table",
    "TableError",
    "load_table",
    "parse_table",
    "table_path",
]

IPAM_DRIVER = "static"
"""The IPAM driver name this plugin registers; also the name of its entry point."""

CAPABILITY = IpamCapability(requires_mac_address=True)
"""The controller must pass each endpoint's MAC, which picks its fixed address."""


@libnet.hookimpl
def libnet_ipam_init(callback: IpamCallback, config: Mapping[str, Any]) -> None:
    """Register the static driver with the file of ``ipam_config["static"]["file"]``,
    else of $LIBNET_STATIC_IPAM_FILE."""
    table = load_table(table_path(config))
    callback.register_ipam_driver(IPAM_DRIVER, StaticIpam(table), CAPABILITY)
