"""``--format`` of the ``ls`` commands: ``table``, ``json`` or a template of fields.

A template names fields as Docker's Go templates do, ``{{.Name}}``; only plain field
references are understood. ``table TEMPLATE`` prints the fields under headers, aligned;
``\\t`` and ``\\n`` typed literally in a template are a tab and a line break. ``json``
prints one JSON object per line, as ``docker network ls --format json`` does.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from libnet.cli._format import print_table
from libnet.errors import InvalidOptionError

_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def add_format(group: argparse._ActionsContainer) -> None:
    """Add ``--format FORMAT``."""
    group.add_argument(
        "--format",
        metavar="FORMAT",
        help="'table' (the default), 'json' (one object per line), or a template of "
        "fields such as '{{.Name}} {{.Driver}}' ('table {{.Name}}\\t{{.Driver}}' adds "
        "headers and aligns the columns)",
    )


@dataclass(frozen=True)
class Listing:
    """What one ``ls`` prints: every field's name, the default table's columns as
    (field, header), one row of field texts per object, and the objects for JSON."""

    fields: Sequence[str]
    columns: Sequence[tuple[str, str]]
    rows: Sequence[Mapping[str, str]]
    objects: Sequence[Any]

    def show(self, fmt: str | None) -> None:
        """Print the listing as ``fmt`` asks (the default table when None)."""
        if fmt is None or fmt.strip() == "table":
            print_table(
                [h for _, h in self.columns], [[r[f] for f, _ in self.columns] for r in self.rows]
            )
        elif fmt.strip() == "json":
            for obj in self.objects:
                print(json.dumps(obj, default=str))
        elif fmt.startswith("table "):
            template = self._template(fmt[len("table ") :])
            headers = dict(self.columns)
            head = _FIELD.sub(lambda m: headers.get(m[1], m[1].upper()), template)
            lines = [head, *(_render(template, row) for row in self.rows)]
            cells = [line.split("\t") for line in "\n".join(lines).split("\n")]
            print_table(cells[0], cells[1:])
        elif "{{" in fmt:
            template = self._template(fmt)
            for row in self.rows:
                print(_render(template, row))
        else:
            raise InvalidOptionError(
                f"--format {fmt!r} is not 'table', 'json' or a template such as "
                f"'{{{{.{self.fields[1]}}}}}'; fields: {self._names()}"
            )

    def _template(self, text: str) -> str:
        """The template with ``\\t`` and ``\\n`` made real; unknown fields refused."""
        for match in _FIELD.finditer(text):
            if match[1] not in self.fields:
                raise InvalidOptionError(
                    f"--format names the unknown field .{match[1]}; fields: {self._names()}"
                )
        return text.replace("\\t", "\t").replace("\\n", "\n")

    def _names(self) -> str:
        return ", ".join(f".{name}" for name in self.fields)


def _render(template: str, row: Mapping[str, str]) -> str:
    return _FIELD.sub(lambda match: row[match[1]], template)
