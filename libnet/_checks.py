"""Checks of option values that several layers share."""

from __future__ import annotations

import os
from collections.abc import Iterable

from libnet.errors import InvalidOptionError

__all__ = ["path_list", "positive_seconds"]


def path_list(
    value: Iterable[str | os.PathLike[str]], what: str
) -> tuple[str | os.PathLike[str], ...]:
    """The paths of a list of paths; InvalidOptionError naming ``what`` for one path."""
    if isinstance(value, (str, os.PathLike)):
        raise InvalidOptionError(f"{what} must be a list of directories, not one path")
    return tuple(value)


def positive_seconds(value: object, what: str) -> float:
    """``value`` as a float if it is a positive number of seconds; else InvalidOptionError
    naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidOptionError(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)
