"""The fitted "is it covered?" decision on the sample handbook with the bundled model, as
`supportbot demo` runs it: everyday questions are answered from the right policy, leading with
the sentence that answers; a question nothing in the handbook is close to is declined. (Which
borderline questions it declines is measured by `supportbot eval`, not asserted here.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.coverage import FITTED_FOR_MINILM
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.types import Question
from knowledge.embedders import LocalEmbedder
from knowledge.retrieval import PgHybridRetriever
from knowledge.store import PgDocumentStore

pytestmark = pytest.mark.model


@pytest.fixture
async def handbook(
    sample_model_engine: AsyncEngine, redis_url: str, local_model: LocalEmbedder
) -> AsyncIterator[AnswerService]:
    engine = sample_model_engine
    client: redis.asyncio.Redis = redis_client(redis_url)
    try:
        yield AnswerService(
            retriever=PgHybridRetriever(engine, local_model),
            store=PgDocumentStore(engine, local_model),
            writer=ExtractiveAnswerWriter(),
            cache=RedisAnswerCache(client, ttl_seconds=60, namespace=uuid.uuid4().hex),
            answer_log=PgAnswerLog(engine, Prices(0.0, 0.0)),
            options=AnsweringOptions(coverage=FITTED_FOR_MINILM),
        )
    finally:
        await client.aclose()


async def test_a_question_nothing_is_close_to_is_declined(handbook: AnswerService) -> None:
    answer = await handbook.answer(Question("What's the best recipe for banana bread?"))
    assert answer.outcome == "not_covered" and not answer.citations


@pytest.mark.parametrize(
    ("question", "policy", "quoted"),
    [
        ("How many weeks of partner leave do I get?", "parental-leave", "weeks"),
        ("I lost my laptop, what do I do?", "incident-reporting|equipment", "laptop"),
    ],
)
async def test_everyday_questions_are_answered_from_the_right_policy(
    handbook: AnswerService, question: str, policy: str, quoted: str
) -> None:
    answer = await handbook.answer(Question(question))
    assert answer.outcome == "answered"
    assert any(name in answer.citations[0].url for name in policy.split("|"))
    lead = answer.text.splitlines()[2]
    assert quoted in lead.lower() and lead.endswith("[1]")
