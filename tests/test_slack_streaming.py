"""Slack answers streamed as the model writes them: the status line while working,
chat.startStream/appendStream/stopStream with the sources and Slack's own feedback buttons at
the end, and one chat.postMessage where a stream is refused or there is nothing to stream.
Signed events to the real server, the fake Slack Web API, a model streaming server-sent events."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.platforms.slack.blocks import ACTION_ASK_HUMAN
from bot.platforms.slack.feedback_blocks import ACTION_FEEDBACK
from tests.fake_openai import FakeOpenAI, fake_openai, leave_answers
from tests.fake_openai_stream import STALL
from tests.fake_slack import (
    BOT_USER_ID,
    FORM,
    TEAM_ID,
    FakeSlack,
    block_action_body,
    mention,
    message,
    signed_headers,
)
from tests.test_slack import ACCESS, Bot, _settings, running_bot

ANSWER = "Everyone gets 25 days of annual leave plus public holidays [1]."


@pytest.fixture
async def model() -> AsyncIterator[FakeOpenAI]:
    async with fake_openai() as llm:
        llm.default, llm.chunk_chars, llm.pause = leave_answers, 6, 0.15
        yield llm


@pytest.fixture
async def bot(
    slack: FakeSlack, model: FakeOpenAI, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Bot]:
    access = tmp_path / "access.yml"
    access.write_text(ACCESS)
    settings = _settings(
        slack,
        database_url,
        redis_url,
        SUPPORTBOT_ACCESS_FILE=str(access),
        OPENAI_BASE_URL=model.base_url,
        SUPPORTBOT_LLM_TIMEOUT="1",
        SUPPORTBOT_LLM_MAX_RETRIES="0",
    )
    async with running_bot(settings, slack) as running:
        yield running


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    from tests.fake_slack import fake_slack

    async with fake_slack() as fake:
        yield fake


async def streamed(bot: Bot, event: dict[str, Any]) -> dict[str, Any]:
    """Send ``event``; the bot's streamed reply once the stream is stopped."""
    status, _ = await bot.event(event)
    assert status == 200
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.stopStream")), timeout=20)
    [reply] = [m for m in bot.slack.history[event["channel"]] if "streaming" in m]
    return reply


async def test_a_dm_is_streamed_in_the_questions_thread_and_ends_with_sources_and_feedback(
    bot: Bot,
) -> None:
    question = message("How many days of annual leave do I get?")
    reply = await streamed(bot, question)
    assert reply["thread_ts"] == question["ts"] and not reply["streaming"]
    assert reply["text"] == ANSWER
    assert bot.slack.calls_to("chat.appendStream")  # the text came in more than one piece
    started = bot.slack.calls_to("chat.startStream")[0].args["markdown_text"]
    assert ANSWER.startswith(started) and started != ANSWER
    blocks = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "<https://hb.test/leave#annual-leave|Leave Policy › Annual leave>" in blocks
    assert '"feedback_buttons"' in blocks and ACTION_ASK_HUMAN in blocks
    assert bot.slack.calls_to("chat.postMessage") == []  # no second message

    def statuses() -> list[str]:
        return [s for _, thread, s in bot.slack.statuses if thread == question["ts"]]

    # The status is cleared once the answer is recorded as posted, just after the stream stops.
    await bot.slack.wait_for(lambda: statuses()[-1] == "", timeout=10)
    assert "Searching the policies…" in statuses()
    assert bot.slack.calls_to("reactions.add") == []


async def test_in_a_channel_the_stream_names_its_recipient(bot: Bot) -> None:
    question = mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
    reply = await streamed(bot, question)
    start = bot.slack.calls_to("chat.startStream")[0]
    assert start.outcome == "ok"
    assert (start.args["recipient_user_id"], start.args["recipient_team_id"]) == (
        "UALICE",
        TEAM_ID,
    )
    assert reply["text"] == ANSWER and reply["thread_ts"] == question["ts"]


async def test_where_streaming_is_refused_the_answer_is_posted_whole(bot: Bot) -> None:
    bot.slack.fail("chat.startStream", "not_allowed_token_type")
    await bot.event(message("How many days of annual leave do I get?"))
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("DALICE")), timeout=20)
    [reply] = bot.slack.posted("DALICE")
    assert "25 days of annual leave" in reply["text"] and "Sources" in json.dumps(reply["blocks"])
    assert '"feedback_buttons"' in json.dumps(reply["blocks"])  # Slack's own, as when streamed
    assert bot.slack.calls_to("chat.appendStream") == []


