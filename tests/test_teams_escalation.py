""" "Ask a human" in Teams shows the experts only what they may see: a personal chat's question
and an answer citing restricted documents stay out of their channel, and what people typed
(their question, their name, a forged card's text) arrives as text, never a link or a mention."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from tests.fake_teams import ALICE, FakeBotConnector, card_submit, channel_mention
from tests.fake_teams import personal_message as personal
from tests.test_teams import (
    EXPERTS_CHANNEL,
    HR_CHANNEL,
    QUESTION,
    TeamsBot,
    _environment,
    access_file,
    card_action,
    connector,
    running_bot,
)

__all__ = ["access_file", "connector"]  # fixtures used by the tests below

SALARIES = "When are salary bands reviewed?"
SPOOF = "[HR portal](https://evil.example)"


@pytest.fixture
async def bot(
    database_url: str, redis_url: str, access_file: Path, connector: FakeBotConnector
) -> AsyncIterator[TeamsBot]:
    settings = _environment(
        database_url, redis_url, access_file, TEAMS_ESCALATION_CHANNEL=EXPERTS_CHANNEL
    )
    async with running_bot(settings, connector) as running:
        yield running


async def _escalate(bot: TeamsBot, question: dict[str, Any], **press: Any) -> str:
    """Ask ``question``, press "Ask a human" on the answer card; returns the experts' post."""
    reply = await bot.ask(question)
    data = {**card_action(reply, "Ask a human"), **press.pop("data", {})}
    submit = card_submit(
        data,
        conversation=question["conversation"],
        user=press.pop("user", ALICE),
        service_url=bot.connector.service_url,
        reply_to_id=reply["id"],
    )
    told = await bot.ask(submit)
    assert "I've asked the experts" in told["text"]
    created = bot.connector.created_conversations[-1]
    assert created.parameters["channelData"]["channel"]["id"] == EXPERTS_CHANNEL
    [post] = bot.connector.activities(created.id)
    return str(post["text"])


def _links(markdown: str) -> list[str]:
    """The links a CommonMark renderer (as Teams') makes of ``markdown``."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    inline = [child for token in tokens for child in token.children or []]
    return [str(t.attrs.get("href")) for t in inline if t.type == "link_open"]


async def test_a_question_asked_in_a_personal_chat_is_escalated_without_its_text(
    bot: TeamsBot,
) -> None:
    post = await _escalate(bot, personal(QUESTION, service_url=bot.connector.service_url))
    assert f"**{ALICE.name}** asked for a human in a personal chat" in post
    assert "asked privately" in post
    assert "annual leave" not in post and "25 days" not in post


async def test_an_answer_citing_documents_the_experts_may_not_see_is_withheld(
    bot: TeamsBot,
) -> None:
    url = bot.connector.service_url
    post = await _escalate(bot, channel_mention(SALARIES, channel_id=HR_CHANNEL, service_url=url))
    assert "cites sources this channel may not see" in post
    assert "salary" not in post.lower() and "April" not in post


async def test_links_and_mentions_in_an_escalation_are_shown_as_typed(bot: TeamsBot) -> None:
    url = bot.connector.service_url
    spoofer = dataclasses.replace(ALICE, name=f"{SPOOF} <at>Bob Baker</at>")
    post = await _escalate(
        bot, channel_mention(f"{QUESTION} {SPOOF}", user=spoofer, service_url=url), user=spoofer
    )
    assert QUESTION in post and "25 days" in post
    assert _links(post) == [] and "<at>" not in post
    assert r"\[HR portal\](https://evil.example)" in post and "&lt;at&gt;Bob Baker" in post

    # A forged card: an answer id the bot never gave here, and text of the presser's choosing.
    forged = {
        "answer_id": "not-an-answer",
        "question": f"<at>Bob Baker</at> {SPOOF}",
        "answer": "[Reset your password here](https://evil.example)",
    }
    post = await _escalate(bot, channel_mention(QUESTION, service_url=url), data=forged)
    assert _links(post) == [] and "<at>" not in post and "&lt;at&gt;" in post
    assert r"\[Reset your password here\](https://evil.example)" in post
