"""Per-channel behaviour from the access file: `respond: questions` channels answer top-level
questions without a mention; `private: true` channels answer the asker alone, with a button
that shares the answer in the thread, for the asker only and only once. Signed events and
button presses to the real server and Bolt app, the fake Slack Web API, real Postgres/Redis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.platforms import assistant_messages
from bot.platforms.access import AccessFileError, AccessRules, ChannelBehaviour
from bot.platforms.slack.channel_modes import is_question
from bot.platforms.slack.sharing import ACTION_SHARE
from tests.fake_openai import fake_openai, leave_answers
from tests.fake_slack import (
    BOT_USER_ID,
    FORM,
    FakeSlack,
    block_action_body,
    mention,
    message,
    signed_headers,
)
from tests.outage import redis_outage
from tests.test_slack import Bot, bot_with_access, slack

HELP = "CHELPDESK"  # answers questions without a mention
QUIET = "CQUIETHELP"  # answers questions, privately
PRIVATE = "CPRIVATE"  # answers mentions, privately
ACCESS = f"""
slack:
  channels:
    {HELP}: {{respond: questions}}
    {QUIET}: {{respond: questions, private: true}}
    {PRIVATE}: {{scopes: [], private: true}}
"""
LEAVE = "How many days of annual leave do I get?"

__all__ = ["slack"]  # a fixture used by the tests below


@pytest.fixture
async def bot(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Bot]:
    async with bot_with_access(slack, database_url, redis_url, tmp_path, ACCESS) as running:
        yield running


def channel_message(text: str, channel: str, **kwargs: Any) -> dict[str, Any]:
    return message(text, channel=channel, channel_type="channel", **kwargs)


async def private_answer(bot: Bot, event: dict[str, Any]) -> dict[str, Any]:
    """Send ``event`` and wait for the ephemeral answer it gets."""
    before = len(bot.slack.ephemeral)
    status, _ = await bot.event(event)
    assert status == 200
    await bot.slack.wait_for(lambda: len(bot.slack.ephemeral) > before)
    return list(bot.slack.ephemeral.values())[-1]


async def share(bot: Bot, answer: dict[str, Any], *, user: str = "UALICE") -> str:
    """Press "Share with the channel" on the ephemeral ``answer``; returns the response key."""
    [button] = [
        e
        for b in answer["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == ACTION_SHARE
    ]
    key = uuid.uuid4().hex
    body = block_action_body(
        ACTION_SHARE,
        button["value"],
        user_id=user,
        channel=answer["channel"],
        message=answer,
        response_url=bot.slack.response_url(key),
    )
    status, _ = await bot.post(body, signed_headers(body, content_type=FORM))
    assert status == 200
    await bot.slack.wait_for(lambda: bool(bot.slack.responses_to(key)))
    return key


# What reads as a question


@pytest.mark.parametrize(
    "text",
    [LEAVE, "holiday allowance?", "is the office open on Friday", "Can't I carry leave over",
     "<@U123> who approves expenses", "What's the wifi password", "ok but why?  "],
)  # fmt: skip
def test_questions(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    ["I need help with expenses", "Thanks!", "", "<https://x.test/?a|link>",
     "Howdy all", "Iso 27001 audit next week"],
)  # fmt: skip
def test_not_questions(text: str) -> None:
    assert not is_question(text)


# The access file


def test_a_channel_entry_may_choose_the_behaviour_and_keeps_its_scopes() -> None:
    help_desk = {"scopes": ["hr"], "respond": "questions", "private": True}
    rules = AccessRules.from_mapping({"slack": {"channels": {"C1": help_desk, "C2": ["it"]}}})
    assert rules.slack.behaviour("C1") == ChannelBehaviour(respond="questions", private=True)
    assert rules.slack.behaviour("C2") == ChannelBehaviour()
    assert rules.slack.channel_scopes("C1") == ("hr", "public")
    assert rules.slack.channel_scopes("C2") == ("it", "public")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"slack": {"channels": {"C1": {"respond": "always"}}}}, "respond"),
        ({"slack": {"channels": {"C1": {"private": "yes"}}}}, "private"),
        ({"slack": {"channels": {"C1": {"answer": "questions"}}}}, "unknown key 'answer'"),
        ({"teams": {"channels": {"19:x": {"respond": "questions"}}}}, "only Slack"),
    ],
)
def test_bad_channel_behaviours_are_refused_with_the_entry_named(
    raw: dict[str, Any], error: str
) -> None:
    with pytest.raises(AccessFileError, match=error):
        AccessRules.from_mapping(raw)


# respond: questions


async def test_a_help_channel_answers_a_top_level_question_without_a_mention(bot: Bot) -> None:
    question = channel_message(LEAVE, HELP)
    reply = await bot.answer_to(question)
    assert reply["thread_ts"] == question["ts"]
    assert "25 days of annual leave" in reply["text"]
    # The thread is the bot's now: a follow-up there is answered too.
    follow_up = channel_message("And can I carry them over", HELP, thread_ts=question["ts"])
    await bot.answer_to(follow_up)


async def test_a_help_channel_ignores_what_is_not_a_question(bot: Bot) -> None:
    chatter = channel_message("I need help with expenses", HELP)
    assert (await bot.event(chatter))[0] == 200
    # Elsewhere a question without a mention is not answered either.
    elsewhere = channel_message(LEAVE, "CGENERAL")
    assert (await bot.event(elsewhere))[0] == 200
    # A question after them is the barrier: once it is answered, the others were handled.
    await bot.answer_to(channel_message(LEAVE, HELP))
    answered = {m.get("thread_ts") for m in bot.slack.answers()}
    assert chatter["ts"] not in answered and elsewhere["ts"] not in answered
    assert bot.slack.posted("CGENERAL") == []


async def test_a_mention_in_a_help_channel_is_answered_once(bot: Bot) -> None:
    ts = "1700000999.000001"
    text = f"<@{BOT_USER_ID}> {LEAVE}"
    await bot.event(channel_message(text, HELP, ts=ts))
    await bot.answer_to(mention(text, channel=HELP, ts=ts))
    await bot.answer_to(channel_message("When are salary bands reviewed?", HELP))
    assert len([m for m in bot.slack.answers(HELP) if m.get("thread_ts") == ts]) == 1


# private: true


async def test_a_private_channel_answers_the_asker_alone_and_shares_once(bot: Bot) -> None:
    question = mention(f"<@{BOT_USER_ID}> {LEAVE}", channel=PRIVATE)
    answer = await private_answer(bot, question)
    assert answer["user"] == "UALICE" and answer["thread_ts"] == question["ts"]
    assert "25 days of annual leave" in answer["text"]
    assert bot.slack.answers(PRIVATE) == []  # nothing the channel can see

    # Someone else (a forged press: they cannot see the message) may not share it.
    key = await share(bot, answer, user="UMALLORY")
    assert bot.slack.responses_to(key)[0]["text"] == assistant_messages.share_not_yours()
    assert bot.slack.answers(PRIVATE) == []

    key = await share(bot, answer)
    assert bot.slack.responses_to(key)[0]["replace_original"] is True
    [shared] = bot.slack.answers(PRIVATE)
    assert shared["thread_ts"] == question["ts"] and shared["text"] == answer["text"]
    sources = json.dumps(shared["blocks"], ensure_ascii=False)
    assert "Leave Policy" in sources and ACTION_SHARE not in sources

    # A second press (a double click, a retry) posts nothing more.
    key = await share(bot, answer)
    assert bot.slack.responses_to(key)[0]["text"] == assistant_messages.share_already_done()
    assert len(bot.slack.answers(PRIVATE)) == 1


async def test_a_refused_share_can_be_tried_again(bot: Bot) -> None:
    answer = await private_answer(bot, mention(f"<@{BOT_USER_ID}> {LEAVE}", channel=PRIVATE))
    bot.slack.fail("chat.postMessage", "not_in_channel")
    key = await share(bot, answer)
    assert "Reference" in bot.slack.responses_to(key)[0]["text"]
    assert bot.slack.answers(PRIVATE) == []
    await share(bot, answer)
    assert len(bot.slack.answers(PRIVATE)) == 1


async def test_a_quiet_help_channel_answers_questions_privately(bot: Bot) -> None:
    answer = await private_answer(bot, channel_message(LEAVE, QUIET))
    assert "25 days of annual leave" in answer["text"]
    assert bot.slack.answers(QUIET) == []


async def test_an_unknown_share_token_is_refused(bot: Bot) -> None:
    answer = await private_answer(bot, mention(f"<@{BOT_USER_ID}> {LEAVE}", channel=PRIVATE))
    for block in answer["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == ACTION_SHARE:
                element["value"] = uuid.uuid4().hex
    key = await share(bot, answer)
    assert bot.slack.responses_to(key)[0]["text"] == assistant_messages.share_expired()
    assert bot.slack.answers(PRIVATE) == []


async def test_without_redis_nothing_is_shared_and_the_asker_is_told(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with (
        redis_outage(redis_url) as (proxy, through_proxy),
        bot_with_access(slack, database_url, through_proxy, tmp_path, ACCESS) as bot,
    ):
        answer = await private_answer(bot, mention(f"<@{BOT_USER_ID}> {LEAVE}", channel=PRIVATE))
        await proxy.cut()
        try:
            key = await share(bot, answer)
        finally:
            await proxy.restore()
        assert "Reference" in bot.slack.responses_to(key)[0]["text"]
        assert bot.slack.answers(PRIVATE) == []
        # With Redis back, the asker can share it.
        await share(bot, answer)
        assert len(bot.slack.answers(PRIVATE)) == 1


async def test_with_a_model_a_private_answer_is_not_streamed_but_a_public_one_is(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with fake_openai() as model:
        model.default = leave_answers
        async with bot_with_access(
            slack, database_url, redis_url, tmp_path, ACCESS, OPENAI_BASE_URL=model.base_url
        ) as bot:
            answer = await private_answer(
                bot, mention(f"<@{BOT_USER_ID}> {LEAVE}", channel=PRIVATE)
            )
            assert "25 days" in answer["text"]
            assert bot.slack.calls_to("chat.startStream") == []
            assert bot.slack.answers(PRIVATE) == []
            # A question in an ordinary channel is streamed: streaming is on. (Another
            # wording: a cached answer is posted whole.)
            other = "How much annual leave is there each year?"
            await bot.answer_to(mention(f"<@{BOT_USER_ID}> {other}", channel="CGENERAL"))
            [started] = bot.slack.calls_to("chat.startStream")
            assert started.args["channel"] == "CGENERAL"
