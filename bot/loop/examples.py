"""Approved answers, the training data for the house tone.

Two kinds: answers people voted on (approved while their votes add up to more 👍 than 👎),
and answers admins wrote. Each keeps the question and exactly the sources the writer was given,
so a training example shows the model the same prompt it answers at run time, and the scopes
of those sources (and of the admin's answer): a model trained on it is fit only for people who
may see all of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.cache import scored_chunk_from_json, scored_chunk_to_json
from knowledge.database import GuardedConnection
from knowledge.types import PUBLIC_SCOPE, ScoredChunk

ExampleKind = Literal["voted", "admin"]


@dataclass(frozen=True)
class ApprovedAnswer:
    kind: ExampleKind
    question: str
    sources: tuple[ScoredChunk, ...]
    answer: str
    created_at: datetime
    scopes: tuple[str, ...] = (PUBLIC_SCOPE,)


class PgExampleStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def keep_voted(
        self, *, answer_id: str, question: str, sources: Sequence[ScoredChunk], answer: str,
        model: str, scopes: Sequence[str],
    ) -> None:  # fmt: skip
        """Keep an answer someone voted on (once per answer); ``scopes`` are those of its
        sources. Raises ``DatabaseUnavailableError``."""
        await self._insert("voted", answer_id, None, question, sources, answer, model, scopes)

    async def keep_admin(
        self, *, gap_id: int, question: str, sources: Sequence[ScoredChunk], answer: str,
        scopes: Sequence[str],
    ) -> None:  # fmt: skip
        """Keep an admin's answer; ``scopes`` are its own and its sources'."""
        await self._insert("admin", None, gap_id, question, sources, answer, "", scopes)

    async def _insert(
        self,
        kind: ExampleKind,
        answer_id: str | None,
        gap_id: int | None,
        question: str,
        sources: Sequence[ScoredChunk],
        answer: str,
        model: str,
        scopes: Sequence[str],
    ) -> None:
        async with GuardedConnection(self._engine, begin=True) as connection:
            await connection.execute(
                text(
                    """
                    INSERT INTO answer_examples (kind, answer_id, gap_id, question, sources,
                        answer, model, scopes)
                    VALUES (:kind, :answer_id, :gap_id, :question, CAST(:sources AS jsonb),
                        :answer, :model, :scopes)
                    ON CONFLICT (answer_id) DO NOTHING
                    """
                ),
                {
                    "kind": kind,
                    "answer_id": answer_id,
                    "gap_id": gap_id,
                    "question": question,
                    "sources": json.dumps(
                        [scored_chunk_to_json(s) for s in sources], ensure_ascii=False
                    ),
                    "answer": answer,
                    "model": model,
                    "scopes": sorted(set(scopes)),
                },
            )

    async def approved(self) -> list[ApprovedAnswer]:
        """Admin answers, and voted answers whose votes are net 👍, oldest first."""
        async with GuardedConnection(self._engine, begin=False) as connection:
            rows = (
                await connection.execute(
                    text(
                        """
                        SELECT e.kind, e.question, e.sources, e.answer, e.created_at, e.scopes
                        FROM answer_examples e
                        WHERE e.kind = 'admin'
                           OR (SELECT sum(f.vote) FROM feedback f
                               WHERE f.answer_id = e.answer_id) > 0
                        ORDER BY e.created_at, e.id
                        """
                    )
                )
            ).all()
        return [
            ApprovedAnswer(
                kind=row.kind,
                question=row.question,
                sources=tuple(scored_chunk_from_json(s) for s in row.sources),
                answer=row.answer,
                created_at=row.created_at,
                scopes=tuple(row.scopes),
            )
            for row in rows
        ]
