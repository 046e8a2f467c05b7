"""The Slack adapter end to end: signed requests to the real server and Bolt app, replies at a
loopback fake of the Slack Web API, a real Postgres and Redis behind the answering core."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.platforms.slack.app import build_slack_app
from bot.platforms.slack.blocks import ACTION_ASK_HUMAN, ACTION_HELPFUL, ACTION_NOT_HELPFUL
from bot.platforms.slack.feedback_blocks import ACTION_FEEDBACK
from bot.service.components import Core
from bot.service.server import build_web_app, run_jobs
from bot.service.settings import Settings
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from knowledge.types import MetadataChange
from tests.documents import policy
from tests.fake_openai import fake_openai, leave_answers
from tests.fake_site import fake_site
from tests.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    FORM,
    SIGNING_SECRET,
    FakeSlack,
    block_action_body,
    bot_environment,
    event_body,
    fake_slack,
    mention,
    message,
    new_ts,
    signed_headers,
    slash_command_body,
    url_verification_body,
)
from tests.loopback import serve
from tests.outage import postgres_outage

ADMIN = "UADMIN"
HR_CHANNEL = "CHRPRIV"
ESCALATION = "CESCALATE"
SALARIES = {"Salary bands": "Salary bands are reviewed every April by the People Team."}
ACCESS = f"""
slack:
  channels: {{{HR_CHANNEL}: [hr]}}
  users: {{UHRBOB: [hr]}}
  groups: {{SPEOPLE: [hr]}}
"""


@dataclass
class Bot:
    url: str
    core: Core
    slack: FakeSlack

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/slack/events", data=body, headers=headers or signed_headers(body)
            ) as response,
        ):
            return response.status, await response.text()

    async def event(self, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        body = event_body(event, **kwargs)
        return await self.post(body)

    async def command(self, text: str, *, user: str = ADMIN) -> str:
        """Run ``/kb text``; returns the response-url key its results are posted under."""
        key = uuid.uuid4().hex
        body = slash_command_body(text, user_id=user, response_url=self.slack.response_url(key))
        status, _ = await self.post(body, signed_headers(body, content_type=FORM))
        assert status == 200
        return key

    def responses(self, key: str) -> list[str]:
        return [r["text"] for r in self.slack.responses_to(key)]

    async def click(
        self,
        action_id: str,
        answer: dict[str, Any],
        *,
        user: str = "UALICE",
        channel: str,
        value: str | None = None,
    ) -> str:
        """Press the button ``action_id`` under ``answer``; the response-url key."""
        key = uuid.uuid4().hex
        value = _button(answer, action_id)["value"] if value is None else value
        body = block_action_body(
            action_id,
            value,
            user_id=user,
            channel=channel,
            message=answer,
            response_url=self.slack.response_url(key),
        )
        status, _ = await self.post(body, signed_headers(body, content_type=FORM))
        assert status == 200
        return key

    async def vote(
        self, vote: int, answer: dict[str, Any], *, user: str = "UALICE", channel: str
    ) -> str:
        """Press Slack's own 👍 (``vote`` 1) or 👎 (-1) under ``answer``; the response-url key."""
        side = "positive_button" if vote > 0 else "negative_button"
        value = _button(answer, ACTION_FEEDBACK)[side]["value"]
        return await self.click(ACTION_FEEDBACK, answer, user=user, channel=channel, value=value)

    async def answer_to(self, event: dict[str, Any], *, count: int = 1) -> dict[str, Any]:
        """Send ``event`` and wait for the bot's reply in its conversation (posted, or
        streamed and stopped)."""

        def replies() -> list[dict[str, Any]]:
            messages = self.slack.history.get(event["channel"], [])
            return [m for m in messages if m.get("bot_id") == BOT_ID and not m.get("streaming")]

        before = len(replies())
        status, _ = await self.event(event)
        assert status == 200
        await self.slack.wait_for(lambda: len(replies()) >= before + count)
        return replies()[-1]


