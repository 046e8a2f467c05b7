"""Typed values that flow between the chat adapters, the answering core and its parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from knowledge.types import PUBLIC_SCOPE, ScoredChunk

# limited: the asker reached a per-person limit (bot/core/rate_limit.py), nothing was searched.
Outcome = Literal["answered", "not_covered", "unavailable", "invalid", "limited"]


@dataclass(frozen=True)
class Turn:
    """One earlier message in the question's thread."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class ReplyTo:
    """Where a later message goes (a job's progress, an admin's answer to a question): a
    platform and what that platform's reporter needs to post there (JSON values)."""

    platform: str
    address: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """What an adapter hands the core: the text, the thread so far, who may see what.

    ``asker`` is an opaque id (adapters pass a hash, never a name); ``scopes`` are what the
    asker, or the channel the answer is posted in, may see. ``platform`` (slack, teams, cli)
    labels metrics; ``reply_to`` is the question's thread, where the asker is told if an admin
    answers it later. ``private`` marks a question asked in a direct message or personal chat:
    its text is never shown to anyone but the asker and admins.
    """

    text: str
    scopes: tuple[str, ...] = (PUBLIC_SCOPE,)
    history: tuple[Turn, ...] = ()
    asker: str | None = None
    platform: str = "cli"
    reply_to: ReplyTo | None = None
    private: bool = False


@dataclass(frozen=True)
class Citation:
    """A numbered source shown under an answer: the ``n`` in the answer's ``[n]`` markers.

    ``updated`` is the date of the cited document's current version; ``review_by`` its review
    date, which renderers compare with the day they show the answer.
    """

    n: int
    doc_id: str
    title: str
    section: str
    url: str
    updated: date | None = None
    review_by: date | None = None

    def review_overdue(self, today: date) -> bool:
        """Whether the cited document's review-by date is before ``today``."""
        return self.review_by is not None and self.review_by < today

    @property
    def has_web_link(self) -> bool:
        """False for a source with no web page (an admin's answer): it is named, not linked."""
        return self.url.startswith(("https://", "http://"))


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Answer:
    """What the core returns: the text with ``[n]`` markers and the sources they point at.

    ``grounded`` is true only for an answer that cites at least one retrieved source;
    ``outcome`` says why an answer is not grounded (not covered, model unavailable, bad input).
    ``sources`` are what retrieval found for it, cited or not (the writer's numbered sources).
    ``degraded``: the model could not be used, so the answer quotes the sources instead.
    ``unsure``: quoted sources that may not answer the question, and the answer says so.
    """

    id: str
    text: str
    citations: tuple[Citation, ...]
    grounded: bool
    outcome: Outcome
    model: str
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    cached: bool = False
    standalone_question: str = ""
    sources: tuple[ScoredChunk, ...] = ()
    degraded: bool = False
    unsure: bool = False
