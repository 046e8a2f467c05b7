"""Questions a replica has accepted, kept in Redis until they are answered, so that a replica
killed mid-answer (SIGKILL, OOM, a lost node) loses none.

Accepting a delivery claims it (the dedupe claim every retry meets), stores its payload and
takes a lease on it, in one step. The replica renews the leases of the questions it holds; a
replica that dies stops renewing, and once a lease has expired the sweeper of another replica
takes the question over and hands its payload to the platform that accepted it. Finishing
removes the payload, so a question is taken over only while it is unanswered.

A replica marks a question "posting" just before posting its answer; one taken over with that
mark may already have its answer in the chat, and the platform checks before answering again.
Losing the lease (the replica stalled past it) makes ``posting`` say no, so two replicas never
both post. When Redis is down, a delivery is accepted without any of this, as before: a rare
duplicate answer is better than a question nobody answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# A question taken over this many times is dropped: it is what kills the replicas.
MAX_TAKEOVERS = 5
# Posting an answer extends its lease this many times over: a replica slow to post (a stalled
# event loop, a slow Slack) is not taken over mid-post, which would post the answer twice.
POSTING_LEASES = 3

_ACCEPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
  return 1
end
return 0
"""
_RENEW = """
local renewed = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    renewed = renewed + 1
  end
end
return renewed
"""
_POSTING = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
"""
_EXPIRED = """
local expired = {}
for i, key in ipairs(redis.call('HKEYS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. key) == 0 then table.insert(expired, key) end
end
return expired
"""
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1
"""
_TAKE = """
local payload = redis.call('HGET', KEYS[3], ARGV[2])
if not payload then return nil end
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
local posting = redis.call('EXISTS', KEYS[2])
return {payload, posting}
"""


@dataclass(frozen=True)
class PendingQuestion:
    """A question taken over from a replica that stopped renewing its lease.

    ``payload`` is what the platform stored when it accepted the delivery; ``posting`` says
    the answer may already be in the chat; ``takeovers`` counts the replicas that had it."""

    key: str
    platform: str
    payload: Mapping[str, Any]
    posting: bool
    takeovers: int


Resume = Callable[[PendingQuestion], Awaitable[None]]


class RedisQuestionLedger:
    """The accepted, unanswered questions of every replica, in Redis."""

    def __init__(
        self, client: redis.asyncio.Redis, namespace: str, lease_seconds: float = 10.0
    ) -> None:
        self._redis = client
        self._prefix = f"{namespace}:"
        self._pending = f"{namespace}:questions:pending"
        self._lease_ms = int(lease_seconds * 1000)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: set[str] = set()
        self._resumers: dict[str, Resume] = {}

    async def accept(self, key: str, payload: Mapping[str, Any], ttl_seconds: int) -> bool:
        """Claim a delivery (False: another delivery of it came first) and, when Redis is up,
        keep it until ``finish`` under a lease this replica renews."""
        value = json.dumps({"platform": key.partition(":")[0], "payload": payload, "takeovers": 0})
        try:
            accepted = await self._redis.eval(
                _ACCEPT, 3, self._prefix + key, self._lease(key), self._pending,
                self.owner, ttl_seconds, self._lease_ms, key, value,
            )  # fmt: skip
        except (RedisError, OSError) as e:
            log.warning("cannot deduplicate %s: Redis unavailable (%s); handling it anyway", key, e)
            return True
        if accepted:
            self._held.add(key)
        return bool(accepted)

    async def posting(self, key: str) -> bool:
        """Mark the answer to ``key`` as about to be posted; False when another replica has
        taken the question over (this one must not post)."""
        if key not in self._held:
            return True
        lease = POSTING_LEASES * self._lease_ms
        keys = (self._lease(key), self._posting(key))
        try:
            return bool(await self._redis.eval(_POSTING, 2, *keys, self.owner, 3600, lease))
        except (RedisError, OSError) as e:
            log.warning("cannot mark %s as posting: Redis unavailable (%s)", key, e)
            return True

    async def finish(self, key: str) -> None:
        """``key`` is handled (answered, or nothing to answer): never take it over again."""
        if key not in self._held:
            return
        self._held.discard(key)
        try:
            await self._redis.eval(
                _FINISH, 3, self._lease(key), self._posting(key), self._pending, self.owner, key
            )
        except (RedisError, OSError) as e:
            log.warning("cannot record %s as handled: Redis unavailable (%s)", key, e)

    @contextlib.asynccontextmanager
    async def handling(self, key: str) -> AsyncIterator[None]:
        """Finish ``key`` when the block ends, or abandon it when the block raises."""
        try:
            yield
        except BaseException:
            self.abandon(key)
            raise
        await self.finish(key)

    def abandon(self, key: str) -> None:
        """Stop renewing ``key``'s lease: handling it failed here, so it is taken over once
        the lease lapses (at most ``MAX_TAKEOVERS`` times)."""
        self._held.discard(key)

    def register(self, platform: str, resume: Resume) -> None:
        """``resume`` answers the questions taken over whose keys start ``platform:``."""
        self._resumers[platform] = resume

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Renew this replica's leases and take over expired ones until the block ends."""
        task = asyncio.create_task(self._tend_forever())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def tend(self) -> list[asyncio.Task[None]]:
        """Renew the leases held here, then take over the questions whose lease expired;
        returns the tasks answering those."""
        if self._held:
            leases = [self._lease(key) for key in self._held]
            await self._redis.eval(_RENEW, len(leases), *leases, self.owner, self._lease_ms)
        tasks = []
        expired = await self._redis.eval(_EXPIRED, 1, self._pending, self._lease(""))
        for raw in expired:
            key = raw.decode() if isinstance(raw, bytes) else raw
            # A replica answers only for the platforms it serves, and a question it is still
            # answering itself (its lease lapsed while the loop stalled) is for another to take.
            if key.partition(":")[0] not in self._resumers or key in self._held:
                continue
            pending = await self._take(key)
            if pending is not None:
                tasks.append(asyncio.create_task(self._resume(pending)))
        return tasks

    async def _tend_forever(self) -> None:
        resuming: set[asyncio.Task[None]] = set()
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                for task in await self.tend():
                    resuming.add(task)
                    task.add_done_callback(resuming.discard)
            except (RedisError, OSError) as e:
                log.warning("cannot renew or take over questions: Redis unavailable (%s)", e)

    async def _take(self, key: str) -> PendingQuestion | None:
        taken = await self._redis.eval(
            _TAKE, 3, self._lease(key), self._posting(key), self._pending,
            self.owner, key, self._lease_ms,
        )  # fmt: skip
        if taken is None:
            return None
        self._held.add(key)
        stored = json.loads(taken[0])
        stored["takeovers"] += 1
        await self._redis.hset(self._pending, key, json.dumps(stored))
        return PendingQuestion(
            key, stored["platform"], stored["payload"], bool(taken[1]), stored["takeovers"]
        )

    async def _resume(self, pending: PendingQuestion) -> None:
        resume = self._resumers[pending.platform]
        if pending.takeovers > MAX_TAKEOVERS:
            log.error("dropping question %s after %d takeovers", pending.key, pending.takeovers)
            await self.finish(pending.key)
            return
        log.warning("taking over question %s from a replica that stopped", pending.key)
        try:
            await resume(pending)
        except Exception as e:
            self.abandon(pending.key)
            log.error("answering question %s taken over failed: %s", pending.key, e, exc_info=e)

    def _lease(self, key: str) -> str:
        return f"{self._prefix}questions:lease:{key}"

    def _posting(self, key: str) -> str:
        return f"{self._prefix}questions:posting:{key}"
