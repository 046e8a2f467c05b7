"""A new question in a conversation is answered as if asked alone; a follow-up keeps its thread.

The last test runs the issue's sequences on the sample handbook with the bundled model and the
offline writer, as ``supportbot chat`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.follow_up import continues_thread, subject_terms
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.types import Answer, Question, Turn
from knowledge.embedders import LocalEmbedder
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.store import PgDocumentStore

LEAVE_QUESTION = "How many days of annual leave do I get?"
PORTUGUESE_HOLIDAYS = "Quanto tempo de férias tenho por ano?"


@pytest.mark.parametrize(
    "message",
    [
        "and can I carry some over?",
        "And for contractors?",
        "what about part-timers?",
        "does that cover a chair too?",
        "is it paid?",
        "Do part-timers get the same?",
        "for contractors?",
        "why?",
        "Parental leave?",
        "e para os contratados?",
        "ok, and does anyone need to sign off the trip itself?",
        "Do I need my manager's OK for that?",
    ],
)
def test_a_message_that_leans_on_the_thread_is_a_follow_up(message: str) -> None:
    assert continues_thread(message, LEAVE_QUESTION)


@pytest.mark.parametrize(
    "message",
    [
        "Quanto tempo de férias tenho por ano?",
        "How many weeks of partner leave do I get?",
        "What is the wifi password in the Lisbon office?",
        "Is it possible to work from another country for a month?",
        "How many days do I get this year?",
        "Can employees bring their dogs to the office?",
        "Expenses policy?",
        "what time does the IT helpdesk open?",
        "my partner is due in June - how much paternity leave do I get and is it paid?",
        "I lost the receipt for a £20 taxi. Can I still claim it?",
        "I inherited £40,000 and have savings of around the same amount. Do I pay tax on it?",
    ],
)
def test_a_question_that_stands_alone_starts_a_new_topic(message: str) -> None:
    assert not continues_thread(message, LEAVE_QUESTION)


def test_without_an_earlier_question_nothing_is_a_follow_up() -> None:
    assert not continues_thread("and for contractors?", "")


def test_the_subject_is_the_earlier_question_s_key_words() -> None:
    assert subject_terms(LEAVE_QUESTION) == ["days", "annual", "leave"]


def _thread(*questions: str) -> tuple[Turn, ...]:
    turns: list[Turn] = []
    for text in questions:
        turns += [Turn("user", text), Turn("assistant", "An earlier answer [1].")]
    return tuple(turns)


async def test_offline_a_new_topic_is_searched_exactly_as_asked() -> None:
    writer = ExtractiveAnswerWriter()
    new_topic = "How many weeks of partner leave do I get?"
    asked = Question(new_topic, history=_thread("How do I report a lost laptop?"))
    standalone, _ = await writer.standalone(asked)
    assert standalone == new_topic


async def test_offline_a_follow_up_keeps_its_own_words_first_then_the_thread_s_question() -> None:
    writer = ExtractiveAnswerWriter()
    asked = Question(
        "and can I carry some over?",
        history=_thread("How do I report a lost laptop?", LEAVE_QUESTION),
    )
    standalone, _ = await writer.standalone(asked)
    assert standalone == f"and can I carry some over? {LEAVE_QUESTION}"


@pytest.fixture
async def handbook(
    sample_model_engine: AsyncEngine, redis_url: str, local_model: LocalEmbedder
) -> AsyncIterator[AnswerService]:
    """The sample handbook with the bundled model and the offline writer, default thresholds."""
    engine = sample_model_engine
    client: redis.asyncio.Redis = redis_client(redis_url)
    try:
        yield AnswerService(
            retriever=PgHybridRetriever(engine, local_model, RetrievalOptions(min_similarity=0.2)),
            store=PgDocumentStore(engine, local_model),
            writer=ExtractiveAnswerWriter(),
            cache=RedisAnswerCache(client, ttl_seconds=60, namespace=uuid.uuid4().hex),
            answer_log=PgAnswerLog(engine, Prices(0.0, 0.0)),
            options=AnsweringOptions(prompt_version=uuid.uuid4().hex),
        )
    finally:
        await client.aclose()


def _cited(answer: Answer) -> list[str]:
    return sorted(c.url for c in answer.citations)


@pytest.mark.model
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "What is the wifi password in the Lisbon office?",
            "Quanto tempo de férias tenho por ano?",
        ),
        ("How do I report a lost laptop?", "How many weeks of partner leave do I get?"),
    ],
)
async def test_on_the_handbook_a_new_topic_is_answered_as_if_asked_alone(
    handbook: AnswerService, first: str, second: str
) -> None:
    alone = await handbook.answer(Question(second))
    before = await handbook.answer(Question(first))
    after = await handbook.answer(
        Question(second, history=(Turn("user", first), Turn("assistant", before.text)))
    )
    assert (after.outcome, _cited(after)) == (alone.outcome, _cited(alone))
    assert after.standalone_question in (second, None)


@pytest.mark.model
async def test_on_the_handbook_a_follow_up_keeps_its_thread(handbook: AnswerService) -> None:
    first = await handbook.answer(Question(LEAVE_QUESTION))
    follow_up = await handbook.answer(
        Question(
            "and can I carry some over?",
            history=(Turn("user", LEAVE_QUESTION), Turn("assistant", first.text)),
        )
    )
    assert follow_up.outcome == "answered"
    assert any("annual-leave" in c.url for c in follow_up.citations), follow_up.citations
    assert any("carry" in (c.section or "").lower() for c in follow_up.citations), [
        c.section for c in follow_up.citations
    ]
