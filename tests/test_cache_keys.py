"""Two knowledge bases that share one Redis never answer from each other's cache."""

from __future__ import annotations

import uuid

import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.types import Question
from knowledge.chunking import chunk_document
from knowledge.database import create_engine, migrate
from tests.documents import policy
from tests.test_answering import build_service

QUESTION = "How many days of annual leave do I get?"


async def test_same_corpus_version_in_another_database_is_not_a_cache_hit(
    engine: AsyncEngine, empty_database_url: str, cache_client: redis.asyncio.Redis
) -> None:
    other_engine = create_engine(empty_database_url)
    try:
        await migrate(other_engine, embedding_dimension=384)
        prompt_version = uuid.uuid4().hex  # the same deployment settings on both sides
        answers = []
        for database, days in ((engine, 25), (other_engine, 30)):
            service, store = build_service(
                database, ExtractiveAnswerWriter(), cache_client, prompt_version
            )
            leave = {"Annual leave": f"Full-time staff get {days} days of annual leave a year."}
            document = policy(url="https://hb.test/leave", sections=leave)
            await store.upsert(document, chunk_document(document))
            answers.append(await service.answer(Question(QUESTION)))
            assert (await store.corpus_state()).version == 1  # the versions are equal
        first, second = answers
        assert "25 days" in first.text and not first.cached
        assert "30 days" in second.text and not second.cached
        # The same knowledge base asked again is a hit: the key still finds what it stored.
        again = await service.answer(Question(QUESTION))
        assert again.cached and "30 days" in again.text
    finally:
        await other_engine.dispose()
