"""Which answer a bot message in Teams is: Teams' own feedback (``message/submitAction``)
names only the message, so the answer id is kept under the message's id when it is sent."""

from __future__ import annotations

import logging

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

TTL_SECONDS = 90 * 86_400


class RedisAnswerIds:
    def __init__(self, client: redis.asyncio.Redis, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:teams:answer-of:"

    async def remember(
        self, conversation: str, message_ids: tuple[str, ...], answer_id: str
    ) -> None:
        try:
            for message_id in message_ids:
                key = f"{self._prefix}{conversation}:{message_id}"
                await self._redis.set(key, answer_id, ex=TTL_SECONDS)
        except (RedisError, OSError) as e:
            log.warning("cannot remember answer %s's message: Redis unavailable (%s)", answer_id, e)

    async def answer_of(self, conversation: str, message_id: str) -> str | None:
        try:
            value = await self._redis.get(f"{self._prefix}{conversation}:{message_id}")
        except (RedisError, OSError) as e:
            log.warning("cannot look up a message's answer: Redis unavailable (%s)", e)
            return None
        return value.decode() if isinstance(value, bytes) else value
