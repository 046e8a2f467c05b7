"""Sign-in links for the chat adapters: ``/kb console`` (Slack) and ``kb console`` (Teams)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from bot.console import messages
from bot.console.signin import RedisConsoleSignIn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsoleLinks:
    """Makes the private message with a one-time link. The adapter has checked that the
    sender is an admin and sends the message only to them."""

    sign_in: RedisConsoleSignIn
    public_url: str | None

    async def message_for(self, admin: str) -> str:
        if self.public_url is None:
            return messages.NO_PUBLIC_URL
        try:
            link = await self.sign_in.issue_link(admin, self.public_url)
        except (redis.RedisError, OSError) as e:
            log.warning("cannot issue a console link: %s", e.__class__.__name__)
            return messages.CONSOLE_UNAVAILABLE
        return messages.console_link(link)
