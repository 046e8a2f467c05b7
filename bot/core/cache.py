"""The answer cache in Redis.

A key carries everything that changes an answer: the normalised question, the scopes it was
answered for, the knowledge base and its version, the prompt and style version and the model. A
document change bumps the corpus version, so no cached answer outlives the text it quoted; the
knowledge base's own id keeps deployments that share a Redis from answering from each other's.
Redis being down never stops an answer: the cache logs a warning and answers go uncached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.core.types import Answer, Citation, Usage
from knowledge.types import CorpusState, ScoredChunk, ScoredSentence

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "supportbot"
_SPACE = re.compile(r"\s+")


class AnswerCache(Protocol):
    async def get(self, key: str) -> Answer | None: ...

    async def put(self, key: str, answer: Answer) -> None: ...


class NoAnswerCache:
    """A cache that keeps nothing: every question is answered afresh (for evaluation)."""

    async def get(self, key: str) -> Answer | None:
        return None

    async def put(self, key: str, answer: Answer) -> None:
        return None


def normalise(question: str) -> str:
    """Case, spacing and trailing punctuation do not make a different question."""
    return _SPACE.sub(" ", question.casefold()).strip().rstrip("?!. ")


def cache_key(
    question: str, scopes: Sequence[str], corpus: CorpusState, prompt_version: str, model: str
) -> str:
    parts = [
        normalise(question), sorted(set(scopes)), corpus.instance, corpus.version,
        prompt_version, model,
    ]  # fmt: skip
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()
    return digest[:40]


def redis_client(url: str) -> redis.asyncio.Redis:
    """A client that gives up quickly: a cache that is down must not slow answers down."""
    return redis.asyncio.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        retry=Retry(NoBackoff(), retries=1),
    )


class RedisAnswerCache:
    """Grounded answers as JSON under their key, expiring after ``ttl_seconds``."""

    def __init__(
        self, client: redis.asyncio.Redis, ttl_seconds: int, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._prefix = f"{namespace}:answer:"

    async def get(self, key: str) -> Answer | None:
        try:
            raw = await self._client.get(self._prefix + key)
        except (redis.RedisError, OSError) as e:
            log.warning("answer cache unavailable, answering uncached: %s", type(e).__name__)
            return None
        return _decode(raw) if raw else None

    async def put(self, key: str, answer: Answer) -> None:
        if not answer.grounded or answer.degraded:
            # An ungrounded or failed answer is never worth repeating, and a quoted one stands
            # in for the model's only while the model cannot be used.
            return
        try:
            await self._client.set(
                self._prefix + key, json.dumps(answer_to_json(answer)), ex=self._ttl
            )
        except (redis.RedisError, OSError) as e:
            log.warning("answer cache unavailable, answer not cached: %s", type(e).__name__)


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The answer as JSON values (dates as ISO strings)."""
    return _with_iso_dates(dataclasses.asdict(answer))


def answer_from_json(data: dict[str, Any]) -> Answer:
    """The answer ``answer_to_json`` wrote; raises ValueError, TypeError or KeyError."""
    data = dict(data)
    data["citations"] = tuple(Citation(**_dated(c)) for c in data["citations"])
    data["usage"] = Usage(**data["usage"])
    data["sources"] = tuple(scored_chunk_from_json(s) for s in data.get("sources", ()))
    return Answer(**data)


def scored_chunk_to_json(chunk: ScoredChunk) -> dict[str, Any]:
    """A source as JSON values (dates as ISO strings)."""
    return _with_iso_dates(dataclasses.asdict(chunk))


def scored_chunk_from_json(data: dict[str, Any]) -> ScoredChunk:
    """A source as ``scored_chunk_to_json`` wrote it (JSON turned its tuple into a list)."""
    sentences = tuple(ScoredSentence(**s) for s in data.get("sentences", ()))
    return ScoredChunk(
        **{**_dated(data), "heading_path": tuple(data["heading_path"]), "sentences": sentences}
    )


def _with_iso_dates(data: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value.isoformat() if isinstance(value, date) else value

    converted: dict[str, Any] = convert(data)
    return converted


def _dated(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its ``updated`` and ``review_by`` ISO strings read back as dates."""
    return {
        **data,
        **{
            k: date.fromisoformat(data[k])
            for k in ("updated", "review_by")
            if isinstance(data.get(k), str)
        },
    }


def _decode(raw: bytes | str) -> Answer | None:
    try:
        return answer_from_json(json.loads(raw))
    except (ValueError, TypeError, KeyError):
        return None  # written by another version of the bot: treat as a miss
