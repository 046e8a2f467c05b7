"""Slack's assistant pane: a new thread gets the greeting and the suggested prompts, its first
question titles it, and questions there are answered in the thread like any DM question.
Signed events to the real server and Bolt app, the fake Slack Web API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms import assistant_messages
from bot.service.settings import Settings, SettingsError
from tests.fake_slack import (
    FakeSlack,
    assistant_thread_started,
    bot_environment,
    event_envelope,
    message,
)
from tests.test_slack import ACCESS, Bot, bot_with_access, slack

__all__ = ["slack"]  # a fixture used by the tests below

PROMPTS = "How many days of annual leave do I get?|When are salary bands reviewed?"


@pytest.fixture
async def bot(
    slack: FakeSlack, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Bot]:
    async with bot_with_access(
        slack, database_url, redis_url, tmp_path, ACCESS, SLACK_SUGGESTED_PROMPTS=PROMPTS
    ) as running:
        yield running


async def test_a_new_assistant_thread_is_greeted_with_the_configured_prompts(bot: Bot) -> None:
    started = assistant_thread_started(channel="DALICE", context_channel="CGENERAL")
    thread = started["assistant_thread"]
    status, _ = await bot.event(started)
    assert status == 200
    key = ("DALICE", thread["thread_ts"])
    await bot.slack.wait_for(lambda: key in bot.slack.prompts)
    [greeting] = bot.slack.posted("DALICE")
    assert greeting["thread_ts"] == thread["thread_ts"]
    assert greeting["text"] == assistant_messages.ASSISTANT_GREETING
    offered = bot.slack.prompts[key]
    assert offered["title"] == assistant_messages.SUGGESTED_PROMPTS_TITLE
    assert [p["message"] for p in offered["prompts"]] == PROMPTS.split("|")


async def test_a_redelivered_thread_start_is_greeted_once(bot: Bot) -> None:
    started = assistant_thread_started()
    await bot.event(started, event_id="EvSTART1")
    key = ("DALICE", started["assistant_thread"]["thread_ts"])
    await bot.slack.wait_for(lambda: key in bot.slack.prompts)
    # Slack's retry carries another delivery of the same thread's start.
    await bot.event(started, event_id="EvSTART2")
    # A question in the thread is the barrier: once it is answered, the retry was handled.
    question = message("How many days of annual leave do I get?", thread_ts=key[1])
    await bot.answer_to(question)
    greetings = [
        m for m in bot.slack.posted("DALICE") if m["text"] == assistant_messages.ASSISTANT_GREETING
    ]
    assert len(greetings) == 1
    assert len(bot.slack.calls_to("assistant.threads.setSuggestedPrompts")) == 1


async def test_the_first_question_titles_the_thread_and_is_answered_in_it(bot: Bot) -> None:
    started = assistant_thread_started()
    thread_ts = started["assistant_thread"]["thread_ts"]
    await bot.event(started)
    await bot.slack.wait_for(lambda: ("DALICE", thread_ts) in bot.slack.prompts)
    first = "How many days of   annual leave do I get? I joined in March and work part time."
    reply = await bot.answer_to(message(first, thread_ts=thread_ts))
    assert reply["thread_ts"] == thread_ts
    assert "25 days of annual leave" in reply["text"]
    title = bot.slack.titles[("DALICE", thread_ts)]
    assert title.startswith("How many days of annual leave do I get?")
    assert len(title) <= assistant_messages.THREAD_TITLE_LIMIT and title.endswith("…")
    # Later questions keep the title.
    await bot.answer_to(message("When are salary bands reviewed?", thread_ts=thread_ts))
    assert len(bot.slack.calls_to("assistant.threads.setTitle")) == 1
    assert bot.slack.titles[("DALICE", thread_ts)] == title


async def test_an_ordinary_dm_thread_gets_no_title(bot: Bot) -> None:
    parent = bot.slack.add_message("DALICE", "Hello")
    await bot.answer_to(message("How many days of annual leave do I get?", thread_ts=parent))
    assert bot.slack.calls_to("assistant.threads.setTitle") == []


async def test_a_context_change_is_acknowledged_and_widens_nothing(bot: Bot) -> None:
    started = assistant_thread_started(context_channel="CGENERAL")
    thread_ts = started["assistant_thread"]["thread_ts"]
    await bot.event(started)
    await bot.slack.wait_for(lambda: ("DALICE", thread_ts) in bot.slack.prompts)
    changed = {**started, "type": "assistant_thread_context_changed"}
    changed["assistant_thread"] = {
        **started["assistant_thread"],
        "context": {"channel_id": "CHRPRIV", "team_id": "T0001", "enterprise_id": None},
    }
    status, _ = await bot.event(changed)
    assert status == 200
    # Alice may not see `hr` documents; viewing the HR channel does not change that.
    reply = await bot.answer_to(message("When are salary bands reviewed?", thread_ts=thread_ts))
    assert "April" not in reply["text"]


async def test_a_failed_greeting_is_logged_and_the_thread_still_answers(bot: Bot) -> None:
    bot.slack.fail("assistant.threads.setSuggestedPrompts", "invalid_arguments")
    started = assistant_thread_started()
    thread_ts = started["assistant_thread"]["thread_ts"]
    await bot.event(started)

    def refused() -> bool:
        return any(c.method.endswith("setSuggestedPrompts") and c.outcome == "error"
                   for c in bot.slack.calls)  # fmt: skip

    # The greeting was posted before the prompts were refused.
    await bot.slack.wait_for(refused)
    assert bot.slack.posted("DALICE")
    reply = await bot.answer_to(
        message("How many days of annual leave do I get?", thread_ts=thread_ts)
    )
    assert "25 days of annual leave" in reply["text"]
    assert ("DALICE", thread_ts) not in bot.slack.prompts


def test_suggested_prompts_setting(slack: FakeSlack) -> None:
    def settings(**extra: str) -> Settings:
        environ = bot_environment(slack, database_url="postgresql://x/y", redis_url="redis://x")
        return Settings.from_env(environ | extra)

    assert settings().slack_suggested_prompts == assistant_messages.DEFAULT_SUGGESTED_PROMPTS
    assert settings(SLACK_SUGGESTED_PROMPTS=" A? | B? |").slack_suggested_prompts == ("A?", "B?")
    assert settings(SLACK_SUGGESTED_PROMPTS="|").slack_suggested_prompts == ()
    with pytest.raises(SettingsError, match="at most 4"):
        settings(SLACK_SUGGESTED_PROMPTS="a|b|c|d|e")


async def test_the_fake_refuses_prompts_as_slack_does(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    five = [{"title": str(i), "message": str(i)} for i in range(5)]
    for kwargs in [
        {"channel_id": "DALICE", "thread_ts": "1.2", "prompts": five},
        {"channel_id": "DALICE", "thread_ts": "1.2", "prompts": [{"title": "t"}]},
        {"channel_id": "CGENERAL", "thread_ts": "1.2", "prompts": five[:1]},
    ]:
        with pytest.raises(SlackApiError):
            await client.assistant_threads_setSuggestedPrompts(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(SlackApiError):
        await client.assistant_threads_setTitle(channel_id="DALICE", thread_ts="1.2", title="")
    assert slack.prompts == {} and slack.titles == {}
    envelope = event_envelope(assistant_thread_started())
    assert envelope["event"]["assistant_thread"]["channel_id"] == "DALICE"
