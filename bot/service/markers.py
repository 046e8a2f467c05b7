"""Short-lived facts in Redis shared by every server process: "already handled", "bot is here".

``claim`` is how several ``supportbot serve`` processes agree that exactly one of them handles
an event: the first ``SET NX`` wins. When Redis cannot be reached, ``claim`` answers True: a
rare duplicate answer is better than a question nobody answers.
"""

from __future__ import annotations

import logging

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_CLAIM_AS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""


class RedisMarkers:
    def __init__(self, client: redis.asyncio.Redis, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:"

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True for the first caller with ``key`` within ``ttl_seconds``, False for the rest."""
        try:
            return bool(await self._redis.set(self._prefix + key, b"1", nx=True, ex=ttl_seconds))
        except (RedisError, OSError) as e:
            log.warning("cannot deduplicate %s: Redis unavailable (%s); handling it anyway", key, e)
            return True

    async def claim_as(self, key: str, owner: str, ttl_seconds: int) -> bool:
        """Like ``claim``, and True again for the same ``owner``: a question taken over from a
        replica that died is still the one that claimed its message."""
        try:
            return bool(
                await self._redis.eval(_CLAIM_AS, 1, self._prefix + key, owner, ttl_seconds)
            )
        except (RedisError, OSError) as e:
            log.warning("cannot deduplicate %s: Redis unavailable (%s); handling it anyway", key, e)
            return True

    async def mark(self, key: str, ttl_seconds: int) -> None:
        try:
            await self._redis.set(self._prefix + key, b"1", ex=ttl_seconds)
        except (RedisError, OSError) as e:
            log.warning("cannot remember %s: Redis unavailable (%s)", key, e)

    async def is_marked(self, key: str) -> bool:
        try:
            return bool(await self._redis.exists(self._prefix + key))
        except (RedisError, OSError) as e:
            log.warning("cannot check %s: Redis unavailable (%s)", key, e)
            return False
