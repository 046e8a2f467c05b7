"""The Teams adapter end to end: activities shaped like Teams' POSTed to the real server's
``/api/messages``, replies at a loopback fake Bot Connector, a real Postgres and Redis behind
the answering core. Handler-only checks are in ``test_teams_handler.py``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from sqlalchemy import text

from bot.loop.feedback import COMMENT_MAX_CHARS
from bot.platforms.teams.actions import feedback_comment
from bot.platforms.teams.app import TeamsEndpoint, build_teams_endpoint
from bot.service.components import Core
from bot.service.server import build_web_app, run_jobs
from bot.service.settings import Settings
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from knowledge.types import MetadataChange
from tests.documents import policy
from tests.environment import core_environment
from tests.fake_openai import fake_openai, leave_answers
from tests.fake_teams import (
    ALICE,
    BOB,
    BOT_APP_ID,
    BOT_PASSWORD,
    HELPDESK_CHANNEL_ID,
    TENANT_ID,
    FakeBotConnector,
    TokenIssuer,
    card_submit,
    channel_mention,
    conversation_update,
    fake_connector,
    feedback_invoke,
    file_message,
    group_chat_mention,
    personal_message,
    thread_conversation_id,
    token_issuer,
)
from tests.loopback import serve
from tests.outage import postgres_outage

ADMIN = BOB
HR_CHANNEL = "19:hrprivate0000000000000000000000@thread.tacv2"
EXPERTS_CHANNEL = "19:experts00000000000000000000000@thread.tacv2"
SALARIES = {"Salary bands": "Salary bands are reviewed every April by the People Team."}
ACCESS = f"""
teams:
  channels: {{"{HR_CHANNEL}": [hr]}}
  users: {{"{BOB.aad_object_id}": [hr]}}
"""
QUESTION = "How many days of annual leave do I get?"


@dataclass
class TeamsBot:
    url: str
    core: Core
    connector: FakeBotConnector
    endpoint: TeamsEndpoint

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/api/messages", json=activity, headers=headers or {}
            ) as response,
        ):
            return response.status, await response.text()

    async def ask(self, activity: dict[str, Any]) -> dict[str, Any]:
        """Post ``activity`` and wait for the bot's message in reply to it."""
        status, _ = await self.post(activity)
        assert status in (200, 201)
        await self.connector.wait_for(lambda: bool(self.messages_to(activity)))
        return self.messages_to(activity)[-1]

    def messages_to(self, activity: dict[str, Any]) -> list[dict[str, Any]]:
        return [a for a in self.connector.replies_to(activity["id"]) if a["type"] == "message"]


def card_text(reply: dict[str, Any]) -> str:
    card = reply["attachments"][0]["content"]
    return "\n".join(block["text"] for block in card["body"])


def card_action(reply: dict[str, Any], title: str) -> dict[str, Any]:
    card = reply["attachments"][0]["content"]
    return next(a["data"] for a in card["actions"] if a["title"] == title)


def _environment(database_url: str, redis_url: str, access_file: Path, **extra: str) -> Settings:
    # The fake Bot Connector's activities carry no token unless a test gives the bot an app id.
    development = {} if "MICROSOFT_APP_ID" in extra else {"TEAMS_ALLOW_UNAUTHENTICATED": "1"}
    return Settings.from_env(
        core_environment(
            database_url=database_url,
            redis_url=redis_url,
            SUPPORTBOT_ACCESS_FILE=str(access_file),
            TEAMS_ADMINS=ADMIN.aad_object_id,
            **(development | extra),
        )
    )


@asynccontextmanager
async def running_bot(
    settings: Settings,
    connector: FakeBotConnector,
    *,
    authentication: Any = None,
    seed: bool = True,
) -> AsyncIterator[TeamsBot]:
    async with open_core(settings) as core:
        if seed:
            for url, title, sections, scopes in [
                ("https://hb.test/leave", "Leave Policy", None, ("public",)),  # 25 days, 10am
                ("https://hb.test/salaries", "Salary Bands", SALARIES, ("hr",)),
            ]:
                document = policy(url=url, title=title, sections=sections, scopes=scopes)
                await core.kb.store.upsert(document, chunk_document(document))
        endpoint = build_teams_endpoint(settings, core, authentication=authentication)
        app = build_web_app(teams=endpoint, core=core)
        async with run_jobs(core), serve(app) as url:
            yield TeamsBot(url, core, connector, endpoint)
            await endpoint.bot.drain()


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with fake_connector() as fake:
        yield fake


