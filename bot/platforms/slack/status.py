"""What the asker sees while the bot works on their question in Slack.

The assistant status line (``assistant.threads.setStatus``: "is looking into it…" with
rotating loading messages) in the thread the answer goes to; where Slack refuses it (the app
has no assistant feature or scope, or the thread is not one it may set a status in), the 👀
reaction on the question instead. Both are cosmetic: a failure is logged, never raised.

``show_soon`` sets it without waiting for Slack, so the answer is worked out meanwhile; the
reply waits for ``settled`` first, since a status set after it would stay under it.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms import messages

log = logging.getLogger(__name__)

WORKING_REACTION = "eyes"


class SlackStatus:
    """The working indicator for one question: ``show`` while working, ``clear`` when done."""

    def __init__(
        self, client: AsyncWebClient, *, channel: str, thread_ts: str, question_ts: str
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._question_ts = question_ts
        self._status_set = False
        self._reacted = False
        self._pending: asyncio.Task[None] | None = None

    def show_soon(self, status: str = messages.WORKING_STATUS) -> None:
        """``show``, in the background and after the statuses before it."""
        previous = self._pending

        async def show_after() -> None:
            if previous is not None:
                await previous
            await self.show(status)

        self._pending = asyncio.create_task(show_after())

    async def settled(self) -> None:
        """Wait for the statuses ``show_soon`` is setting."""
        if self._pending is not None:
            await self._pending

    async def show(self, status: str = messages.WORKING_STATUS) -> None:
        """Set (or change) the status line; the reaction once, where the status is refused."""
        if self._reacted:
            return
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._channel,
                thread_ts=self._thread_ts,
                status=status,
                loading_messages=[status, *messages.LOADING_MESSAGES],
            )
            self._status_set = True
        except SlackApiError as e:
            log.info("status refused (%s); reacting instead", e.response.get("error"))
            self._reacted = await self._react("reactions_add")

    async def clear(self) -> None:
        await self.settled()
        if self._status_set:
            try:  # Slack clears it when the bot replies; an answer that failed leaves it
                await self._client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=self._thread_ts, status=""
                )
            except SlackApiError as e:
                log.info("clearing the status failed: %s", e.response.get("error"))
        if self._reacted:
            await self._react("reactions_remove")

    async def _react(self, method: str) -> bool:
        try:
            await getattr(self._client, method)(
                channel=self._channel, timestamp=self._question_ts, name=WORKING_REACTION
            )
            return True
        except SlackApiError as e:
            # A missing reaction is cosmetic; the answer matters.
            log.info("%s failed: %s", method, e.response.get("error"))
            return False
