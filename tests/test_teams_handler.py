"""The Teams handler's logic through botbuilder's ``TestAdapter``: no HTTP, real Postgres and
Redis behind the answering core. The HTTP path is covered by ``test_teams.py``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    Entity,
)

from bot.platforms.teams.app import build_teams_endpoint
from bot.service.components import Core
from bot.service.settings import Settings
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.environment import core_environment

ADMIN = "aad-admin"


@dataclass
class Harness:
    adapter: TestAdapter
    core: Core

    async def say(self, text: str = "", **fields: Any) -> list[Activity]:
        """Send a message; returns what the bot sent back during the turn."""
        self.adapter.activity_buffer.clear()
        await self.adapter.receive_activity(
            Activity(type=ActivityTypes.message, text=text, id=uuid.uuid4().hex, **fields)
        )
        return list(self.adapter.activity_buffer)


def _template(user: str, conversation_type: str = "personal") -> Activity:
    return Activity(
        channel_id="msteams",
        service_url="https://test.invalid/",
        from_property=ChannelAccount(id=f"29:{user}", name="Alice", aad_object_id=user),
        recipient=ChannelAccount(id="28:bot", name="Supportbot"),
        conversation=ConversationAccount(
            id=f"a:{uuid.uuid4().hex}", conversation_type=conversation_type, tenant_id="tenant"
        ),
    )


@pytest.fixture
async def core(database_url: str, redis_url: str) -> AsyncIterator[Core]:
    settings = _settings(database_url, redis_url)
    async with open_core(settings) as core:
        document = policy(url="https://hb.test/leave", title="Leave Policy")
        await core.kb.store.upsert(document, chunk_document(document))
        yield core


def _settings(database_url: str, redis_url: str) -> Settings:
    return Settings.from_env(
        core_environment(
            database_url=database_url,
            redis_url=redis_url,
            TEAMS_ADMINS=ADMIN,
            TEAMS_ALLOW_UNAUTHENTICATED="1",
        )
    )


def _harness(core: Core, settings: Settings, template: Activity) -> Harness:
    endpoint = build_teams_endpoint(settings, core)
    return Harness(TestAdapter(endpoint.bot.on_turn, template), core)


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return _settings(database_url, redis_url)


async def test_a_personal_message_gets_typing_then_a_card_with_its_sources(
    core: Core, settings: Settings
) -> None:
    harness = _harness(core, settings, _template("aad-alice"))
    sent = await harness.say("How many days of annual leave do I get?")
    assert [a.type for a in sent] == ["typing", "message"]
    card = sent[1].attachments[0]
    assert card.content_type == "application/vnd.microsoft.card.adaptive"
    texts = " ".join(b["text"] for b in card.content["body"])
    assert "25 days" in texts
    assert "[Leave Policy › Annual leave](https://hb.test/leave#annual-leave)" in texts
    assert [a["title"] for a in card.content["actions"]] == [
        "Ask a human",
        "Improve this answer",
    ]
    assert sent[1].summary and "25 days" in sent[1].summary


async def test_a_channel_message_without_a_mention_is_ignored(
    core: Core, settings: Settings
) -> None:
    harness = _harness(core, settings, _template("aad-alice", "channel"))
    assert await harness.say("How many days of annual leave do I get?") == []
    mention = Entity(type="mention").deserialize(
        {
            "type": "mention",
            "mentioned": {"id": "28:bot", "name": "Supportbot"},
            "text": "<at>Supportbot</at>",
        }
    )
    sent = await harness.say(
        "<at>Supportbot</at> How many days of annual leave do I get?", entities=[mention]
    )
    assert [a.type for a in sent] == ["typing", "message"]


async def test_kb_commands_from_a_non_admin_are_refused_and_change_nothing(
    core: Core, settings: Settings
) -> None:
    harness = _harness(core, settings, _template("aad-alice"))
    before = await core.kb.store.corpus_version()
    for command in ("kb remove Leave Policy", "kb add https://hb.test/other", "kb list"):
        sent = await harness.say(command)
        assert len(sent) == 1
        assert "only knowledge-base admins" in sent[0].text
    assert await core.kb.store.corpus_version() == before
    assert [d.title for d in await core.kb.store.list_documents()] == ["Leave Policy"]


async def test_an_admin_can_list_and_remove_documents(core: Core, settings: Settings) -> None:
    harness = _harness(core, settings, _template(ADMIN))
    listed = await harness.say("kb list")
    assert "Leave Policy" in listed[-1].text
    removed = await harness.say("kb remove Leave Policy")
    assert "Removed **Leave Policy**" in removed[-1].text
    assert await core.kb.store.list_documents() == []
    help_text = (await harness.say("kb help"))[-1].text
    assert "`kb add <url> [scope ...]`" in help_text


async def test_installing_the_bot_in_a_personal_chat_says_hello(
    core: Core, settings: Settings
) -> None:
    harness = _harness(core, settings, _template(ADMIN))
    harness.adapter.activity_buffer.clear()
    await harness.adapter.receive_activity(
        Activity(
            type=ActivityTypes.conversation_update,
            id=uuid.uuid4().hex,
            members_added=[ChannelAccount(id="28:bot")],
        )
    )
    (welcome,) = harness.adapter.activity_buffer
    assert "I answer questions about our policies" in welcome.text
    assert "kb help" in welcome.text
