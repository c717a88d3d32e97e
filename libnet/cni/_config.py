"""The network configuration ``libnet-cni`` reads on stdin, and the runtime's variables.

Keys beyond the spec's own (``cniVersion``, ``name``, ``type``, ``dns``, ``prevResult``,
``runtimeConfig``, ``args``, ``capabilities``), all optional; docs/cni.md has examples:

- ``driver``: the libnet network type (default ``bridge``);
- ``options``: the network's driver options (as ``libnet network create -o``);
- ``mtu``: shorthand for option ``com.docker.network.driver.mtu``;
- ``subnet``, ``gateway``, ``ipRange``: one IPv4 or IPv6 pool; or ``subnets``, a list of
  ``{"subnet", "gateway", "ipRange", "auxAddresses"}``; without either, libnet's IPAM picks
  a pool from its defaults;
- ``ipamDriver``, ``ipamOptions``: the libnet IPAM driver (default ``default``) and its options;
- ``ipv6`` and ``internal``: as ``libnet network create --ipv6 / --internal``;
- ``labels``: the network's labels;
- ``stateDir``: libnet's state directory (default ``/var/lib/libnet``, the ``libnet``
  command's own for root, so ``libnet network ls`` shows CNI networks);
- ``logFile``: where logs go (default stderr).

The spec's ``ipam`` key (a CNI IPAM plugin) is refused: libnet's IPAM gives the addresses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from libnet.cni._errors import (
    DECODE_FAILURE,
    INCOMPATIBLE_VERSION,
    INVALID_CONFIG,
    INVALID_ENVIRONMENT,
    UNSUPPORTED_FIELD,
    CniError,
)

log = logging.getLogger("libnet.cni")

SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
"""Spec versions of the configurations and results ``libnet-cni`` speaks."""

DEFAULT_STATE_DIR = "/var/lib/libnet"
DEFAULT_DRIVER = "bridge"
MTU_OPTION = "com.docker.network.driver.mtu"

SPEC_KEYS = frozenset(
    {"cniVersion", "name", "type", "dns", "prevResult", "runtimeConfig", "args", "capabilities"}
)
OWN_KEYS = frozenset(
    {
        "driver",
        "options",
        "mtu",
        "subnet",
        "gateway",
        "ipRange",
        "subnets",
        "ipamDriver",
        "ipamOptions",
        "ipv6",
        "internal",
        "labels",
        "stateDir",
        "logFile",
    }
)


@dataclass(frozen=True)
class NetConf:
    """One network configuration, checked."""

    cni_version: str
    name: str
    driver: str = DEFAULT_DRIVER
    options: dict[str, Any] = field(default_factory=dict)
    ipam: dict[str, Any] | None = None
    """Docker's IPAM shape, as ``Controller.new_network`` takes it."""
    enable_ipv6: bool = False
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    state_dir: str = DEFAULT_STATE_DIR
    log_file: str | None = None
    dns: dict[str, Any] = field(default_factory=dict)
    prev_result: dict[str, Any] | None = None
    runtime_config: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def decode(data: bytes) -> dict[str, Any]:
    """The JSON object on stdin, or the spec's decoding error."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CniError(
            DECODE_FAILURE, "cannot decode the network configuration", str(exc)
        ) from None
    if not isinstance(value, dict):
        raise CniError(DECODE_FAILURE, "the network configuration must be a JSON object")
    return value


def version_of(raw: Mapping[str, Any]) -> str:
    """The configuration's ``cniVersion``, if this plugin speaks it."""
    version = raw.get("cniVersion")
    if not isinstance(version, str) or not version:
        raise CniError(INVALID_CONFIG, "the network configuration has no cniVersion")
    if version not in SUPPORTED_VERSIONS:
        raise CniError(
            INCOMPATIBLE_VERSION,
            "incompatible CNI versions",
            f"config is {version!r}, libnet-cni supports {', '.join(SUPPORTED_VERSIONS)}",
        )
    return version


def _bad(what: str, value: Any, expected: str) -> CniError:
    return CniError(INVALID_CONFIG, f"network configuration key {what}={value!r}: {expected}")


