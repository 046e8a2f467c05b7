"""Which replica posts the answer to each question, kept in Postgres: the ``question_posts``
table, one row per platform question key (``slack:event:…``, ``teams:activity:…``).

Redis deduplicates deliveries and keeps the leases (``bot/service/questions.py``), but Redis
can be down, restarted or emptied; a question delivered twice meanwhile is answered by two
replicas. The row is what keeps the second answer out of the chat: a replica claims it just
before posting (``INSERT … ON CONFLICT``, first one wins) and marks it posted afterwards, so
whatever Redis forgot, one answer is posted per question. Rows are kept a day, far longer
than any platform redelivers a question.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import GuardedConnection
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

KEPT_HOURS = 24
# A claim that cannot be made this fast is not made: the answer is posted without it (Redis's
# lease still guards it) rather than held up by a database that is not answering.
CLAIM_SECONDS = 2.0

# Each claim commits without waiting for the disk: half the time of a flushed commit. A
# Postgres that crashes (not one restarted) may forget the last fraction of a second of claims.
_UNFLUSHED = text("SET LOCAL synchronous_commit TO off")
_CLAIM = text(
    "INSERT INTO question_posts (question_key, owner) VALUES (:key, :owner) "
    "ON CONFLICT (question_key) DO UPDATE SET owner = EXCLUDED.owner, claimed_at = now() "
    "WHERE question_posts.owner = :owner OR (question_posts.owner = CAST(:previous AS text) "
    "AND question_posts.posted_at IS NULL) "
    "RETURNING question_key"
)
_POSTED = text(
    "UPDATE question_posts SET posted_at = now() WHERE question_key = :key AND owner = :owner"
)
_CLAIM_OF = text(
    "SELECT owner, posted_at IS NOT NULL AS posted FROM question_posts WHERE question_key = :key"
)


@dataclass(frozen=True)
class PostClaim:
    """Who claimed the posting of a question's answer, and whether it was posted."""

    owner: str
    posted: bool


class PgQuestionPosts:
    """The ``question_posts`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, key: str, owner: str, *, previous: str | None = None) -> bool | None:
        """Claim the posting of ``key``'s answer for ``owner``: True when it is theirs (new,
        theirs already, or ``previous``'s unposted claim taken over), False when another owner
        has it; None when the database cannot say."""
        params = {"key": key, "owner": owner, "previous": previous}
        result = await self._quickly(_CLAIM, params, f"claim posting {key}")
        return None if result is None else result.first() is not None

    async def posted(self, key: str, owner: str) -> None:
        """Record that ``owner`` posted ``key``'s answer: a takeover need not look for it."""
        await self._quickly(_POSTED, {"key": key, "owner": owner}, f"record {key} as posted")

    async def claim_of(self, key: str) -> PostClaim | None:
        """The claim on ``key``'s answer, if any (None also when the database cannot say)."""
        result = await self._quickly(_CLAIM_OF, {"key": key}, f"look up who posts {key}")
        row = None if result is None else result.first()
        return None if row is None else PostClaim(row.owner, row.posted)

    async def _quickly(
        self, statement: TextClause, params: dict[str, str | None], doing: str
    ) -> CursorResult[Any] | None:
        try:
            async with asyncio.timeout(CLAIM_SECONDS), self._connection() as connection:
                await connection.execute(_UNFLUSHED)
                return await connection.execute(statement, params)
        except (DatabaseUnavailableError, TimeoutError) as e:
            log.warning("cannot %s: database unavailable (%s)", doing, e)
            return None

    async def clear_old(self, hours: float = KEPT_HOURS) -> int:
        """Delete the claims made more than ``hours`` ago; returns how many. Raises
        ``DatabaseUnavailableError``."""
        async with self._connection() as connection:
            result = await connection.execute(
                text(
                    "DELETE FROM question_posts "
                    "WHERE claimed_at < now() - make_interval(secs => :seconds)"
                ),
                {"seconds": hours * 3600},
            )
        return result.rowcount

    def _connection(self) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=True)
