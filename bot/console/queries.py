"""What the console reads from the answer log and the votes: answers and votes per day, usage
by model and by platform. Never questions: the answer log keeps only their hashes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.tables import Table, table

_PER_DAY = text(
    """
    WITH a AS (
        SELECT created_at::date AS day,
            count(*) FILTER (WHERE outcome = 'answered' AND NOT cached) AS answered,
            count(*) FILTER (WHERE outcome = 'not_covered') AS declined,
            count(*) FILTER (WHERE outcome IN ('unavailable', 'limited', 'invalid')) AS failed,
            count(*) FILTER (WHERE cached) AS cached,
            coalesce(sum(cost_usd), 0) AS cost_usd,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS median_ms,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms
        FROM answers WHERE created_at >= :since GROUP BY 1
    ), v AS (
        SELECT created_at::date AS day,
            count(*) FILTER (WHERE vote = 1) AS up,
            count(*) FILTER (WHERE vote = -1) AS down
        FROM feedback WHERE created_at >= :since GROUP BY 1
    )
    SELECT coalesce(a.day, v.day) AS day, coalesce(answered, 0) AS answered,
        coalesce(declined, 0) AS declined, coalesce(failed, 0) AS failed,
        coalesce(cached, 0) AS cached, coalesce(up, 0) AS up, coalesce(down, 0) AS down,
        coalesce(cost_usd, 0) AS cost_usd, median_ms, p95_ms
    FROM a FULL OUTER JOIN v ON a.day = v.day
    ORDER BY 1 DESC
    """
)


async def overview(engine: AsyncEngine, days: int) -> Table:
    """Questions per day by outcome, 👍 and 👎 given that day, the day's model cost and its
    median and 95th percentile time to answer, newest day first."""
    rows = await _last_days(engine, _PER_DAY, days)
    return table(
        "overview",
        OVERVIEW_COLUMNS,
        [
            (
                r.day.isoformat(),
                *r[1:7],
                round(float(r.cost_usd), 4),
                _milliseconds(r.median_ms),
                _milliseconds(r.p95_ms),
            )
            for r in rows
        ],
    )


OVERVIEW_COLUMNS = (
    "day",
    "answered",
    "declined",
    "failed",
    "cached",
    "👍",
    "👎",
    "cost (USD)",
    "median ms",
    "p95 ms",
)


def _milliseconds(value: float | None) -> int | None:
    return None if value is None else round(float(value))


_BY_MODEL = text(
    """
    SELECT model, count(*) AS answers, count(*) FILTER (WHERE cached) AS cached,
        coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
        coalesce(sum(completion_tokens), 0) AS completion_tokens,
        coalesce(sum(cost_usd), 0) AS cost_usd
    FROM answers WHERE created_at >= :since GROUP BY model ORDER BY answers DESC, model
    """
)


async def usage_by_model(engine: AsyncEngine, days: int) -> Table:
    """Answers, tokens and cost per chat model (``offline`` for the extractive writer)."""
    rows = await _last_days(engine, _BY_MODEL, days)
    return table(
        "usage",
        ("model", "answers", "cached", "prompt tokens", "completion tokens", "cost (USD)"),
        [(*r[:5], round(float(r.cost_usd), 4)) for r in rows],
    )


_BY_PLATFORM = text(
    """
    SELECT coalesce(platform, 'unknown') AS platform, count(*) AS answers,
        count(*) FILTER (WHERE outcome = 'answered') AS answered,
        count(*) FILTER (WHERE outcome = 'not_covered') AS declined,
        count(*) FILTER (WHERE cached) AS cached,
        coalesce(sum(cost_usd), 0) AS cost_usd
    FROM answers WHERE created_at >= :since GROUP BY 1 ORDER BY answers DESC, 1
    """
)


async def usage_by_platform(engine: AsyncEngine, days: int) -> Table:
    """Answers, declines, cached answers and cost per chat platform; ``unknown`` for answers
    recorded before the platform was."""
    rows = await _last_days(engine, _BY_PLATFORM, days)
    return table(
        "platforms",
        ("platform", "answers", "answered", "declined", "cached", "cost (USD)"),
        [(*r[:5], round(float(r.cost_usd), 4)) for r in rows],
    )


async def _last_days(engine: AsyncEngine, query: TextClause, days: int) -> Sequence[Row[Any]]:
    since = datetime.now(UTC) - timedelta(days=days)
    async with engine.connect() as connection:
        return (await connection.execute(query, {"since": since})).all()
