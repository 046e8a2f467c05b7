"""Waiting as a rate-limited API asks: an HTTP 429 (or 503) with ``Retry-After`` is sent again
after the wait it names, a few times, never longer than the connector's cap."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

T = TypeVar("T")

RETRIED_STATUSES = frozenset({429, 503})
ATTEMPTS = 4
# Without Retry-After, the n-th wait is n times this.
DEFAULT_WAIT_SECONDS = 1.0


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The seconds ``Retry-After`` asks to wait (a number or an HTTP date), None if absent."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


async def politely(
    send: Callable[[], Awaitable[T]],
    status: Callable[[T], tuple[int, Mapping[str, str]]],
    *,
    max_wait: float,
    attempts: int = ATTEMPTS,
) -> T:
    """``send()``'s answer, sent again after the wait a 429/503 asks for (at most ``attempts``
    sends); the last answer is returned whatever its status. A wait longer than ``max_wait`` is
    not waited: that answer is returned at once."""
    answer = await send()
    for attempt in range(1, attempts):
        code, headers = status(answer)
        if code not in RETRIED_STATUSES:
            return answer
        wait = retry_after(headers)
        wait = attempt * DEFAULT_WAIT_SECONDS if wait is None else wait
        if wait > max_wait:
            return answer
        await asyncio.sleep(wait)
        answer = await send()
    return answer
