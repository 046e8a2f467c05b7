"""The question ledger on a real Redis: a delivery is accepted once; a question whose replica
stopped renewing its lease is taken over by another, and the first may then not post; a
finished question is never taken over; a replica never takes over what it is still answering;
an unfinished one expires with its dedupe claim; and, with the claims in Postgres, a question is
posted once even when Redis is down or forgot it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.service.question_posts import PgQuestionPosts, PostClaim
from bot.service.questions import PendingQuestion, RedisQuestionLedger

LEASE = 1.0


def _pair(client: redis.asyncio.Redis) -> tuple[RedisQuestionLedger, RedisQuestionLedger]:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    return RedisQuestionLedger(client, namespace, LEASE), RedisQuestionLedger(
        client, namespace, LEASE
    )


def _recorder(ledger: RedisQuestionLedger) -> list[PendingQuestion]:
    taken: list[PendingQuestion] = []

    async def resume(pending: PendingQuestion) -> None:
        taken.append(pending)

    ledger.register("slack", resume)
    return taken


async def _tend(ledger: RedisQuestionLedger) -> None:
    await asyncio.gather(*await ledger.tend())


async def test_a_delivery_is_accepted_once(cache_client: redis.asyncio.Redis) -> None:
    first, second = _pair(cache_client)
    assert await first.accept("slack:event:Ev1", {"body": {"n": 1}}, 60)
    assert not await second.accept("slack:event:Ev1", {"body": {"n": 1}}, 60)
    assert not await first.accept("slack:event:Ev1", {"body": {"n": 1}}, 60)


async def test_a_lapsed_lease_is_taken_over_and_its_first_holder_may_not_post(
    cache_client: redis.asyncio.Redis,
) -> None:
    dead, alive = _pair(cache_client)
    taken = _recorder(alive)
    assert await dead.accept("slack:event:Ev2", {"body": {"n": 2}}, 60)
    await _tend(alive)
    assert taken == []  # the lease is still live
    await asyncio.sleep(LEASE + 0.2)
    await _tend(alive)
    assert [(p.key, p.payload, p.posting, p.takeovers) for p in taken] == [
        ("slack:event:Ev2", {"body": {"n": 2}}, False, 1)
    ]
    assert not await dead.posting("slack:event:Ev2")
    assert await alive.posting("slack:event:Ev2")
    await alive.finish("slack:event:Ev2")
    await asyncio.sleep(LEASE + 0.2)
    await _tend(alive)
    assert len(taken) == 1


async def test_a_renewed_lease_is_not_taken_over(cache_client: redis.asyncio.Redis) -> None:
    holder, other = _pair(cache_client)
    taken = _recorder(other)
    assert await holder.accept("slack:event:Ev3", {"body": {}}, 60)
    for _ in range(4):
        await asyncio.sleep(LEASE / 2)
        await _tend(holder)
        await _tend(other)
    assert taken == []


async def test_a_question_marked_posting_is_taken_over_as_maybe_posted(
    cache_client: redis.asyncio.Redis,
) -> None:
    dead, alive = _pair(cache_client)
    taken = _recorder(alive)
    assert await dead.accept("slack:event:Ev4", {"body": {}}, 60)
    assert await dead.posting("slack:event:Ev4")
    # Posting extends the lease: a slow post is not taken over after one lease.
    await asyncio.sleep(LEASE + 0.2)
    await _tend(alive)
    assert taken == []
    await asyncio.sleep(2 * LEASE + 0.2)
    await _tend(alive)
    assert [p.posting for p in taken] == [True]


async def test_a_replica_does_not_take_over_a_question_it_is_still_answering(
    cache_client: redis.asyncio.Redis,
) -> None:
    stalled, _ = _pair(cache_client)
    taken = _recorder(stalled)
    assert await stalled.accept("slack:event:Ev5", {"body": {}}, 60)
    await asyncio.sleep(LEASE + 0.2)  # its loop stalled: the lease lapsed unrenewed
    await _tend(stalled)
    assert taken == []
    assert not await stalled.posting("slack:event:Ev5")  # it lapsed: another may take it


async def test_an_unfinished_question_is_forgotten_with_its_dedupe_claim(
    cache_client: redis.asyncio.Redis,
) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    dead = RedisQuestionLedger(cache_client, namespace, LEASE)
    alive = RedisQuestionLedger(cache_client, namespace, LEASE)
    taken = _recorder(alive)
    assert await dead.accept("slack:event:Ev6", {"body": {}}, 1)
    await asyncio.sleep(1.3)  # lease and payload both expired: too old to answer now
    await _tend(alive)
    assert taken == []
    assert await cache_client.smembers(f"{namespace}:questions:index") == set()
    assert await cache_client.keys(f"{namespace}:*") == []


def _posting_pair(
    client: redis.asyncio.Redis, engine: AsyncEngine
) -> tuple[RedisQuestionLedger, RedisQuestionLedger]:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    posts = PgQuestionPosts(engine)
    return (
        RedisQuestionLedger(client, namespace, LEASE, posts),
        RedisQuestionLedger(client, namespace, LEASE, posts),
    )


async def test_with_redis_down_a_question_delivered_twice_is_posted_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    down = redis.asyncio.Redis(unix_socket_path=str(tmp_path / "nothing.sock"))
    first, second = _posting_pair(down, engine)
    # Redis cannot deduplicate: both replicas accept the delivery and write an answer.
    assert await first.accept("slack:event:Ev7", {"body": {}}, 60)
    assert await second.accept("slack:event:Ev7", {"body": {}}, 60)
    assert await first.posting("slack:event:Ev7")
    assert not await second.posting("slack:event:Ev7")
    await first.finish("slack:event:Ev7")
    assert await PgQuestionPosts(engine).claim_of("slack:event:Ev7") == PostClaim(
        first.owner, posted=True
    )
    await down.aclose()


async def test_after_redis_forgot_a_question_its_redelivery_is_not_posted_again(
    cache_client: redis.asyncio.Redis, engine: AsyncEngine
) -> None:
    first, second = _posting_pair(cache_client, engine)
    assert await first.accept("slack:event:Ev8", {"body": {}}, 60)
    assert await first.posting("slack:event:Ev8")
    await first.finish("slack:event:Ev8")
    await cache_client.delete(*await cache_client.keys("test-*Ev8"))  # Redis restarted empty
    assert await second.accept("slack:event:Ev8", {"body": {}}, 60)
    assert not await second.posting("slack:event:Ev8")


async def test_a_question_posted_but_not_finished_is_not_answered_again(
    cache_client: redis.asyncio.Redis, engine: AsyncEngine
) -> None:
    dead, alive = _posting_pair(cache_client, engine)
    taken = _recorder(alive)
    assert await dead.accept("slack:event:Ev9", {"body": {}}, 60)
    assert await dead.posting("slack:event:Ev9")
    await PgQuestionPosts(engine).posted("slack:event:Ev9", dead.owner)  # then it died
    await asyncio.sleep(2 * LEASE + 0.2)
    await _tend(alive)
    assert taken == []
    await asyncio.sleep(2 * LEASE + 0.2)
    await _tend(alive)
    assert taken == []  # finished: never taken over again


async def test_a_taken_over_question_claimed_but_not_posted_is_posted_by_the_taker(
    cache_client: redis.asyncio.Redis, engine: AsyncEngine
) -> None:
    dead, alive = _posting_pair(cache_client, engine)
    taken = _recorder(alive)
    assert await dead.accept("slack:event:Ev10", {"body": {}}, 60)
    assert await dead.posting("slack:event:Ev10")
    # Redis lost the posting mark (restarted); the claim in Postgres says it all the same.
    await cache_client.delete(*await cache_client.keys("test-*:questions:posting:*Ev10"))
    await asyncio.sleep(2 * LEASE + 0.2)
    await _tend(alive)
    assert [p.posting for p in taken] == [True]  # it may be in the chat: the platform looks
    assert await alive.posting("slack:event:Ev10")
    await alive.finish("slack:event:Ev10")
    assert await PgQuestionPosts(engine).claim_of("slack:event:Ev10") == PostClaim(
        alive.owner, posted=True
    )


async def test_old_posting_claims_are_deleted(engine: AsyncEngine) -> None:
    posts = PgQuestionPosts(engine)
    assert await posts.claim("slack:event:Ev11", "replica-a")
    assert await posts.clear_old(hours=1) == 0  # a day's claims are kept
    assert await posts.claim_of("slack:event:Ev11") == PostClaim("replica-a", posted=False)
    assert await posts.clear_old(hours=0) == 1
    assert await posts.claim_of("slack:event:Ev11") is None
