"""What the bot does with each Slack question (a mention, a DM, a follow-up in a thread it
answered in): translate, ask the core, reply. The /kb command, uploads and the answer buttons
are handled in their own modules and wired up here.

Bolt acknowledges events before these listeners run (``process_before_response=False``), so
Slack always gets its response within 3 seconds; the answer is posted afterwards.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.links import ConsoleLinks
from bot.core.answering import AnswerService
from bot.core.types import Question, Turn
from bot.loop.curation import Curator
from bot.loop.feedback import PgFeedbackStore
from bot.platforms.admin import KnowledgeAdmin
from bot.platforms.identity import user_hash
from bot.platforms.slack.actions import SlackAnswerButtons
from bot.platforms.slack.admin_commands import SlackAdminCommands
from bot.platforms.slack.blocks import answer_message
from bot.platforms.slack.curation import SlackCuration
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.durable import (
    EVENT_TTL_SECONDS,
    RESUMED,
    SlackDurableEvents,
    already_answered,
    event_key,
)
from bot.platforms.slack.errors import log_slack_error
from bot.platforms.slack.reporter import slack_thread
from bot.service.lifecycle import WorkInProgress
from bot.service.markers import RedisMarkers
from bot.service.questions import RedisQuestionLedger

log = logging.getLogger(__name__)

THREAD_TTL_SECONDS = 30 * 86_400
HISTORY_TURNS = 10
WORKING_REACTION = "eyes"
# Message subtypes that are a person saying something; edits, deletions, joins and bot
# messages are not questions.
QUESTION_SUBTYPES = {None, "file_share", "thread_broadcast"}
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True)
class SlackOptions:
    """The Slack side of the settings that listeners need."""

    escalation_channel: str | None = None
    experts: tuple[str, ...] = ()
    contact: str = "your manager or the People Team"
    user_hash_key: bytes | None = None
    max_upload_bytes: int = 25 * 1024 * 1024
    file_hosts: frozenset[str | None] = frozenset({"files.slack.com"})
    console: ConsoleLinks | None = None


@dataclass(frozen=True)
class _Incoming:
    """A question message, whichever event brought it."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    text: str
    private: bool
    # The delivery's key in the question ledger, and whether a replica that died with it
    # may have posted its answer already.
    key: str = ""
    maybe_posted: bool = False


