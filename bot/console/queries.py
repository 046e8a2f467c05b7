"""What the console reads from Postgres: answers and votes per day (never questions: the
answer log keeps only their hashes), open gaps and documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
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
            coalesce(sum(cost_usd), 0) AS cost_usd
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
        coalesce(cost_usd, 0) AS cost_usd
    FROM a FULL OUTER JOIN v ON a.day = v.day
    ORDER BY 1 DESC
    """
)


async def overview(engine: AsyncEngine, days: int) -> Table:
    """Questions per day by outcome, 👍 and 👎 given that day, and the day's model cost."""
    since = datetime.now(UTC) - timedelta(days=days)
    async with engine.connect() as connection:
        rows = (await connection.execute(_PER_DAY, {"since": since})).all()
    return table(
        "overview",
        ("day", "answered", "declined", "failed", "cached", "👍", "👎", "cost (USD)"),
        [(r.day.isoformat(), *r[1:7], round(float(r.cost_usd), 4)) for r in rows],
    )


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
