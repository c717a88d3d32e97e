"""Output for the command: aligned tables as Docker prints them, or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from libnet.registry import DriverInfo


def print_json(data: Any, out: TextIO | None = None) -> None:
    """Print ``data`` as indented JSON."""
    out = out or sys.stdout
    json.dump(data, out, indent=2, sort_keys=False, default=str)
    out.write("\n")


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO | None = None
) -> None:
    """Print rows under upper-case headers, columns separated by at least three spaces."""
    out = out or sys.stdout
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
    for row in [list(headers), *rows]:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        out.write("   ".join(cells).rstrip() + "\n")


def distribution_cell(row: DriverInfo) -> str:
    """``NAME VERSION`` of the distribution a driver row comes from, or ``-``."""
    return f"{row.distribution} {row.version or ''}".strip() if row.distribution else "-"


def print_failures(rows: Sequence[DriverInfo], traceback: bool) -> None:
    """Print each failed row's error (and traceback when asked) on stderr."""
    for row in rows:
        if row.error:
            print(f"{row.name}: {row.error}", file=sys.stderr)
            if traceback and row.traceback:
                print(row.traceback, file=sys.stderr)
