"""The ``cni`` driver: installed CNI plugins set up each join (the other way round from
``libnet-cni``).

A network names a CNI configuration (:mod:`libnet.drivers.cni.conflist`); a join runs ADD
of each plugin in the list, in order, into the sandbox's namespace, each given the
previous one's result, and a leave runs DEL in reverse order with the final result, as a
CNI runtime does. The interface is the sandbox's next free ``ethN``, or the join option
``io.libnet.cni.ifname``.

Addresses stay libnet's: the first plugin's ``ipam`` becomes the ``static`` IPAM plugin
with the endpoint's address and the network's gateway. A network created with the ``null``
IPAM driver (``--ipam-driver null``) leaves addressing to the plugins' own IPAM instead.

Each join's configuration and result are kept in ``results_dir`` (the controller's state
directory), so another process can make the endpoint leave and ``libnet endpoint inspect``
shows them (``endpoint_oper_info``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libnet.driverapi import (
    Capability,
    Driver,
    DriverCallback,
    InterfaceInfo,
    IPAMData,
    JoinInfo,
    Scope,
    mac_from_ip,
)
from libnet.drivers.cni import runner
from libnet.drivers.cni.conflist import Conflist, load
from libnet.drivers.wellknown import internal_option
from libnet.errors import (
    DriverError,
    EndpointNotFoundError,
    InvalidOptionError,
    NetworkNotFoundError,
)
from libnet.osl import Namespace

log = logging.getLogger("libnet")

NAME = "cni"
IFNAME = "io.libnet.cni.ifname"
"""Join option: the interface's name in the sandbox (default: the next free ``ethN``)."""
NULL_POOL = "0.0.0.0/0"


@dataclass
class _Network:
    conf: Conflist
    own_ipam: bool
    gateway: str | None
    gateway_ipv6: str | None
    internal: bool


def _gateway(pools: list[IPAMData]) -> str | None:
    for pool in pools:
        if pool.gateway:
            return pool.gateway.split("/", 1)[0]
    return None


