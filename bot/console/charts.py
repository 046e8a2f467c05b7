"""The overview's charts, as data for the self-served Chart.js (``static/console.js`` draws
them). Built from the same table the page shows, so the charts never say more than it does."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bot.console.tables import Cell, Table


@dataclass(frozen=True)
class Series:
    label: str
    column: str
    colour: str
    stacked: bool = False


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
        (Series("median", "median ms", "#1d3557"), Series("95th percentile", "p95 ms", "#e76f51")),
    ),
    Chart("cost", "Model cost per day (USD)", "bar", (Series("cost", "cost (USD)", "#457b9d"),)),
)


def chart_data(found: Table, charts: tuple[Chart, ...] = OVERVIEW_CHARTS) -> list[dict[str, Any]]:
    """What each chart plots, oldest day first, as plain JSON-ready values."""
    rows = sorted(found.rows, key=lambda row: str(row[0]))
    labels = [row[0] for row in rows]
    return [
        {
            **asdict(chart),
            "labels": labels,
            "series": [
                {**asdict(s), "data": [_number(row[found.columns.index(s.column)]) for row in rows]}
                for s in chart.series
            ],
        }
        for chart in charts
    ]


def _number(cell: Cell) -> float | int | None:
    return cell if isinstance(cell, int | float) else None