def _text(raw: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = raw.get(key, default)
    if value is not None and (not isinstance(value, str) or not value):
        raise _bad(key, value, "must be a non-empty string")
    return value


def _object(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(key, value, "must be a JSON object")
    return value


def _flag(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _bad(key, value, "must be true or false")
    return value


def _pool(entry: Any, where: str) -> dict[str, Any]:
    """One pool (``subnet``, ``gateway``, ``ipRange``, ``auxAddresses``) in Docker's shape."""
    if not isinstance(entry, dict):
        raise _bad(where, entry, "must be a JSON object with a subnet")
    unknown = sorted(set(entry) - {"subnet", "gateway", "ipRange", "auxAddresses"})
    if unknown:
        raise CniError(
            INVALID_CONFIG,
            f"network configuration {where} has unknown keys {', '.join(unknown)}: use subnet, "
            "gateway, ipRange and auxAddresses",
        )
    pool: dict[str, Any] = {}
    for key, docker in (("subnet", "subnet"), ("gateway", "gateway"), ("ipRange", "ip_range")):
        value = _text(entry, key)
        if value is not None:
            pool[docker] = value
    if "subnet" not in pool:
        raise _bad(where, entry, "needs a subnet such as 10.88.0.0/24")
    aux = entry.get("auxAddresses")
    if aux is not None:
        if not isinstance(aux, dict):
            raise _bad(f"{where}.auxAddresses", aux, "must map names to addresses")
        pool["aux_addresses"] = dict(aux)
    return pool


def _ipam(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    if "ipam" in raw:
        raise CniError(
            UNSUPPORTED_FIELD,
            "libnet-cni takes no 'ipam' plugin: libnet's IPAM gives the addresses; give "
            "'subnet' (or 'subnets') and optionally 'ipamDriver' instead",
        )
    one = {k for k in ("subnet", "gateway", "ipRange") if k in raw}
    pools: list[dict[str, Any]] = []
    if one and "subnets" in raw:
        raise CniError(
            INVALID_CONFIG,
            "give either 'subnet' (with 'gateway', 'ipRange') or 'subnets', not both",
        )
    if one:
        pools.append(_pool({k: raw[k] for k in one}, "subnet"))
    elif "subnets" in raw:
        subnets = raw["subnets"]
        if not isinstance(subnets, list) or not subnets:
            raise _bad("subnets", subnets, "must be a non-empty list of pools")
        pools.extend(_pool(entry, f"subnets[{i}]") for i, entry in enumerate(subnets))
    driver = _text(raw, "ipamDriver")
    options = _object(raw, "ipamOptions")
    if not pools and driver is None and not options:
        return None
    ipam: dict[str, Any] = {"config": pools}
    if driver is not None:
        ipam["driver"] = driver
    if options:
        ipam["options"] = {str(k): str(v) for k, v in options.items()}
    return ipam


def parse(raw: Mapping[str, Any]) -> NetConf:
    """Check a decoded configuration: the spec's error for the first problem found."""
    version = version_of(raw)
    name = _text(raw, "name")
    if name is None:
        raise CniError(INVALID_CONFIG, "the network configuration has no name")
    options = dict(_object(raw, "options"))
    mtu = raw.get("mtu")
    if mtu is not None:
        if isinstance(mtu, bool) or not isinstance(mtu, int) or not 68 <= mtu <= 65535:
            raise _bad("mtu", mtu, "must be a number from 68 to 65535")
        options[MTU_OPTION] = str(mtu)
    labels = _object(raw, "labels")
    unknown = sorted(set(raw) - SPEC_KEYS - OWN_KEYS - {"ipam"})
    if unknown:
        log.warning("libnet-cni ignores network configuration keys %s", ", ".join(unknown))
    prev = raw.get("prevResult")
    if prev is not None and not isinstance(prev, dict):
        raise _bad("prevResult", prev, "must be a JSON object")
    return NetConf(
        cni_version=version,
        name=name,
        driver=_text(raw, "driver", DEFAULT_DRIVER) or DEFAULT_DRIVER,
        options=options,
        ipam=_ipam(raw),
        enable_ipv6=_flag(raw, "ipv6"),
        internal=_flag(raw, "internal"),
        labels={str(k): str(v) for k, v in labels.items()},
        state_dir=_text(raw, "stateDir", DEFAULT_STATE_DIR) or DEFAULT_STATE_DIR,
        log_file=_text(raw, "logFile"),
        dns=_object(raw, "dns"),
        prev_result=prev,
        runtime_config=_object(raw, "runtimeConfig"),
        raw=dict(raw),
    )


@dataclass(frozen=True)
class Call:
    """The runtime's variables for one call."""

    command: str
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: dict[str, str] = field(default_factory=dict)
    path: str = ""


def _args(text: str) -> dict[str, str]:
    """``CNI_ARGS``: ``K=V;K2=V2``."""
    out: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CniError(INVALID_ENVIRONMENT, f"CNI_ARGS item {item!r} is not KEY=VALUE")
        out[key] = value
    return out


def call_from(env: Mapping[str, str]) -> Call:
    """The call described by ``env``, with the variables its command requires."""
    command = env.get("CNI_COMMAND", "")
    call = Call(
        command=command,
        container_id=env.get("CNI_CONTAINERID", ""),
        netns=env.get("CNI_NETNS", ""),
        ifname=env.get("CNI_IFNAME", ""),
        args=_args(env.get("CNI_ARGS", "")),
        path=env.get("CNI_PATH", ""),
    )
    needed = {
        "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
        "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
        "DEL": ("CNI_CONTAINERID", "CNI_IFNAME"),
    }.get(command, ())
    missing = [name for name in needed if not env.get(name)]
    if missing:
        raise CniError(
            INVALID_ENVIRONMENT,
            f"CNI_COMMAND={command} needs the environment variables {', '.join(missing)}",
        )
    return call
