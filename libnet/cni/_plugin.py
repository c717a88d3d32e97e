"""ADD, DEL, CHECK, STATUS and GC of ``libnet-cni``, through the public Controller API.

A CNI network is the libnet network of the same name, created by the first ADD; each
(container ID, interface) pair is one endpoint, joined to the container's sandbox, whose key
is ``CNI_NETNS``. DEL never creates anything: without a state file, a network or an
endpoint it has nothing to do and succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from libnet import labels
from libnet._records import check_container_id, check_ifname
from libnet.cni._config import Call, NetConf
from libnet.cni._errors import (
    ALREADY_ATTACHED,
    CHECK_FAILED,
    INCOMPATIBLE_VERSION,
    INVALID_CONFIG,
    INVALID_ENVIRONMENT,
    IO_FAILURE,
    LIBNET_ERROR,
    NOT_AVAILABLE,
    TRY_AGAIN_LATER,
    UNKNOWN_CONTAINER,
    CniError,
)
from libnet.cni._result import Attachment, build, container_ips
from libnet.controller import BUILTIN_DRIVERS, Controller
from libnet.errors import (
    BadRequestError,
    EndpointExistsError,
    EndpointNotFoundError,
    LibnetError,
    NetworkExistsError,
    NetworkNotFoundError,
    NotFoundError,
    OperationTimeoutError,
    SandboxExistsError,
    StoreError,
    UnknownDriverError,
)
from libnet.network import Endpoint, Network
from libnet.osl import Namespace, rtnl
from libnet.sandbox import Sandbox
from libnet.store.sqlite import STATE_FILE, SqliteStore

log = logging.getLogger("libnet.cni")

CONTAINER_OPTION = "io.libnet.cni.container_id"
IFNAME_OPTION = "io.libnet.cni.ifname"
NETNS_OPTION = "io.libnet.cni.netns"
"""Endpoint options that record which CNI attachment an endpoint is (for GC and inspect)."""

STORE_TIMEOUT = 120.0
"""Seconds an operation waits for the state file while other ADDs hold it."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def endpoint_name(container_id: str, ifname: str) -> str:
    """The endpoint of one (container, interface) pair: readable, and unique by its digest."""
    digest = hashlib.sha256(f"{container_id}\0{ifname}".encode()).hexdigest()[:12]
    return f"cni-{container_id[:12]}-{_UNSAFE.sub('_', ifname)}-{digest}"


# -- the controller ------------------------------------------------------------------------


@contextlib.contextmanager
def _controller(conf: NetConf, *, create: bool) -> Iterator[Controller | None]:
    """A controller on the configuration's state directory; None when there is no state
    file and ``create`` is false (DEL and CHECK never make one)."""
    path = Path(conf.state_dir)
    if not create and not (path / STATE_FILE).exists():
        yield None
        return
    store = SqliteStore(path, timeout=STORE_TIMEOUT)
    builtin = conf.driver in BUILTIN_DRIVERS
    try:
        # Built-in drivers need no plugin discovery: nothing is scanned or imported for it.
        controller = Controller(
            store=store, plugins="off" if builtin else "lazy", plugin_dirs=[] if builtin else None
        )
    except BaseException:
        store.close()
        raise
    with controller:
        yield controller


def _network(c: Controller, conf: NetConf) -> Network:
    """The CNI network's libnet network, created if it does not exist yet."""
    for _ in range(2):
        try:
            net = c.network_by_name(conf.name)
        except NetworkNotFoundError:
            try:
                return c.new_network(
                    conf.driver,
                    conf.name,
                    options=conf.options,
                    labels=conf.labels,
                    internal=conf.internal,
                    enable_ipv6=conf.enable_ipv6,
                    ipam=conf.ipam,
                )
            except NetworkExistsError:  # another ADD made it meanwhile
                continue
        if net.type != conf.driver:
            raise CniError(
                INVALID_CONFIG,
                f"libnet network {conf.name!r} exists with driver {net.type!r}, but the "
                f"configuration names driver {conf.driver!r}; rename the CNI network or "
                f"remove the libnet one (libnet network rm {conf.name})",
            )
        return net
    raise CniError(TRY_AGAIN_LATER, f"libnet network {conf.name!r} came and went; try again")


