"""Messages posted later, outside the turn that asked for them: a job's progress to the admin
who queued it, an admin's answer to the employee who asked. Each platform's adapter registers
the reporter that knows how to post to its ``ReplyTo`` addresses, and who would read there."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.core.types import ReplyTo
from knowledge.types import PUBLIC_SCOPE

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """Posts a Markdown message to ``reply_to``; logs failures, never raises."""

    async def report(self, reply_to: ReplyTo, markdown: str) -> None: ...


@dataclass(frozen=True)
class Audience:
    """Who reads what is posted at a question's ``ReplyTo``, as the access rules say now:
    ``conversation`` the scopes of the channel (or of the person, in a direct message), and
    ``person`` those of the asker alone (what a private message to them may carry)."""

    conversation: tuple[str, ...] = (PUBLIC_SCOPE,)
    person: tuple[str, ...] = (PUBLIC_SCOPE,)


class AskerReporter(Reporter, Protocol):
    """A reporter that can also tell who reads a question's thread, and write to its asker
    privately (Slack: a direct message; Teams: their personal chat with the bot)."""

    async def audience(self, reply_to: ReplyTo) -> Audience:
        """What may be shown at ``reply_to``; only ``public`` when that cannot be told."""
        ...

    async def report_privately(self, reply_to: ReplyTo, markdown: str) -> None:
        """Post to the person who asked at ``reply_to``, where only they read; logs failures."""
        ...


class PlatformReporter:
    """Sends each message to the reporter of the platform its address belongs to."""

    def __init__(self) -> None:
        self._reporters: dict[str, AskerReporter] = {}

    def register(self, platform: str, reporter: AskerReporter) -> None:
        self._reporters[platform] = reporter

    async def report(self, reply_to: ReplyTo, markdown: str) -> None:
        reporter = self._reporter(reply_to, markdown)
        if reporter is not None:
            await reporter.report(reply_to, markdown)

    async def audience(self, reply_to: ReplyTo) -> Audience:
        reporter = self._reporters.get(reply_to.platform)
        return Audience() if reporter is None else await reporter.audience(reply_to)

    async def report_privately(self, reply_to: ReplyTo, markdown: str) -> None:
        reporter = self._reporter(reply_to, markdown)
        if reporter is not None:
            await reporter.report_privately(reply_to, markdown)

    def _reporter(self, reply_to: ReplyTo, markdown: str) -> AskerReporter | None:
        reporter = self._reporters.get(reply_to.platform)
        if reporter is None:
            log.warning("no %s reporter for a message: %s", reply_to.platform, markdown[:200])
        return reporter
