"""SLACK_ADMIN_CHANNEL makes its members admins only while it is private and not shared with
another organisation or workspace: anyone may join a public channel, and a Slack Connect
channel has another company's people in it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.access import PlatformAccess
from bot.platforms.slack.app import web_client
from bot.platforms.slack.directory import SlackDirectory, admin_channel_problem
from bot.service.settings import Settings
from tests.fake_slack import FakeSlack, bot_environment, fake_slack
from tests.test_slack import _settings, running_bot
from tests.test_teams_access import serving

ZOE = "UZOE"  # a member of the admin channel, not in SLACK_ADMINS
UNSAFE = [
    pytest.param({}, "public", id="public"),
    pytest.param(
        {"is_private": True, "is_shared": True, "is_ext_shared": True},
        "shared with another organisation",
        id="slack-connect",
    ),
    pytest.param(
        {"is_private": True, "is_pending_ext_shared": True},
        "shared with another organisation",
        id="invited-to-slack-connect",
    ),
    pytest.param({"is_private": True, "is_shared": True}, "another workspace", id="shared"),
]


def _directory(slack: FakeSlack, **options: Any) -> SlackDirectory:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    return SlackDirectory(client, access=PlatformAccess(), **options)


@pytest.mark.parametrize(("flags", "problem"), UNSAFE)
async def test_a_public_or_shared_admin_channel_makes_nobody_an_admin(
    flags: dict[str, bool], problem: str, database_url: str, redis_url: str
) -> None:
    async with fake_slack() as slack:
        slack.members["CADMINS"] = [ZOE, "UADMIN"]
        slack.channel_flags["CADMINS"] = flags
        settings = _settings(slack, database_url, redis_url, SLACK_ADMIN_CHANNEL="CADMINS")
        async with running_bot(settings, slack) as bot:
            key = await bot.command("remove Leave Policy", user=ZOE)
            await slack.wait_for(lambda: bool(bot.responses(key)))
            assert "only knowledge-base admins" in bot.responses(key)[0]
            assert len(await bot.core.kb.store.list_documents()) == 2
            # SLACK_ADMINS stay admins.
            key = await bot.command("remove Leave Policy", user="UADMIN")
            await slack.wait_for(lambda: bool(bot.responses(key)))
            assert "Removed" in bot.responses(key)[0]
        assert problem in (await admin_channel_problem(web_client(settings), "CADMINS") or "")


async def test_the_refusal_is_logged_once_and_lifted_when_the_channel_is_made_private(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with fake_slack() as slack:
        slack.members["CADMINS"] = [ZOE]
        directory = _directory(slack, admin_channel="CADMINS", ttl_seconds=0)
        with caplog.at_level(logging.WARNING, logger="bot.platforms.slack.directory"):
            assert [await directory.is_admin(ZOE) for _ in range(3)] == [False] * 3
            slack.channel_flags["CADMINS"] = {"is_private": True}
            assert await directory.is_admin(ZOE)
    [warning] = [r.getMessage() for r in caplog.records]
    assert "SLACK_ADMIN_CHANNEL CADMINS is public: its members are not admins" in warning


async def test_a_private_channel_shared_within_the_organisation_is_trusted() -> None:
    async with fake_slack() as slack:
        slack.members["CADMINS"] = [ZOE]
        slack.channel_flags["CADMINS"] = {"is_private": True, "is_shared": True,
                                          "is_org_shared": True}  # fmt: skip
        assert await _directory(slack, admin_channel="CADMINS").is_admin(ZOE)


async def test_an_admin_channel_slack_will_not_describe_makes_nobody_an_admin() -> None:
    async with fake_slack() as slack:
        slack.members["CADMINS"] = [ZOE]
        slack.fail("conversations.info", "missing_scope")
        assert not await _directory(slack, admin_channel="CADMINS").is_admin(ZOE)


async def test_the_startup_line_says_the_admin_channel_grants_nothing(
    database_url: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fake_slack() as slack:
        slack.members["CADMINS"] = [ZOE]
        environment = bot_environment(
            slack, database_url=database_url, redis_url=redis_url, SLACK_ADMIN_CHANNEL="CADMINS"
        )
        printed = ""
        async with serving(Settings.from_env(environment)):
            for _ in range(200):
                printed += capsys.readouterr().out
                if "supportbot is serving" in printed:
                    break
                await asyncio.sleep(0.05)
    assert "members of SLACK_ADMIN_CHANNEL are NOT admins: the channel is public" in printed