def _sandboxes_of(c: Controller, container_id: str) -> list[Sandbox]:
    return [s for s in c.sandboxes() if s.container_id == container_id]


def _sandbox(c: Controller, call: Call) -> tuple[Sandbox, bool]:
    """The container's sandbox, and whether this call made it."""
    for _ in range(2):
        for sandbox in _sandboxes_of(c, call.container_id):
            if sandbox.key == os.path.abspath(call.netns):
                return sandbox, False
            if sandbox.key and os.path.exists(sandbox.key):
                raise CniError(
                    ALREADY_ATTACHED,
                    f"container {call.container_id!r} is attached in network namespace "
                    f"{sandbox.key}, not {call.netns}; DEL its attachments first",
                )
            log.warning(
                "container %s had a sandbox in %s, which is gone; forgetting it",
                call.container_id,
                sandbox.key,
            )
            sandbox.delete()
        try:
            return c.new_sandbox(call.container_id, key=call.netns), True
        except SandboxExistsError:  # another ADD for the same container made it
            continue
    raise CniError(TRY_AGAIN_LATER, f"the sandbox of {call.container_id!r} came and went")


def _drop_empty_sandboxes(c: Controller, container_id: str) -> None:
    for sandbox in _sandboxes_of(c, container_id):
        if not sandbox.endpoints():
            sandbox.delete()


# -- ADD -----------------------------------------------------------------------------------


def _requested(call: Call, conf: NetConf) -> tuple[str | None, str | None, str | None]:
    """IPv4, IPv6 and MAC addresses asked for (``runtimeConfig`` ``ips``/``mac``, or CNI_ARGS
    ``IP``/``MAC``)."""
    wanted: list[str] = []
    ips = conf.runtime_config.get("ips")
    if isinstance(ips, list):
        wanted.extend(str(ip) for ip in ips)
    if call.args.get("IP"):
        wanted.extend(call.args["IP"].split(","))
    v4 = v6 = None
    for text in wanted:
        try:
            ip = ipaddress.ip_interface(text.strip()).ip
        except ValueError:
            raise CniError(
                INVALID_CONFIG, f"requested address {text!r} is not an IP address"
            ) from None
        if ip.version == 4:
            v4 = str(ip)
        else:
            v6 = str(ip)
    mac = conf.runtime_config.get("mac") or call.args.get("MAC") or None
    return v4, v6, None if mac is None else str(mac)


def add(call: Call, conf: NetConf) -> dict[str, Any]:
    """Attach the container: endpoint, sandbox, join; the result of the spec."""
    _check_call(call)
    if not os.path.exists(call.netns):
        raise CniError(UNKNOWN_CONTAINER, f"network namespace {call.netns} does not exist")
    v4, v6, mac = _requested(call, conf)
    options: dict[str, Any] = {
        CONTAINER_OPTION: call.container_id,
        IFNAME_OPTION: call.ifname,
        NETNS_OPTION: call.netns,
    }
    if mac:
        options[labels.MAC_ADDRESS] = mac
    with _controller(conf, create=True) as c:
        assert c is not None
        net = _network(c, conf)
        if Namespace(call.netns).interface_state(call.ifname) is not None:
            raise CniError(
                ALREADY_ATTACHED,
                f"interface {call.ifname} already exists in network namespace {call.netns}",
            )
        name = endpoint_name(call.container_id, call.ifname)
        try:
            ep = net.create_endpoint(name, options=options, ipv4_address=v4, ipv6_address=v6)
        except EndpointExistsError:
            raise CniError(
                ALREADY_ATTACHED,
                f"container {call.container_id!r} is attached to network {conf.name!r} as "
                f"{call.ifname} already (endpoint {name}); DEL it first",
            ) from None
        try:
            sandbox, made = _sandbox(c, call)
            try:
                ep.join(sandbox, ifname=call.ifname)
            except BaseException:
                if made:
                    with _logged("removing the new sandbox"):
                        sandbox.delete()
                raise
        except BaseException:
            with _logged(f"removing endpoint {name}"):
                ep.delete(force=True)
            raise
        return build(_attachment(ep, call, conf), conf.cni_version, conf.prev_result)


