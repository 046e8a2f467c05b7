"""Socket Mode end to end: ``supportbot serve`` with ``SLACK_APP_TOKEN`` connects out to the
fake Slack's websocket, answers an ``app_mention`` pushed over it, and exposes no events URL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.app import SlackTokenError
from bot.service.server import SLACK_EVENTS_PATH, serve
from bot.service.settings import Secret, Settings
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.fake_slack import (
    APP_ID,
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    FakeSlack,
    bot_environment,
    event_body,
    fake_slack,
    mention,
    signed_headers,
)
from tests.loopback import free_port

SHUTDOWN_SECONDS = 15


@dataclass
class Served:
    url: str
    task: asyncio.Task[None]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with fake_slack() as fake:
        yield fake


@pytest.fixture
async def settings(slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    settings = Settings.from_env(
        bot_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_HOME=str(tmp_path),
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_SIGNING_SECRET="",  # Socket Mode needs none
        )
    )
    async with open_core(settings) as core:
        document = policy(url="https://hb.test/leave", title="Leave Policy")  # 25 days
        await core.kb.store.upsert(document, chunk_document(document))
    return settings


@asynccontextmanager
async def serving(settings: Settings, slack: FakeSlack) -> AsyncIterator[Served]:
    """Run ``serve`` as a task until its Socket Mode client is connected; cancel it after,
    failing if it does not stop (closing its socket) within ``SHUTDOWN_SECONDS``."""
    port = free_port()
    task = asyncio.create_task(serve(settings, host="127.0.0.1", port=port))
    try:
        await slack.wait_for(lambda: slack.socket_connections > 0 or task.done())
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("serve returned before connecting")
        yield Served(f"http://127.0.0.1:{port}", task)
    finally:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_SECONDS)
        assert task in done, f"serve did not stop within {SHUTDOWN_SECONDS}s of cancellation"
    assert task.cancelled(), task.exception()
    await slack.wait_for(lambda: slack.socket_connections == 0)


async def test_a_mention_over_socket_mode_is_acked_and_answered_in_its_thread(
    settings: Settings, slack: FakeSlack
) -> None:
    async with serving(settings, slack) as served:
        # One call checks the token at start, one opens the socket.
        assert [c.token for c in slack.calls_to("apps.connections.open")] == [APP_TOKEN] * 2
        question = slack.remember(
            mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
        )
        envelope_id = await slack.socket_event(question)
        await slack.wait_for(lambda: envelope_id in slack.socket_acks)
        await slack.wait_for(lambda: bool(slack.posted("CGENERAL")))
        [reply] = slack.posted("CGENERAL")
        assert reply["thread_ts"] == question["ts"]
        assert "25 days of annual leave" in reply["text"]

        async with aiohttp.ClientSession() as session:
            body = event_body(question)
            async with session.post(
                f"{served.url}{SLACK_EVENTS_PATH}", data=body, headers=signed_headers(body)
            ) as response:
                assert response.status in (404, 405)
            async with session.get(f"{served.url}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok"}
    assert slack.socket_acks == [envelope_id]
    assert len(slack.posted()) == 1


async def test_an_event_redelivered_over_the_socket_is_answered_once(
    settings: Settings, slack: FakeSlack
) -> None:
    async with serving(settings, slack):
        question = mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
        first = await slack.socket_event(question, event_id="EvSOCKET1")
        retry = await slack.socket_event(question, event_id="EvSOCKET1", retry_attempt=1)
        await slack.wait_for(lambda: {first, retry} <= set(slack.socket_acks))
        await slack.wait_for(lambda: bool(slack.posted()))
        await asyncio.sleep(1.0)
        assert len(slack.posted()) == 1
        assert "25 days" in slack.posted()[0]["text"]


async def test_the_fake_socket_needs_the_app_token_and_a_ticket_and_answers_pings() -> None:
    async with aiohttp.ClientSession() as session:
        async with fake_slack() as slack:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
            with pytest.raises(SlackApiError) as refused:
                await client.apps_connections_open(app_token=BOT_TOKEN)
            assert refused.value.response["error"] == "invalid_auth"
            url = (await client.apps_connections_open(app_token=APP_TOKEN))["url"]
            assert url.startswith(f"ws://{slack.base_url.removeprefix('http://')}/")
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(url.split("?")[0] + "?ticket=forged")
            ws = await session.ws_connect(url, autoping=False)
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello" and hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": APP_ID}
            await ws.ping(b"sdk-ping-pong:1")
            pong = await ws.receive(timeout=5)
            assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"sdk-ping-pong:1")
            envelope_id = await slack.socket_event(mention("<@UBOT> hi"), event_id="EvX")
            envelope = await ws.receive_json(timeout=5)
            assert envelope["envelope_id"] == envelope_id
            assert envelope["payload"]["event_id"] == "EvX"
            await ws.send_json({"envelope_id": envelope_id})
            await slack.wait_for(lambda: slack.socket_acks == [envelope_id])
            await ws.close()  # a client leaving is forgotten
            await slack.wait_for(lambda: slack.socket_connections == 0)
            with pytest.raises(AssertionError, match="no Socket Mode client"):
                await slack.socket_event(mention("<@UBOT> anyone?"))
            staying = await session.ws_connect(url)  # still connected when the fake stops
            await slack.wait_for_socket()
            closing = asyncio.get_running_loop().time()
        assert asyncio.get_running_loop().time() - closing < 5
        assert (await staying.receive_json(timeout=5))["type"] == "hello"
        closed = await staying.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE
        assert closed.data == aiohttp.WSCloseCode.GOING_AWAY


@pytest.mark.parametrize(
    ("token", "setting"),
    [("slack_app_token", "SLACK_APP_TOKEN"), ("slack_bot_token", "SLACK_BOT_TOKEN")],
)
async def test_a_token_slack_refuses_stops_serve_at_once_with_the_setting_named(
    settings: Settings, token: str, setting: str
) -> None:
    wrong = dataclasses.replace(settings, **{token: Secret("xoxx-wrong")})
    with pytest.raises(SlackTokenError, match=f"{setting} was refused by Slack: invalid_auth"):
        await asyncio.wait_for(serve(wrong, host="127.0.0.1", port=free_port()), timeout=30)
