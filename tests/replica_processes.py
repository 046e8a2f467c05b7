"""``supportbot serve`` processes for the tests that run several replicas, and the requests
Slack and Teams would send them."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.fake_openai import FakeOpenAI
from tests.fake_slack import FakeSlack, bot_environment
from tests.loopback import free_port


def replica_environment(
    slack: FakeSlack,
    *,
    database_url: str,
    redis_url: str,
    home: Path,
    llm: FakeOpenAI | None = None,
    **extra: str,
) -> dict[str, str]:
    """The settings of replicas that share one Postgres, Redis and ``home``, talk to ``slack``
    and take the fake Teams connector's activities (which carry no token), with ``llm`` as
    their chat model when one is given; ``extra`` adds or overrides."""
    model = (
        {}
        if llm is None
        else {
            "OPENAI_BASE_URL": llm.base_url,
            "OPENAI_API_KEY": "sk-test",
            "SUPPORTBOT_CHAT_MODEL": "test-model",
        }
    )
    return bot_environment(
        slack,
        database_url=database_url,
        redis_url=redis_url,
        SUPPORTBOT_HOME=str(home),
        TEAMS_ALLOW_UNAUTHENTICATED="1",
        **model,
        **extra,
    )


@dataclass
class Replica:
    url: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@asynccontextmanager
async def replicas(env: dict[str, str], count: int, logs: Path) -> AsyncIterator[list[Replica]]:
    """``count`` ``supportbot serve`` processes on free loopback ports, each healthy."""
    started: list[Replica] = []
    try:
        for n in range(count):
            started.append(await start_replica(env, logs / f"replica-{n}.log"))
        await asyncio.gather(*(wait_healthy(r) for r in started))
        yield started
    finally:
        for replica in started:
            if replica.process.returncode is None:
                replica.process.terminate()
        for replica in started:
            await replica.process.wait()


async def start_replica(env: dict[str, str], log: Path) -> Replica:
    port = free_port()
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
            env={**os.environ, **env},
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    return Replica(f"http://127.0.0.1:{port}", process, log)


async def wait_healthy(replica: Replica) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if replica.process.returncode is not None:
                raise AssertionError(f"supportbot serve exited: {replica.output()}")
            try:
                async with session.get(f"{replica.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"supportbot serve at {replica.url} did not become healthy")


async def post_event(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/slack/events", data=body, headers=headers) as response,
    ):
        return response.status


async def post_activity(url: str, activity: dict[str, object]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/api/messages", json=activity) as response,
    ):
        return response.status
