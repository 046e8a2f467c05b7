"""Messages posted later, outside the turn that asked for them: a job's progress to the admin
who queued it, an admin's answer to the employee who asked. Each platform's adapter registers
the reporter that knows how to post to its ``ReplyTo`` addresses."""

from __future__ import annotations

import logging
from typing import Protocol

from bot.core.types import ReplyTo

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """Posts a Markdown message to ``reply_to``; logs failures, never raises."""

    async def report(self, reply_to: ReplyTo, markdown: str) -> None: ...


class PlatformReporter:
    """Sends each message to the reporter of the platform its address belongs to."""

    def __init__(self) -> None:
        self._reporters: dict[str, Reporter] = {}

    def register(self, platform: str, reporter: Reporter) -> None:
        self._reporters[platform] = reporter

    async def report(self, reply_to: ReplyTo, markdown: str) -> None:
        reporter = self._reporters.get(reply_to.platform)
        if reporter is None:
            log.warning("no %s reporter for a message: %s", reply_to.platform, markdown[:200])
            return
        await reporter.report(reply_to, markdown)
