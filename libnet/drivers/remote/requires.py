"""The version gate: a plugin distribution's ``Requires-Dist`` on libnet, before import.

Nearly every plugin states a plain requirement (``libnet>=0.1,<0.2``): a name and
comparisons with release numbers. Those are decided here, as PEP 440 orders final
releases (``1.0`` equals ``1``). Anything else (environment markers, extras, ``~=``,
``===``, wildcards, pre-, post- or local versions, a libnet that is not a final release)
goes to ``packaging``, which is imported only then: it costs more than loading a plugin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from libnet._version import __version__

__all__ = ["version_mismatch"]

_OPERATOR_ORDER = ("===", "==", "~=", ">=", ">", "!=", "<=", "<")
"""Specifiers in a message: lower bounds before upper ones (``libnet>=2,<3``)."""

_CLAUSE = r"(?:>=|<=|==|!=|<|>)\s*\d+(?:\.\d+)*"
_PLAIN = re.compile(
    rf"\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*\w)?\s*(?P<specs>(?:{_CLAUSE}\s*(?:,\s*{_CLAUSE}\s*)*)?)"
)
_SPLIT = re.compile(r"(>=|<=|==|!=|<|>)\s*(\d+(?:\.\d+)*)")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")

_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    ">=": lambda have, want: have >= want,
    "<=": lambda have, want: have <= want,
    ">": lambda have, want: have > want,
    "<": lambda have, want: have < want,
    "==": lambda have, want: have == want,
    "!=": lambda have, want: have != want,
}


def version_mismatch(requires: Iterable[str], running: str = __version__) -> str | None:
    """Why a distribution requiring ``requires`` (its ``Requires-Dist`` entries on
    libnet) cannot run with libnet ``running``, or None if it can.

    Requirements with an environment marker count only where the marker holds (an extra's
    requirement never does).
    """
    for text in requires:
        plain = _plain(text, running)
        reason = _packaging(text, running) if plain is None else plain
        if reason:
            return reason
    return None


def _release(version: str) -> tuple[int, ...]:
    """A final release's numbers without trailing zeros, so ``1.0`` and ``1`` compare equal."""
    numbers = [int(n) for n in version.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _plain(text: str, running: str) -> str | None:
    """The verdict on a plain requirement: ``""`` if it holds, else why not; None when
    ``text`` or ``running`` is not plain (``packaging`` decides)."""
    match = _PLAIN.fullmatch(text)
    if match is None or _RELEASE.fullmatch(running) is None:
        return None
    clauses = _SPLIT.findall(match["specs"])
    have = _release(running)
    if all(_COMPARE[op](have, _release(version)) for op, version in clauses):
        return ""
    return _wanted(running, [op + version for op, version in clauses])


def _wanted(running: str, specifiers: Iterable[str]) -> str:
    def order(spec: str) -> tuple[int, str]:
        op = next(op for op in _OPERATOR_ORDER if spec.startswith(op))
        return _OPERATOR_ORDER.index(op), spec

    return f"requires libnet{','.join(sorted(specifiers, key=order))}; this is {running}"


def _packaging(text: str, running: str) -> str:
    """The verdict of ``packaging`` on any requirement: ``""`` if it holds, else why not."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        return f"its Requires-Dist {text!r} is not a valid requirement ({exc})"
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return ""
    if req.specifier.contains(running, prereleases=True):
        return ""
    return _wanted(running, map(str, req.specifier))
