"""What was said earlier in a conversation, for platforms whose API the bot cannot read back.

Teams does not let a bot read a channel's reply chain without extra Graph permissions, so the
bot remembers the turns it took part in: each question and its answer, per conversation, in
Redis (shared by every server process). Without Redis the bot answers without context.
"""

from __future__ import annotations

import json
import logging

import redis.asyncio
from redis.exceptions import RedisError

from bot.core.types import Turn

log = logging.getLogger(__name__)


class RedisConversationMemory:
    def __init__(self, client: redis.asyncio.Redis, namespace: str, *, max_turns: int = 10) -> None:
        self._redis = client
        self._prefix = f"{namespace}:memory:"
        self._max_turns = max_turns

    async def turns(self, conversation: str) -> tuple[Turn, ...]:
        """The conversation's remembered turns, oldest first."""
        try:
            raw = await self._redis.lrange(self._prefix + conversation, 0, -1)
        except (RedisError, OSError) as e:
            log.warning("cannot read the conversation's earlier turns: %s", e)
            return ()
        turns = []
        for item in raw:
            value = json.loads(item)
            turns.append(Turn(value["role"], value["text"]))
        return tuple(turns)

    async def remember(
        self, conversation: str, question: str, answer: str, *, ttl_seconds: int
    ) -> None:
        """Add a question and its answer; the conversation is forgotten ``ttl_seconds`` later."""
        key = self._prefix + conversation
        items = [
            json.dumps({"role": "user", "text": question}),
            json.dumps({"role": "assistant", "text": answer}),
        ]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, *items)
                pipe.ltrim(key, -self._max_turns, -1)
                pipe.expire(key, ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as e:
            log.warning("cannot remember the conversation's turn: %s", e)
