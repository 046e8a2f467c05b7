"""Slack's agent surface: the app's assistant pane (the Messages tab's threads).

When someone opens a thread (``assistant_thread_started``) the bot greets them and offers the
suggested prompts of ``SLACK_SUGGESTED_PROMPTS``; the thread is titled from its first question.
Questions asked there are DM thread replies, answered by the DM flow of ``listeners.py`` with
the asker's own scopes: the channel the person is viewing (``assistant_thread_context_changed``)
never widens what an answer may quote, so that event is only acknowledged.

The events are handled directly rather than through Bolt's ``AsyncAssistant`` middleware: the
middleware would take over every message in a DM thread, which the existing listeners already
answer with the question ledger, streaming and status, and it would swallow edits there.
Greeting, prompts and title are cosmetic: a refusal is logged, never raised.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms import assistant_messages as text
from bot.platforms.slack.errors import log_slack_error
from bot.service.markers import RedisMarkers

log = logging.getLogger(__name__)

# An assistant thread is remembered this long for titling (a title set later is harmless).
THREAD_TTL_SECONDS = 7 * 86_400


class SlackAssistantThreads:
    """The greeting, suggested prompts and title of the threads in the assistant pane."""

    def __init__(self, markers: RedisMarkers, prompts: tuple[str, ...]) -> None:
        self._markers = markers
        self._prompts = prompts

    def register(self, app: AsyncApp) -> None:
        app.event("assistant_thread_started")(self.on_thread_started)
        app.event("assistant_thread_context_changed")(self.on_context_changed)

    async def on_thread_started(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not channel or not thread_ts:
            return
        # Retries deliver the event again: greet once.
        if not await self._markers.claim(_key(channel, thread_ts), THREAD_TTL_SECONDS):
            return
        try:
            await client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=text.ASSISTANT_GREETING
            )
            if self._prompts:
                await client.assistant_threads_setSuggestedPrompts(
                    channel_id=channel,
                    thread_ts=thread_ts,
                    title=text.SUGGESTED_PROMPTS_TITLE,
                    prompts=[
                        {"title": text.shortened(p, text.PROMPT_TITLE_LIMIT), "message": p}
                        for p in self._prompts
                    ],
                )
        except SlackApiError as e:
            log_slack_error("greeting an assistant thread", e)

    async def on_context_changed(self) -> None:
        """The person moved to another channel; answers keep to their own scopes."""

    async def title(
        self, client: AsyncWebClient, *, channel: str, thread_ts: str, question: str
    ) -> None:
        """Title an assistant thread from its first question (other threads are left alone)."""
        if not await self._markers.is_marked(_key(channel, thread_ts)):
            return
        if not await self._markers.claim(_key(channel, thread_ts) + ":titled", THREAD_TTL_SECONDS):
            return
        try:
            await client.assistant_threads_setTitle(
                channel_id=channel,
                thread_ts=thread_ts,
                title=text.shortened(question, text.THREAD_TITLE_LIMIT),
            )
        except SlackApiError as e:
            log.info("thread title refused: %s", e.response.get("error"))


def _key(channel: str, thread_ts: str) -> str:
    return f"slack:assistant:{channel}:{thread_ts}"
