"""What the console shows of the gap queue: a page of open gaps with the wordings each one
groups, the whole queue as a table, and the open gaps from 👎 votes. Questions appear only as
the gap queue stores them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.console.tables import Table, table
from bot.loop.curation import Curator
from bot.loop.gap_types import Gap, Reason

# How many of a gap's askers' wordings the gaps page lists.
WORDINGS_SHOWN = 5


@dataclass(frozen=True)
class GapPage:
    """One page of open gaps, most asked first; ``wordings`` maps a gap's id to how its askers
    put the question (the gap groups similar questions when they are asked)."""

    gaps: tuple[Gap, ...]
    wordings: dict[int, tuple[str, ...]]
    page: int
    pages: int
    total: int
    reason: Reason | None = None


async def gap_page(
    curator: Curator, page: int, per_page: int, reason: Reason | None = None
) -> GapPage:
    """Page ``page`` (from 1) of the open gaps, of ``reason`` only when given; past the last
    page, the last page."""
    page = max(1, page)
    found, total = await curator.open_gaps(per_page, offset=(page - 1) * per_page, reason=reason)
    pages = max(1, -(-total // per_page))
    if page > pages:
        page = pages
        found, total = await curator.open_gaps(
            per_page, offset=(page - 1) * per_page, reason=reason
        )
    wordings = await curator.wordings([g.id for g in found], WORDINGS_SHOWN)
    return GapPage(tuple(found), wordings, page, pages, total, reason)


async def gaps(curator: Curator, limit: int, reason: Reason | None = None) -> Table:
    """The open gaps (of ``reason`` only, when given), as the gap queue stores them, most
    asked first."""
    found, _total = await curator.open_gaps(limit, reason=reason)
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
    found, _total = await curator.open_gaps(limit, reason="downvoted")
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
            for g in _newest_first(found)
        ],
    )


def _newest_first(found: Sequence[Gap]) -> list[Gap]:
    return sorted(found, key=lambda g: g.last_asked_at, reverse=True)
