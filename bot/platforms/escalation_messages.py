"""What "Ask a human" posts to the experts, and what it tells the asker.

The posts are in each platform's own syntax (Slack mrkdwn, Teams Markdown) and take fragments
the caller has made safe: someone's text escaped with that platform's escaper
(``slack.mrkdwn.escape``, ``bot.core.markdown.literal``), so nothing in a question becomes a
mention or a link in the experts' channel. When the experts' channel may not see the question
or the answer, the post says who asked and where, and why it shows neither (``Withheld``).
"""

from __future__ import annotations

from typing import Literal

from bot.core.markdown import quoted

# Why a post shows neither the question nor the answer.
Withheld = Literal["private", "restricted"]

_WITHHELD = {
    "private": "They asked privately, so their question and my answer are not shown here.",
    "restricted": (
        "My answer cites sources this channel may not see, so the question and the answer "
        "are not shown here."
    ),
}


def escalation_sent(channel_mention: str) -> str:
    return f"I've asked the experts in {channel_mention}. Someone will reply in your thread."


def escalation_unavailable(contact: str) -> str:
    return f"I can't reach the experts from here. Please ask {contact}."


def slack_direct_message() -> str:
    """Where a question asked in a DM was asked, as the experts read it."""
    return "a direct message with me"


def slack_escalation_post(
    *, asker: str, where: str, question: str, answer: str, permalink: str, experts: str
) -> str:
    """mrkdwn: ``question`` escaped by the caller, ``answer`` the bot's own message."""
    return (
        f"{_slack_opening(experts, asker, where)}:\n{quoted(question)}\n"
        f"*The bot answered:*\n{quoted(answer)}\n<{permalink}|Open the thread>"
    )


def slack_escalation_withheld(
    *, asker: str, where: str, why: Withheld, permalink: str, experts: str
) -> str:
    opening = _slack_opening(experts, asker, where)
    return f"{opening}. {_WITHHELD[why]} <{permalink}|Open the thread>"


def teams_escalation_post(*, asker: str, where: str, question: str, answer: str, link: str) -> str:
    """Markdown: every argument but ``link`` escaped by the caller."""
    return (
        f"**{asker}** asked for a human in {where}:\n\n{quoted(question)}\n\n"
        f"**The bot answered:**\n\n{quoted(answer)}{_teams_link(link)}"
    )


def teams_escalation_withheld(*, asker: str, where: str, why: Withheld, link: str) -> str:
    return f"**{asker}** asked for a human in {where}. {_WITHHELD[why]}{_teams_link(link)}"


def teams_escalation_sent() -> str:
    return "I've asked the experts. Someone will get back to you."


def _slack_opening(experts: str, asker: str, where: str) -> str:
    return f"{experts + ' ' if experts else ''}{asker} asked for a human in {where}"


def _teams_link(link: str) -> str:
    return f"\n\n[Open the conversation]({link})" if link else ""
