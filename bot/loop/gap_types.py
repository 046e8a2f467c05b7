"""What the gap queue holds and hands out: gaps, their askers, and questions to queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.core.types import ReplyTo
from knowledge.types import ScoredChunk

Reason = Literal["declined", "unsure", "downvoted", "improve"]


@dataclass(frozen=True)
class GapSource:
    """A section retrieval found for the question, and how close it was (0-1)."""

    title: str
    section: str
    url: str
    similarity: float


@dataclass(frozen=True)
class Gap:
    id: int
    question: str
    reason: Reason
    status: Literal["open", "answered"]
    scopes: tuple[str, ...]
    sources: tuple[GapSource, ...]
    bot_answer: str | None
    times_asked: int
    first_asked_at: datetime
    last_asked_at: datetime
    contacts: tuple[str, ...]
    answered_by: str | None = None
    document_id: str | None = None
    private: bool = False


@dataclass(frozen=True)
class GapAsker:
    """Someone to tell when a gap is answered: their thread and their question as they asked it
    (empty for askers queued before the wording was kept)."""

    reply_to: ReplyTo
    question: str


@dataclass(frozen=True)
class NewGap:
    """A question to queue: the asker's answer id, thread and scopes, whether it was asked in a
    private chat, and what was found."""

    reason: Reason
    question: str
    answer_id: str
    scopes: tuple[str, ...]
    sources: tuple[ScoredChunk, ...]
    bot_answer: str | None
    asker: str | None
    reply_to: ReplyTo | None
    embedding: Sequence[float] | None
    private: bool = False