class SlackListeners:
    def __init__(
        self,
        *,
        answers: AnswerService,
        admin: KnowledgeAdmin,
        feedback: PgFeedbackStore,
        markers: RedisMarkers,
        ledger: RedisQuestionLedger,
        work: WorkInProgress,
        directory: SlackDirectory,
        curator: Curator,
        curation: SlackCuration,
        options: SlackOptions,
    ) -> None:
        self._answers = answers
        self._markers = markers
        self._ledger = ledger
        self._durable = SlackDurableEvents(ledger, markers)
        self._work = work
        self._directory = directory
        self._curation = curation
        self._options = options
        self._admin_commands = SlackAdminCommands(
            admin=admin,
            directory=directory,
            curation=curation,
            max_upload_bytes=options.max_upload_bytes,
            file_hosts=options.file_hosts,
            console=options.console,
        )
        self._buttons = SlackAnswerButtons(
            feedback=feedback,
            curator=curator,
            directory=directory,
            escalation_channel=options.escalation_channel,
            experts=options.experts,
            contact=options.contact,
            user_hash_key=options.user_hash_key,
        )

    def register(self, app: AsyncApp) -> None:
        self._durable.register(app)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        self._admin_commands.register(app)
        self._buttons.register(app)
        self._curation.register(app)
        app.error(self.on_error)

    # Events

    async def on_mention(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        async with self._ledger.handling(event_key(body)):
            if not event.get("bot_id"):
                await self._answer(client, self._incoming(event, body, context, private=False))

    async def on_message(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        async with self._ledger.handling(event_key(body)):
            await self._on_message(event, body, client, context)

    async def _on_message(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        if event.get("subtype") not in QUESTION_SUBTYPES or event.get("bot_id"):
            return
        if not event.get("user") or event.get("user") == context.bot_user_id:
            return
        if event.get("channel_type") == "im":
            if event.get("files"):
                async with self._work.track():
                    await self._admin_commands.ingest_files(client, event)
            elif event.get("text", "").strip():
                await self._answer(client, self._incoming(event, body, context, private=True))
            return
        # In channels, mentions arrive as app_mention; plain messages only count as
        # follow-ups in a thread the bot has answered in.
        thread_ts = event.get("thread_ts")
        mentioned = f"<@{context.bot_user_id}" in event.get("text", "")
        if (
            thread_ts
            and not mentioned
            and await self._markers.is_marked(_thread_key(event["channel"], thread_ts))
        ):
            await self._answer(client, self._incoming(event, body, context, private=False))

    def _incoming(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        *,
        private: bool,
    ) -> _Incoming:
        return _Incoming(
            key=event_key(body),
            maybe_posted=bool(context.get(RESUMED)),
            team=body.get("team_id") or event.get("team", ""),
            channel=event["channel"],
            user=event.get("user", ""),
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            text=_MENTION.sub("", event.get("text", "")).strip(),
            private=private,
        )

    async def _answer(self, client: AsyncWebClient, incoming: _Incoming) -> None:
        # An app_mention and a message event can carry the same message; so can retries.
        if not await self._markers.claim_as(
            f"slack:message:{incoming.channel}:{incoming.ts}", incoming.key, EVENT_TTL_SECONDS
        ):
            return
        async with self._work.track():
            await self._answer_claimed(client, incoming)

    async def _answer_claimed(self, client: AsyncWebClient, incoming: _Incoming) -> None:
        # Top-level DMs are answered at top level; everything else in the question's thread.
        thread = incoming.thread_ts or (None if incoming.private else incoming.ts)
        if incoming.maybe_posted and await already_answered(
            client, incoming.channel, thread, incoming.ts
        ):
            log.info("question %s was answered before its replica stopped", incoming.key)
            return
        await self._react(client, "reactions_add", incoming)
        try:
            scopes = await self._directory.scopes_for(
                channel_id=incoming.channel, private=incoming.private, user_id=incoming.user
            )
            question = Question(
                text=incoming.text,
                scopes=scopes,
                history=await self._history(client, incoming),
                asker=self._hash(incoming.team, incoming.user),
                platform="slack",
                # An admin's later answer goes under the question, wherever it was asked.
                reply_to=slack_thread(
                    incoming.channel,
                    thread or incoming.ts,
                    user=incoming.user,
                    private=incoming.private,
                ),
                private=incoming.private,
            )
            answer = await self._answers.answer(question)
            message = answer_message(answer, question_ts=incoming.ts)
            if not await self._ledger.posting(incoming.key):
                log.warning("question %s was taken over by another replica", incoming.key)
                return
            await client.chat_postMessage(
                channel=incoming.channel,
                thread_ts=thread,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            # Recorded at once: a replica dying from here on must not leave it to be answered.
            await self._ledger.finish(incoming.key)
            if thread is not None and not incoming.private:
                await self._markers.mark(_thread_key(incoming.channel, thread), THREAD_TTL_SECONDS)
        except SlackApiError as e:
            log_slack_error("posting an answer", e)
        finally:
            await self._react(client, "reactions_remove", incoming)

    async def _history(self, client: AsyncWebClient, incoming: _Incoming) -> tuple[Turn, ...]:
        """The thread's earlier messages, oldest first: the bot's as assistant turns."""
        if incoming.thread_ts is None:
            return ()
        try:
            response = await client.conversations_replies(
                channel=incoming.channel, ts=incoming.thread_ts, limit=100
            )
        except SlackApiError as e:
            log_slack_error("reading the thread", e)
            return ()
        turns = []
        for message in response.get("messages") or []:
            if float(message.get("ts", "0")) >= float(incoming.ts):
                continue
            text = _MENTION.sub("", message.get("text", "")).strip()
            if text:
                turns.append(Turn("assistant" if message.get("bot_id") else "user", text))
        return tuple(turns[-HISTORY_TURNS:])

    async def _react(self, client: AsyncWebClient, method: str, incoming: _Incoming) -> None:
        try:
            await getattr(client, method)(
                channel=incoming.channel, timestamp=incoming.ts, name=WORKING_REACTION
            )
        except SlackApiError as e:
            # A missing reaction is cosmetic; the answer matters.
            log.info("%s failed: %s", method, e.response.get("error"))

    # Plumbing

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error %s in a Slack %s: %s",
            reference, body.get("type") or "request", error, exc_info=error,
        )  # fmt: skip

    def _hash(self, team: str, user: str) -> str:
        return user_hash("slack", f"{team}:{user}", self._options.user_hash_key)


def _thread_key(channel: str, thread_ts: str) -> str:
    return f"slack:thread:{channel}:{thread_ts}"
