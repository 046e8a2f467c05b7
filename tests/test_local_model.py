"""A sentence-transformers model of the operator's, configured by path: built here (tiny, random,
saved to a folder) and loaded offline like any other, through the settings and the commands."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.answer_log import PgAnswerLog, Prices
from bot.core.answering import AnsweringOptions, AnswerService
from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.coverage import MinimumSimilarity
from bot.core.language import ANY_LANGUAGE
from bot.core.offline_writer import ExtractiveAnswerWriter
from bot.core.types import Question
from bot.service.settings import Settings
from bot.service.wiring import build_embedder
from knowledge.chunking import chunk_document
from knowledge.errors import EmbeddingError, EmbeddingModelMismatchError
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.test_cli import run

DIMENSION = 16
PORTUGUESE = "Quantos dias de férias tenho por ano?"
HOLIDAYS = {"Férias": "Tem direito a 25 dias de férias por ano, mais os feriados."}
VOCABULARY = (
    "[PAD] [UNK] [CLS] [SEP] [MASK] how many days of annual leave do i get quantos dias de "
    "férias tenho por ano tem direito a 25 mais os feriados"
).split()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BERT of one small layer over a vocabulary written here, mean-pooled, then a dense
    layer to ``DIMENSION``: the model says its own size, which is not its hidden size."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny-model")
    bert = root / "bert"
    bert.mkdir()
    (bert / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    BertTokenizerFast(vocab_file=str(bert / "vocab.txt")).save_pretrained(bert)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(VOCABULARY),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(bert)
    transformer = Transformer(str(bert), max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    dense = Dense(in_features=32, out_features=DIMENSION, activation_function=torch.nn.Tanh())
    model = root / "model"
    SentenceTransformer(modules=[transformer, pooling, dense], device="cpu").save(str(model))
    return model


def local_settings(model: Path | str) -> Settings:
    return Settings.from_env(
        {"SUPPORTBOT_EMBEDDER": "local", "SUPPORTBOT_EMBEDDING_MODEL": str(model)}
    )


async def test_a_model_is_loaded_from_its_folder(tiny_model: Path) -> None:
    settings = local_settings(tiny_model)
    embedder = build_embedder(settings)
    assert (embedder.model, embedder.dimension) == (str(tiny_model), DIMENSION)
    vectors = await embedder.embed(["how many days of annual leave do i get", PORTUGUESE])
    assert vectors.shape == (2, DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = await embedder.embed([PORTUGUESE])
    assert np.allclose(again[0], vectors[1], atol=1e-6)
    assert (await embedder.embed([])).shape == (0, DIMENSION)
    assert settings.search_languages == ANY_LANGUAGE  # often multilingual: not declined


@pytest.mark.parametrize(
    ("folder", "reason"),
    [
        ("missing", "there is no such folder"),
        ("empty", "Unrecognized model"),
    ],
)
def test_a_model_that_cannot_load_is_one_line_naming_it(
    tmp_path: Path, folder: str, reason: str
) -> None:
    path = tmp_path / folder
    if folder == "empty":
        path.mkdir()
    with pytest.raises(EmbeddingError) as caught:
        _ = build_embedder(local_settings(path)).dimension
    message = str(caught.value)
    assert message.startswith(f"the embedding model {path} could not be loaded: ")
    assert reason in message and "\n" not in message


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[RedisAnswerCache]:
    client: redis.asyncio.Redis = redis_client(redis_url)
    yield RedisAnswerCache(client, ttl_seconds=60, namespace=uuid.uuid4().hex)
    await client.aclose()


async def test_a_corpus_of_another_size_is_reindexed_then_searched_in_any_language(
    engine: AsyncEngine, tiny_model: Path, cache: RedisAnswerCache
) -> None:
    settings = local_settings(tiny_model)
    embedder = build_embedder(settings)
    store = PgDocumentStore(engine, embedder)
    with pytest.raises(EmbeddingModelMismatchError) as caught:
        await store.check_embedder()  # the test database was made for 384 dimensions
    assert str(caught.value).endswith("run `supportbot reindex`")
    assert f"({DIMENSION} dimensions)" in str(caught.value)
    await store.reindex()
    await store.check_embedder()
    document = policy(url="https://hb.test/ferias", title="Férias", sections=HOLIDAYS)
    await store.upsert(document, chunk_document(document))

    service = AnswerService(
        # A random model's similarities mean nothing: let every section through.
        retriever=PgHybridRetriever(engine, embedder, RetrievalOptions(min_similarity=-1.0)),
        store=store,
        writer=ExtractiveAnswerWriter(),
        cache=cache,
        answer_log=PgAnswerLog(engine, Prices()),
        options=AnsweringOptions(
            coverage=MinimumSimilarity(-1.0), languages=settings.search_languages
        ),
    )
    answer = await service.answer(Question(PORTUGUESE))
    assert answer.sources and answer.sources[0].title == "Férias"
    assert "só consigo pesquisar" not in answer.text


def test_the_commands_migrate_for_the_model_and_do_not_decline_other_languages(
    empty_database_url: str, database_url: str, tiny_model: Path, tmp_path: Path
) -> None:
    model = {"SUPPORTBOT_EMBEDDER": "local", "SUPPORTBOT_EMBEDDING_MODEL": str(tiny_model)}

    def fresh(*args: str) -> subprocess.CompletedProcess[str]:
        return run(*args, database_url=empty_database_url, home=tmp_path, extra_env=model)

    assert fresh("migrate").returncode == 0  # the vector column is made for the model's size
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferias.md").write_text(f"# Férias\n\n{HOLIDAYS['Férias']}\n")
    ingested = fresh("ingest", str(folder))
    assert ingested.returncode == 0, ingested.stderr
    asked = fresh("ask", PORTUGUESE, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert [source["title"] for source in answer["sources"]] == ["Férias"]
    assert "só consigo pesquisar" not in answer["text"]

    built_for_another = run(  # a database made for 384 dimensions
        "search", "vpn", database_url=database_url, home=tmp_path, extra_env=model
    )
    assert built_for_another.returncode == 1
    [line] = built_for_another.stderr.strip().splitlines()
    assert f"{tiny_model} ({DIMENSION} dimensions): run `supportbot reindex`" in line
