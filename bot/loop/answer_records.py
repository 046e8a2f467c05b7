"""The recent questions and answers, kept for a while in Redis so that a later 👍, 👎 or
"Improve this answer" can act on them.

The answer log in Postgres keeps no text. A record here expires after
``SUPPORTBOT_ANSWER_MEMORY_DAYS``; only what an admin must see (a gap) or what people approved
(a training example) is copied to Postgres, at the moment it becomes that.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import redis.asyncio

from bot.core.cache import answer_from_json, answer_to_json
from bot.core.types import Answer, ReplyTo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerRecord:
    """A question as asked and the answer the bot gave to it; ``private`` when it was asked in
    a direct message or personal chat."""

    question: str
    scopes: tuple[str, ...]
    asker: str | None
    reply_to: ReplyTo | None
    answer: Answer
    private: bool = False


class RedisAnswerRecords:
    def __init__(self, client: redis.asyncio.Redis, namespace: str, ttl_seconds: int) -> None:
        self._client = client
        self._prefix = f"{namespace}:answer-record:"
        self._cited = f"{namespace}:cited-by:"
        self._told = f"{namespace}:told-changed:"
        self._ttl = ttl_seconds

    async def put(self, record: AnswerRecord) -> None:
        """Keep ``record``; Redis being down loses it (logged), never the answer."""
        data = {
            "question": record.question,
            "scopes": list(record.scopes),
            "asker": record.asker,
            "reply_to": (
                None
                if record.reply_to is None
                else {
                    "platform": record.reply_to.platform,
                    "address": dict(record.reply_to.address),
                }
            ),
            "answer": answer_to_json(record.answer),
            "private": record.private,
        }
        expires = time.time() + self._ttl
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(
                    self._prefix + record.answer.id,
                    json.dumps(data, ensure_ascii=False),
                    ex=self._ttl,
                )
                # Which answers cite a document, to find them when it changes (scored by expiry).
                for document_id in {c.doc_id for c in record.answer.citations}:
                    pipe.zadd(self._cited + document_id, {record.answer.id: expires})
                    pipe.expire(self._cited + document_id, self._ttl)
                await pipe.execute()
        except (redis.RedisError, OSError) as e:
            log.warning("answer %s not remembered: %s", record.answer.id, type(e).__name__)

    async def get(self, answer_id: str) -> AnswerRecord | None:
        """The record of ``answer_id``, or None when it expired, never existed or Redis is down."""
        try:
            raw = await self._client.get(self._prefix + answer_id)
        except (redis.RedisError, OSError) as e:
            log.warning("answer %s not readable: %s", answer_id, type(e).__name__)
            return None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            reply_to = data["reply_to"]
            return AnswerRecord(
                question=data["question"],
                scopes=tuple(data["scopes"]),
                asker=data["asker"],
                reply_to=None if reply_to is None else ReplyTo(**reply_to),
                answer=answer_from_json(data["answer"]),
                # A record written before this was kept counts as private: the cautious guess.
                private=bool(data.get("private", True)),
            )
        except (ValueError, TypeError, KeyError):
            return None  # written by another version of the bot

    async def citing(self, document_id: str) -> list[str]:
        """The ids of the remembered answers that cite ``document_id``; none when Redis is
        down (logged)."""
        key = self._cited + document_id
        try:
            await self._client.zremrangebyscore(key, "-inf", time.time())
            ids = await self._client.zrange(key, 0, -1)
        except (redis.RedisError, OSError) as e:
            log.warning("answers citing %s not readable: %s", document_id, type(e).__name__)
            return []
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    async def first_told_of_change(self, answer_id: str) -> bool:
        """Whether this is the first time the asker of ``answer_id`` is to be told that what
        it quoted changed (then it is the last: an answer gets one such reply)."""
        try:
            return bool(await self._client.set(self._told + answer_id, "1", nx=True, ex=self._ttl))
        except (redis.RedisError, OSError) as e:
            log.warning("answer %s change not told: %s", answer_id, type(e).__name__)
            return False
