"""Two ``supportbot serve`` processes sharing one Postgres and one Redis answer a retried Slack
event or Teams activity once, whichever process each delivery reaches."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from knowledge.chunking import chunk_document
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.fake_slack import (
    BOT_USER_ID,
    bot_environment,
    event_body,
    fake_slack,
    mention,
    signed_headers,
)
from tests.fake_teams import channel_mention, fake_connector


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def supportbot_serve(env: dict[str, str]) -> AsyncIterator[str]:
    """A ``supportbot serve`` process on a free loopback port; yields its base URL."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        await process.wait()


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                output = await process.stdout.read() if process.stdout else b""
                raise AssertionError(f"supportbot serve exited: {output.decode()[-2000:]}")
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"supportbot serve at {url} did not become healthy")


async def test_retried_deliveries_are_answered_once_across_two_processes(
    database_url: str, redis_url: str, store: PgDocumentStore, tmp_path: Path
) -> None:
    document = policy(url="https://hb.test/leave")
    await store.upsert(document, chunk_document(document))
    async with fake_slack() as slack, fake_connector() as teams:
        env = bot_environment(
            slack, database_url=database_url, redis_url=redis_url, SUPPORTBOT_HOME=str(tmp_path)
        )
        async with supportbot_serve(env) as first, supportbot_serve(env) as second:
            activities = []
            for n in range(5):
                question = mention(f"<@{BOT_USER_ID}> How many days of annual leave? ({n})")
                body = event_body(question, event_id=f"EvTWICE{n}")
                activity = channel_mention(
                    f"How many days of annual leave? ({n})", service_url=teams.service_url
                )
                activities.append(activity)
                await asyncio.gather(
                    _post(first, body, signed_headers(body)),
                    _post(second, body, signed_headers(body, retry_num=1)),
                    _post_activity(first, activity),
                    _post_activity(second, activity),
                )
            await slack.wait_for(lambda: len(slack.posted()) >= 5, timeout=30)
            await teams.wait_for(lambda: len(teams.activities()) >= 5, timeout=30)
            await asyncio.sleep(1.0)
    assert len(slack.posted()) == 5
    assert len({p["thread_ts"] for p in slack.posted()}) == 5
    assert [len(teams.replies_to(a["id"])) for a in activities] == [2] * 5  # typing, answer
    assert len(teams.activities()) == 5


async def _post_activity(url: str, activity: dict[str, object]) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/api/messages", json=activity) as response,
    ):
        assert response.status == 201


async def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        assert response.status == 200
