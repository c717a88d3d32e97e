"""Argument helpers shared by the command groups."""

from __future__ import annotations

import argparse
from collections.abc import Iterable


def key_value(text: str) -> tuple[str, str]:
    """Parse one ``KEY=VALUE`` argument; anything else is a usage error naming it."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (no '=')")
    if not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (empty key)")
    return key, value


def to_dict(pairs: Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """Repeated ``KEY=VALUE`` arguments as a mapping; a later key wins, as in Docker."""
    return dict(pairs or ())


def add_options(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``-o/--opt KEY=VALUE`` (repeatable), the driver options of ``what``."""
    parser.add_argument(
        "-o",
        "--opt",
        dest="options",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help=f"driver option of the {what} (repeatable)",
    )


def add_json(parser: argparse._ActionsContainer, *, inspect: bool = False) -> None:
    """Add ``--json``: print JSON (for inspect, the default already)."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON (the default)" if inspect else "print JSON instead of a table",
    )


def short_id(object_id: str, no_trunc: bool = False) -> str:
    """A 12-character ID as Docker shows them, or the whole ID with ``--no-trunc``."""
    return object_id if no_trunc else object_id[:12]
