"""The driver contract as the conformance suite states it: sections, failures, checks.

Each rule lives in a section of the author documentation; a failure names the driver, says
what it did, what the contract asks, and where to read more.
"""

from __future__ import annotations

import ipaddress
import traceback
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

__all__ = [
    "DOC",
    "SECTIONS",
    "ConformanceWarning",
    "ContractViolation",
    "Section",
    "join_problems",
    "soft_violation",
    "violation",
]

DOC = "docs/writing-drivers.md"
"""The author documentation every failure points to."""


@dataclass(frozen=True)
class Section:
    """A section of the author documentation: its title and its Markdown anchor."""

    title: str
    anchor: str

    @property
    def link(self) -> str:
        return f"{DOC}#{self.anchor}"


LIFECYCLE = Section("Lifecycle", "lifecycle")
UNKNOWN_IDS = Section("Unknown IDs", "unknown-ids")
INTERFACE = Section("The interface contract", "the-interface-contract")
JOIN_INFO = Section("Join information", "join-information")
FAILED_JOIN = Section("Leave after a failed join", "leave-after-a-failed-join")
DELETING = Section("Deleting", "deleting")
NETWORKS = Section("Several networks", "several-networks")
CONCURRENCY = Section("Concurrency", "concurrency")
CAPABILITY = Section("Capability", "capability")
RESTORE = Section("Restore after a restart", "restore-after-a-restart")
HOOK = Section("The hook", "the-hook")
TESTING = Section("Testing with the kit", "testing-with-the-kit")

SECTIONS: tuple[Section, ...] = (
    LIFECYCLE,
    UNKNOWN_IDS,
    INTERFACE,
    JOIN_INFO,
    FAILED_JOIN,
    DELETING,
    NETWORKS,
    CONCURRENCY,
    CAPABILITY,
    RESTORE,
    HOOK,
    TESTING,
)
"""Every section a failure can name; a test checks each anchor exists in the documentation."""