def _button(posted: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in posted["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button in {posted['blocks']}")


def _settings(slack: FakeSlack, database_url: str, redis_url: str, **extra: str) -> Settings:
    return Settings.from_env(
        bot_environment(
            slack,
            database_url=database_url,
            redis_url=redis_url,
            SLACK_ADMINS=ADMIN,
            SLACK_ESCALATION_CHANNEL=ESCALATION,
            SLACK_EXPERTS="UEXPERT SEXPERTS",
            **extra,
        )
    )


@asynccontextmanager
async def running_bot(settings: Settings, slack: FakeSlack) -> AsyncIterator[Bot]:
    async with open_core(settings) as core:
        for url, title, sections, scopes in [
            ("https://hb.test/leave", "Leave Policy", None, ("public",)),  # 25 days, 10am
            ("https://hb.test/salaries", "Salary Bands", SALARIES, ("hr",)),
        ]:
            document = policy(url=url, title=title, sections=sections, scopes=scopes)
            await core.kb.store.upsert(document, chunk_document(document))
        slack_app = build_slack_app(settings, core)
        app = build_web_app(slack=slack_app, slack_signing_secret=SIGNING_SECRET, core=core)
        async with run_jobs(core), serve(app) as url:
            yield Bot(url, core, slack)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with fake_slack() as fake:
        yield fake


@asynccontextmanager
async def bot_with_access(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path, access: str, **extra: str
) -> AsyncIterator[Bot]:
    """A running bot with the access file ``access`` and the settings ``extra``."""
    path = tmp_path / "access.yml"
    path.write_text(access)
    settings = _settings(slack, database_url, redis_url, SUPPORTBOT_ACCESS_FILE=str(path), **extra)
    async with running_bot(settings, slack) as running:
        yield running


@pytest.fixture
async def bot(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Bot]:
    async with bot_with_access(slack, database_url, redis_url, tmp_path, ACCESS) as running:
        yield running


# Starting


async def test_the_app_starts_without_a_warning_about_its_own_token(
    bot: Bot, slack: FakeSlack, database_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # SLACK_BOT_TOKEN in the environment, as in every deployment: Bolt reads it as well.
    settings = _settings(slack, database_url, redis_url)
    with pytest.MonkeyPatch.context() as env, caplog.at_level(logging.WARNING, "slack_bolt"):
        env.setenv("SLACK_BOT_TOKEN", settings.slack_bot_token.reveal())  # type: ignore[union-attr]
        build_slack_app(settings, bot.core)
    assert [r.getMessage() for r in caplog.records] == []


# Security


async def test_url_verification_challenge_is_answered(bot: Bot) -> None:
    status, body = await bot.post(url_verification_body("challenge-123"))
    assert status == 200
    assert "challenge-123" in body


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda b, ct: signed_headers(b, secret="wrong", content_type=ct), id="forged"),
        pytest.param(
            lambda b, ct: signed_headers(b, timestamp=int(time.time()) - 600, content_type=ct),
            id="stale",
        ),
        pytest.param(lambda b, ct: {"Content-Type": ct}, id="unsigned"),
    ],
)
async def test_unverified_requests_get_401_and_change_nothing(
    bot: Bot, headers: Callable[[bytes, str], dict[str, str]]
) -> None:
    before = await bot.core.kb.store.corpus_version()
    for body, content_type in [
        (
            event_body(mention(f"<@{BOT_USER_ID}> How many days of annual leave?")),
            "application/json",
        ),
        (slash_command_body("remove Leave Policy", user_id=ADMIN, response_url="http://x/"), FORM),
        (b"{not json", "application/json"),
    ]:
        status, _ = await bot.post(body, headers(body, content_type))
        assert status == 401
    await asyncio.sleep(0.5)
    assert bot.slack.calls == []
    assert await bot.core.kb.store.corpus_version() == before
    assert len(await bot.core.kb.store.list_documents()) == 2


# Where it answers


async def test_a_mention_is_answered_in_its_thread_with_source_links(bot: Bot) -> None:
    question = mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
    status, _ = await bot.event(question)
    assert status == 200
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("CGENERAL")))
    reply = bot.slack.posted("CGENERAL")[0]
    assert reply["thread_ts"] == question["ts"]
    assert "25 days of annual leave" in reply["text"]
    blocks = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "<https://hb.test/leave#annual-leave|Leave Policy › Annual leave>" in blocks
    assert "Sources" in blocks
    # Slack's own 👍/👎 in place of vote buttons, then the answer's other buttons.
    kinds = [block["type"] for block in reply["blocks"]]
    assert kinds[-2:] == ["context_actions", "actions"]
    assert _button(reply, ACTION_FEEDBACK)["type"] == "feedback_buttons"
    assert _button(reply, ACTION_ASK_HUMAN)
    assert ACTION_HELPFUL not in json.dumps(reply["blocks"])
    # Working indicator: the status line in the answer's thread, then cleared; no reaction.
    await bot.slack.wait_for(lambda: len(bot.slack.statuses) >= 2)
    assert bot.slack.statuses[0][:2] == ("CGENERAL", question["ts"])
    assert bot.slack.statuses[0][2] and bot.slack.statuses[-1][2] == ""
    assert bot.slack.calls_to("reactions.add") == []


