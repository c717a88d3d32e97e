"""``--filter KEY=VALUE`` of the ``ls`` commands, with Docker's meanings.

``name`` matches a part of the name, ``id`` and ``sandbox`` the start of the ID, ``label``
a label's key (``label=KEY``) or key and value (``label=KEY=VALUE``); any other key matches
its value exactly. The same key given again widens the match (either value), another key narrows it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from libnet.cli._args import key_value

Filter = tuple[str, str]


def add_filter(parser: argparse.ArgumentParser, keys: Sequence[str]) -> None:
    """Add ``-f/--filter KEY=VALUE`` (repeatable) accepting ``keys``."""
    parser.add_argument(
        "-f",
        "--filter",
        dest="filters",
        action="append",
        type=_filter_type(keys),
        metavar="KEY=VALUE",
        help=f"list only what matches (repeatable; keys: {', '.join(keys)}); name matches "
        "a part of the name, id (and sandbox) the start of the ID, label=KEY or label=KEY=VALUE "
        "a label; other keys the whole value",
    )


def _filter_type(keys: Sequence[str]) -> Callable[[str], Filter]:
    def parse(text: str) -> Filter:
        key, value = key_value(text)
        if key not in keys:
            raise argparse.ArgumentTypeError(
                f"unknown filter {key!r} in {text!r}; use one of: {', '.join(keys)}"
            )
        return key, value

    return parse


def matches(fields: Mapping[str, Any], filters: Sequence[Filter] | None) -> bool:
    """Whether an object with these filterable ``fields`` passes every filter key."""
    wanted: dict[str, list[str]] = {}
    for key, value in filters or ():
        wanted.setdefault(key, []).append(value)
    return all(
        any(_match(key, fields.get(key), value) for value in values)
        for key, values in wanted.items()
    )


def _match(key: str, actual: Any, wanted: str) -> bool:
    if key == "label":
        labels: Mapping[str, str] = actual or {}
        name, sep, value = wanted.partition("=")
        return name in labels and (not sep or labels[name] == value)
    text = "" if actual is None else str(actual)
    if key == "name":
        return wanted in text
    if key in ("id", "sandbox"):  # IDs are shown shortened: their start is enough
        return text.startswith(wanted)
    return text == wanted
