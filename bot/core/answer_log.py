"""A row per answer in Postgres: outcome, model, tokens, estimated cost, latency, the platform
it was asked on and the ids of the documents it cited.

No question or answer text is stored, only a keyed hash of the question, so totals and trends
can be reported without keeping what employees asked. The hash is an HMAC: without the key, a
guessed question cannot be hashed and compared with the stored ones.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.types import Answer
from knowledge.database import CONNECTION_ERRORS

log = logging.getLogger(__name__)


def question_hash(text: str, key: bytes) -> str:
    """The keyed hash a question is logged and stored under instead of its text."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:16]


def cited_documents(answer: Answer) -> list[str]:
    """The distinct ids of the documents ``answer`` cites, in citation order."""
    return list(dict.fromkeys(c.doc_id for c in answer.citations))


@dataclass(frozen=True)
class Prices:
    """US dollars per 1,000 prompt and completion tokens, for the cost estimate."""

    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0

    def cost(self, answer: Answer) -> float:
        return (
            answer.usage.prompt_tokens * self.prompt_per_1k
            + answer.usage.completion_tokens * self.completion_per_1k
        ) / 1000


@dataclass(frozen=True)
class UsageTotals:
    answers: int
    grounded: int
    not_covered: int
    unavailable: int
    limited: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_p50_ms: float
    latency_p95_ms: float


class PgAnswerLog:
    def __init__(self, engine: AsyncEngine, prices: Prices) -> None:
        self._engine = engine
        self._prices = prices

    async def record(
        self,
        answer: Answer,
        *,
        question_hash: str,
        asker: str | None,
        corpus_version: int | None,
        platform: str | None = None,
    ) -> None:
        """Store one answer's figures, its ``platform`` (slack, teams, cli…) and the ids of the
        documents its citations point at; a database outage is logged, never raised."""
        try:
            await self._insert(answer, question_hash, asker, corpus_version, platform)
        except CONNECTION_ERRORS as e:
            log.warning("answer %s not recorded: database unavailable (%s)", answer.id, e)

    async def _insert(
        self,
        answer: Answer,
        question_hash: str,
        asker: str | None,
        corpus_version: int | None,
        platform: str | None,
    ) -> None:
        async with self._engine.begin() as connection:
            # Losing the last few rows of statistics in a crash is fine; waiting for the disk
            # on every answer is not.
            await connection.execute(text("SET LOCAL synchronous_commit = off"))
            await connection.execute(
                text(
                    """
                    INSERT INTO answers (id, outcome, grounded, cached, model, prompt_tokens,
                        completion_tokens, cost_usd, latency_ms, question_hash, asker_hash,
                        corpus_version, platform, cited_documents)
                    VALUES (:id, :outcome, :grounded, :cached, :model, :prompt_tokens,
                        :completion_tokens, :cost, :latency, :question_hash, :asker,
                        :corpus_version, :platform, :cited)
                    """
                ),
                {
                    "id": answer.id,
                    "outcome": answer.outcome,
                    "grounded": answer.grounded,
                    "cached": answer.cached,
                    "model": answer.model,
                    "prompt_tokens": answer.usage.prompt_tokens,
                    "completion_tokens": answer.usage.completion_tokens,
                    "cost": self._prices.cost(answer),
                    "latency": answer.latency_ms,
                    "question_hash": question_hash,
                    "asker": asker,
                    "corpus_version": corpus_version,
                    "platform": platform,
                    "cited": cited_documents(answer),
                },
            )

    async def totals(self, since: datetime) -> UsageTotals:
        async with self._engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        text(
                            """
                        SELECT count(*) AS answers,
                            count(*) FILTER (WHERE grounded) AS grounded,
                            count(*) FILTER (WHERE outcome = 'not_covered') AS not_covered,
                            count(*) FILTER (WHERE outcome = 'unavailable') AS unavailable,
                            count(*) FILTER (WHERE outcome = 'limited') AS limited,
                            count(*) FILTER (WHERE cached) AS cached,
                            coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
                            coalesce(sum(completion_tokens), 0) AS completion_tokens,
                            coalesce(sum(cost_usd), 0) AS cost_usd,
                            coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), 0)
                                AS latency_p50_ms,
                            coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms), 0)
                                AS latency_p95_ms
                        FROM answers WHERE created_at >= :since
                        """
                        ),
                        {"since": since},
                    )
                )
                .mappings()
                .one()
            )
        return UsageTotals(**row)