@pytest.fixture
def access_file(tmp_path: Path) -> Path:
    path = tmp_path / "access.yml"
    path.write_text(ACCESS)
    return path


@pytest.fixture
def settings(database_url: str, redis_url: str, access_file: Path) -> Settings:
    return _environment(database_url, redis_url, access_file)


@pytest.fixture
async def bot(settings: Settings, connector: FakeBotConnector) -> AsyncIterator[TeamsBot]:
    async with running_bot(settings, connector) as running:
        yield running


# Where it answers


async def test_a_personal_message_gets_typing_then_a_card_with_numbered_source_links(
    bot: TeamsBot,
) -> None:
    question = personal_message(QUESTION, service_url=bot.connector.service_url)
    reply = await bot.ask(question)
    sent = bot.connector.replies_to(question["id"])
    assert [a["type"] for a in sent] == ["typing", "message"]
    assert bot.connector.calls[0].conversation_id == ALICE.personal_conversation_id
    text = card_text(reply)
    assert "25 days" in text
    assert "**Sources**" in text
    assert "1. [Leave Policy › Annual leave](https://hb.test/leave#annual-leave)" in text
    card = reply["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    # The votes are Teams' own, under the message; the card has the other buttons.
    assert reply["channelData"]["feedbackLoopEnabled"] is True
    assert [a["title"] for a in card["content"]["actions"]] == [
        "Ask a human",
        "Improve this answer",
    ]
    improve = card["content"]["actions"][-1]
    assert improve["type"] == "Action.ShowCard" and improve["mode"] == "secondary"
    # The plain-text fallbacks: the notification summary and the card's fallbackText.
    assert "25 days" in reply["summary"]
    assert "25 days" in card["content"]["fallbackText"]


async def test_a_channel_mention_is_answered_in_its_reply_chain(bot: TeamsBot) -> None:
    question = channel_mention(QUESTION, service_url=bot.connector.service_url)
    reply = await bot.ask(question)
    call = next(c for c in bot.connector.calls if c.body and c.body.get("type") == "message")
    assert call.conversation_id == thread_conversation_id(HELPDESK_CHANNEL_ID, question["id"])
    assert call.activity_id == question["id"]  # POST .../activities/{question id}
    assert "[Leave Policy › Annual leave](https://hb.test/leave#annual-leave)" in card_text(reply)


async def test_group_chats_answer_mentions_only(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    reply = await bot.ask(group_chat_mention(QUESTION, service_url=url))
    assert "25 days" in card_text(reply)
    unmentioned = group_chat_mention(QUESTION, service_url=url)
    unmentioned["text"] = QUESTION
    unmentioned["entities"] = [e for e in unmentioned["entities"] if e["type"] != "mention"]
    status, _ = await bot.post(unmentioned)
    assert status == 201
    await asyncio.sleep(0.5)
    assert bot.connector.replies_to(unmentioned["id"]) == []


async def test_a_follow_up_in_the_reply_chain_uses_the_earlier_turns(
    connector: FakeBotConnector, database_url: str, redis_url: str, access_file: Path
) -> None:
    async with fake_openai() as llm:
        llm.default = leave_answers
        settings = _environment(database_url, redis_url, access_file, OPENAI_BASE_URL=llm.base_url)
        async with running_bot(settings, connector) as bot:
            first = channel_mention(
                "How much annual leave do I get?", service_url=connector.service_url
            )
            await bot.ask(first)
            follow_up = channel_mention(
                "and does that include public holidays?",
                service_url=connector.service_url,
                thread_id=first["id"],
            )
            await bot.ask(follow_up)
    rewrite = next(p for p in llm.all_prompts() if "and does that include public holidays?" in p)
    assert "How much annual leave do I get?" in rewrite  # the earlier question
    assert "25 days" in rewrite  # and the bot's own answer
    assert not any("<at>" in p or "Supportbot" in p for p in llm.user_prompts())


async def test_installing_the_bot_in_a_personal_chat_says_hello(bot: TeamsBot) -> None:
    update = conversation_update(user=ADMIN, service_url=bot.connector.service_url)
    status, _ = await bot.post(update)
    assert status == 201
    (welcome,) = bot.connector.activities(ADMIN.personal_conversation_id)
    assert "I answer questions about our policies" in welcome["text"]
    assert "kb help" in welcome["text"]  # Bob is an admin


# Responsiveness and exactly once


async def test_a_slow_answer_ends_the_turn_and_arrives_proactively_in_the_reply_chain(
    connector: FakeBotConnector, database_url: str, redis_url: str, access_file: Path
) -> None:
    async with fake_openai() as llm:
        llm.default = leave_answers
        llm.delay = 3.0
        settings = _environment(
            database_url,
            redis_url,
            access_file,
            OPENAI_BASE_URL=llm.base_url,
            TEAMS_REPLY_WITHIN_SECONDS="0.3",
        )
        async with running_bot(settings, connector) as bot:
            question = channel_mention(QUESTION, service_url=connector.service_url)
            status, _ = await bot.post(question)
            assert status == 201
            # The turn ended before the model answered: nothing but typing within it.
            assert [a["type"] for a in connector.replies_to(question["id"])] == ["typing"]
            await connector.wait_for(lambda: bool(bot.messages_to(question)))
    (reply,) = bot.messages_to(question)
    assert "25 days" in card_text(reply)
    delivered = [c for c in connector.calls if c.body and c.body.get("type") == "message"]
    assert delivered[0].conversation_id == thread_conversation_id(
        HELPDESK_CHANNEL_ID, question["id"]
    )


async def test_a_retried_activity_is_answered_once_across_two_servers(
    settings: Settings, connector: FakeBotConnector
) -> None:
    async with (
        running_bot(settings, connector) as first,
        running_bot(settings, connector, seed=False) as second,
    ):
        question = channel_mention(QUESTION, service_url=connector.service_url)
        statuses = await asyncio.gather(
            first.post(question), second.post(question), first.post(question)
        )
        assert [s for s, _ in statuses] == [201, 201, 201]
        await connector.wait_for(lambda: bool(first.messages_to(question)))
        await asyncio.sleep(0.5)
        assert len(first.messages_to(question)) == 1
        assert len(connector.activities(type="typing")) == 1


# The reply's buttons


async def test_feedback_is_stored_once_per_person_and_acknowledged(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    reply = await bot.ask(personal_message(QUESTION, service_url=url))
    answer_id = card_action(reply, "Ask a human")["answer_id"]
    comment = "Wrong\u202e year\x07 " + "x" * 3000
    for reaction in ("like", "dislike"):
        press = feedback_invoke(reply["id"], reaction, comment=comment, service_url=url)
        status, _ = await bot.post(press)
        assert status == 200
        thanks, *consent = bot.messages_to(press)
        assert "Thanks" in thanks["text"]
    # After a 👎 the asker is asked whether admins may contact them.
    [card] = consent
    assert "May they see who asked" in card["summary"]
    async with bot.core.kb.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT answer_id, vote, platform, comment FROM feedback")
            )
        ).all()
    [(voted, vote, platform, stored)] = [tuple(r) for r in rows]
    assert (voted, vote, platform) == (answer_id, -1, "teams")
    # The comment as typed, without control characters, capped.
    assert stored.startswith("Wrong year xxx") and len(stored) == COMMENT_MAX_CHARS


async def test_the_vote_buttons_of_cards_sent_before_teams_own_still_count(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    reply = await bot.ask(personal_message(QUESTION, service_url=url))
    answer_id = card_action(reply, "Ask a human")["answer_id"]
    old_button = {"supportbot": "not_helpful", "answer_id": answer_id}
    press = card_submit(old_button, service_url=url, reply_to_id=reply["id"])
    await bot.ask(press)
    assert "Thanks" in bot.messages_to(press)[0]["text"]
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT answer_id, vote FROM feedback"))).all()
    assert [tuple(r) for r in rows] == [(answer_id, -1)]


@pytest.mark.parametrize("asked", [group_chat_mention, channel_mention])
async def test_teams_own_feedback_in_group_chats_and_channels_is_stored_with_its_comment(
    bot: TeamsBot, asked: Callable[..., dict[str, Any]]
) -> None:
    url = bot.connector.service_url
    question = asked(QUESTION, service_url=url)
    reply = await bot.ask(question)
    assert reply["channelData"]["feedbackLoopEnabled"] is True
    press = feedback_invoke(
        reply["id"], "dislike", comment="Out of date", conversation=question["conversation"],
        service_url=url,
    )  # fmt: skip
    status, _ = await bot.post(press)
    assert status == 200
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT vote, comment FROM feedback"))).all()
    assert [tuple(r) for r in rows] == [(-1, "Out of date")]


@pytest.mark.parametrize(
    ("feedback", "stored"),
    [
        ('{"feedbackText": "Out of date"}', "Out of date"),
        ({"feedbackText": "  two\nlines\r\n "}, "two\nlines"),
        (r'{"feedbackText": "a\u202eb\u0000c \u0007👩\u200d💻"}', "abc 👩\u200d💻"),
        ('{"feedbackText": ""}', None),
        ("not JSON", None),
        ({"feedbackText": 5}, None),
        (None, None),
    ],
)
def test_a_feedback_comment_is_kept_as_typed_without_control_characters(
    feedback: Any, stored: str | None
) -> None:
    assert feedback_comment(feedback) == stored


@pytest.mark.parametrize("where", ["channel", "person"])
async def test_ask_a_human_posts_the_question_and_answer_to_the_experts(
    where: str,
    connector: FakeBotConnector,
    database_url: str,
    redis_url: str,
    access_file: Path,
) -> None:
    target = (
        {"TEAMS_ESCALATION_CHANNEL": EXPERTS_CHANNEL}
        if where == "channel"
        else {"TEAMS_ESCALATION_USER": BOB.aad_object_id}
    )
    settings = _environment(database_url, redis_url, access_file, **target)
    async with running_bot(settings, connector) as bot:
        url = connector.service_url
        reply = await bot.ask(channel_mention(QUESTION, service_url=url))
        press = card_submit(
            card_action(reply, "Ask a human"),
            conversation=channel_mention(QUESTION, service_url=url)["conversation"],
            service_url=url,
            reply_to_id=reply["id"],
        )
        told = await bot.ask(press)
    assert "I've asked the experts" in told["text"]
    (created,) = connector.created_conversations
    if where == "channel":
        assert created.parameters["channelData"]["channel"]["id"] == EXPERTS_CHANNEL
    else:
        assert created.parameters["members"] == [{"id": BOB.aad_object_id}]
    (post,) = connector.activities(created.id)
    assert "**Alice Archer** asked for a human" in post["text"]
    assert QUESTION in post["text"] and "25 days" in post["text"]


async def test_ask_a_human_without_an_escalation_target_points_to_the_contact(
    bot: TeamsBot,
) -> None:
    url = bot.connector.service_url
    reply = await bot.ask(personal_message(QUESTION, service_url=url))
    press = card_submit(card_action(reply, "Ask a human"), service_url=url, reply_to_id=reply["id"])
    told = await bot.ask(press)
    assert "Please ask your manager or the People Team" in told["text"]
    assert bot.connector.created_conversations == []


# Admin commands


async def test_a_non_admins_kb_commands_and_files_change_nothing(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    before = await bot.core.kb.store.corpus_version()
    for command in ("kb add https://hb.test/new", "kb remove Leave Policy", "kb list"):
        reply = await bot.ask(personal_message(command, service_url=url))
        assert "only knowledge-base admins" in reply["text"]
    download = bot.connector.host_file("remote.md", b"# Remote work\n\nThree days a week.\n")
    refused = await bot.ask(file_message("remote.md", download, service_url=url))
    assert "Only knowledge-base admins can add documents" in refused["text"]
    assert bot.connector.downloads == []
    assert await bot.core.kb.store.corpus_version() == before
    assert len(await bot.core.kb.store.list_documents()) == 2


async def test_an_admin_adds_a_page_and_a_file_and_both_are_answerable_at_once(
    bot: TeamsBot,
) -> None:
    url = bot.connector.service_url

    async def expenses_page(_request: web.Request) -> web.Response:
        return web.Response(
            text="<html><head><title>Expenses</title></head><body><h1>Expenses</h1>"
            "<p>Claim travel expenses within 30 days using the expenses form.</p></body></html>",
            content_type="text/html",
        )

    pages = web.Application()
    pages.router.add_get("/expenses", expenses_page)
    async with serve(pages) as site:
        command = personal_message(f"kb add {site}/expenses", user=ADMIN, service_url=url)
        await bot.ask(command)
        await bot.connector.wait_for(lambda: len(bot.messages_to(command)) >= 3)
    queued, started, added = (m["text"] for m in bot.messages_to(command))
    assert f"Queued `add {site}/expenses`" in queued
    assert f"Started adding {site}/expenses" in started
    assert "Added **Expenses**" in added
    download = bot.connector.host_file(
        "remote.md", b"# Remote work\n\nYou may work remotely three days a week.\n"
    )
    sent = file_message("remote.md", download, user=ADMIN, service_url=url)
    await bot.ask(sent)
    await bot.connector.wait_for(lambda: len(bot.messages_to(sent)) >= 3)
    received, started, added = (m["text"] for m in bot.messages_to(sent))
    assert received.startswith("Received remote.md. I'll add it to the knowledge base")
    assert started == "Started adding remote.md…"
    assert "Added **Remote work**" in added
    assert len(bot.connector.downloads) == 1
    answer = await bot.ask(personal_message("How do I claim travel expenses?", service_url=url))
    assert "30 days" in card_text(answer)
    answer = await bot.ask(personal_message("How many days can I work remotely?", service_url=url))
    assert "three days a week" in card_text(answer)


async def test_a_download_link_or_url_inside_the_network_is_refused(
    connector: FakeBotConnector, database_url: str, redis_url: str, access_file: Path
) -> None:
    # The fake connector hosts files on 127.0.0.1, not allow-listed here: a downloadUrl or a
    # link pointing inside the network must not be fetched.
    settings = _environment(
        database_url, redis_url, access_file, SUPPORTBOT_FETCH_ALLOWED_NETWORKS=""
    )
    async with running_bot(settings, connector) as bot:
        url = connector.service_url
        download = connector.host_file("remote.md", b"# Remote work\n\nThree days a week.\n")
        refused = await bot.ask(file_message("remote.md", download, user=ADMIN, service_url=url))
        assert refused["text"] == (
            "I couldn't download remote.md. Please try sending it again; the server log says more."
        )
        command = personal_message(f"kb add {download}", user=ADMIN, service_url=url)
        await bot.ask(command)
        await connector.wait_for(lambda: len(bot.messages_to(command)) >= 3)
        assert bot.messages_to(command)[2]["text"].startswith(
            f"Could not add {download}: I could not download it."
        )
        path = await bot.ask(personal_message("kb add /etc", user=ADMIN, service_url=url))
        assert path["text"].startswith("Please give a link (http or https)")
        assert connector.downloads == []
        assert len(await bot.core.kb.store.list_documents()) == 2


async def test_kb_stale_lists_overdue_documents_for_admins_and_answers_say_so(
    bot: TeamsBot,
) -> None:
    url = bot.connector.service_url
    overdue = MetadataChange(review_by=date(2020, 1, 31))
    await bot.core.kb.store.set_metadata("Leave Policy", overdue)
    refused = await bot.ask(personal_message("kb stale", service_url=url))
    assert "only knowledge-base admins" in refused["text"]
    stale = (await bot.ask(personal_message("kb stale", user=ADMIN, service_url=url)))["text"]
    assert stale.startswith("**1 document is overdue for review:**")
    assert "[Leave Policy](https://hb.test/leave)" in stale
    assert "review was due 2020-01-31 (no owner)" in stale
    assert "Salar" not in stale
    answer = card_text(await bot.ask(personal_message(QUESTION, service_url=url)))
    assert re.search(r"annual-leave\) \(updated \d{4}-\d\d-\d\d · review overdue\)", answer)


async def test_kb_commands_in_a_channel_point_to_the_personal_chat(bot: TeamsBot) -> None:
    reply = await bot.ask(
        channel_mention("kb list", user=ADMIN, service_url=bot.connector.service_url)
    )
    assert "personal chat" in reply["text"]


# Permissions


async def test_a_channel_answer_uses_only_what_that_channel_may_see(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    asked = "When are salary bands reviewed?"
    in_hr = await bot.ask(channel_mention(asked, channel_id=HR_CHANNEL, service_url=url))
    assert "April" in card_text(in_hr)
    # Bob may see hr himself, but the helpdesk channel may not: its answer must not quote it.
    elsewhere = await bot.ask(channel_mention(asked, user=BOB, service_url=url))
    assert "April" not in card_text(elsewhere)
    bob_alone = await bot.ask(personal_message(asked, user=BOB, service_url=url))
    assert "April" in card_text(bob_alone)
    alice_alone = await bot.ask(personal_message(asked, user=ALICE, service_url=url))
    assert "April" not in card_text(alice_alone)


# Security


async def test_without_a_valid_token_requests_get_401_and_change_nothing(
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
        )
        authentication = ConfigurationBotFrameworkAuthentication(SimpleNamespace(**issuer.config()))
        async with running_bot(settings, connector, authentication=authentication) as bot:
            url = connector.service_url
            before = await bot.core.kb.store.corpus_version()
            for token in _bad_tokens(issuer, url):
                for activity in (
                    personal_message(QUESTION, service_url=url),
                    personal_message("kb remove Leave Policy", user=ADMIN, service_url=url),
                ):
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    status, _ = await bot.post(activity, headers)
                    assert status == 401, token
            await asyncio.sleep(0.3)
            assert connector.calls == []
            assert await bot.core.kb.store.corpus_version() == before
            # A token from the Bot Framework is accepted, and replies carry the bot's own token.
            question = personal_message(QUESTION, service_url=url)
            headers = {"Authorization": f"Bearer {issuer.issue(service_url=url)}"}
            status, _ = await bot.post(question, headers)
            assert status == 201
            await connector.wait_for(lambda: bool(bot.messages_to(question)))
    assert connector.calls[-1].authorization == f"Bearer {issuer.access_tokens[-1]}"


def _bad_tokens(issuer: TokenIssuer, service_url: str) -> list[str | None]:
    return [
        None,
        "not-a-jwt",
        issuer.forged(service_url=service_url),
        issuer.expired(service_url=service_url),
        issuer.issue(app_id=str(uuid.uuid4()), service_url=service_url),  # another bot's
        issuer.issue(service_url="https://elsewhere.example/"),  # for another service URL
    ]


async def test_without_credentials_only_loopback_requests_are_accepted(bot: TeamsBot) -> None:
    assert not bot.endpoint.authenticated
    app = build_web_app(teams=bot.endpoint)
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        ("10.1.2.3", 50000) if name == "peername" else default
    )
    request = make_mocked_request("POST", "/api/messages", app=app, transport=transport)
    handler = next(r for r in app.router.routes() if r.resource.canonical == "/api/messages")
    response = await handler.handler(request)
    assert response.status == 403
    assert bot.connector.calls == []
    # From loopback the same endpoint answers.
    await bot.ask(personal_message(QUESTION, service_url=bot.connector.service_url))


# Faults


async def test_throttling_is_retried_after_the_requested_delay(bot: TeamsBot) -> None:
    bot.connector.rate_limit(times=2, retry_after=1)
    reply = await bot.ask(personal_message(QUESTION, service_url=bot.connector.service_url))
    assert "25 days" in card_text(reply)
    assert [c.status for c in bot.connector.calls[:3]] == [429, 429, 200]


@pytest.mark.parametrize("status", [403, 404])
async def test_a_refusing_conversation_is_logged_with_a_reference_and_the_bot_carries_on(
    bot: TeamsBot, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = bot.connector.service_url
    bot.connector.fail(status, times=2)  # the typing indicator and the answer
    with caplog.at_level(logging.WARNING, logger="bot.platforms.teams"):
        question = personal_message(QUESTION, service_url=url)
        status_code, _ = await bot.post(question)
        assert status_code == 201
    failures = [r.getMessage() for r in caplog.records if "Teams error" in r.getMessage()]
    assert len(failures) == 2 and f"HTTP {status}" in failures[1]
    assert bot.messages_to(question) == []
    assert "25 days" in card_text(await bot.ask(personal_message(QUESTION, service_url=url)))


async def test_a_card_teams_refuses_is_sent_again_as_plain_text(
    connector: FakeBotConnector, database_url: str, redis_url: str, access_file: Path
) -> None:
    async with fake_openai() as llm:
        # Long enough that the card (answer, fallback text, button data) is over Teams' limit.
        llm.default = lambda _body: ("Everyone gets 25 days of annual leave [1]. " * 400).strip()
        settings = _environment(database_url, redis_url, access_file, OPENAI_BASE_URL=llm.base_url)
        async with running_bot(settings, connector) as bot:
            # A group chat: personal chats stream (tests/test_teams_streaming.py).
            question = group_chat_mention(QUESTION, service_url=connector.service_url)
            reply = await bot.ask(question)
    assert [c.status for c in connector.calls if c.body.get("type") == "message"] == [413, 200]
    assert "attachments" not in reply
    assert reply["text"].startswith("Everyone gets 25 days")
    assert "1. Leave Policy › Annual leave: https://hb.test/leave#annual-leave" in reply["text"]


async def test_a_failing_model_gets_a_quoted_answer_marked_limited(
    connector: FakeBotConnector, database_url: str, redis_url: str, access_file: Path
) -> None:
    async with fake_openai() as llm:
        llm.default = lambda _body: 500
        settings = _environment(
            database_url,
            redis_url,
            access_file,
            OPENAI_BASE_URL=llm.base_url,
            SUPPORTBOT_LLM_MAX_RETRIES="0",
        )
        async with running_bot(settings, connector) as bot:
            reply = await bot.ask(group_chat_mention(QUESTION, service_url=connector.service_url))
    text = card_text(reply)
    assert "limited right now" in text.splitlines()[0]
    assert "25 days of annual leave" in text and "Leave Policy" in text
    titles = [a["title"] for a in reply["attachments"][0]["content"]["actions"]]
    assert titles[:1] == ["Ask a human"] and reply["channelData"]["feedbackLoopEnabled"]


async def test_a_database_failure_becomes_a_short_polite_message(
    connector: FakeBotConnector,
    database_url: str,
    postgres_server_url: str,
    redis_url: str,
    access_file: Path,
) -> None:
    async with postgres_outage(postgres_server_url, database_url) as (database, url):
        settings = _environment(url, redis_url, access_file)
        async with running_bot(settings, connector) as bot:
            await database.cut()
            reply = await bot.ask(personal_message(QUESTION, service_url=connector.service_url))
            await database.restore()
            again = await bot.ask(personal_message(QUESTION, service_url=connector.service_url))
    text = card_text(reply)
    assert "temporarily unavailable" in text and "Reference:" in text
    titles = [a["title"] for a in reply["attachments"][0]["content"]["actions"]]
    assert titles == ["Ask a human"]
    assert "25 days" in card_text(again)  # back by itself


async def test_past_the_per_person_limit_the_asker_is_told_when_to_ask_again(
    connector: FakeBotConnector, database_url: str, redis_url: str, access_file: Path
) -> None:
    settings = _environment(
        database_url, redis_url, access_file, SUPPORTBOT_QUESTIONS_PER_MINUTE="1"
    )
    async with running_bot(settings, connector) as bot:
        url = connector.service_url
        first = await bot.ask(personal_message(QUESTION, service_url=url))
        limited = await bot.ask(personal_message("When do I report sick leave?", service_url=url))
        other = await bot.ask(
            personal_message("When do I report sick leave?", user=BOB, service_url=url)
        )
    assert "25 days" in card_text(first)
    assert card_text(limited).startswith("Sorry, you've asked me 1 question in the last minute")
    assert "actions" not in limited["attachments"][0]["content"]
    assert card_text(other).startswith("Here is what our policies say")  # someone else


# Helpers


async def test_kb_sources_and_kb_sync_of_an_unknown_source(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    sitemap = {"sitemap": "https://intranet.example.com/sitemap.xml"}
    await bot.core.sources.add("web", "intranet", sitemap, ("public",), 3600)
    refused = await bot.ask(personal_message("kb sources", service_url=url))
    assert "only knowledge-base admins" in refused["text"]
    listed = (await bot.ask(personal_message("kb sources", user=ADMIN, service_url=url)))["text"]
    # Not "never synced": the service's own sync pass may reach the new source first.
    assert "`intranet` (web): " in listed
    unknown = await bot.ask(personal_message("kb sync nowhere", user=ADMIN, service_url=url))
    assert unknown["text"] == "There is no source named `nowhere`; `sources` lists them."


async def test_kb_console_sends_a_sign_in_link_to_admins_only(
    settings: Settings, connector: FakeBotConnector
) -> None:
    console = dataclasses.replace(settings, public_url="http://localhost:3000")
    async with running_bot(console, connector) as bot:
        asked = [
            personal_message("kb console", service_url=connector.service_url, **user)
            for user in ({}, {"user": ADMIN})
        ]
        refused, link = [(await bot.ask(message))["text"] for message in asked]
    assert "only knowledge-base admins" in refused and "sign-in" not in refused
    assert "http://localhost:3000/admin/sign-in?token=" in link
