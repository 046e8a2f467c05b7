"""Per-person limits: a sliding log per asker in the real Redis, checked in the answer flow
before the model and the search. Time is an injected clock: windows pass without waiting."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core import messages
from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.coverage import MinimumSimilarity
from bot.core.rate_limit import LimitReached, RateLimits, RedisRateLimiter
from bot.core.types import Question
from bot.service.safeguards import build_safeguards
from bot.service.settings import Settings
from knowledge.chunking import chunk_document
from knowledge.embedders import HashingEmbedder
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.store import PgDocumentStore
from knowledge.types import Query, ScoredChunk
from tests.documents import policy
from tests.fake_openai import FakeOpenAI
from tests.test_answering import LEAVE, llm_writer
from tests.test_degrading import Clock, model_answer
from tests.test_loading import closed_port


def limiter(
    client: redis.asyncio.Redis, clock: Clock, *, per_minute: int = 0, per_day: int = 0
) -> RedisRateLimiter:
    return RedisRateLimiter(client, uuid.uuid4().hex, RateLimits(per_minute, per_day), clock)


async def test_a_minute_limit_slides_and_refusals_do_not_count(
    cache_client: redis.asyncio.Redis,
) -> None:
    clock = Clock()
    limits = limiter(cache_client, clock, per_minute=3)
    for _ in range(3):
        assert await limits.admit("alice") is None
        clock.now += 10
    assert await limits.admit("alice") == LimitReached(3, "minute", 30.0)  # first at 0 s
    assert await limits.admit("bob") is None  # each asker has their own
    clock.now += 29
    assert await limits.admit("alice") == LimitReached(3, "minute", 1.0)  # not pushed back
    clock.now += 1
    assert await limits.admit("alice") is None  # the first question left the window
    assert await limits.admit("alice") == LimitReached(3, "minute", 10.0)


async def test_the_later_of_two_limits_is_the_one_reported(
    cache_client: redis.asyncio.Redis,
) -> None:
    clock = Clock()
    limits = limiter(cache_client, clock, per_minute=2, per_day=3)
    assert await limits.admit("alice") is None
    assert await limits.admit("alice") is None
    assert await limits.admit("alice") == LimitReached(2, "minute", 60.0)
    clock.now += 60
    assert await limits.admit("alice") is None
    clock.now += 1
    assert await limits.admit("alice") == LimitReached(3, "day", 86_400.0 - 61)
    clock.now += 86_400 - 61
    assert await limits.admit("alice") is None


async def test_replicas_asking_at_once_cannot_slip_past_the_limit(
    cache_client: redis.asyncio.Redis, redis_url: str
) -> None:
    clock, namespace = Clock(), uuid.uuid4().hex
    clients = [redis_client(redis_url) for _ in range(3)]
    try:
        replicas = [
            RedisRateLimiter(c, namespace, RateLimits(per_minute=4), clock) for c in clients
        ]
        results = await asyncio.gather(*(replicas[i % 3].admit("alice") for i in range(12)))
        assert sum(result is None for result in results) == 4
    finally:
        for client in clients:
            await client.aclose()


async def test_without_redis_everyone_is_answered(cache_client: redis.asyncio.Redis) -> None:
    dead = redis_client(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        limits = limiter(dead, Clock(), per_minute=1)
        assert [await limits.admit("alice") for _ in range(3)] == [None, None, None]
    finally:
        await dead.aclose()


class CountingRetriever(PgHybridRetriever):
    """The real retriever, counting its searches."""

    searches = 0

    async def search(self, query: Query) -> list[ScoredChunk]:
        self.searches += 1
        return await super().search(query)


async def test_past_the_limit_a_polite_reply_and_no_model_call_or_search(
    engine: AsyncEngine, llm: FakeOpenAI, cache_client: redis.asyncio.Redis
) -> None:
    embedder = HashingEmbedder(384)
    store = PgDocumentStore(engine, embedder)
    document = policy(url="https://hb.test/leave", title="Leave Policy", sections=LEAVE)
    await store.upsert(document, chunk_document(document))
    retriever = CountingRetriever(engine, embedder, RetrievalOptions(min_similarity=0.0))
    clock = Clock()
    service = AnswerService(
        retriever=retriever,
        store=store,
        writer=llm_writer(llm),
        cache=RedisAnswerCache(cache_client, 60, uuid.uuid4().hex),
        answer_log=PgAnswerLog(engine, Prices()),
        options=AnsweringOptions(coverage=MinimumSimilarity(0.25)),
        limiter=limiter(cache_client, clock, per_minute=1),
    )
    llm.default = model_answer
    question = Question("How many days of annual leave do I get?", asker="alice")
    assert (await service.answer(question)).outcome == "answered"
    clock.now += 20
    limited = await service.answer(Question("Can I carry over unused days?", asker="alice"))
    assert (limited.outcome, limited.grounded, limited.citations) == ("limited", False, ())
    assert limited.text == (
        "Sorry, you've asked me 1 question in the last minute, the most I can take from one "
        "person. Please ask again in 40 seconds."
    )
    assert (len(llm.requests), retriever.searches) == (1, 1)
    assert (await service.answer(Question("", asker="alice"))).outcome == "invalid"
    anonymous = await service.answer(Question("Can I carry over unused days?"))
    assert anonymous.outcome == "answered"  # no asker (the evaluation): never limited
    totals = await PgAnswerLog(engine, Prices()).totals(datetime.now(UTC) - timedelta(1))
    assert totals.limited == 1


@pytest.mark.parametrize(
    ("seconds", "when"),
    [
        (0.2, "in 1 second"),
        (40.0, "in 40 seconds"),
        (60.0, "in 60 seconds"),
        (61.0, "in about 2 minutes"),
        (3_600.0, "in about 60 minutes"),
        (3 * 3_600 + 1, "in about 4 hours"),
    ],
)
def test_when_to_ask_again_is_rounded_up(seconds: float, when: str) -> None:
    assert messages.rate_limited(200, "day", seconds) == (
        "Sorry, you've asked me 200 questions in the last 24 hours, the most I can take from "
        f"one person. Please ask again {when}."
    )


def test_limits_are_off_unless_configured(cache_client: redis.asyncio.Redis) -> None:
    assert build_safeguards(Settings.from_env({}), cache_client).limiter is None
    configured = Settings.from_env(
        {"SUPPORTBOT_QUESTIONS_PER_MINUTE": "5", "SUPPORTBOT_QUESTIONS_PER_DAY": "100"}
    )
    limits = build_safeguards(configured, cache_client).limiter
    assert isinstance(limits, RedisRateLimiter)
    assert limits._windows == (("minute", 5), ("day", 100))
    day_only = Settings.from_env({"SUPPORTBOT_QUESTIONS_PER_DAY": "100"})
    assert build_safeguards(day_only, cache_client).limiter._windows == (("day", 100),)  # type: ignore[union-attr]
