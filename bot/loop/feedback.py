"""Votes on answers (👍/👎) from any chat platform, one per person per answer, in Postgres."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import CONNECTION_ERRORS, unavailable

Vote = Literal[1, -1]


@dataclass(frozen=True)
class Feedback:
    """A vote on an answer; ``voter`` is a keyed hash of the platform user id, never the id."""

    answer_id: str
    vote: Vote
    voter: str
    platform: str


class PgFeedbackStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, feedback: Feedback) -> None:
        """Store a vote; a second vote by the same person on the same answer replaces the first.

        Raises ``DatabaseUnavailableError`` so the adapter can tell the voter it was not saved.
        """
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    text(
                        """
                        INSERT INTO feedback (answer_id, voter_hash, vote, platform)
                        VALUES (:answer_id, :voter, :vote, :platform)
                        ON CONFLICT (answer_id, voter_hash)
                        DO UPDATE SET vote = excluded.vote, updated_at = now()
                        """
                    ),
                    {
                        "answer_id": feedback.answer_id,
                        "voter": feedback.voter,
                        "vote": feedback.vote,
                        "platform": feedback.platform,
                    },
                )
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e
