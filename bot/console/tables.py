"""The console's tables: what each page shows, and the same rows as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """Column headings and rows of plain values; templates escape them, CSV quotes them."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        writer.writerows(tuple(_csv_cell(c) for c in row) for row in self.rows)
        return out.getvalue()


def _csv_cell(cell: Cell) -> Cell:
    # A cell starting with = + - @ is a formula to a spreadsheet; gap questions are typed by
    # anyone, so those are quoted as text.
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def table(name: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Table:
    return Table(name, tuple(columns), tuple(tuple(r) for r in rows))