async def test_where_the_status_is_refused_the_question_gets_the_eyes_reaction(bot: Bot) -> None:
    bot.slack.fail("assistant.threads.setStatus", "not_allowed_token_type")
    question = mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
    await bot.answer_to(question)
    added = bot.slack.calls_to("reactions.add")
    assert added and added[0].args["timestamp"] == question["ts"]
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("reactions.remove")))
    assert bot.slack.reactions == set()


async def test_a_dm_is_answered_in_the_dm_and_threaded_only_when_asked_in_a_thread(
    bot: Bot,
) -> None:
    top = await bot.answer_to(message("How many days of annual leave do I get?"))
    assert "thread_ts" not in top
    assert "25 days" in top["text"]
    root = new_ts()
    threaded = await bot.answer_to(
        message("When must I tell my manager that I am ill?", thread_ts=root)
    )
    assert threaded["thread_ts"] == root
    assert "before 10am" in threaded["text"]


async def test_a_follow_up_in_the_bots_thread_needs_no_mention_and_uses_the_thread(
    slack: FakeSlack, database_url: str, redis_url: str
) -> None:
    async with fake_openai() as llm:
        llm.default = leave_answers
        settings = _settings(slack, database_url, redis_url, OPENAI_BASE_URL=llm.base_url)
        async with running_bot(settings, slack) as bot:
            first = slack.remember(mention(f"<@{BOT_USER_ID}> How much annual leave do I get?"))
            await bot.answer_to(first)
            follow_up = slack.remember(
                message(
                    "and does that include public holidays?",
                    channel="CGENERAL",
                    channel_type="channel",
                    thread_ts=first["ts"],
                )
            )
            reply = await bot.answer_to(follow_up)
    assert reply["thread_ts"] == first["ts"]
    rewrite = next(p for p in llm.all_prompts() if "and does that include public holidays?" in p)
    assert "How much annual leave do I get?" in rewrite  # the earlier turn was used
    assert "25 days" in rewrite  # and so was the bot's own answer


async def test_messages_that_are_not_questions_for_the_bot_are_ignored(bot: Bot) -> None:
    unanswered_thread = new_ts()
    for event in [
        message("chatting in a thread the bot is not in", channel="CGENERAL",
                channel_type="channel", thread_ts=unanswered_thread),
        message("a top-level channel message", channel="CGENERAL", channel_type="channel"),
        message("another bot", bot_id="BOTHER"),
        message("my own answer", user=BOT_USER_ID, bot_id=BOT_ID),
        message("edited text", subtype="message_changed", previous_text="old"),
        message("", subtype="message_deleted"),
    ]:  # fmt: skip
        status, _ = await bot.event(event)
        assert status == 200
    await asyncio.sleep(1.0)
    assert bot.slack.posted() == []


# Exactly once


async def test_a_retried_event_is_answered_once(bot: Bot) -> None:
    question = mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
    body = event_body(question, event_id="EvRETRY1")
    assert (await bot.post(body))[0] == 200
    for retry in (1, 2):
        assert (await bot.post(body, signed_headers(body, retry_num=retry)))[0] == 200
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) >= 1)
    await asyncio.sleep(1.0)
    assert len(bot.slack.posted()) == 1


async def test_a_mention_delivered_as_two_events_is_answered_once(bot: Bot) -> None:
    text_ = f"<@{BOT_USER_ID}> How many days of annual leave do I get?"
    question = mention(text_)
    await bot.event(question)
    await bot.event(message(text_, channel="CGENERAL", channel_type="channel", ts=question["ts"]))
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) >= 1)
    await asyncio.sleep(1.0)
    assert len(bot.slack.posted()) == 1


