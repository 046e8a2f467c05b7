"""Who may reach ``/api/messages``: nobody in a deployment without Teams credentials; with
``TEAMS_ALLOW_UNAUTHENTICATED`` (local development) only requests made directly from loopback,
on a server listening on loopback; with credentials and ``TEAMS_ALLOWED_TENANTS``, only the
listed tenants' activities."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication

from bot.platforms.teams.app import build_teams_endpoint
from bot.service.server import serve
from bot.service.settings import Settings, SettingsError
from bot.service.wiring import open_core
from tests.fake_slack import bot_environment, fake_slack
from tests.fake_teams import (
    BOT_APP_ID,
    BOT_PASSWORD,
    TENANT_ID,
    FakeBotConnector,
    personal_message,
    token_issuer,
)
from tests.loopback import free_port
from tests.test_teams import ADMIN, QUESTION, TeamsBot, _environment, access_file, connector
from tests.test_teams import running_bot as running_teams_bot

__all__ = ["access_file", "connector"]  # fixtures used by the tests below

OTHER_TENANT = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
# What a reverse proxy in front of the server adds: with it, every request comes from loopback.
PROXIED = [
    {"X-Forwarded-For": "203.0.113.7"},
    {"Forwarded": "for=203.0.113.7;proto=https"},
    {"X-Real-IP": "203.0.113.7"},
    {"Via": "1.1 proxy.example"},
]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """``supportbot serve`` as a task on a loopback port until it answers /healthz."""
    port = free_port()
    task = asyncio.create_task(serve(settings, host="127.0.0.1", port=port))
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                if task.done():
                    task.result()
                    raise AssertionError("serve returned before serving")
                try:
                    async with session.get(f"{url}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        yield url
    finally:
        task.cancel()
        await asyncio.wait({task}, timeout=15)


async def _post(url: str, activity: dict[str, Any], headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/api/messages", json=activity, headers=headers) as response,
    ):
        return response.status


async def test_a_slack_only_deployment_has_no_teams_endpoint(
    database_url: str, redis_url: str
) -> None:
    async with fake_slack() as slack:
        settings = Settings.from_env(
            bot_environment(slack, database_url=database_url, redis_url=redis_url)
        )
        assert not settings.teams_enabled
        async with serving(settings) as url:
            activity = personal_message(QUESTION, service_url="https://attacker.example/")
            # From loopback, as every request is behind a reverse proxy on the same machine.
            for headers in [{}, *PROXIED]:
                assert await _post(url, activity, headers) == 404
    async with open_core(settings) as core:
        with pytest.raises(SettingsError, match="Teams needs MICROSOFT_APP_ID"):
            build_teams_endpoint(settings, core)


async def test_without_credentials_a_request_a_proxy_forwarded_is_refused(
    database_url: str, redis_url: str, access_file: Path, connector: FakeBotConnector
) -> None:
    settings = _environment(database_url, redis_url, access_file)
    assert settings.teams_allow_unauthenticated
    async with running_teams_bot(settings, connector) as bot:
        url = connector.service_url
        for headers in PROXIED:
            command = personal_message("kb remove Leave Policy", user=ADMIN, service_url=url)
            status, body = await bot.post(command, headers)
            assert status == 403 and "directly from loopback" in body
        await asyncio.sleep(0.3)
        assert connector.calls == []
        assert len(await bot.core.kb.store.list_documents()) == 2
        # Straight from loopback, the Bot Framework Emulator's way, it answers.
        await bot.ask(personal_message(QUESTION, service_url=url))


async def test_without_credentials_serve_refuses_to_listen_beyond_loopback(
    database_url: str, redis_url: str
) -> None:
    environment = {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                   "TEAMS_ALLOW_UNAUTHENTICATED": "1"}  # fmt: skip
    settings = Settings.from_env(environment)
    refusal = r"TEAMS_ALLOW_UNAUTHENTICATED.*--host 127\.0\.0\.1"
    for host in ("0.0.0.0", "::", "10.1.2.3", "bot.example.com"):
        with pytest.raises(SettingsError, match=refusal):
            await serve(settings, host=host, port=free_port())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "0.0.0.0", "--port", str(free_port()),
        env={**os.environ, **environment},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1 and stdout == b""
    [line] = stderr.decode().splitlines()
    assert "TEAMS_ALLOW_UNAUTHENTICATED" in line and "--host" in line


def _from_tenant(activity: dict[str, Any], *, channel_data: str, conversation: str) -> None:
    activity["channelData"]["tenant"]["id"] = channel_data
    activity["conversation"]["tenantId"] = conversation


async def test_an_activity_from_a_tenant_not_allowed_gets_403_and_no_reply(
    connector: FakeBotConnector,
    database_url: str,
    redis_url: str,
    access_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with token_issuer(app_id=BOT_APP_ID, password=BOT_PASSWORD) as issuer:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", issuer.ca_bundle)
        settings = _environment(
            database_url,
            redis_url,
            access_file,
            MICROSOFT_APP_ID=BOT_APP_ID,
            MICROSOFT_APP_PASSWORD=BOT_PASSWORD,
            MICROSOFT_APP_TENANT_ID=TENANT_ID,
            TEAMS_ALLOWED_TENANTS=TENANT_ID,
        )
        authentication = ConfigurationBotFrameworkAuthentication(SimpleNamespace(**issuer.config()))
        async with running_teams_bot(settings, connector, authentication=authentication) as bot:
            url = connector.service_url
            headers = {"Authorization": f"Bearer {issuer.issue(service_url=url)}"}
            for channel_data, conversation in [
                (OTHER_TENANT, OTHER_TENANT),
                (TENANT_ID, OTHER_TENANT),  # one of the two names another tenant
                (OTHER_TENANT, TENANT_ID),
                ("", ""),  # none named
            ]:
                for text in (QUESTION, "kb remove Leave Policy"):
                    activity = personal_message(text, user=ADMIN, service_url=url)
                    _from_tenant(activity, channel_data=channel_data, conversation=conversation)
                    status, _ = await bot.post(activity, headers)
                    assert status == 403
            await asyncio.sleep(0.3)
            assert connector.calls == []  # no reply, not even typing
            assert len(await bot.core.kb.store.list_documents()) == 2
            await _allowed_tenant_is_answered(bot, headers)


async def _allowed_tenant_is_answered(bot: TeamsBot, headers: dict[str, str]) -> None:
    question = personal_message(QUESTION, service_url=bot.connector.service_url)
    status, _ = await bot.post(question, headers)
    assert status == 201
    await bot.connector.wait_for(lambda: bool(bot.messages_to(question)))
