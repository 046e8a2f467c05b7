"""The gap queue: questions the bot declined or answered badly, waiting for an admin.

Similar questions share one gap: a new one joins the open gap whose question is closest in
meaning (cosine similarity of their embeddings at least ``similar``), so admins see how often
a gap is hit and one answer reaches every asker. Only questions asked with the same scopes, and
either all in private chats or all in shared ones, share a gap: an answer fit for one asker is
then fit for all, and a question asked privately is never the gap's text another asker's
channel sees. Each asker's own wording is kept with them, to quote back to them alone. Askers
are kept as a keyed hash and the thread to tell them in; their platform mention only when they
agreed to be contacted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.types import ReplyTo
from bot.loop.gap_types import Gap, GapAsker, GapSource, NewGap, Reason
from knowledge.database import CONNECTION_ERRORS, GuardedConnection, unavailable

__all__ = ["Gap", "GapAsker", "GapSource", "NewGap", "PgGapQueue", "Reason"]

# Any constant will do, as long as nothing else takes this advisory lock.
_GROUPING_LOCK = 0x6A95_0001
# Open gaps compared with a new question; older ones are still listed, just never joined.
_CANDIDATES = 2000


class PgGapQueue:
    def __init__(self, engine: AsyncEngine, *, similar: float = 0.85) -> None:
        self._engine = engine
        self._similar = similar

    async def add(self, gap: NewGap) -> int:
        """Queue ``gap`` (or count it against a similar open one); returns the gap's id.

        The same answer is queued once, whoever votes on it. Raises
        ``DatabaseUnavailableError``.
        """
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GROUPING_LOCK}
                )
                known = (
                    await connection.execute(
                        text("SELECT gap_id FROM gap_askers WHERE answer_id = :id LIMIT 1"),
                        {"id": gap.answer_id},
                    )
                ).scalar_one_or_none()
                if known is not None:
                    return int(known)
                gap_id = await self._similar_open_gap(connection, gap)
                if gap_id is None:
                    gap_id = await _insert_gap(connection, gap)
                else:
                    await connection.execute(
                        text(
                            "UPDATE gaps SET times_asked = times_asked + 1, last_asked_at = now()"
                            " WHERE id = :id"
                        ),
                        {"id": gap_id},
                    )
                await connection.execute(
                    text(
                        """
                        INSERT INTO gap_askers (gap_id, answer_id, asker_hash, reply_to,
                            question)
                        VALUES (:gap, :answer, :asker, CAST(:reply_to AS jsonb), :question)
                        """
                    ),
                    {
                        "gap": gap_id,
                        "answer": gap.answer_id,
                        "asker": gap.asker,
                        "reply_to": _reply_to_json(gap.reply_to),
                        "question": gap.question,
                    },
                )
                return gap_id
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e

    async def _similar_open_gap(self, connection: AsyncConnection, gap: NewGap) -> int | None:
        embedding = gap.embedding
        if embedding is None:
            return None
        rows = (
            await connection.execute(
                text(
                    """
                    SELECT id, embedding FROM gaps
                    WHERE status = 'open' AND cardinality(embedding) = :dimension
                        AND scopes @> :scopes AND scopes <@ :scopes AND private = :private
                    ORDER BY last_asked_at DESC LIMIT :limit
                    """
                ),
                {
                    "dimension": len(embedding),
                    "scopes": list(gap.scopes),
                    "private": gap.private,
                    "limit": _CANDIDATES,
                },
            )
        ).all()
        if not rows:
            return None
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        similarities = matrix @ np.asarray(embedding, dtype=np.float32)
        best = int(np.argmax(similarities))
        return int(rows[best].id) if similarities[best] >= self._similar else None

    async def open_gaps(
        self, limit: int, *, offset: int = 0, reason: Reason | None = None
    ) -> tuple[list[Gap], int]:
        """The most asked open gaps (newest first among equals) from ``offset``, only those of
        ``reason`` when given, and how many such gaps are open."""
        values = {"reason": reason, "limit": limit, "offset": offset}
        async with self._connect() as connection:
            total = (
                await connection.execute(text(_COUNT_GAPS + " WHERE " + _OPEN_OF_REASON), values)
            ).scalar_one()
            rows = (
                await connection.execute(
                    text(
                        _SELECT_GAPS
                        + " WHERE "
                        + _OPEN_OF_REASON
                        + " ORDER BY g.times_asked DESC, g.last_asked_at DESC, g.id DESC"
                        + " LIMIT :limit OFFSET :offset"
                    ),
                    values,
                )
            ).all()
        return [_gap(row) for row in rows], int(total)

    async def wordings(self, gap_ids: Sequence[int], per_gap: int) -> dict[int, tuple[str, ...]]:
        """How the askers a gap groups worded their questions: up to ``per_gap`` distinct
        wordings per gap, most recently asked first."""
        if not gap_ids:
            return {}
        async with self._connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        """
                        SELECT gap_id, question FROM (
                            SELECT gap_id, question, row_number() OVER (
                                PARTITION BY gap_id ORDER BY max(asked_at) DESC) AS n
                            FROM gap_askers
                            WHERE gap_id = ANY(:ids) AND coalesce(question, '') <> ''
                            GROUP BY gap_id, question
                        ) w WHERE n <= :per_gap ORDER BY gap_id, n
                        """
                    ),
                    {"ids": list(gap_ids), "per_gap": per_gap},
                )
            ).all()
        found: dict[int, tuple[str, ...]] = {}
        for row in rows:
            found[row.gap_id] = (*found.get(row.gap_id, ()), row.question)
        return found

    async def get(self, gap_id: int) -> Gap | None:
        async with self._connect() as connection:
            row = (
                await connection.execute(text(_SELECT_GAPS + " WHERE g.id = :id"), {"id": gap_id})
            ).one_or_none()
        return None if row is None else _gap(row)

    async def gap_of_answer(self, answer_id: str) -> int | None:
        async with self._connect() as connection:
            found = (
                await connection.execute(
                    text("SELECT gap_id FROM gap_askers WHERE answer_id = :id LIMIT 1"),
                    {"id": answer_id},
                )
            ).scalar_one_or_none()
        return None if found is None else int(found)

    async def allow_contact(self, answer_id: str, *, asker: str, contact: str) -> bool:
        """Show ``contact`` to admins on the gap of ``answer_id`` if ``asker`` asked it;
        False when the question is not queued or someone else asked it."""
        async with self._connect(write=True) as connection:
            updated = await connection.execute(
                text(
                    "UPDATE gap_askers SET contact = :contact"
                    " WHERE answer_id = :id AND asker_hash = :asker"
                ),
                {"contact": contact, "id": answer_id, "asker": asker},
            )
        return bool(updated.rowcount)

    async def resolve(self, gap_id: int, *, answered_by: str, document_id: str) -> list[GapAsker]:
        """Mark the gap answered; returns the askers not yet told (now claimed, so no other
        replica tells them twice)."""
        async with self._connect(write=True) as connection:
            await connection.execute(
                text(
                    """
                    UPDATE gaps SET status = 'answered', answered_by = :by, answered_at = now(),
                        document_id = :document
                    WHERE id = :id
                    """
                ),
                {"id": gap_id, "by": answered_by, "document": document_id},
            )
            rows = (
                await connection.execute(
                    text(
                        """
                        UPDATE gap_askers SET notified_at = now()
                        WHERE gap_id = :id AND notified_at IS NULL AND reply_to IS NOT NULL
                        RETURNING reply_to, question
                        """
                    ),
                    {"id": gap_id},
                )
            ).all()
            return [
                GapAsker(
                    ReplyTo(r.reply_to["platform"], r.reply_to.get("address") or {}),
                    r.question or "",
                )
                for r in rows
            ]

    def _connect(self, *, write: bool = False) -> GuardedConnection:
        return GuardedConnection(self._engine, begin=write)


_OPEN_OF_REASON = "g.status = 'open' AND (CAST(:reason AS text) IS NULL OR g.reason = :reason)"
_COUNT_GAPS = "SELECT count(*) FROM gaps g"
_SELECT_GAPS = """
    SELECT g.*, coalesce(
        (SELECT array_agg(DISTINCT a.contact) FROM gap_askers a
         WHERE a.gap_id = g.id AND a.contact IS NOT NULL), '{}') AS contacts
    FROM gaps g