async def test_fifty_simultaneous_mentions_get_fifty_threaded_answers(bot: Bot) -> None:
    questions = [
        mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get? ({i})")
        for i in range(50)
    ]
    # No answer can be posted until released: every event is acknowledged without waiting for
    # its answer (how fast an ack is, is measured by bench/slack_bench.py, not here).
    bot.slack.hold("chat.postMessage")
    try:
        acks = asyncio.gather(*(bot.event(q) for q in questions))
        statuses = await asyncio.wait_for(acks, timeout=120)
    finally:
        bot.slack.release("chat.postMessage")
    assert [s for s, _ in statuses] == [200] * 50
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) >= 50, timeout=120)
    threads = sorted(p["thread_ts"] for p in bot.slack.posted())
    assert threads == sorted(q["ts"] for q in questions)
    assert all("25 days" in p["text"] for p in bot.slack.posted())


# Permissions


async def test_a_channel_answer_uses_only_what_the_channel_may_see(bot: Bot) -> None:
    ask = f"<@{BOT_USER_ID}> When are salary bands reviewed?"
    general = await bot.answer_to(mention(ask))
    assert "April" not in general["text"]
    hr = await bot.answer_to(mention(ask, channel=HR_CHANNEL))
    assert "reviewed every April" in hr["text"]
    again = await bot.answer_to(mention(ask))  # the cache must not leak the HR answer
    assert "April" not in again["text"]


async def test_a_dm_uses_what_the_asker_or_their_user_group_may_see(bot: Bot) -> None:
    bot.slack.usergroups["SPEOPLE"] = ["UCAROL"]
    ask = "When are salary bands reviewed?"
    alice = await bot.answer_to(message(ask))
    assert "April" not in alice["text"]
    bob = await bot.answer_to(message(ask, user="UHRBOB", channel="DBOB"))
    assert "reviewed every April" in bob["text"]
    carol = await bot.answer_to(message(ask, user="UCAROL", channel="DCAROL"))
    assert "reviewed every April" in carol["text"]


# Buttons


async def test_feedback_is_stored_once_per_person_with_a_hashed_user_id(bot: Bot) -> None:
    """An answer posted whole (no model here: the offline writer's) carries Slack's own 👍/👎,
    and a press is stored as a vote."""
    reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    assert bot.slack.calls_to("chat.startStream") == [] and bot.slack.posted("CGENERAL")
    answer_id = _button(reply, ACTION_ASK_HUMAN)["value"].split()[0]
    first = await bot.vote(1, reply, channel="CGENERAL")
    await bot.slack.wait_for(lambda: bool(bot.responses(first)))
    assert "Thanks" in bot.responses(first)[0]
    second = await bot.vote(-1, reply, channel="CGENERAL")
    await bot.slack.wait_for(lambda: bool(bot.responses(second)))
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM feedback"))).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert (row["answer_id"], row["vote"], row["platform"]) == (answer_id, -1, "slack")
    assert "UALICE" not in row["voter_hash"] and len(row["voter_hash"]) == 24


async def test_the_vote_buttons_of_answers_posted_before_slacks_own_still_count(bot: Bot) -> None:
    reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    value = _button(reply, ACTION_ASK_HUMAN)["value"]  # what the old vote buttons carried too
    old = {**reply, "blocks": [{"type": "actions", "block_id": "supportbot_answer_x", "elements": [
        {"type": "button", "action_id": action, "value": value,
         "text": {"type": "plain_text", "text": "x"}}
        for action in (ACTION_HELPFUL, ACTION_NOT_HELPFUL)
    ]}]}  # fmt: skip
    key = await bot.click(ACTION_NOT_HELPFUL, old, channel="CGENERAL")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM feedback"))).mappings().all()
    assert [(r["answer_id"], r["vote"]) for r in rows] == [(value.split()[0], -1)]


