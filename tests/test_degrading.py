"""Degrade, don't fail: a failing model gets quoted answers and is left alone for a while (its
circuit breaker, shared in Redis), and a database that comes back is used again by itself.

The model is the loopback OpenAI-compatible server driven through the real ``openai`` client;
time is an injected clock, so cool-downs pass without waiting for them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_events import Final
from bot.core.answering import AnswerService
from bot.core.breaker import BreakerOptions, GuardedChatModel, RedisCircuitBreaker
from bot.core.cache import redis_client
from bot.core.llm import OpenAIChatModel
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.prompts import Prompts
from bot.core.types import Question, Turn
from bot.core.writers import DegradingAnswerWriter, LLMAnswerWriter
from bot.service.chat_models import build_writer
from bot.service.safeguards import build_safeguards
from bot.service.settings import Settings, SettingsError
from knowledge.chunking import chunk_document
from knowledge.database import create_engine
from knowledge.embedders import HashingEmbedder
from tests.documents import policy
from tests.fake_openai import HANG, FakeOpenAI
from tests.outage import postgres_outage
from tests.test_answering import LEAVE, build_service, source_number
from tests.test_loading import closed_port

QUESTION = "How many days of annual leave do I get?"
LIMITED = "(I'm limited right now, so this answer quotes our policies directly.)"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def model_answer(body: dict[str, object]) -> str:
    prompt = body["messages"][-1]["content"]  # type: ignore[index]
    return f"You get 25 days [{source_number(prompt, 'Leave Policy')}]."


@dataclass
class Bot:
    service: AnswerService
    llm: FakeOpenAI
    clock: Clock


def breaker(client: redis.asyncio.Redis, clock: Clock, namespace: str) -> RedisCircuitBreaker:
    options = BreakerOptions(failures=2, window_seconds=60, cooldown_seconds=30, probe_seconds=20)
    return RedisCircuitBreaker(client, namespace, options, clock)


async def live_bot(
    engine: AsyncEngine,
    client: redis.asyncio.Redis,
    llm: FakeOpenAI,
    base_url: str,
    *,
    client_timeout: float = 0.5,
    deadline: float | None = None,
) -> Bot:
    """An answer service as ``supportbot serve`` builds it: the model behind a breaker (with
    ``deadline``), and the offline writer standing in."""
    clock = Clock()
    chat = OpenAIChatModel(
        "house-model", api_key="test", base_url=base_url, timeout=client_timeout, max_retries=1
    )
    guarded = GuardedChatModel(chat, breaker(client, clock, uuid.uuid4().hex), deadline)
    writer = DegradingAnswerWriter(
        LLMAnswerWriter(guarded, Prompts.load(), company="Example Ltd"), ExtractiveAnswerWriter()
    )
    service, store = build_service(engine, writer, client, uuid.uuid4().hex)
    document = policy(url="https://hb.test/leave", title="Leave Policy", sections=LEAVE)
    await store.upsert(document, chunk_document(document))
    return Bot(service, llm, clock)


@pytest.mark.parametrize("failure", [429, 500, 503, HANG])
async def test_a_failing_model_gets_quoted_answers_then_a_rest_then_a_probe(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI, failure: str | int
) -> None:
    bot = await live_bot(engine, cache_client, llm, llm.base_url)
    llm.default = lambda _body: failure

    first = await bot.service.answer(Question(QUESTION))
    assert (first.outcome, first.grounded, first.degraded) == ("answered", True, True)
    assert first.text.startswith(LIMITED + "\n\nHere is what our policies say:")
    assert "25 days of annual leave" in first.text
    assert first.citations[0].title == "Leave Policy" and first.model == "offline-extractive"
    assert len(llm.requests) == 2  # the client retried once
    second = await bot.service.answer(Question("Can I carry over unused days of annual leave?"))
    assert second.degraded and len(llm.requests) == 4  # the second failure opens the breaker

    resting = await bot.service.answer(Question(QUESTION))
    assert resting.degraded and not resting.cached  # a quoted answer is never cached
    assert len(llm.requests) == 4  # not called at all while the breaker is open

    llm.default = model_answer
    bot.clock.now += 31  # the cool-down is over: the next question probes the model
    probe = await bot.service.answer(Question(QUESTION))
    assert (probe.text, probe.degraded, probe.cached) == ("You get 25 days [1].", False, False)
    after = await bot.service.answer(Question("Can I carry over unused days of annual leave?"))
    assert not after.degraded and len(llm.requests) == 6


async def test_a_model_hanging_past_the_deadline_is_quoted_around_and_left_alone(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI
) -> None:
    # The client would wait out the hang (and retry); the deadline gives up long before.
    bot = await live_bot(engine, cache_client, llm, llm.base_url, client_timeout=30, deadline=0.3)
    llm.default = lambda _body: HANG
    first = await bot.service.answer(Question(QUESTION))
    assert (first.outcome, first.degraded) == ("answered", True)
    assert first.text.startswith(LIMITED) and first.citations[0].title == "Leave Policy"
    second = await bot.service.answer(Question("Can I carry over unused days of annual leave?"))
    assert second.degraded and len(llm.requests) == 2  # no retries: the deadline is for all
    resting = await bot.service.answer(Question(QUESTION))
    assert resting.degraded and len(llm.requests) == 2  # the breaker counted both: open


async def test_a_stream_not_begun_by_the_deadline_is_quoted_instead(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI
) -> None:
    bot = await live_bot(engine, cache_client, llm, llm.base_url, client_timeout=30, deadline=0.3)
    llm.default = lambda _body: HANG
    events = [event async for event in bot.service.stream(Question(QUESTION))]
    done = events[-1]
    assert isinstance(done, Final)
    assert done.answer.degraded and done.answer.text.startswith(LIMITED)
    assert llm.requests[-1]["stream"] is True


async def test_a_follow_up_rewrite_hanging_past_its_share_of_the_deadline_is_done_offline(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI
) -> None:
    # As ``serve`` wires it: the rewrite gets a third of the deadline (2 s of 6), the answer all.
    settings = Settings.from_env(
        {
            "OPENAI_BASE_URL": llm.base_url,
            "OPENAI_API_KEY": "test",
            "SUPPORTBOT_LLM_TIMEOUT": "30",
            "SUPPORTBOT_LLM_ANSWER_DEADLINE": "6",
        }
    )
    guard = breaker(cache_client, Clock(), uuid.uuid4().hex)
    writer = build_writer(
        settings, Prompts.load(), guard, degrade=True, embedding_model=HashingEmbedder(384).model
    )
    service, store = build_service(engine, writer, cache_client, uuid.uuid4().hex)
    document = policy(url="https://hb.test/leave", title="Leave Policy", sections=LEAVE)
    await store.upsert(document, chunk_document(document))
    llm.script = [HANG]  # the rewrite hangs (3 s); the answer comes at once
    llm.default = model_answer
    history = (Turn("user", QUESTION), Turn("assistant", "25 days."))
    answer = await service.answer(Question("and can I carry some over?", history=history))
    assert answer.standalone_question == f"and can I carry some over? {QUESTION}"
    assert (answer.text, answer.degraded) == ("You get 25 days [1].", False)


async def test_an_unreachable_model_is_left_alone_too(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI
) -> None:
    bot = await live_bot(engine, cache_client, llm, f"http://127.0.0.1:{closed_port()}/v1")
    answers = [await bot.service.answer(Question(QUESTION)) for _ in range(3)]
    assert all(a.degraded and a.citations for a in answers)
    metrics = bot.service._metrics
    assert metrics.llm_errors._value.get() == 3  # counted as answers the model could not write


async def test_a_follow_up_is_made_standalone_without_the_model(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI
) -> None:
    bot = await live_bot(engine, cache_client, llm, llm.base_url)
    llm.default = lambda _body: 500
    history = (Turn("user", QUESTION), Turn("assistant", "25 days."))
    answer = await bot.service.answer(Question("and can I carry some over?", history=history))
    assert answer.degraded
    assert answer.standalone_question == f"and can I carry some over? {QUESTION}"
    assert "carry over up to 5 unused days" in answer.text


async def test_a_refused_request_is_quoted_around_but_does_not_trip_the_breaker(
    engine: AsyncEngine, cache_client: redis.asyncio.Redis, llm: FakeOpenAI
) -> None:
    bot = await live_bot(engine, cache_client, llm, llm.base_url)
    llm.default = lambda _body: 400  # this request is wrong, the model is fine
    for _ in range(3):
        assert (await bot.service.answer(Question(QUESTION))).degraded
    assert len(llm.requests) == 3  # never retried, never left alone


async def test_replicas_share_the_breaker_and_only_one_probes(
    cache_client: redis.asyncio.Redis, redis_url: str
) -> None:
    clock, namespace = Clock(), uuid.uuid4().hex
    other_client = redis_client(redis_url)
    try:
        one, two = breaker(cache_client, clock, namespace), breaker(other_client, clock, namespace)
        assert await one.admit("m") == "closed"
        await one.record("m", "closed", ok=False)
        assert await two.admit("m") == "suspect"
        await two.record("m", "suspect", ok=False)  # the second failure, on another replica
        assert (await one.admit("m"), await two.admit("m")) == ("open", "open")

        clock.now += 31
        admissions = await asyncio.gather(one.admit("m"), two.admit("m"), one.admit("m"))
        assert sorted(admissions) == ["open", "open", "probe"]
        await one.record("m", "probe", ok=False)  # still failing: another cool-down
        assert await two.admit("m") == "open"
        clock.now += 29
        assert await two.admit("m") == "open"
        clock.now += 2
        assert await two.admit("m") == "probe"
        await two.record("m", "probe", ok=True)
        assert (await one.admit("m"), await two.admit("m")) == ("closed", "closed")
        assert await one.admit("other-model") == "closed"  # each model has its own
    finally:
        await other_client.aclose()


async def test_a_probe_that_never_reports_lets_another_replica_probe(
    cache_client: redis.asyncio.Redis,
) -> None:
    clock = Clock()
    one = breaker(cache_client, clock, uuid.uuid4().hex)
    for _ in range(2):
        await one.record("m", "suspect", ok=False)
    clock.now += 31
    assert await one.admit("m") == "probe"  # and its replica dies
    clock.now += 19
    assert await one.admit("m") == "open"
    clock.now += 2  # past probe_seconds
    assert await one.admit("m") == "probe"


async def test_failures_further_apart_than_the_window_do_not_open_it(
    cache_client: redis.asyncio.Redis,
) -> None:
    clock = Clock()
    one = breaker(cache_client, clock, uuid.uuid4().hex)
    for _ in range(3):
        await one.record("m", await one.admit("m"), ok=False)
        clock.now += 61
    assert await one.admit("m") == "suspect"
    await one.record("m", "suspect", ok=True)  # a success forgets the failures
    assert await one.admit("m") == "closed"


async def test_without_redis_the_model_is_called_as_if_there_were_no_breaker(
    engine: AsyncEngine, llm: FakeOpenAI
) -> None:
    dead = redis_client(f"redis://127.0.0.1:{closed_port()}/0")
    try:
        bot = await live_bot(engine, dead, llm, llm.base_url)
        llm.default = lambda _body: 500
        for _ in range(3):
            assert (await bot.service.answer(Question(QUESTION))).degraded
        assert len(llm.requests) == 6  # every answer tried the model
        llm.default = model_answer
        assert not (await bot.service.answer(Question(QUESTION))).degraded
    finally:
        await dead.aclose()


async def test_postgres_down_apologises_and_answers_resume_when_it_is_back(
    database_url: str, postgres_server_url: str, cache_client: redis.asyncio.Redis
) -> None:
    async with postgres_outage(postgres_server_url, database_url) as (database, url):
        engine = create_engine(url)
        try:
            service, store = build_service(
                engine, ExtractiveAnswerWriter(), cache_client, uuid.uuid4().hex
            )
            document = policy(url="https://hb.test/leave", title="Leave Policy", sections=LEAVE)
            await store.upsert(document, chunk_document(document))
            assert (await service.answer(Question(QUESTION))).outcome == "answered"

            await database.cut()
            down = await service.answer(Question("Can I carry over unused days?"))
            assert down.outcome == "unavailable"
            assert down.text.startswith("Sorry, I can't answer right now")

            await database.restore()
            back = await service.answer(Question("Can I carry over unused days?"))
            assert (back.outcome, back.cached) == ("answered", False)
        finally:
            await engine.dispose()


def test_the_breaker_is_configured_and_can_be_turned_off(cache_client: redis.asyncio.Redis) -> None:
    default = build_safeguards(Settings.from_env({}), cache_client).breaker
    assert isinstance(default, RedisCircuitBreaker)
    assert default._options == BreakerOptions(3, 60.0, 30.0, 20.0 * 3 + 10)
    configured = Settings.from_env(
        {
            "SUPPORTBOT_LLM_BREAKER_FAILURES": "5",
            "SUPPORTBOT_LLM_BREAKER_WINDOW": "120",
            "SUPPORTBOT_LLM_BREAKER_COOLDOWN": "10",
            "SUPPORTBOT_LLM_TIMEOUT": "5",
            "SUPPORTBOT_LLM_MAX_RETRIES": "0",
        }
    )
    breaker = build_safeguards(configured, cache_client).breaker
    assert isinstance(breaker, RedisCircuitBreaker)
    assert breaker._options == BreakerOptions(5, 120.0, 10.0, 15.0)
    assert Settings.from_env({}).llm_answer_deadline == 10.0
    assert Settings.from_env({"SUPPORTBOT_LLM_ANSWER_DEADLINE": "2.5"}).llm_answer_deadline == 2.5
    off = Settings.from_env({"SUPPORTBOT_LLM_BREAKER_FAILURES": "0"})
    assert build_safeguards(off, cache_client).breaker is None
    with pytest.raises(SettingsError, match="SUPPORTBOT_LLM_BREAKER_COOLDOWN must be at least 1"):
        Settings.from_env({"SUPPORTBOT_LLM_BREAKER_COOLDOWN": "0"})
