"""What the console shows of the corpus: each document with how often answers cited it, and
each synced source with how its last sync went."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.tables import Table, table
from bot.core.knowledge_base import KnowledgeBase
from knowledge.sources.manager import SourceManager

NEVER = "never"

# Every answer that cited a document counts once for it, however many of its sections it cited.
_CITED = text(
    """
    SELECT document_id, count(*) FILTER (WHERE created_at >= :since) AS recent,
        max(created_at) AS last_cited
    FROM answers, unnest(cited_documents) AS document_id
    GROUP BY document_id
    """
)


async def documents(kb: KnowledgeBase, days: int, *, never_cited_only: bool = False) -> Table:
    """Every document with its status, owner, review date and last change, how many answers
    cited it in the last ``days`` days and when one last did (``never`` when none ever did)."""
    found = await kb.store.list_documents()
    cited = await _citations(kb.engine, days)
    rows = []
    for d in found:
        recent, last = cited.get(d.id, (0, None))
        if never_cited_only and last is not None:
            continue
        rows.append(
            (
                d.title,
                d.status,
                d.owner or "",
                d.review_by.isoformat() if d.review_by else "",
                d.updated_at.date().isoformat(),
                recent,
                last.date().isoformat() if last else NEVER,
                d.url,
            )
        )
    columns = ("title", "status", "owner", "review by", "last change")
    cited_columns = (f"cited ({days} days)", "last cited", "link")
    return table("documents", (*columns, *cited_columns), rows)


async def _citations(engine: AsyncEngine, days: int) -> dict[str, tuple[int, datetime]]:
    since = datetime.now(UTC) - timedelta(days=days)
    async with engine.connect() as connection:
        rows = (await connection.execute(_CITED, {"since": since})).all()
    return {r.document_id: (int(r.recent), r.last_cited) for r in rows}


async def sources(manager: SourceManager) -> Table:
    """Every synced source: its kind, when it last synced and last succeeded, its last error
    and how many pages it holds, with what its last sync added, updated, removed and failed."""
    found = await manager.statuses()
    return table(
        "sources",
        (
            "name",
            "kind",
            "last sync",
            "last success",
            "last error",
            "pages",
            "added",
            "updated",
            "removed",
            "failed",
        ),
        [
            (
                s.config.name,
                s.config.kind,
                _minute(s.last_sync_at) if s.last_sync_at else NEVER,
                _minute(s.last_success_at) if s.last_success_at else NEVER,
                s.last_error or "",
                s.pages,
                s.added,
                s.updated,
                s.removed,
                s.failed,
            )
            for s in found
        ],
    )


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