async def test_ask_a_human_posts_question_answer_and_permalink_to_the_experts(bot: Bot) -> None:
    question = bot.slack.remember(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    reply = await bot.answer_to(question)
    key = await bot.click(ACTION_ASK_HUMAN, reply, channel="CGENERAL")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert f"<#{ESCALATION}>" in bot.responses(key)[0]
    [escalated] = bot.slack.posted(ESCALATION)
    posted = escalated["text"]
    assert "How many days of annual leave?" in posted
    assert "25 days" in posted  # the bot's answer
    assert f"archives/CGENERAL/p{question['ts'].replace('.', '')}" in posted
    assert "<@UEXPERT>" in posted and "<!subteam^SEXPERTS>" in posted and "<@UALICE>" in posted


# /kb and files


async def test_a_non_admin_kb_command_is_refused_and_changes_nothing(bot: Bot) -> None:
    before = await bot.core.kb.store.corpus_version()
    for command in ("remove Leave Policy", "add https://hb.test/new", "list"):
        key = await bot.command(command, user="UALICE")
        await bot.slack.wait_for(lambda key=key: bool(bot.responses(key)))  # type: ignore[misc]
        assert "only knowledge-base admins" in bot.responses(key)[0]
    assert await bot.core.kb.store.corpus_version() == before
    assert len(await bot.core.kb.store.list_documents()) == 2


async def test_kb_stale_lists_overdue_documents_for_admins_and_answers_say_so(bot: Bot) -> None:
    overdue = MetadataChange(owner="ana@hb.test", review_by=date(2020, 1, 31))
    await bot.core.kb.store.set_metadata("Leave Policy", overdue)
    refused = await bot.command("stale", user="UALICE")
    listed = await bot.command("stale")
    await bot.slack.wait_for(lambda: bool(bot.responses(refused) and bot.responses(listed)))
    assert "only knowledge-base admins" in bot.responses(refused)[0]
    [stale] = bot.responses(listed)
    assert stale.startswith("*1 document is overdue for review:*")
    assert "<https://hb.test/leave|Leave Policy>" in stale
    assert "review was due 2020-01-31 (owner ana@hb.test)" in stale
    assert "Salar" not in stale
    reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    sources = json.dumps(reply["blocks"], ensure_ascii=False)
    assert re.search(r"Annual leave> \(updated \d{4}-\d\d-\d\d · review overdue\)", sources)


async def test_kb_add_of_an_updated_policy_is_answered_from_the_new_text_at_once(
    bot: Bot,
) -> None:
    page = {"body": "<h1>Remote Work</h1><h2>Days</h2><p>You may work remotely 2 days a week.</p>"}

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(
            text=f"<html><body>{page['body']}</body></html>", content_type="text/html"
        )

    site = web.Application()
    site.router.add_get("/remote", handler)
    ask = f"<@{BOT_USER_ID}> How many days a week may I work remotely?"
    async with serve(site) as base:
        key = await bot.command(f"add <{base}/remote>")
        await bot.slack.wait_for(lambda: len(bot.responses(key)) >= 3)
        queued, started, done = bot.responses(key)
        assert f"Queued `add {base}/remote`" in queued
        assert f"Started adding {base}/remote" in started
        assert "Added *Remote Work*" in done
        first = await bot.answer_to(mention(ask))
        assert "2 days a week" in first["text"]
        page["body"] = page["body"].replace("2 days", "3 days")
        key = await bot.command(f"add {base}/remote")
        await bot.slack.wait_for(lambda: len(bot.responses(key)) >= 3)
        assert "Updated *Remote Work*" in bot.responses(key)[2]
    second = await bot.answer_to(mention(ask))
    assert "3 days a week" in second["text"] and "2 days" not in second["text"]


@pytest.mark.parametrize("target", ["/", "/etc", "{folder}", "file:///etc/passwd"])
async def test_kb_add_of_a_path_on_the_server_is_refused_and_reads_nothing(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    folder = tmp_path / "server-files"
    folder.mkdir()
    (folder / "secret.md").write_text("# Secret\n\nThe database password is hunter2.\n")

    def no_reading(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a path typed in chat was read on the server")

    for name in ("_kind_of", "files_in", "read_file"):
        monkeypatch.setattr(f"knowledge.loading.{name}", no_reading)
    key = await bot.command(f"add {target.format(folder=folder)}")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    [refusal] = bot.responses(key)
    assert refusal.startswith("Please give a link (http or https)")
    async with bot.core.kb.engine.connect() as connection:
        # Only ingestion counts: the workers also queue the periodic sync of sources.
        ingestions = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'supportbot.ingest'"
        assert await connection.scalar(text(ingestions)) == 0
    assert len(await bot.core.kb.store.list_documents()) == 2


async def test_kb_add_of_an_address_inside_the_network_is_refused_without_fetching_it(
    slack: FakeSlack, database_url: str, redis_url: str
) -> None:
    hits: list[str] = []

    async def internal(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/redirect":
            raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/secret.md")
        return web.Response(text="# Secret\n\nhunter2\n", content_type="text/markdown")

    site = web.Application()
    site.router.add_get("/{path:.*}", internal)
    # Not allow-listed here, unlike the other tests' loopback pages.
    settings = _settings(slack, database_url, redis_url, SUPPORTBOT_FETCH_ALLOWED_NETWORKS="")
    async with running_bot(settings, slack) as bot, serve(site) as base:
        port = base.rsplit(":", 1)[1]
        for url in (f"{base}/secret.md", f"http://localhost:{port}/redirect",
                    f"http://2130706433:{port}/secret.md"):  # fmt: skip
            key = await bot.command(f"add {url}")
            await bot.slack.wait_for(lambda key=key: len(bot.responses(key)) >= 3)  # type: ignore[misc]
            assert bot.responses(key)[2] == (
                f"Could not add {url}: I could not download it. I fetch only public web pages "
                "(and addresses the operator has allowed), within a size and time limit; the "
                "server log says more."
            )
        assert hits == []
        assert len(await bot.core.kb.store.list_documents()) == 2


async def test_kb_list_remove_and_help(bot: Bot) -> None:
    key = await bot.command("list")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "2 documents" in bot.responses(key)[0]
    assert "<https://hb.test/leave|Leave Policy>" in bot.responses(key)[0]
    key = await bot.command("remove Leave Policy")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "Removed *Leave Policy*" in bot.responses(key)[0]
    assert [d.title for d in await bot.core.kb.store.list_documents()] == ["Salary Bands"]
    key = await bot.command("remove No Such Policy")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "No document matches" in bot.responses(key)[0]
    key = await bot.command("")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "/kb add" in bot.responses(key)[0]


async def test_an_admin_in_the_admin_channel_may_use_kb(
    slack: FakeSlack, database_url: str, redis_url: str
) -> None:
    slack.members["CADMINS"] = ["UZOE"]
    slack.channel_flags["CADMINS"] = {"is_private": True}
    settings = _settings(slack, database_url, redis_url, SLACK_ADMIN_CHANNEL="CADMINS")
    async with running_bot(settings, slack) as bot:
        key = await bot.command("remove Leave Policy", user="UZOE")
        await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "Removed" in bot.responses(key)[0]


async def test_a_file_sent_by_an_admin_in_a_dm_is_ingested_and_answerable(bot: Bot) -> None:
    file = bot.slack.host_file(
        "expenses.md",
        b"---\ntitle: Expenses Policy\nurl: https://hb.test/expenses\n---\n"
        b"# Expenses Policy\n\n## Meals\n\nMeals on business trips are refunded up to 40 euros.\n",
        "text/markdown",
    )
    await bot.event(message("", user=ADMIN, channel="DADMIN", files=[file]))
    await bot.slack.wait_for(lambda: len(bot.slack.posted("DADMIN")) >= 3)
    received, started, added = (m["text"] for m in bot.slack.posted("DADMIN"))
    assert received.startswith("Received expenses.md. I'll add it to the knowledge base")
    assert started == "Started adding expenses.md…"
    assert "Added *Expenses Policy*" in added
    assert len(bot.slack.downloads) == 1
    reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How much are meals refunded?"))
    assert "40 euros" in reply["text"]
    assert "https://hb.test/expenses#meals" in json.dumps(reply["blocks"], ensure_ascii=False)


async def test_a_file_from_a_non_admin_is_not_downloaded(bot: Bot) -> None:
    file = bot.slack.host_file("notes.md", b"# Notes\n\nhello", "text/markdown")
    await bot.event(message("", files=[file]))
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("DALICE")))
    assert "Only knowledge-base admins" in bot.slack.posted("DALICE")[0]["text"]
    assert bot.slack.downloads == []
    assert len(await bot.core.kb.store.list_documents()) == 2


async def test_a_file_url_outside_slack_never_gets_the_token(bot: Bot) -> None:
    file = bot.slack.host_file("x.md", b"# X\n\nx", "text/markdown")
    file["url_private_download"] = "https://attacker.test/steal"
    await bot.event(message("", user=ADMIN, channel="DADMIN", files=[file]))
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("DADMIN")))
    assert "not a file hosted by Slack" in bot.slack.posted("DADMIN")[0]["text"]