"""


async def _insert_gap(connection: AsyncConnection, gap: NewGap) -> int:
    sources = [
        {"title": s.title, "section": s.section, "url": s.url, "similarity": s.similarity}
        for s in gap.sources
    ]
    gap_id = (
        await connection.execute(
            text(
                """
                INSERT INTO gaps (question, reason, scopes, sources, bot_answer, embedding,
                    private)
                VALUES (:question, :reason, :scopes, CAST(:sources AS jsonb), :bot_answer,
                    :embedding, :private)
                RETURNING id
                """
            ),
            {
                "question": gap.question,
                "reason": gap.reason,
                "scopes": list(gap.scopes),
                "sources": json.dumps(sources, ensure_ascii=False),
                "bot_answer": gap.bot_answer,
                "embedding": None if gap.embedding is None else [float(x) for x in gap.embedding],
                "private": gap.private,
            },
        )
    ).scalar_one()
    return int(gap_id)


def _reply_to_json(reply_to: ReplyTo | None) -> str | None:
    if reply_to is None:
        return None
    return json.dumps({"platform": reply_to.platform, "address": dict(reply_to.address)})


def _gap(row: Any) -> Gap:
    return Gap(
        id=row.id,
        question=row.question,
        reason=row.reason,
        status=row.status,
        scopes=tuple(row.scopes),
        sources=tuple(GapSource(**s) for s in row.sources),
        bot_answer=row.bot_answer,
        times_asked=row.times_asked,
        first_asked_at=row.first_asked_at,
        last_asked_at=row.last_asked_at,
        contacts=tuple(row.contacts or ()),
        answered_by=row.answered_by,
        document_id=row.document_id,
        private=row.private,
    )
