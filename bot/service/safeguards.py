"""What guards answering live, and an evaluation goes without: the chat model's circuit
breaker, answers quoted from the documents whenever the model cannot be used, and the limits
per asker; the breaker and the limits are shared by every replica through Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio

from bot.core.breaker import BreakerOptions, CircuitBreaker, RedisCircuitBreaker
from bot.core.rate_limit import RateLimiter, RateLimits, RedisRateLimiter
from bot.service.settings import Settings


@dataclass(frozen=True)
class Safeguards:
    """``breaker`` is None when ``SUPPORTBOT_LLM_BREAKER_FAILURES`` is 0, ``limiter`` when
    neither per-person limit is set."""

    breaker: CircuitBreaker | None = None
    limiter: RateLimiter | None = None


def build_safeguards(
    settings: Settings, client: redis.asyncio.Redis, clock: Callable[[], float] = time.time
) -> Safeguards:
    """The configured safeguards over the shared Redis ``client``."""
    breaker = None
    if settings.llm_breaker_failures:
        options = BreakerOptions(
            failures=settings.llm_breaker_failures,
            window_seconds=settings.llm_breaker_window,
            cooldown_seconds=settings.llm_breaker_cooldown,
            # A probe may take every attempt the client makes, and the back-off between them.
            probe_seconds=settings.llm_timeout * (settings.llm_max_retries + 1) + 10,
        )
        breaker = RedisCircuitBreaker(client, settings.redis_namespace, options, clock)
    limits = RateLimits(settings.questions_per_minute, settings.questions_per_day)
    limiter = RedisRateLimiter(client, settings.redis_namespace, limits, clock)
    return Safeguards(breaker, limiter if limits.windows else None)
