"""Votes on answers (👍/👎) from any chat platform, one per person per answer, in Postgres,
with the words a voter chose to add (Teams' own feedback form asks for them).

The comment is the voter's own text: kept for admins, capped and without control characters,
and never logged.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.database import CONNECTION_ERRORS, unavailable

Vote = Literal[1, -1]
COMMENT_MAX_CHARS = 2000
_KEPT = "\n\t\u200d"


@dataclass(frozen=True)
class Feedback:
    """A vote on an answer; ``voter`` is a keyed hash of the platform user id, never the id.
    ``comment`` is what the voter typed with it, if anything (see ``clean_comment``)."""

    answer_id: str
    vote: Vote
    voter: str
    platform: str
    comment: str | None = None


def clean_comment(text: str) -> str | None:
    """A voter's comment as stored: control and format characters (line breaks, tabs and the
    joiner inside emoji aside) taken out, spaces trimmed, at most ``COMMENT_MAX_CHARS``; None
    when nothing is left."""
    kept = "".join(
        c for c in text if c in _KEPT or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
    )
    kept = kept.strip()[:COMMENT_MAX_CHARS].rstrip()
    return kept or None


class PgFeedbackStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, feedback: Feedback) -> None:
        """Store a vote; a second vote by the same person on the same answer replaces the first
        (and its comment).

        Raises ``DatabaseUnavailableError`` so the adapter can tell the voter it was not saved.
        """
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    text(
                        """
                        INSERT INTO feedback (answer_id, voter_hash, vote, platform, comment)
                        VALUES (:answer_id, :voter, :vote, :platform, :comment)
                        ON CONFLICT (answer_id, voter_hash)
                        DO UPDATE SET vote = excluded.vote, comment = excluded.comment,
                            updated_at = now()
                        """
                    ),
                    {
                        "answer_id": feedback.answer_id,
                        "voter": feedback.voter,
                        "vote": feedback.vote,
                        "platform": feedback.platform,
                        "comment": feedback.comment,
                    },
                )
        except CONNECTION_ERRORS as e:
            raise unavailable(self._engine, e) from e
