"""Questions in other languages on the sample handbook, as the outside-in check asks them: with
the default (English) model each is declined in its own language, never answered with an
unrelated policy, while the English control is answered from the right one."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.coverage import FITTED_FOR_MINILM
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.types import Question
from bot.service.settings import Settings
from knowledge.embedders import LocalEmbedder
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.store import PgDocumentStore
from tests.test_cli import run

CONTROL = ("How many weeks of partner leave do I get?", "parental-leave")
# (question, the start of the reply in its language)
OTHER_LANGUAGES = [
    ("Quantos dias de férias tenho por ano?", "Desculpe, só consigo pesquisar"),
    ("Quanto tempo de férias tenho por ano?", "Desculpe, só consigo pesquisar"),
    ("Perdi o meu portátil, o que devo fazer?", "Desculpe, só consigo pesquisar"),
    ("¿Cuántas semanas de permiso de paternidad me corresponden?", "Lo siento, solo puedo"),
    ("Ich habe meinen Laptop verloren, was muss ich tun?", "Entschuldigung, ich kann"),
    ("Wie viele Urlaubstage bekomme ich im Jahr?", "Entschuldigung, ich kann"),
]


@pytest.fixture
async def handbook(
    sample_model_engine: AsyncEngine, redis_url: str, local_model: LocalEmbedder
) -> AsyncIterator[AnswerService]:
    """The sample handbook, the bundled model and the offline writer, at the default settings."""
    settings = Settings.from_env({})
    engine = sample_model_engine
    client: redis.asyncio.Redis = redis_client(redis_url)
    retrieval = RetrievalOptions(min_similarity=settings.min_similarity)
    try:
        yield AnswerService(
            retriever=PgHybridRetriever(engine, local_model, retrieval),
            store=PgDocumentStore(engine, local_model),
            writer=ExtractiveAnswerWriter(),
            cache=RedisAnswerCache(client, ttl_seconds=60, namespace=uuid.uuid4().hex),
            answer_log=PgAnswerLog(engine, Prices()),
            options=AnsweringOptions(
                coverage=FITTED_FOR_MINILM,
                contact=settings.contact,
                languages=settings.search_languages,
            ),
        )
    finally:
        await client.aclose()


@pytest.mark.model
async def test_on_the_handbook_other_languages_are_declined_and_english_answered(
    handbook: AnswerService,
) -> None:
    for question, reply in OTHER_LANGUAGES:
        answer = await handbook.answer(Question(question))
        assert not answer.grounded and answer.citations == (), question
        assert answer.text.startswith(reply), answer.text
        assert "your manager or the People Team" in answer.text
    question, policy = CONTROL
    answer = await handbook.answer(Question(question))
    assert answer.grounded
    assert any(policy in citation.url for citation in answer.citations), answer.citations


def test_ask_batch_declines_other_languages_with_the_default_languages(
    database_url: str, tmp_path: Path
) -> None:
    assert run("ingest", "--sample", database_url=database_url, home=tmp_path).returncode == 0
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join([q for q, _ in OTHER_LANGUAGES] + [CONTROL[0]]) + "\n")
    asked = run(
        "ask", "--batch", str(questions), "--json", database_url=database_url, home=tmp_path
    )
    assert asked.returncode == 0, asked.stderr
    *declined, control = [json.loads(line) for line in asked.stdout.splitlines()]
    for (question, reply), answer in zip(OTHER_LANGUAGES, declined, strict=True):
        assert (answer["grounded"], answer["citations"], answer["sources"]) == (False, [], [])
        assert answer["text"].startswith(reply), question
    assert control["grounded"]
    assert any(CONTROL[1] in citation["url"] for citation in control["citations"])
