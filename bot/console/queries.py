"""What the console reads from Postgres: answers and votes per day (never questions: the
answer log keeps only their hashes), open gaps and documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.tables import Table, table
from bot.core.knowledge_base import KnowledgeBase
from bot.loop.curation import Curator

_PER_DAY = text(
    """
    WITH a AS (
        SELECT created_at::date AS day,
            count(*) FILTER (WHERE outcome = 'answered' AND NOT cached) AS answered,
            count(*) FILTER (WHERE outcome = 'not_covered') AS declined,
            count(*) FILTER (WHERE outcome IN ('unavailable', 'limited', 'invalid')) AS failed,
            count(*) FILTER (WHERE cached) AS cached,
            coalesce(sum(cost_usd), 0) AS cost_usd,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS median_ms
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
        coalesce(cost_usd, 0) AS cost_usd, median_ms
    FROM a FULL OUTER JOIN v ON a.day = v.day
    ORDER BY 1 DESC
    """
)


async def overview(engine: AsyncEngine, days: int) -> Table:
    """Questions per day by outcome, 👍 and 👎 given that day, and the day's model cost."""
    rows = await _last_days(engine, _PER_DAY, days)
    return table(
        "overview",
        ("day", "answered", "declined", "failed", "cached", "👍", "👎", "cost (USD)", "median ms"),
        [
            (
                r.day.isoformat(),
                *r[1:7],
                round(float(r.cost_usd), 4),
                None if r.median_ms is None else round(float(r.median_ms)),
            )
            for r in rows
        ],
    )


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


async def _last_days(engine: AsyncEngine, query: TextClause, days: int) -> Sequence[Row[Any]]:
    since = datetime.now(UTC) - timedelta(days=days)
    async with engine.connect() as connection:
        return (await connection.execute(query, {"since": since})).all()


async def gaps(curator: Curator, limit: int) -> Table:
    """The open gaps, as the gap queue stores them, most asked first."""
    found, _total = await curator.open_gaps(limit)
    return table(
        "gaps",
        ("id", "question", "reason", "times asked", "last asked", "scopes"),
        [
            (
                g.id,
                g.question,
                g.reason,
                g.times_asked,
                g.last_asked_at.date().isoformat(),
                ", ".join(g.scopes),
            )
            for g in found
        ],
    )


async def downvoted(curator: Curator, limit: int) -> Table:
    """Open gaps from 👎 votes: the question as stored for the gap, the bot's answer and the
    sources it was written from, most recently asked first."""
    found, _total = await curator.open_gaps(limit)
    voted = sorted(
        (g for g in found if g.reason == "downvoted"), key=lambda g: g.last_asked_at, reverse=True
    )
    return table(
        "downvoted",
        ("gap", "question", "bot's answer", "sources", "last asked"),
        [
            (
                g.id,
                g.question,
                g.bot_answer or "",
                "; ".join(f"{s.title} ({s.url})" for s in g.sources),
                g.last_asked_at.date().isoformat(),
            )
            for g in voted
        ],
    )


async def documents(kb: KnowledgeBase) -> Table:
    """Every document with its status, owner, review date and last change."""
    found = await kb.store.list_documents()
    return table(
        "documents",
        ("title", "status", "owner", "review by", "last change", "link"),
        [
            (
                d.title,
                d.status,
                d.owner or "",
                d.review_by.isoformat() if d.review_by else "",
                d.updated_at.date().isoformat(),
                d.url,
            )
            for d in found
        ],
    )
