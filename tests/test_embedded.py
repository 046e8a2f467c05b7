"""The embedded defaults: Postgres with pgvector and Redis, started and reused from a home dir."""

from __future__ import annotations

import tempfile
from pathlib import Path

import redis.asyncio

from bot.service.embedded import EmbeddedRedis, stop_postgres
from bot.service.settings import Settings
from bot.service.wiring import database_url
from knowledge.database import create_engine, migrate


async def test_redis_server_is_real_and_reused(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert await client.set("supportbot:test", "1", ex=5)
        assert await client.get("supportbot:test") == b"1"
    finally:
        await client.aclose()


async def test_embedded_redis_joins_a_running_server() -> None:
    with tempfile.TemporaryDirectory(prefix="sbr-", dir="/tmp") as home:
        first = EmbeddedRedis(Path(home))
        url = await first.start()
        second = EmbeddedRedis(Path(home))
        assert await second.start() == url
        client = redis.asyncio.Redis.from_url(url)
        try:
            assert await client.ping()
        finally:
            await client.aclose()
        second.stop()  # did not start it, so must not stop it
        assert await EmbeddedRedis(Path(home))._answers()
        first.stop()
        assert not await EmbeddedRedis(Path(home))._answers()


async def test_embedded_postgres_keeps_its_data_between_runs() -> None:
    with tempfile.TemporaryDirectory(prefix="sbp-", dir="/tmp") as home:
        settings = Settings.from_env({"SUPPORTBOT_HOME": home})
        url = await database_url(settings)
        assert url.endswith("/supportbot?host=" + str(Path(home) / "postgres").replace("/", "%2F"))
        engine = create_engine(url)
        try:
            assert (await migrate(engine, embedding_dimension=384))[0] is None
        finally:
            await engine.dispose()
        engine = create_engine(await database_url(settings))
        try:
            before, _ = await migrate(engine, embedding_dimension=384)
            assert before is not None  # the schema from the first run is still there
        finally:
            await engine.dispose()
            await stop_postgres(Path(home))
