"""The chat model's circuit breaker: a failing model is left alone for a while.

When the model fails ``failures`` times (429 after the client's retries, 5xx, timeouts,
connection errors) within ``window_seconds`` with no success between, the breaker opens: for
``cooldown_seconds`` nobody calls it, and answers are quoted from the documents at once instead
of each asker waiting out the timeouts. Then one call, across every replica, probes it: success
closes the breaker, failure opens it for another cool-down.

The state is in Redis, so every replica sees the same one: a model that is down trips the
breaker after ``failures`` failed answers in all, not that many per replica, and only one
replica probes it. Times are the replicas' clocks (injectable for tests); a second of skew
between replicas only moves a cool-down by that second. Redis being down leaves the breaker
closed: the model is called as if there were none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import redis.asyncio

from bot.core.llm import (
    ChatMessage,
    ChatModel,
    Completion,
    CompletionDelta,
    LLMUnavailableError,
    ModelFailingError,
)

log = logging.getLogger(__name__)

# closed: call it. suspect: call it (it failed lately). probe: call it, as the one probe.
# open: do not call it.
Admission = Literal["closed", "suspect", "probe", "open"]


class ModelPausedError(LLMUnavailableError):
    """The model was not called: its circuit breaker is open."""


@dataclass(frozen=True)
class BreakerOptions:
    """``probe_seconds``: how long a probe may take before another replica may probe."""

    failures: int = 3
    window_seconds: float = 60.0
    cooldown_seconds: float = 30.0
    probe_seconds: float = 70.0


class CircuitBreaker(Protocol):
    """Whether the named model may be called now, and how the call went."""

    async def admit(self, model: str) -> Admission: ...

    async def record(self, model: str, admission: Admission, *, ok: bool) -> None: ...


_ADMIT = """
local state = redis.call('HMGET', KEYS[1], 'open_until', 'probe_until', 'failures')
local open_until = tonumber(state[1])
if not open_until then
  if state[3] then return 'suspect' end
  return 'closed'
end
local now = tonumber(ARGV[1])
if now < open_until or now < (tonumber(state[2]) or 0) then return 'open' end
redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[2]))
return 'probe'
"""

# ARGV: now, ok (1/0), admission, failures, window, cooldown, key ttl (whole seconds).
_RECORD = """
local now, admission = tonumber(ARGV[1]), ARGV[3]
local is_open = redis.call('HEXISTS', KEYS[1], 'open_until') == 1
if ARGV[2] == '1' then
  if admission == 'probe' or not is_open then
    redis.call('DEL', KEYS[1])
    if admission == 'probe' then return 'closed' end
  end
  return ''
end
if admission == 'probe' then
  redis.call('HSET', KEYS[1], 'open_until', now + tonumber(ARGV[6]), 'probe_until', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  return 'reopened'
end
if is_open then return '' end
local state = redis.call('HMGET', KEYS[1], 'failures', 'first_failure')
local failures, first = tonumber(state[1]) or 0, tonumber(state[2]) or now
if now - first > tonumber(ARGV[5]) then failures, first = 0, now end
failures = failures + 1
if failures >= tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'open_until', now + tonumber(ARGV[6]))
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  return 'opened'
end
redis.call('HSET', KEYS[1], 'failures', failures, 'first_failure', first)
redis.call('EXPIRE', KEYS[1], ARGV[7])
return ''
"""


class RedisCircuitBreaker:
    """The breaker's state in one Redis hash per model, changed only by Lua scripts (atomic)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        namespace: str,
        options: BreakerOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._prefix = f"{namespace}:llm-breaker:"
        self._options = options
        self._clock = clock
        self._admit = client.register_script(_ADMIT)
        self._record = client.register_script(_RECORD)
        # Housekeeping only: a state nobody touches for this long is forgotten.
        self._ttl = int(options.window_seconds + options.cooldown_seconds + options.probe_seconds)

    async def admit(self, model: str) -> Admission:
        args = [self._clock(), self._options.probe_seconds]
        try:
            admission = await self._admit(keys=[self._prefix + model], args=args)
        except (redis.RedisError, OSError) as e:
            log.warning("circuit breaker unavailable, calling the model: %s", type(e).__name__)
            return "closed"
        decoded = admission.decode() if isinstance(admission, bytes) else str(admission)
        if decoded == "probe":
            log.info("probing the chat model %s after its cool-down", model)
        return decoded  # type: ignore[return-value]

    async def record(self, model: str, admission: Admission, *, ok: bool) -> None:
        if ok and admission == "closed":
            return  # nothing to reset: the common case costs no round trip
        options = self._options
        args = [
            self._clock(), int(ok), admission, options.failures, options.window_seconds,
            options.cooldown_seconds, self._ttl + 60,
        ]  # fmt: skip
        try:
            change = await self._record(keys=[self._prefix + model], args=args)
        except (redis.RedisError, OSError) as e:
            log.warning("circuit breaker unavailable: %s", type(e).__name__)
            return
        change = change.decode() if isinstance(change, bytes) else change
        if change in ("opened", "reopened"):
            log.warning(
                "the chat model %s is failing: it is not called for %.0f s, answers quote the "
                "documents meanwhile",
                model, options.cooldown_seconds,
            )  # fmt: skip
        elif change == "closed":
            log.warning("the chat model %s answers again: its circuit breaker closed", model)


class GuardedChatModel:
    """A chat model called only while its circuit breaker lets it be.

    With a ``deadline``, a reply not finished within it (streamed: not begun) is abandoned as
    a failure the breaker counts: a model that hangs costs an asker that many seconds, not the
    client's timeouts and retries, and once the breaker opens, nothing."""

    def __init__(
        self, chat: ChatModel, breaker: CircuitBreaker, deadline: float | None = None
    ) -> None:
        self._chat = chat
        self._breaker = breaker
        self._deadline = deadline

    @property
    def name(self) -> str:
        return self._chat.name

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        admission = await self._admit()
        try:
            async with self._within_deadline():
                completion = await self._chat.complete(messages, max_tokens=max_tokens)
        except LLMUnavailableError as e:
            # A refused request (400) or a malformed reply says the model is up.
            failing = isinstance(e, ModelFailingError)
            await self._breaker.record(self.name, admission, ok=not failing)
            raise
        await self._breaker.record(self.name, admission, ok=True)
        return completion

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int
    ) -> AsyncIterator[CompletionDelta | Completion]:
        admission = await self._admit()
        pieces = aiter(self._chat.stream(messages, max_tokens=max_tokens))
        try:
            async with self._within_deadline():
                first = await anext(pieces, None)
            if first is not None:
                yield first
                async for piece in pieces:
                    yield piece
        except LLMUnavailableError as e:
            await self._breaker.record(
                self.name, admission, ok=not isinstance(e, ModelFailingError)
            )
            raise
        finally:
            close = getattr(pieces, "aclose", None)
            if close is not None:
                await close()
        await self._breaker.record(self.name, admission, ok=True)

    async def _admit(self) -> Admission:
        admission = await self._breaker.admit(self.name)
        if admission == "open":
            raise ModelPausedError("the model's circuit breaker is open")
        return admission

    @contextlib.asynccontextmanager
    async def _within_deadline(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._deadline):
                yield
        except TimeoutError as e:
            raise ModelFailingError(f"the model did not answer within {self._deadline:g} s") from e
