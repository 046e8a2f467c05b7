"""Telling askers that an admin answered their question: each asker, where they asked, only
what may be shown there.

The answer goes into the question's thread when everyone who reads that channel (or direct
message) may see the answer's scopes, as the access rules say at that moment. Otherwise the
asker alone hears: with the answer when they may see it themselves, without it when they may
not. Each notice quotes the asker's own question, never another asker's wording.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.loop import messages
from bot.loop.gap_types import GapAsker
from bot.platforms.delivery import AskerReporter
from knowledge.types import visible


async def tell_askers(
    reporter: AskerReporter,
    askers: Sequence[GapAsker],
    *,
    answer: str,
    scopes: Sequence[str],
    improved: bool,
) -> int:
    """Tell each of ``askers`` about ``answer`` (Markdown, visible to ``scopes``); returns
    how many were told. Reporters log their failures and never raise."""
    for asker in askers:
        audience = await reporter.audience(asker.reply_to)
        if visible(scopes, audience.conversation):
            notice = messages.gap_answered_notice(asker.question, answer, improved=improved)
            await reporter.report(asker.reply_to, notice)
        elif visible(scopes, audience.person):
            notice = messages.gap_answered_privately(asker.question, answer, improved=improved)
            await reporter.report_privately(asker.reply_to, notice)
        else:
            notice = messages.gap_answered_out_of_reach(asker.question, improved=improved)
            await reporter.report_privately(asker.reply_to, notice)
    return len(askers)