class CniDriver(Driver):
    """Runs CNI plugins for joins; thread-safe. ``results_dir`` None keeps joins in memory."""

    def __init__(self, results_dir: str | os.PathLike[str] | None = None) -> None:
        self.results_dir = None if results_dir is None else Path(results_dir)
        self._lock = threading.RLock()
        self._networks: dict[str, _Network] = {}
        self._endpoints: dict[tuple[str, str], InterfaceInfo] = {}
        self._joins: dict[str, dict[str, Any]] = {}

    def _net(self, nid: str) -> _Network:
        net = self._networks.get(nid)
        if net is None:
            raise NetworkNotFoundError(f"cni driver has no network {nid[:12]}")
        return net

    def _ep(self, nid: str, eid: str) -> InterfaceInfo:
        self._net(nid)
        iface = self._endpoints.get((nid, eid))
        if iface is None:
            raise EndpointNotFoundError(f"cni driver has no endpoint {eid[:12]}")
        return iface

    # -- networks and endpoints: nothing in the kernel -----------------------------------

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        conf = load(nid, options)
        own = all(p.pool == NULL_POOL for p in ipv4_data) and not ipv6_data
        with self._lock:
            self._networks[nid] = _Network(
                conf,
                own_ipam=own,
                gateway=None if own else _gateway(ipv4_data),
                gateway_ipv6=None if own else _gateway(ipv6_data),
                internal=internal_option(options),
            )

    def delete_network(self, nid: str) -> None:
        with self._lock:
            self._net(nid)
            del self._networks[nid]

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self._lock:
            self._net(nid)
            if iface.mac_address is None and iface.address:  # as Docker's, handed to the plugin
                iface.set_mac_address(mac_from_ip(iface.address))
            self._endpoints[(nid, eid)] = iface

    def delete_endpoint(self, nid: str, eid: str) -> None:
        with self._lock:
            self._ep(nid, eid)
            del self._endpoints[(nid, eid)]

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        with self._lock:
            net = self._net(nid)
            self._ep(nid, eid)
            joined = self._record(eid)
        return {
            "ipam": "plugin" if net.own_ipam else "libnet",
            "plugins": [p["type"] for p in net.conf.plugins],
            "cni_path": ":".join(net.conf.path),
            "container_id": None if joined is None else joined["container_id"],
            "ifname": None if joined is None else joined["ifname"],
            "netns": None if joined is None else joined["netns"],
            "result": None if joined is None else joined["result"],
        }

    # -- joins ---------------------------------------------------------------------------

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        with self._lock:
            net = self._net(nid)
            iface = self._ep(nid, eid)
        if sandbox_key is None:
            raise InvalidOptionError(
                "a cni network's endpoint joins sandboxes with a network namespace only; "
                "create the sandbox with --netns, --key or --create"
            )
        ifname = str(options.get(IFNAME) or _next_name(sandbox_key))
        att = runner.Attachment(eid, sandbox_key, ifname)
        plugins = list(net.conf.plugins)
        first = dict(plugins[0])
        if not net.own_ipam:
            first["ipam"] = self._static_ipam(net, iface)
        if iface.mac_address:  # the spec's "mac" capability; plugins without it ignore it
            first["runtimeConfig"] = {
                **(first.get("runtimeConfig") or {}),
                "mac": iface.mac_address,
            }
        plugins[0] = first
        result = _add_all(net.conf, plugins, att)
        record = {
            "network": nid,
            "container_id": eid,
            "netns": sandbox_key,
            "ifname": ifname,
            "plugins": plugins,
            "result": result,
        }
        try:
            self._save(eid, record)
        except BaseException:
            _del_all(net.conf, record, strict=False)
            raise
        for ip in (result or {}).get("ips") or []:
            gw = ip.get("gateway") if isinstance(ip, dict) else None
            if gw and not net.internal:
                (jinfo.set_gateway_ipv6 if ":" in str(gw) else jinfo.set_gateway)(str(gw))

    @staticmethod
    def _static_ipam(net: _Network, iface: InterfaceInfo) -> dict[str, Any]:
        """The ``static`` IPAM plugin's configuration: libnet's addresses and gateways."""
        addresses: list[dict[str, str]] = []
        routes: list[dict[str, str]] = []
        for cidr, gateway, default in (
            (iface.address, net.gateway, "0.0.0.0/0"),
            (iface.address_ipv6, net.gateway_ipv6, "::/0"),
        ):
            if not cidr:
                continue
            entry = {"address": cidr}
            if gateway:
                entry["gateway"] = gateway
                if not net.internal:
                    routes.append({"dst": default, "gw": gateway})
            addresses.append(entry)
        if not addresses:
            raise InvalidOptionError(
                "the endpoint has no address for the static IPAM plugin; create the network "
                "with --ipam-driver null to let the CNI plugins' own IPAM give addresses"
            )
        return {"type": "static", "addresses": addresses, "routes": routes}

    def leave(self, nid: str, eid: str) -> None:
        with self._lock:
            net = self._net(nid)
            self._ep(nid, eid)
            record = self._record(eid)
        if record is None:
            return
        _del_all(net.conf, record, strict=os.path.exists(record["netns"]))
        self._forget(eid)

    def restore_join(
        self,
        nid: str,
        eid: str,
        joined: bool,
        sandbox_key: str | None,
        options: Mapping[str, Any],
    ) -> None:
        """The join's record is on disk (or was this process's): drop a stale memory copy."""
        with self._lock:
            if not joined:
                self._joins.pop(eid, None)

    # -- join records --------------------------------------------------------------------

    def _path(self, eid: str) -> Path | None:
        return None if self.results_dir is None else self.results_dir / f"{eid}.json"

    def _record(self, eid: str) -> dict[str, Any] | None:
        if eid in self._joins:
            return self._joins[eid]
        path = self._path(eid)
        if path is None:
            return None
        try:
            value = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise DriverError(f"cni driver cannot read the join record {path}: {exc}") from exc
        return value if isinstance(value, dict) else None

    def _save(self, eid: str, record: dict[str, Any]) -> None:
        path = self._path(eid)
        if path is not None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record))
            os.replace(tmp, path)
        with self._lock:
            self._joins[eid] = record

    def _forget(self, eid: str) -> None:
        path = self._path(eid)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with self._lock:
            self._joins.pop(eid, None)


def _next_name(key: str) -> str:
    used = set(Namespace(key).interfaces())
    n = 0
    while f"eth{n}" in used:
        n += 1
    return f"eth{n}"


def _add_all(
    conf: Conflist, plugins: list[dict[str, Any]], att: runner.Attachment
) -> dict[str, Any] | None:
    """ADD of each plugin in order, each given the previous result; on a failure, DEL of
    all of them (the spec's cleanup), then the error."""
    prev: dict[str, Any] | None = None
    try:
        for plugin in plugins:
            result = runner.call(conf, "ADD", plugin, runner.plugin_config(conf, plugin, prev), att)
            prev = result if result is not None else prev
    except BaseException:
        record = {"plugins": plugins, "result": prev, **att.__dict__}
        _del_all(conf, record, strict=False)
        raise
    return prev


def _del_all(conf: Conflist, record: Mapping[str, Any], *, strict: bool) -> None:
    """DEL of each plugin in reverse order with the join's result. ``strict``: raise the
    first failure (after trying the others); else only log failures."""
    att = runner.Attachment(record["container_id"], record["netns"], record["ifname"])
    first: BaseException | None = None
    for plugin in reversed(record["plugins"]):
        stdin = runner.plugin_config(conf, plugin, record.get("result"))
        try:
            runner.call(conf, "DEL", plugin, stdin, att)
        except DriverError as exc:
            log.warning("%s", exc)
            first = first or exc
    if strict and first is not None:
        raise first


def init(callback: DriverCallback, results_dir: str | os.PathLike[str] | None = None) -> None:
    """Register the ``cni`` driver (``results_dir``: see :class:`CniDriver`)."""
    callback.register_driver(NAME, CniDriver(results_dir), Capability(Scope.LOCAL))
