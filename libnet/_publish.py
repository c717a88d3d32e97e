"""The controller's side of published ports: clashes named by endpoint, and what was made.

The ports an endpoint publishes travel to its driver as Docker does it, in the join options'
``com.docker.network.portmap`` (:data:`libnet.labels.PORT_MAP`). The controller refuses a
host port that another stored endpoint of the state publishes (naming it), asks the driver
what it made (its ``endpoint_oper_info`` under the same key, as libnetwork asks its bridge
driver), and stores those bindings in the join options: a later ``restore_join`` (another
process, a repair) gets the very ports that were picked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from libnet import labels
from libnet._calls import call_driver
from libnet._records import EndpointRecord
from libnet._state import State
from libnet.driverapi import Driver
from libnet.errors import AddressInUseError, InvalidOptionError
from libnet.portmap import PortBinding, from_wire, parse_publish, to_wire

__all__ = ["check_clashes", "made_bindings", "publish_options"]


def publish_options(
    options: dict[str, Any], publish: Iterable[PortBinding | str] | PortBinding | str
) -> dict[str, Any]:
    """``options`` with the port bindings of ``publish`` (specs or bindings) added."""
    items = [publish] if isinstance(publish, str | PortBinding) else list(publish)
    bindings = [parse_publish(p) for p in items]
    if not bindings:
        return options
    if labels.PORT_MAP in options:
        raise InvalidOptionError(
            f"ports are published both by publish= and by option {labels.PORT_MAP}; use one"
        )
    exposed = {(b.protocol, b.container_port): b for b in bindings}
    return {
        **options,
        labels.PORT_MAP: to_wire(bindings),
        labels.EXPOSED_PORTS: [
            {"Proto": b.to_wire()["Proto"], "Port": b.container_port} for b in exposed.values()
        ],
    }


def check_clashes(st: State, ep: EndpointRecord, options: Mapping[str, Any], what: str) -> None:
    """AddressInUseError if a port of ``options`` is published by another stored endpoint."""
    wanted = from_wire(options.get(labels.PORT_MAP), f"published ports of {what}")
    if not wanted:
        return
    for net in st.networks():
        for other in st.endpoints(net):
            if other.id == ep.id or other.sandbox_id is None:
                continue
            for theirs in from_wire(other.join_options.get(labels.PORT_MAP)):
                for mine in (b for b in wanted if b.fixed):  # the driver picks the others
                    if mine.clashes(theirs):
                        raise AddressInUseError(
                            f"cannot publish {mine} for {what}: host port "
                            f"{theirs.host_port}/{theirs.protocol} on {theirs.host_ip or '*'} "
                            f"is already published by endpoint {other.name!r} on network "
                            f"{net.name!r}; choose another host port"
                        )


def made_bindings(
    driver: Driver, nid: str, eid: str, options: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """``options`` with the bindings the driver made in place of the ones asked for."""
    if not options.get(labels.PORT_MAP):
        return dict(options)
    info = call_driver(what, driver.endpoint_oper_info, nid, eid)
    made = info.get(labels.PORT_MAP) if isinstance(info, Mapping) else None
    if made is None:  # the driver does not say: what was asked for is what it made
        return dict(options)
    return {**options, labels.PORT_MAP: to_wire(from_wire(made, f"ports made for {what}"))}
