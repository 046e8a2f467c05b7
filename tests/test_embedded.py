"""The embedded defaults: Postgres with pgvector and Redis, started and reused from a home dir."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio

from bot.core.cache import RedisAnswerCache, redis_client
from bot.core.types import Answer, Citation, Turn
from bot.loop.answer_records import AnswerRecord, RedisAnswerRecords
from bot.platforms.memory import RedisConversationMemory
from bot.service.embedded import AOF_FILE, EmbeddedRedis, stop_postgres
from bot.service.markers import RedisMarkers
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
        second.stop()  # another handle still uses it, so it must not stop
        assert EmbeddedRedis(Path(home))._answers()
        first.stop()
        assert not EmbeddedRedis(Path(home))._answers()


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


@pytest.fixture
def home() -> Iterator[Path]:
    # Short: a Unix socket's path is limited to about 100 characters.
    with tempfile.TemporaryDirectory(prefix="sbr-", dir="/tmp") as name:
        yield Path(name)


ANSWER = Answer(
    id="a1",
    text="You get 25 days [1].",
    citations=(Citation(1, "d1", "Leave Policy", "Annual leave", "https://hb.test/leave"),),
    grounded=True,
    outcome="answered",
    model="offline-extractive",
)


async def test_thread_memory_answers_claims_and_cache_survive_a_restart(home: Path) -> None:
    first = EmbeddedRedis(home)
    client = redis_client(await first.start())
    try:
        memory = RedisConversationMemory(client, "sb")
        await memory.remember("conv-1", "How much leave?", "25 days [1].", ttl_seconds=600)
        record = AnswerRecord("How much leave?", ("public",), "asker-1", None, ANSWER)
        await RedisAnswerRecords(client, "sb", 600).put(record)
        assert await RedisMarkers(client, "sb").claim("slack:event:Ev1", 600)
        await RedisAnswerCache(client, 600, "sb").put("key-1", ANSWER)
    finally:
        await client.aclose()
    first.stop()  # the last handle: the server shuts down
    assert not EmbeddedRedis(home)._answers()
    assert (home / "redis" / AOF_FILE).stat().st_size > 0

    second = EmbeddedRedis(home)
    client = redis_client(await second.start())
    try:
        turns = await RedisConversationMemory(client, "sb").turns("conv-1")
        assert turns == (Turn("user", "How much leave?"), Turn("assistant", "25 days [1]."))
        assert await RedisAnswerRecords(client, "sb", 600).get("a1") == record
        assert not await RedisMarkers(client, "sb").claim("slack:event:Ev1", 600)
        assert await RedisAnswerCache(client, 600, "sb").get("key-1") == ANSWER
    finally:
        await client.aclose()
        second.stop()


async def test_the_server_outlives_the_handle_that_started_it(home: Path) -> None:
    starter, joiner = EmbeddedRedis(home), EmbeddedRedis(home)
    url = await starter.start()
    await joiner.start()
    starter.stop()  # another handle still uses it
    client = redis_client(url)
    try:
        assert await client.set("k", "v")
    finally:
        await client.aclose()
    joiner.stop()  # the last handle, which did not start it, shuts it down by command
    assert not EmbeddedRedis(home)._answers()
    assert list((home / "redis" / "handles").iterdir()) == []


async def test_a_home_from_before_the_append_only_file_starts(home: Path) -> None:
    # What the earlier version left: a log and a dead socket, no data file.
    (home / "redis").mkdir()
    (home / "redis" / "redis.log").write_text("old log\n")
    (home / "redis" / "redis.sock").touch()
    server = EmbeddedRedis(home)
    client = redis_client(await server.start())
    try:
        assert await client.set("k", "v")
    finally:
        await client.aclose()
        server.stop()
    assert (home / "redis" / AOF_FILE).exists()


async def test_an_unreadable_append_only_file_is_set_aside(home: Path) -> None:
    (home / "redis").mkdir()
    (home / "redis" / AOF_FILE).write_bytes(b"*3\r\n$3\r\nSET\r\nnot a command\r\n" * 3)
    server = EmbeddedRedis(home)
    client = redis_client(await server.start())
    try:
        assert await client.dbsize() == 0
    finally:
        await client.aclose()
        server.stop()
    [aside] = (home / "redis").glob(f"{AOF_FILE}.unreadable-*")
    assert aside.read_bytes().startswith(b"*3\r\n$3\r\nSET")


async def test_handles_starting_at_once_share_one_server(home: Path) -> None:
    handles = [EmbeddedRedis(home) for _ in range(3)]
    urls = await asyncio.gather(*(h.start() for h in handles))
    assert len(set(urls)) == 1
    assert sum(h._process is not None for h in handles) == 1
    for handle in handles:
        handle.stop()
    assert not EmbeddedRedis(home)._answers()


# Starts the embedded Redis, prints its server's process id, waits for stdin to close, stops.
_USER = """
import asyncio, sys
from pathlib import Path
import redis
from bot.service.embedded import EmbeddedRedis

async def main():
    server = EmbeddedRedis(Path(sys.argv[1]))
    await server.start()
    print(redis.Redis(unix_socket_path=str(server.socket)).info("server")["process_id"], flush=True)
    await asyncio.to_thread(sys.stdin.read)
    server.stop()

asyncio.run(main())
"""


def test_processes_on_one_home_share_one_server_until_the_last_stops(home: Path) -> None:
    users = [
        subprocess.Popen(
            [sys.executable, "-c", _USER, str(home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        servers = {user.stdout.readline().strip() for user in users if user.stdout}
        assert len(servers) == 1 and servers != {""}
        for user in users[:2]:  # the one that started it may be among these
            user.communicate("", timeout=30)
        assert EmbeddedRedis(home)._answers()
        users[2].communicate("", timeout=30)
        assert not EmbeddedRedis(home)._answers()
    finally:
        for user in users:
            user.kill()
