""" "Ask a human" in Slack shows the experts' channel only what it may see: a DM's question
and an answer citing restricted documents stay out of it, and whatever the asker typed arrives
as plain text, never as a mention or a disguised link."""

from __future__ import annotations

from typing import Any

from bot.platforms.slack.blocks import ACTION_ASK_HUMAN
from tests.fake_slack import BOT_USER_ID, mention, message
from tests.test_slack import ESCALATION, HR_CHANNEL, Bot, bot, slack

__all__ = ["bot", "slack"]  # fixtures used by the tests below

LEAVE = "How many days of annual leave do I get?"
SALARIES = "When are salary bands reviewed?"
# Everything Slack would turn into a mention or a link in a bot's message.
INJECTION = (
    "<!channel> <!here> <!subteam^S123> <@UEVIL> see <https://evil.example|https://hr.example>"
)


async def _escalate(bot: Bot, question: dict[str, Any], *, user: str = "UALICE") -> str:
    """Ask ``question``, press "Ask a human" on the answer; returns the experts' post."""
    reply = await bot.answer_to(bot.slack.remember(question))
    key = await bot.click(ACTION_ASK_HUMAN, reply, user=user, channel=question["channel"])
    await bot.slack.wait_for(lambda: bool(bot.responses(key)))
    assert f"<#{ESCALATION}>" in bot.responses(key)[0]
    return str(bot.slack.posted(ESCALATION)[-1]["text"])


async def test_a_question_asked_in_a_dm_is_escalated_without_its_text(bot: Bot) -> None:
    post = await _escalate(bot, message(LEAVE))
    assert "<@UALICE>" in post and "asked privately" in post
    assert "archives/DALICE/p" in post  # the link, which only the asker can open
    assert "annual leave" not in post and "25 days" not in post


async def test_an_answer_citing_documents_the_experts_may_not_see_is_withheld(bot: Bot) -> None:
    post = await _escalate(bot, mention(f"<@{BOT_USER_ID}> {SALARIES}", channel=HR_CHANNEL))
    assert "cites sources this channel may not see" in post and f"<#{HR_CHANNEL}>" in post
    assert "salary" not in post.lower() and "April" not in post
    # The same channel's question answered from public documents goes in full.
    post = await _escalate(bot, mention(f"<@{BOT_USER_ID}> {LEAVE}", channel=HR_CHANNEL))
    assert LEAVE in post and "25 days" in post


async def test_mentions_and_links_in_an_escalated_question_arrive_escaped(bot: Bot) -> None:
    post = await _escalate(bot, mention(f"<@{BOT_USER_ID}> {LEAVE} {INJECTION}"))
    assert LEAVE in post
    for raw in ("<!channel>", "<!here>", "<!subteam^S123>", "<@UEVIL>", "<https://evil.example"):
        assert raw not in post, raw
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;!subteam^S123&gt;" in post
    assert "&lt;https://evil.example|https://hr.example&gt;" in post
    # The bot's own mentions of the experts are still mentions.
    assert "<@UEXPERT>" in post and "<!subteam^SEXPERTS>" in post and "<@UALICE>" in post
