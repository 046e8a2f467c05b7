"""Change announcements in Slack end to end: `/kb subscribe` from the real Bolt app, the
background watch of `serve` claiming each change, posts at the loopback fake of Slack."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.loop.subscriptions import PgSubscriptions
from bot.platforms.subscription_commands import parse_subscription_command
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.fake_slack import BOT_USER_ID, FakeSlack, fake_slack, mention
from tests.test_slack import ACCESS, HR_CHANNEL, SALARIES, Bot, _settings, running_bot


@pytest.fixture
async def bot(database_url: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    """The bot of test_slack.py, looking for changes to announce every 0.2 s."""
    (tmp_path / "access.yml").write_text(ACCESS)
    env = {
        "SUPPORTBOT_ACCESS_FILE": str(tmp_path / "access.yml"),
        "SUPPORTBOT_CHANGE_POLL_SECONDS": "0.2",
    }
    async with fake_slack() as slack:
        settings = _settings(slack, database_url, redis_url, **env)
        async with running_bot(settings, slack) as running:
            yield running


async def _reply(bot: Bot, text: str, **kwargs: str) -> str:
    key = await bot.command(text, **kwargs)
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    [reply] = bot.responses(key)
    return reply


def _top_level(slack: FakeSlack, channel: str) -> list[str]:
    return [m["text"] for m in slack.posted(channel) if not m.get("thread_ts")]


def test_subscription_commands_are_parsed() -> None:
    command = parse_subscription_command("subscribe <#C1|news> HR finance")
    assert command is not None and (command.channel, command.scopes) == (
        "<#C1|news>",
        ("hr", "finance"),
    )
    assert parse_subscription_command("unsubscribe") is not None
    assert parse_subscription_command("stale") is None


async def test_subscribed_channels_hear_of_changes_they_may_see_once_each(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    assert "only knowledge-base admins" in await _reply(
        bot, "subscribe <#CNEWS|news>", user="UALICE"
    )
    assert "#gone will now hear" in await _reply(bot, "subscribe <#CGONE|gone>")
    assert "#news will now hear" in await _reply(bot, "subscribe <#CNEWS|news>")
    assert "#hrpriv will now hear of changes to the documents with scope hr" in await _reply(
        bot, f"subscribe <#{HR_CHANNEL}|hrpriv> hr"
    )
    assert "I can't tell which channel #elsewhere is" in await _reply(bot, "subscribe #elsewhere")
    # The bot was removed from #gone: its post fails, is logged, and nothing else suffers.
    bot.slack.fail("chat.postMessage", "not_in_channel")

    store = bot.core.kb.store
    leave = policy(url="https://hb.test/leave", sections={
        "Annual leave": "Everyone gets 30 days of annual leave plus public holidays.",
        "Sick leave": "Tell your manager before 10am on the first day you are ill.",
        "Parental [leave](https://evil.example)": "Sixteen weeks.",
    })  # fmt: skip
    with caplog.at_level(logging.WARNING):
        await store.upsert(leave, chunk_document(leave))
        await bot.slack.wait_for(lambda: bool(_top_level(bot.slack, "CNEWS")))
    [news] = _top_level(bot.slack, "CNEWS")
    assert "<https://hb.test/leave|Leave Policy> has changed." in news
    assert (
        "Changed: Leave Policy › Annual leave" in news and "Added: Leave Policy › Parental" in news
    )
    assert "<https://evil" not in news  # a section name is never a link
    assert _top_level(bot.slack, "CGONE") == [] and "cannot post to CGONE" in caplog.text
    assert _top_level(bot.slack, HR_CHANNEL) == []  # it asked for hr documents only

    salaries = policy(url="https://hb.test/salaries", title="Salary Bands", scopes=("hr",),
                      sections={**SALARIES, "Bonus": "Paid in March."})  # fmt: skip
    await store.upsert(salaries, chunk_document(salaries))
    await bot.slack.wait_for(lambda: bool(_top_level(bot.slack, HR_CHANNEL)))
    [hr] = _top_level(bot.slack, HR_CHANNEL)
    assert "Salary Bands" in hr and "Added: Salary Bands › Bonus" in hr
    # Announced once, and only where hr may be seen; #gone keeps its subscription.
    assert await bot.core.changes.announce_pending() == 0
    assert len(_top_level(bot.slack, "CNEWS")) == 1
    assert "Salary" not in " ".join(_top_level(bot.slack, "CGONE"))
    channels = {s.channel for s in await PgSubscriptions(bot.core.kb.engine).all()}
    assert channels == {"CGONE", "CNEWS", HR_CHANNEL}

    remote = policy(url="https://hb.test/remote", title="Remote Work")
    await store.upsert(remote, chunk_document(remote))
    await bot.slack.wait_for(lambda: len(_top_level(bot.slack, "CNEWS")) == 2)
    added = _top_level(bot.slack, "CNEWS")[1]
    assert added == "<https://hb.test/remote|Remote Work> was added to the knowledge base."

    assert "`/kb subscribe #channel`" in await _reply(bot, "help")
    assert "#news will no longer hear" in await _reply(bot, "unsubscribe <#CNEWS|news>")
    assert "was not subscribed" in await _reply(bot, "unsubscribe <#CNEWS|news>")


async def test_an_answer_whose_section_changed_gets_one_reply_in_its_thread(bot: Bot) -> None:
    question = mention(f"<@{BOT_USER_ID}> How many days of annual leave do I get?")
    first = await bot.answer_to(question)
    assert "25 days" in first["text"]

    store = bot.core.kb.store
    leave = policy(url="https://hb.test/leave", sections={
        "Annual leave": "Everyone gets 30 days of annual leave plus public holidays.",
        "Sick leave": "Tell your manager before 10am on the first day you are ill.",
    })  # fmt: skip
    await store.upsert(leave, chunk_document(leave))
    in_thread = lambda: [  # noqa: E731
        m for m in bot.slack.posted("CGENERAL") if m.get("thread_ts") == question["ts"]
    ]
    await bot.slack.wait_for(lambda: len(in_thread()) == 2)
    notice = in_thread()[1]["text"]
    assert "The policy this answer quoted has changed" in notice and "30 days" in notice
    assert "<https://hb.test/leave#annual-leave|Leave Policy › Annual leave>" in notice
    assert await bot.core.changes.announce_pending() == 0
    assert len(in_thread()) == 2
