"""An answer streamed into a Slack thread as the model writes it.

``chat.startStream`` with the first text the core lets through, ``chat.appendStream`` with
what follows (gathered for ``APPEND_INTERVAL_SECONDS``, well inside the method's rate limit),
``chat.stopStream`` with the rest and the end blocks (sources, feedback). Nothing is started
for an answer with nothing to stream (cached, not covered, refused): the caller posts it as
one message, as it does when Slack refuses to start a stream. A final answer that replaces
what was streamed (the draft was declined, or changed when its citations were checked) is
put in the streamed message's place with ``chat.update``. A stream Slack stops halfway (the
asker pressed stop, the message is gone) is logged and left as Slack shows it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.answer_events import AnswerEvent, Final, Status, TextDelta
from bot.core.types import Answer
from bot.platforms.slack.blocks import Block, answer_end_blocks, answer_message
from bot.platforms.slack.errors import log_slack_error
from bot.platforms.slack.status import SlackStatus

log = logging.getLogger(__name__)

APPEND_INTERVAL_SECONDS = 0.5
# Slack's limit on one call's markdown_text.
MARKDOWN_TEXT_LIMIT = 12_000
# <!channel>, <@U…>, <#C…> in a model's text (echoing a question, say) must not notify anyone:
# a zero-width space after the "<" keeps them as text.
_SPECIAL = re.compile(r"<(?=[!@#])")


@dataclass(frozen=True)
class StreamTarget:
    """Where the stream goes: a thread, and (outside DMs) the one person it is streamed to."""

    channel: str
    thread_ts: str
    user: str
    team: str


class SlackStream:
    """``claim`` is asked just before the first words are shown; False (another replica took
    the question over) makes the stream show nothing, and ``taken_over`` true."""

    def __init__(
        self,
        client: AsyncWebClient,
        target: StreamTarget,
        claim: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._client = client
        self._target = target
        self._claim = claim
        self._ts: str | None = None
        self._pending = ""
        self._sent_at = 0.0
        self._state: str = "new"  # new, streaming, refused, broken, taken

    @property
    def taken_over(self) -> bool:
        return self._state == "taken"

    async def answer(
        self, events: AsyncIterator[AnswerEvent], status: SlackStatus, *, question_ts: str
    ) -> tuple[Answer, bool]:
        """Show ``events`` as they come: statuses on ``status``, the text in the stream. The
        answer, and whether the stream delivered it (else the caller posts it)."""
        final: Final | None = None
        async for event in events:
            if isinstance(event, Status):
                status.show_soon(event.text)
            elif isinstance(event, TextDelta):
                if self._state == "new":
                    await status.settled()
                await self.append(event.text)
            else:
                final = event
        if final is None:
            raise RuntimeError("the answer's events ended without the final answer")
        blocks = answer_end_blocks(final.answer, question_ts=question_ts)
        delivered = await self.finish(final, end_blocks=blocks, question_ts=question_ts)
        return final.answer, delivered

    async def append(self, text: str) -> None:
        """Show ``text`` after what is shown, now or with the next append."""
        self._pending += text
        if self._state == "new":
            await self._start()
        elif (
            self._state == "streaming"
            and time.monotonic() - self._sent_at >= APPEND_INTERVAL_SECONDS
        ):
            await self._flush()

    async def finish(self, final: Final, *, end_blocks: list[Block], question_ts: str) -> bool:
        """End the stream with the final answer; False when nothing was streamed, so the
        answer still has to be posted."""
        if self._state in ("new", "refused"):
            return False
        if self._state in ("broken", "taken"):
            return True
        channel, ts = self._target.channel, self._ts or ""
        try:
            if final.replaces:
                await self._client.chat_stopStream(channel=channel, ts=ts)
                message = answer_message(final.answer, question_ts=question_ts)
                await self._client.chat_update(
                    channel=channel, ts=ts, text=message.text, blocks=message.blocks
                )
            else:
                await self._flush(stop=True, blocks=end_blocks)
        except SlackApiError as e:
            log_slack_error("ending a streamed answer", e)
        return True

    async def _start(self) -> None:
        target = self._target
        if self._claim is not None and not await self._claim():
            self._state = "taken"
            return
        text, self._pending = _cut(self._pending)
        try:
            response = await self._client.chat_startStream(
                channel=target.channel,
                thread_ts=target.thread_ts,
                markdown_text=text,
                recipient_user_id=target.user or None,
                recipient_team_id=target.team or None,
            )
        except SlackApiError as e:
            log.info("streaming refused (%s); the answer is posted whole", e.response.get("error"))
            self._state = "refused"
            return
        self._ts = str(response.get("ts") or "")
        self._state = "streaming"
        self._sent_at = time.monotonic()

    async def _flush(self, *, stop: bool = False, blocks: list[Block] | None = None) -> None:
        channel, ts = self._target.channel, self._ts or ""
        try:
            while len(self._pending) > MARKDOWN_TEXT_LIMIT or (self._pending and not stop):
                text, self._pending = _cut(self._pending)
                await self._client.chat_appendStream(channel=channel, ts=ts, markdown_text=text)
                if not stop:
                    break  # the rest with the next append
            if stop:
                text, self._pending = _SPECIAL.sub("<\u200b", self._pending), ""
                await self._client.chat_stopStream(
                    channel=channel, ts=ts, markdown_text=text or None, blocks=blocks
                )
        except SlackApiError as e:
            log_slack_error("streaming an answer", e)
            self._state = "broken"
        self._sent_at = time.monotonic()


def _cut(text: str) -> tuple[str, str]:
    """What to send now, defused, and what waits: a "<" at the end waits for what follows."""
    now, rest = text[:MARKDOWN_TEXT_LIMIT], text[MARKDOWN_TEXT_LIMIT:]
    if now.endswith("<") and len(now) > 1:
        now, rest = now[:-1], "<" + rest
    return _SPECIAL.sub("<\u200b", now), rest