# Faults


async def test_slack_errors_are_survived_and_rate_limits_retried(bot: Bot) -> None:
    bot.slack.fail("chat.postMessage", "not_in_channel")
    bot.slack.fail("reactions.add", "channel_not_found")
    status, _ = await bot.event(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    assert status == 200
    await bot.slack.wait_for(lambda: any(c.error == "not_in_channel" for c in bot.slack.calls))
    assert bot.slack.posted() == []
    bot.slack.rate_limit("chat.postMessage", retry_after=0)
    reply = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
    assert "25 days" in reply["text"]
    outcomes = [c.outcome for c in bot.slack.calls if c.method == "chat.postMessage"]
    assert outcomes == ["error", "rate_limited", "ok"]


async def test_a_failing_model_gets_a_quoted_answer_marked_limited_in_the_thread(
    slack: FakeSlack, database_url: str, redis_url: str
) -> None:
    async with fake_openai() as llm:
        llm.default = lambda _body: 500
        settings = _settings(
            slack, database_url, redis_url, OPENAI_BASE_URL=llm.base_url,
            SUPPORTBOT_LLM_MAX_RETRIES="0",
        )  # fmt: skip
        async with running_bot(settings, slack) as bot:
            question = mention(f"<@{BOT_USER_ID}> How many days of annual leave?")
            reply = await bot.answer_to(question)
    assert reply["thread_ts"] == question["ts"]
    first_line, quoted = reply["text"].split("\n\n", 1)
    assert "limited right now" in first_line
    assert "25 days of annual leave" in quoted
    assert "Leave Policy" in json.dumps(reply["blocks"])  # its sources, numbered as usual
    assert _button(reply, ACTION_FEEDBACK)


async def test_a_database_failure_becomes_a_short_polite_message_in_the_thread(
    slack: FakeSlack, database_url: str, postgres_server_url: str, redis_url: str
) -> None:
    async with (
        postgres_outage(postgres_server_url, database_url) as (database, url),
        running_bot(_settings(slack, url, redis_url), slack) as bot,
    ):
        await database.cut()
        question = mention(f"<@{BOT_USER_ID}> How many days of annual leave?")
        reply = await bot.answer_to(question)
        await database.restore()
        again = await bot.answer_to(mention(f"<@{BOT_USER_ID}> Who approves sick leave?"))
    assert reply["thread_ts"] == question["ts"]
    assert "temporarily unavailable" in reply["text"]
    assert len(reply["text"]) < 250
    assert "temporarily unavailable" not in again["text"]  # back by itself


async def test_past_the_per_person_limit_the_asker_is_told_when_to_ask_again(
    slack: FakeSlack, database_url: str, redis_url: str
) -> None:
    settings = _settings(slack, database_url, redis_url, SUPPORTBOT_QUESTIONS_PER_MINUTE="1")
    async with running_bot(settings, slack) as bot:
        first = await bot.answer_to(mention(f"<@{BOT_USER_ID}> How many days of annual leave?"))
        limited = await bot.answer_to(mention(f"<@{BOT_USER_ID}> When do I report sick leave?"))
        other = await bot.answer_to(
            mention(f"<@{BOT_USER_ID}> When do I report sick leave?", user="UBOB")
        )
    assert "25 days" in first["text"]
    assert limited["text"].startswith("Sorry, you've asked me 1 question in the last minute")
    assert "Please ask again in" in limited["text"]
    assert [b["type"] for b in limited["blocks"]] == ["section"]  # no sources, no buttons
    assert other["text"].startswith("Here is what our policies say")  # someone else is answered


async def test_kb_sources_and_kb_sync_for_admins(bot: Bot) -> None:
    async with fake_site() as site:
        site.page("/parking.html", "Parking", "<h2>Bays</h2><p>Park in bay 4.</p>")
        sitemap = {"sitemap": f"{site.base}/sitemap.xml"}
        await bot.core.sources.add("web", "intranet", sitemap, ("public",), 3600)
        key = await bot.command("sources")
        await bot.slack.wait_for(lambda: bool(bot.responses(key)))
        # Not "never synced": the service's own sync pass may reach the new source first.
        assert "`intranet` (web): " in bot.responses(key)[0]
        key = await bot.command("sync intranet")
        await bot.slack.wait_for(lambda: len(bot.responses(key)) >= 2)
        queued, synced = bot.responses(key)
        assert "Queued a sync of `intranet`" in queued
        # Added by this sync, or just before by the periodic one (the source was due).
        assert "Synced `intranet`: 1 page, " in synced
    assert "Parking" in [d.title for d in await bot.core.kb.store.list_documents()]
    key = await bot.command("sync nowhere")
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert "no source named `nowhere`" in bot.responses(key)[0]
