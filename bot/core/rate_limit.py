"""Per-person limits: how many questions one asker may ask a minute and a day.

Each asker's admitted questions are a sliding log in Redis (a sorted set of their times, kept
for the longest window), checked and added to by one Lua script, so replicas agree and two
questions at the same moment cannot both slip under a limit. A sliding window rather than a
fixed one: nobody can ask twice the limit across a minute's boundary, and the time at which
they may ask again is exact (when the oldest question that counts leaves the window). Refused
questions are not logged, so asking again while limited does not push that time back.

Askers are the adapters' keyed hashes (``Question.asker``); a question without one (the
evaluation) is never limited. Redis being down lets every question through, with a warning.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import redis.asyncio

log = logging.getLogger(__name__)

Window = Literal["minute", "day"]
WINDOW_SECONDS: dict[Window, int] = {"minute": 60, "day": 86_400}


@dataclass(frozen=True)
class RateLimits:
    """Questions per asker per minute and per day; 0 is no limit."""

    per_minute: int = 0
    per_day: int = 0

    @property
    def windows(self) -> tuple[tuple[Window, int], ...]:
        """The limits that are on, with their windows."""
        pairs: tuple[tuple[Window, int], ...] = (
            ("minute", self.per_minute),
            ("day", self.per_day),
        )
        return tuple((window, limit) for window, limit in pairs if limit > 0)


@dataclass(frozen=True)
class LimitReached:
    """The asker has asked ``limit`` questions within the last ``window`` and may ask again in
    ``retry_after_seconds``."""

    limit: int
    window: Window
    retry_after_seconds: float


class RateLimiter(Protocol):
    async def admit(self, asker: str) -> LimitReached | None:
        """Count a question of ``asker``'s, or say which limit it reached (not counting it)."""
        ...


# KEYS[1]: the asker's log. ARGV: now (ms), a unique member, then (window ms, limit) pairs.
# Returns {1} when admitted, else {0, ms until it may ask again, the pair's 1-based index}.
_ADMIT = """
local now = tonumber(ARGV[1])
local longest = 0
for i = 3, #ARGV, 2 do longest = math.max(longest, tonumber(ARGV[i])) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local count = redis.call('ZCARD', KEYS[1])
local free_at, which = 0, 0
for i = 3, #ARGV, 2 do
  local window, limit = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if count >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    local until_ms = tonumber(oldest[2]) + window
    if until_ms > now and until_ms > free_at then free_at, which = until_ms, (i - 1) / 2 end
  end
end
if which > 0 then return {0, free_at - now, which} end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], longest)
return {1}
"""


class RedisRateLimiter:
    """The limits over a sliding log per asker in Redis."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        namespace: str,
        limits: RateLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._prefix = f"{namespace}:asked:"
        self._windows = limits.windows
        self._clock = clock
        self._admit = client.register_script(_ADMIT)

    async def admit(self, asker: str) -> LimitReached | None:
        if not self._windows:
            return None
        now_ms = int(self._clock() * 1000)
        args: list[str | int] = [now_ms, f"{now_ms}-{uuid.uuid4().hex[:8]}"]
        for window, limit in self._windows:
            args += [WINDOW_SECONDS[window] * 1000, limit]
        try:
            reply = await self._admit(keys=[self._prefix + asker], args=args)
        except (redis.RedisError, OSError) as e:
            log.warning("rate limits unavailable, answering anyway: %s", type(e).__name__)
            return None
        if int(reply[0]) == 1:
            return None
        window, limit = self._windows[int(reply[2]) - 1]
        return LimitReached(limit, window, int(reply[1]) / 1000)