def _attachment(ep: Endpoint, call: Call, conf: NetConf) -> Attachment:
    info = ep.info()
    mac = info.get("mac_address")  # the OS layer gave the interface the stored MAC
    if mac is None:
        mac = (Namespace(call.netns).interface_state(call.ifname) or {}).get("mac_address")
    driver = ep.driver_info()
    names = [str(driver[k]) for k in ("bridge", "host_interface") if isinstance(driver.get(k), str)]
    disabled = info.get("disable_gateway_service")
    return Attachment(
        ifname=call.ifname,
        netns=call.netns,
        mac=mac,
        addresses=[a for a in (info.get("address"), info.get("address_ipv6")) if a],
        gateway=None if disabled else info.get("gateway"),
        gateway_ipv6=None if disabled else info.get("gateway_ipv6"),
        routes=info.get("static_routes") or (),
        host_interfaces=_host_macs(names),
        dns=conf.dns,
    )


def _host_macs(names: list[str]) -> list[tuple[str, str | None]]:
    """(name, MAC) of host interfaces the driver reported, read over one netlink socket."""
    if not names:
        return []
    out: list[tuple[str, str | None]] = []
    with rtnl.rtnl() as ipr:
        for name in names:
            found = ipr.link_lookup(ifname=name)
            link = ipr.get_links(found[0])[0] if found else None
            out.append((name, None if link is None else link.get("address")))
    return out


# -- DEL -----------------------------------------------------------------------------------


def delete(call: Call, conf: NetConf) -> None:
    """Detach the container; whatever is gone already is fine, and nothing is created."""
    with _controller(conf, create=False) as c:
        if c is None:
            return
        try:
            net = c.network_by_name(conf.name)
            ep = net.endpoint_by_name(endpoint_name(call.container_id, call.ifname))
        except (NetworkNotFoundError, EndpointNotFoundError):
            pass
        else:
            ep.delete(force=True)
        _drop_empty_sandboxes(c, call.container_id)


# -- CHECK ---------------------------------------------------------------------------------


def check(call: Call, conf: NetConf) -> None:
    """Compare ``prevResult`` with the store and the kernel; CHECK_FAILED names the first
    difference."""
    _check_call(call)
    if conf.cni_version.startswith("0.3."):
        raise CniError(
            INCOMPATIBLE_VERSION, f"CHECK needs cniVersion 0.4.0 or later, not {conf.cni_version}"
        )
    if conf.prev_result is None:
        raise CniError(INVALID_CONFIG, "CHECK needs the prevResult of the ADD it checks")
    if not os.path.exists(call.netns):
        raise CniError(UNKNOWN_CONTAINER, f"network namespace {call.netns} does not exist")
    with _controller(conf, create=False) as c:
        if c is None:
            raise CniError(CHECK_FAILED, f"libnet has no state in {conf.state_dir}")
        what = f"container {call.container_id!r} on network {conf.name!r} ({call.ifname})"
        try:
            net = c.network_by_name(conf.name)
            ep = net.endpoint_by_name(endpoint_name(call.container_id, call.ifname))
        except NotFoundError as exc:
            raise CniError(CHECK_FAILED, f"{what} is not attached: {exc}") from None
        problems = _problems(c, ep, call, conf)
    if problems:
        raise CniError(CHECK_FAILED, f"{what}: {'; '.join(problems)}")


