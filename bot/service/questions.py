"""Questions a replica has accepted, kept in Redis until they are answered, so that a replica
killed mid-answer (SIGKILL, OOM, a lost node) loses none.

Accepting a delivery claims it (the dedupe claim every retry meets), stores its payload and
takes a lease on it, in one step. The replica renews the leases of the questions it holds; a
replica that dies stops renewing, and once a lease has expired the sweeper of another replica
takes the question over and hands its payload to the platform that accepted it. Finishing
removes the payload, so a question is taken over only while it is unanswered; a payload nobody
finishes expires with its dedupe claim.

A replica marks a question "posting" just before posting its answer; one taken over with that
mark may already have its answer in the chat, and the platform checks before answering again.
Losing the lease (the replica stalled past it) makes ``posting`` say no, so two replicas never
both post. When Redis is down, a delivery is accepted without any of this: a question nobody
answers is worse than one answered by two replicas. What keeps the second answer out of the
chat then is the claim in Postgres (``bot/service/question_posts.py``) that ``posting`` makes
too, and ``finish`` marks posted: it outlives Redis restarting or forgetting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError

from bot.service import question_scripts as scripts
from bot.service.question_posts import PgQuestionPosts
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

# A question taken over this many times is dropped: it is what kills the replicas.
MAX_TAKEOVERS = 5
# Posting an answer extends its lease this many times over: a replica slow to post (a stalled
# event loop, a slow Slack) is not taken over mid-post, which would post the answer twice. Two
# keeps a question killed mid-post answered within 30 s of the kill at the default lease.
POSTING_LEASES = 2
# How often a replica deletes the old claims in Postgres.
PRUNE_SECONDS = 3600.0


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
    """The accepted, unanswered questions of every replica, in Redis; with ``posts``, who
    posts each answer is also claimed in Postgres."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        namespace: str,
        lease_seconds: float = 10.0,
        posts: PgQuestionPosts | None = None,
    ) -> None:
        self._redis = client
        self._prefix = f"{namespace}:"
        self._index = f"{namespace}:questions:index"
        self._lease_ms = int(lease_seconds * 1000)
        self._posts = posts
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: set[str] = set()
        self._claimed: set[str] = set()
        # A question taken over: the replica whose unposted claim in Postgres it may take.
        self._taken_from: dict[str, str] = {}
        self._resumers: dict[str, Resume] = {}
        self._next_prune = 0.0

    async def accept(self, key: str, payload: Mapping[str, Any], ttl_seconds: int) -> bool:
        """Claim a delivery (False: another delivery of it came first) and, when Redis is up,
        keep it until ``finish`` (for ``ttl_seconds`` at most) under a lease this replica
        renews."""
        value = json.dumps({"platform": key.partition(":")[0], "payload": payload, "takeovers": 0})
        try:
            accepted = await self._redis.eval(
                scripts.ACCEPT, 4, self._prefix + key, self._lease(key), self._payload(key),
                self._index, self.owner, ttl_seconds, self._lease_ms, key, value,
            )  # fmt: skip
        except (RedisError, OSError) as e:
            log.warning("cannot deduplicate %s: Redis unavailable (%s); handling it anyway", key, e)
            return True
        if accepted:
            self._held.add(key)
        return bool(accepted)

    async def posting(self, key: str) -> bool:
        """Mark the answer to ``key`` as about to be posted; False when another replica has
        taken the question over or claimed its posting (this one must not post)."""
        if key in self._held:
            lease = POSTING_LEASES * self._lease_ms
            keys = (self._lease(key), self._posting(key))
            try:
                if not await self._redis.eval(scripts.POSTING, 2, *keys, self.owner, 3600, lease):
                    return False
            except (RedisError, OSError) as e:
                log.warning("cannot mark %s as posting: Redis unavailable (%s)", key, e)
        if self._posts is None:
            return True
        claimed = await self._posts.claim(key, self.owner, previous=self._taken_from.get(key))
        if claimed:
            self._claimed.add(key)
        return claimed is not False

    async def finish(self, key: str) -> None:
        """``key`` is handled (answered, or nothing to answer): never take it over again."""
        self._taken_from.pop(key, None)
        if key in self._claimed and self._posts is not None:
            self._claimed.discard(key)
            await self._posts.posted(key, self.owner)
        if key not in self._held:
            return
        self._held.discard(key)
        keys = (self._lease(key), self._posting(key), self._payload(key), self._index)
        try:
            await self._redis.eval(scripts.FINISH, 4, *keys, self.owner, key)
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
        self._claimed.discard(key)
        self._taken_from.pop(key, None)

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
            await self._redis.eval(scripts.RENEW, len(leases), *leases, self.owner, self._lease_ms)
        tasks = []
        prefixes = (self._lease(""), self._payload(""))
        expired = await self._redis.eval(scripts.EXPIRED, 1, self._index, *prefixes)
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
            await self._prune()

    async def _prune(self) -> None:
        if self._posts is None or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_SECONDS
        try:
            await self._posts.clear_old()
        except DatabaseUnavailableError as e:
            log.warning("cannot delete old posting claims: %s", e)

    async def _take(self, key: str) -> PendingQuestion | None:
        keys = (self._lease(key), self._posting(key), self._payload(key))
        taken = await self._redis.eval(scripts.TAKE, 3, *keys, self.owner, self._lease_ms)
        if taken is None:
            return None
        self._held.add(key)
        claim = None if self._posts is None else await self._posts.claim_of(key)
        if claim is not None and claim.posted:
            # Its replica posted the answer and stopped (or lost Redis) before finishing it.
            log.info("question %s taken over was answered already", key)
            await self.finish(key)
            return None
        stored = json.loads(taken[0])
        stored["takeovers"] += 1
        await self._redis.set(self._payload(key), json.dumps(stored), keepttl=True)
        posting = bool(taken[1])
        if claim is not None and claim.owner != self.owner:
            self._taken_from[key] = claim.owner
            posting = True
        return PendingQuestion(
            key, stored["platform"], stored["payload"], posting, stored["takeovers"]
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

    def _payload(self, key: str) -> str:
        return f"{self._prefix}questions:payload:{key}"
