"""The overview's charts, as data for the self-served Chart.js (``static/console.js`` draws
them). Built from the same table the page shows, so the charts never say more than it does."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from bot.console.tables import Cell, Table


@dataclass(frozen=True)
class Series:
    """One table column plotted; ``missing`` is its value on a day with no row (0 for counts
    and cost, None, a gap in the line, for times)."""

    label: str
    column: str
    colour: str
    stacked: bool = False
    missing: float | None = 0


@dataclass(frozen=True)
class Chart:
    """One chart: ``kind`` is a Chart.js type (``bar``, ``line``); ``series`` name the table
    columns it plots against the days."""

    id: str
    title: str
    kind: str
    series: tuple[Series, ...]


OVERVIEW_CHARTS = (
    Chart(
        "questions",
        "Questions per day",
        "bar",
        (
            Series("answered", "answered", "#2a9d8f", stacked=True),
            Series("declined", "declined", "#e9c46a", stacked=True),
            Series("failed", "failed", "#e76f51", stacked=True),
            Series("cached", "cached", "#457b9d", stacked=True),
        ),
    ),
    Chart(
        "votes",
        "Votes per day",
        "bar",
        (Series("👍 helpful", "👍", "#2a9d8f"), Series("👎 not helpful", "👎", "#e76f51")),
    ),
    Chart(
        "latency",
        "Time to answer (ms)",
        "line",
        (
            Series("median", "median ms", "#1d3557", missing=None),
            Series("95th percentile", "p95 ms", "#e76f51", missing=None),
        ),
    ),
    Chart("cost", "Model cost per day (USD)", "bar", (Series("cost", "cost (USD)", "#457b9d"),)),
)


def chart_data(found: Table, charts: tuple[Chart, ...] = OVERVIEW_CHARTS) -> list[dict[str, Any]]:
    """What each chart plots against every day from the table's first to its last (days
    without a row included, so the axis keeps time), as plain JSON-ready values."""
    by_day = {date.fromisoformat(str(row[0])): row for row in found.rows}
    days = _every_day(min(by_day), max(by_day)) if by_day else []
    return [
        {
            **asdict(chart),
            "labels": [day.isoformat() for day in days],
            "series": [
                {**asdict(s), "data": [_value(found, by_day.get(day), s) for day in days]}
                for s in chart.series
            ],
        }
        for chart in charts
    ]


def _every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _value(found: Table, row: tuple[Cell, ...] | None, series: Series) -> float | int | None:
    if row is None:
        return series.missing
    cell = row[found.columns.index(series.column)]
    return cell if isinstance(cell, int | float) else None
