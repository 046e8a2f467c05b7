"""An answer streamed into a Teams personal chat, with Teams' streaming protocol.

An informative update at once ("Looking into it…", then "Searching the policies…"), then
the text so far as it grows, then the final message: each update a ``typing`` activity with a
``streaminfo`` entity (``streamType`` informative or streaming, ``streamSequence`` counting
from 1, and after the first the ``streamId`` Teams gave the first), at most one per
``UPDATE_INTERVAL_SECONDS``; the final message carries ``streamType`` final, the answer's text
with the AI label and citations, and Teams' own feedback buttons. A cached answer is the
informative update and the final message. Teams answers 403 once the asker presses stop: the
stream ends there, logged, and nothing more is sent. Only personal chats stream (Teams' rule);
group chats and channels get one message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ErrorResponseException
from msrest.exceptions import ClientRequestError

from bot.core.answer_events import AnswerEvent, Final, Status, TextDelta
from bot.core.types import Answer
from bot.platforms import messages
from bot.platforms.teams.cards import ai_entities, buttons_card, plain_answer_activity
from bot.platforms.teams.connector import REJECTED_STATUSES
from bot.platforms.teams.entities import StreamType, native_feedback, stream_info

log = logging.getLogger(__name__)

UPDATE_INTERVAL_SECONDS = 1.0


class TeamsStream:
    """One streamed answer in the turn's conversation."""

    def __init__(self, context: TurnContext) -> None:
        self._context = context
        self._stream_id: str | None = None
        self._sequence = 0
        self._text = ""
        self._sent_at = 0.0
        self._stopped = False
        self._final_id: str | None = None
        self._rejected = False

    async def answer(
        self, events: AsyncIterator[AnswerEvent], *, question: str
    ) -> tuple[Answer, bool]:
        """Show ``events`` as they come and end with the final message: the answer, and
        whether the stream delivered it (not when Teams took no update: the caller sends it
        as usual). Events are read to the end even after the asker stopped the stream, so the
        answer is still recorded."""
        final: Final | None = None
        # At once, as Slack's status line: a cached answer follows in the same message.
        await self._update("informative", messages.WORKING_INFORMATIVE)
        async for event in events:
            due = time.monotonic() - self._sent_at >= UPDATE_INTERVAL_SECONDS
            if isinstance(event, Status) and not self._text and due:
                await self._update("informative", event.text)
            elif isinstance(event, TextDelta):
                self._text += event.text
                if due:
                    await self._update("streaming", self._text)
            elif isinstance(event, Final):
                final = event
        if final is None:
            raise RuntimeError("the answer's events ended without the final answer")
        if self._stream_id is None and not self._stopped:
            return final.answer, False
        await self._finish(final.answer, question)
        return final.answer, True

    @property
    def message_ids(self) -> tuple[str, ...]:
        """The ids Teams knows the streamed message by (its stream's, and its final's)."""
        return tuple(dict.fromkeys(i for i in (self._stream_id, self._final_id) if i))

    async def _update(self, kind: StreamType, text: str) -> None:
        self._sequence += 1
        activity = Activity(
            type=ActivityTypes.typing,
            text=text,
            entities=[stream_info(kind, stream_id=self._stream_id, sequence=self._sequence)],
        )
        sent = await self._send(activity)
        if sent is not None and self._stream_id is None:
            self._stream_id = sent
        self._sent_at = time.monotonic()

    async def _finish(self, answer: Answer, question: str) -> None:
        if self._stopped:
            return
        buttons = buttons_card(answer, question)
        activity = Activity(
            type=ActivityTypes.message,
            text=answer.text,
            text_format="markdown",
            entities=[
                stream_info("final", stream_id=self._stream_id, sequence=None),
                *ai_entities(answer),
            ],
            channel_data=native_feedback(answer),
            attachments=[buttons] if buttons is not None else None,
        )
        self._final_id = await self._send(activity)
        if self._rejected:
            # Too large with its card, say: the text and source links alone end the stream.
            self._stopped = self._rejected = False
            plain = plain_answer_activity(answer)
            plain.entities = [*activity.entities[:1], *(plain.entities or [])]
            self._final_id = await self._send(plain)

    async def _send(self, activity: Activity) -> str | None:
        """The sent activity's id; None (logged, and the stream over) when Teams refuses."""
        if self._stopped:
            return None
        try:
            response = await self._context.send_activity(activity)
        except ErrorResponseException as e:
            status = e.response.status_code if e.response is not None else 0
            if status == 429 and activity.type == ActivityTypes.typing:
                log.info("Teams throttled a stream update; the next one carries its text")
                return None
            self._rejected = status in REJECTED_STATUSES and activity.type == ActivityTypes.message
            reference = uuid.uuid4().hex[:12]
            why = "the asker stopped it" if status == 403 else "Teams refused an update"
            log.warning("Teams stream %s ended: %s (HTTP %s)", reference, why, status)
            self._stopped = True
            return None
        except ClientRequestError as e:
            log.warning("Teams stream ended: cannot reach the service: %s", e)
            self._stopped = True
            return None
        return str(getattr(response, "id", "") or "") or None