async def test_a_stream_slack_stops_halfway_ends_quietly_and_is_logged(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.slack.fail("chat.appendStream", "message_not_in_streaming_state", times=5)

    def appends() -> list[Any]:
        return [c for c in bot.slack.calls if c.method == "chat.appendStream"]

    with caplog.at_level(logging.WARNING):
        await bot.event(message("How many days of annual leave do I get?"))
        await bot.slack.wait_for(lambda: bool(appends()))
        await bot.slack.wait_for(lambda: bool(bot.slack.statuses[-1][2] == ""), timeout=20)
    assert "message_not_in_streaming_state" in caplog.text
    assert [c.outcome for c in appends()] == ["error"]  # no more appending to a stopped stream
    assert [c for c in bot.slack.calls if c.method == "chat.stopStream"] == []
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_nothing_is_streamed_for_a_decline_and_not_covered_is_posted(
    bot: Bot, model: FakeOpenAI
) -> None:
    model.default = lambda _body: "NOT_COVERED"
    await bot.event(message("How many days of annual leave do I get?"))
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("DALICE")), timeout=20)
    assert "couldn't find this in our policies" in bot.slack.posted("DALICE")[0]["text"]
    assert bot.slack.calls_to("chat.startStream") == []


async def test_a_stalled_model_leaves_the_apology_in_place_of_half_an_answer(
    bot: Bot, model: FakeOpenAI
) -> None:
    model.default = lambda body: (
        leave_answers(body) if "Employee:" in body["messages"][-1]["content"]
        else f"Everyone gets 25 days{STALL} of leave [1]."
    )  # fmt: skip
    await bot.event(message("How many days of annual leave do I get?"))
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.update")), timeout=20)
    [reply] = [m for m in bot.slack.history["DALICE"] if "streaming" in m]
    assert reply["text"].startswith("Sorry, I can't answer right now")
    assert "25 days" not in json.dumps(reply["blocks"])


async def test_slacks_own_feedback_buttons_store_the_vote(bot: Bot) -> None:
    reply = await streamed(bot, message("How many days of annual leave do I get?"))
    [element] = [
        e for b in reply["blocks"] if b["type"] == "context_actions" for e in b["elements"]
    ]
    key = uuid.uuid4().hex
    body = block_action_body(
        ACTION_FEEDBACK,
        element["negative_button"]["value"],
        user_id="UALICE",
        channel="DALICE",
        message=reply,
        response_url=bot.slack.response_url(key),
    )
    status, _ = await bot.post(body, signed_headers(body, content_type=FORM))
    assert status == 200
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    async with bot.core.kb.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM feedback"))).mappings().all()
    assert [(r["vote"], r["platform"]) for r in rows] == [(-1, "slack")]
    assert rows[0]["answer_id"] in element["negative_button"]["value"]


async def test_a_mention_the_model_echoes_is_streamed_as_text(bot: Bot, model: FakeOpenAI) -> None:
    model.default = lambda _body: "Hi <!channel> and <@UBOSS>: everyone gets 25 days [1]."
    reply = await streamed(bot, message("How many days of annual leave do I get?"))
    assert "<!channel>" not in reply["text"] and "<@UBOSS>" not in reply["text"]
    assert "<\u200b!channel>" in reply["text"] and "25 days [1]." in reply["text"]


async def test_a_link_off_the_sources_is_never_streamed(bot: Bot, model: FakeOpenAI) -> None:
    model.default = lambda _body: (
        "Everyone gets 25 days [1]. Book them [in the portal](https://evil.example/book) "
        "or at https://evil.example/leave today [1]."
    )
    await bot.event(message("How many days of annual leave do I get?"))
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.update")), timeout=20)
    streamed = [
        str(call.args.get("markdown_text") or "")
        for method in ("chat.startStream", "chat.appendStream", "chat.stopStream")
        for call in bot.slack.calls_to(method)
    ]
    assert "".join(streamed).startswith("Everyone gets 25 days [1]. Book them in the portal")
    assert not any("evil.example" in text for text in streamed)
    # The checked answer took the streamed text's place: the link's target as text, no link.
    [reply] = [m for m in bot.slack.history["DALICE"] if "streaming" in m]
    assert "<https://evil.example" not in reply["text"] + json.dumps(reply["blocks"])


async def test_the_answer_is_worked_out_while_slack_sets_the_status_and_streamed_after_it(
    bot: Bot, model: FakeOpenAI
) -> None:
    bot.slack.hold("assistant.threads.setStatus")
    await bot.event(message("How many days of annual leave do I get?"))
    # The model is asked while Slack still holds the status call...
    await bot.slack.wait_for(lambda: bool(model.requests), timeout=20)
    await asyncio.sleep(0.5)
    # ...but nothing is shown before the status is set: one set after would stay under it.
    assert bot.slack.calls_to("chat.startStream") == []
    bot.slack.release("assistant.threads.setStatus")
    await bot.slack.wait_for(lambda: bool(bot.slack.calls_to("chat.stopStream")), timeout=20)
    [reply] = [m for m in bot.slack.history["DALICE"] if "streaming" in m]
    assert reply["text"] == ANSWER