class ContractViolation(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """The driver under test broke a rule of the driver contract.

    pytest reports it as a failure showing the message alone (which quotes the driver's
    exception and where it was raised), not the suite's own source.
    """

    cause: BaseException | None = None
    """The driver's exception that broke the rule, if one did."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, pytrace=False)


class ConformanceWarning(UserWarning):
    """The driver keeps the contract, but not the way libnet recommends."""


def _message(section: Section, driver: str, did: str, contract: str, origin: str = "") -> str:
    return (
        f"driver {driver!r} breaks the contract ({section.title}): {did}\n"
        f"The contract: {contract}\n" + (f"{origin}\n" if origin else "") + f"See {section.link}"
    )


def violation(
    section: Section,
    driver: str,
    did: str,
    contract: str,
    cause: BaseException | None = None,
) -> NoReturn:
    """Fail the current test: ``driver`` did ``did``, which breaks ``contract``.

    The driver's exception, if any, is quoted with the frames where it was raised and kept
    as the violation's ``cause``; pytest shows the message alone.
    """
    __tracebackhide__ = True
    if cause is not None:
        did = f"{did}: {describe(cause)}"
    error = ContractViolation(
        _message(section, driver, did, contract, _origin(cause) if cause else "")
    )
    error.cause = cause
    raise error from None


def soft_violation(section: Section, driver: str, did: str, contract: str) -> None:
    """Warn (a :class:`ConformanceWarning`) instead of failing, for recommendations."""
    warnings.warn(ConformanceWarning(_message(section, driver, did, contract)), stacklevel=2)


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, with the cause a proxy wrapped it around."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__
    if cause is not None and str(cause) not in str(exc):
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text


def _innermost(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def _origin(exc: BaseException, frames: int = 4) -> str:
    """The last frames of the innermost exception's traceback: where the driver raised."""
    inner = _innermost(exc)
    lines = traceback.format_tb(inner.__traceback__)[-frames:]
    head = f"{type(inner).__name__} raised at (most recent call last):\n"
    return head + "".join(lines).rstrip() if lines else ""


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` or an exception it was raised from is a ``kind``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


# Join information the controller can apply.

MAX_IFNAME = 15
"""Linux interface names hold at most 15 characters (IFNAMSIZ less the NUL)."""

MAX_PREFIX = MAX_IFNAME - 2
"""A sandbox prefix leaves room for a two-digit index (``eth`` becomes ``eth0``..``eth99``)."""


def interface_name_problem(what: str, name: str, limit: int = MAX_IFNAME) -> str | None:
    """Why ``name`` cannot name a Linux interface, or None if it can."""
    if not name or len(name) > limit:
        return f"{what} {name!r} must have 1 to {limit} characters"
    if name in (".", "..") or any(c in name for c in "/:") or any(c.isspace() for c in name):
        return f"{what} {name!r} contains '/', ':' or white space, or is '.' or '..'"
    return None


def _networks(iface: Mapping[str, Any], version: int) -> list[Any]:
    key = "address" if version == 4 else "address_ipv6"
    value = iface.get(key)
    return [ipaddress.ip_interface(value).network] if value else []


def _reachable(
    hop: str, iface: Mapping[str, Any], connected: Iterable[Any], named: bool
) -> str | None:
    """Why next hop or gateway ``hop`` cannot be reached from the interface, or None."""
    addr = ipaddress.ip_address(hop)
    own = [iface.get("address"), iface.get("address_ipv6")]
    if any(value and ipaddress.ip_interface(value).ip == addr for value in own):
        return f"{hop} is the endpoint's own address"
    if not named:
        return f"{hop} is set but the driver named no interface (set_names) to reach it through"
    if addr.version == 6 and addr.is_link_local:
        return None
    subnets = [*_networks(iface, addr.version), *connected]
    if any(addr.version == net.version and addr in net for net in subnets):
        return None
    family = "IPv4" if addr.version == 4 else "IPv6"
    return (
        f"{hop} is outside every {family} subnet of the interface "
        f"({', '.join(map(str, subnets)) or 'it has no ' + family + ' address'}) "
        "and no connected static route covers it"
    )


def join_problems(
    iface: Mapping[str, Any], join: Mapping[str, Any], filled_by_driver: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """What keeps the controller from applying ``join`` (``JoinInfo.to_dict()``).

    ``iface`` holds the endpoint's interface fields (``InterfaceInfo.to_dict()``) and
    ``filled_by_driver`` those that need an interface named on join (the MAC address, which
    only drivers set). Each problem comes as ``(kind, text)`` with kind ``names``,
    ``gateways`` or ``routes``.
    """
    problems: list[tuple[str, str]] = []
    src, prefix, dst = join.get("src_name"), join.get("dst_prefix"), join.get("dst_name")
    for what, value, limit in (
        ("src_name", src, MAX_IFNAME),
        ("dst_prefix", prefix, MAX_PREFIX),
        ("dst_name", dst, MAX_IFNAME),
    ):
        reason = None if value is None else interface_name_problem(what, value, limit)
        if reason:
            problems.append(("names", reason))
    named = src is not None
    filled = sorted(filled_by_driver)
    if filled and not named:
        problems.append(
            (
                "names",
                f"the endpoint has a {' and '.join(filled)} but the driver named no "
                "interface on join (JoinInfo.set_names), so the controller has nothing to "
                "give it to",
            )
        )
    routes = list(join.get("static_routes") or [])
    connected = [
        ipaddress.ip_network(r["destination"]) for r in routes if int(r["route_type"]) == 1
    ]
    for key in ("gateway", "gateway_ipv6"):
        hop = join.get(key)
        if hop is not None:
            reason = _reachable(hop, iface, connected, named)
            if reason:
                problems.append(("gateways", f"{key} {reason}"))
    seen: set[str] = set()
    for route in routes:
        dest = route["destination"]
        if dest in seen:
            problems.append(
                ("routes", f"two static routes go to {dest}; the sandbox can hold only one")
            )
        seen.add(dest)
        if int(route["route_type"]) == 1:
            if not named:
                problems.append(
                    (
                        "routes",
                        f"connected static route to {dest} is set but the driver named no "
                        "interface (set_names) to route through",
                    )
                )
            continue
        reason = _reachable(route["next_hop"], iface, connected, named)
        if reason:
            problems.append(("routes", f"static route to {dest}: next hop {reason}"))
    return problems
