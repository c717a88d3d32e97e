"""The driver rows of ``libnet drivers`` and ``libnet ipam ls`` for --filter and --format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from libnet.cli._format import distribution_cell
from libnet.cli._listing import Listing

if TYPE_CHECKING:
    from libnet.registry import DriverInfo

DRIVER_FILTERS = ["name", "source", "status", "scope"]
"""The ``--filter`` keys of a driver listing."""


def scope_cell(row: DriverInfo) -> str:
    """The data scope of a network driver's row, or ``-``."""
    scope = getattr(row.capability, "data_scope", None)
    return "-" if scope is None else str(scope)


def filterable(row: DriverInfo) -> dict[str, Any]:
    """The values ``--filter`` matches in one row."""
    return {"name": row.name, "source": row.source, "status": row.status, "scope": scope_cell(row)}


def driver_listing(
    rows: Sequence[DriverInfo],
    traceback: bool,
    column: tuple[str, str, Callable[[DriverInfo], str]] = ("Scope", "SCOPE", scope_cell),
) -> Listing:
    """Rows for ``--format``; ``column`` (field, header, cell) is the fourth of the table."""
    field, header, cell = column
    cells = [
        {
            "Name": row.name,
            "Source": row.source,
            "Status": row.status,
            field: cell(row),
            "Distribution": distribution_cell(row),
            "Address": row.address or "-",
            "Error": row.error or "",
        }
        for row in rows
    ]
    columns = [("Name", "NAME"), ("Source", "SOURCE"), ("Status", "STATUS"), (field, header)]
    return Listing(
        [*(f for f, _ in columns), "Distribution", "Address", "Error"],
        [*columns, ("Distribution", "DISTRIBUTION")],
        cells,
        [row.to_dict(traceback=traceback) for row in rows],
    )