def _problems(c: Controller, ep: Endpoint, call: Call, conf: NetConf) -> list[str]:
    problems: list[str] = []
    info = ep.info()
    sandbox_id = info.get("sandbox")
    if sandbox_id is None:
        return ["its endpoint is not joined to a sandbox"]
    key = c.sandbox_by_id(sandbox_id).key
    if key != os.path.abspath(call.netns):
        problems.append(f"its sandbox is in {key}, not {call.netns}")
    stored = sorted(a for a in (info.get("address"), info.get("address_ipv6")) if a)
    assert conf.prev_result is not None
    previous = container_ips(conf.prev_result, call.ifname, call.netns)
    if stored != previous:
        problems.append(f"prevResult gives addresses {previous}, libnet's store {stored}")
    state = Namespace(call.netns).interface_state(call.ifname)
    if state is None:
        return [*problems, f"interface {call.ifname} is missing from {call.netns}"]
    if not state["up"]:
        problems.append(f"interface {call.ifname} is down")
    for cidr in stored:
        if str(ipaddress.ip_interface(cidr)) not in state["addresses"]:
            problems.append(f"interface {call.ifname} lacks address {cidr}")
    kernel = ep.driver_info().get("kernel")
    if isinstance(kernel, str) and kernel != "ok":
        problems.append(f"driver {ep.network.type!r} reports: {kernel}")
    return problems


# -- STATUS and GC (spec 1.1) --------------------------------------------------------------


def status(conf: NetConf) -> None:
    """Whether ADDs can succeed now: the state is usable and the driver installed."""
    path = Path(conf.state_dir)
    with _controller(conf, create=False) as c:
        if c is not None:
            if not c.driver_available(conf.driver):
                reason = c.plugin_failure(conf.driver) or "no installed driver serves it"
                raise CniError(NOT_AVAILABLE, f"libnet driver {conf.driver!r}: {reason}")
            return
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CniError(NOT_AVAILABLE, f"libnet's state directory {path} cannot be created")


def gc(conf: NetConf) -> None:
    """Detach every container of this network that ``cni.dev/valid-attachments`` omits."""
    valid_raw = conf.raw.get("cni.dev/valid-attachments") or []
    if not isinstance(valid_raw, list):
        raise CniError(INVALID_CONFIG, "cni.dev/valid-attachments must be a list")
    valid = {
        (str(a.get("containerID")), str(a.get("ifname"))) for a in valid_raw if isinstance(a, dict)
    }
    with _controller(conf, create=False) as c:
        if c is None:
            return
        try:
            net = c.network_by_name(conf.name)
        except NetworkNotFoundError:
            return
        for ep in net.endpoints():
            opts = ep.options
            cid, ifname = opts.get(CONTAINER_OPTION), opts.get(IFNAME_OPTION)
            if not isinstance(cid, str) or (cid, ifname) in valid:
                continue
            log.info("GC: detaching container %s (%s)", cid, ifname)
            ep.delete(force=True)
            _drop_empty_sandboxes(c, cid)


# -- shared --------------------------------------------------------------------------------


def _check_call(call: Call) -> None:
    try:
        check_container_id(call.container_id)
        check_ifname(call.ifname)
    except BadRequestError as exc:
        raise CniError(INVALID_ENVIRONMENT, str(exc)) from None


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    """Cleanup after a failure: its own failure is logged, the first error is raised."""
    try:
        yield
    except Exception:
        log.warning("libnet-cni: %s failed", what, exc_info=True)


def translate(exc: BaseException) -> CniError:
    """The spec's error for a libnet error."""
    if isinstance(exc, CniError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, OperationTimeoutError):
        return CniError(TRY_AGAIN_LATER, str(exc), name)
    if isinstance(exc, StoreError):
        return CniError(IO_FAILURE, str(exc), name)
    if isinstance(exc, BadRequestError | UnknownDriverError):
        return CniError(INVALID_CONFIG, str(exc), name)
    if isinstance(exc, LibnetError):
        return CniError(LIBNET_ERROR, str(exc), name)
    return CniError(LIBNET_ERROR, f"libnet-cni failed: {name}: {exc}", "internal error")
