"""Slack events kept until answered (``bot/service/questions.py``): the middleware that accepts
each delivery once, the replay of an event taken over from a replica that died, and the check
for an answer that replica may have posted just before it died."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.errors import log_slack_error
from bot.service.markers import RedisMarkers
from bot.service.questions import PendingQuestion, RedisQuestionLedger

log = logging.getLogger(__name__)

EVENT_TTL_SECONDS = 3600
# The events the listeners may answer; others are only deduplicated.
QUESTION_EVENTS = {"app_mention", "message"}
# Set in the context of an event replayed after a takeover; its value says whether the
# replica that died had started posting the answer.
RESUMED = "supportbot_resumed_posting"


def event_key(body: dict[str, Any]) -> str:
    """The ledger key of an Events API delivery."""
    return f"slack:event:{body.get('event_id')}"


class SlackDurableEvents:
    def __init__(self, ledger: RedisQuestionLedger, markers: RedisMarkers) -> None:
        self._ledger = ledger
        self._markers = markers
        self._app: AsyncApp | None = None

    def register(self, app: AsyncApp) -> None:
        self._app = app
        app.middleware(self.accept_once)
        self._ledger.register("slack", self.resume)

    async def accept_once(
        self, body: dict[str, Any], context: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """A retry of an event that some process already took gets a 200 and nothing else;
        a question event is kept until a listener finishes it."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and RESUMED not in context:
            key = event_key(body)
            if (body.get("event") or {}).get("type") in QUESTION_EVENTS:
                accepted = await self._ledger.accept(key, {"body": body}, EVENT_TTL_SECONDS)
            else:
                accepted = await self._markers.claim(key, EVENT_TTL_SECONDS)
            if not accepted:
                log.info("event %s already handled; dropping the retry", event_id)
                return BoltResponse(status=200, body="")
        await next()
        return None

    async def resume(self, pending: PendingQuestion) -> None:
        """Replay an event taken over from a replica that died, through this replica's Bolt
        app (as a Socket Mode delivery: it was verified when it first arrived)."""
        assert self._app is not None
        request = AsyncBoltRequest(
            body=dict(pending.payload["body"]),
            mode="socket_mode",
            context={RESUMED: pending.posting},
        )
        response = await self._app.async_dispatch(request)
        if response.status != 200:
            # No listener took it; nothing would ever finish it.
            await self._ledger.finish(pending.key)


@dataclass(frozen=True)
class EarlierAnswer:
    """What a replica that died left of its answer: ``complete`` when the whole answer is
    there (its buttons carry the question's ts); ``cut`` the bot's first message after the
    question when it never got its buttons: a stream cut off mid-answer."""

    complete: bool
    cut: tuple[str, ...] = ()


async def earlier_answer(
    client: AsyncWebClient, channel: str, thread: str | None, question_ts: str
) -> EarlierAnswer:
    """What the conversation holds of the bot's answer to the message ``question_ts``;
    nothing when Slack cannot tell us."""
    try:
        if thread is None:
            response = await client.conversations_history(
                channel=channel, oldest=question_ts, limit=100
            )
        else:
            response = await client.conversations_replies(channel=channel, ts=thread, limit=200)
    except SlackApiError as e:
        log_slack_error("looking for an answer already posted", e)
        return EarlierAnswer(complete=False)
    bots = [m for m in response.get("messages") or [] if m.get("bot_id")]
    if any(question_ts in json.dumps(m.get("blocks") or []) for m in bots):
        return EarlierAnswer(complete=True)
    if thread is None:  # a stream is always a thread reply; top level holds other messages
        return EarlierAnswer(complete=False)
    # The replica that died streamed right after the question: its cut stream is the bot's
    # first message since, if that has no buttons. Nothing later is touched.
    after = sorted(
        (m for m in bots if float(m["ts"]) > float(question_ts)), key=lambda m: float(m["ts"])
    )
    cut = (after[0]["ts"],) if after and not after[0].get("blocks") else ()
    return EarlierAnswer(complete=False, cut=cut)


async def remove_cut_answers(client: AsyncWebClient, channel: str, cut: tuple[str, ...]) -> None:
    """Delete the half answers a replica left when it died mid-stream, so that the answer
    written now is the only one (a half answer must never stand as if complete)."""
    for ts in cut:
        try:
            await client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as e:
            log_slack_error("removing a half-written answer", e)
