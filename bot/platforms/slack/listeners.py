"""What the bot does with each Slack question (a mention, a DM, a follow-up in a thread it
answered in): translate, ask the core, reply. The /kb command, uploads and the answer buttons
are handled in their own modules and wired up here.

Bolt acknowledges events before these listeners run (``process_before_response=False``), so
Slack always gets its response within 3 seconds; the answer is posted afterwards, or, with a
model configured, streamed as it is written (``streaming.py``), with the status line of
``status.py`` while the bot works.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.links import ConsoleLinks
from bot.core.answering import AnswerService
from bot.loop.curation import Curator
from bot.loop.feedback import PgFeedbackStore
from bot.platforms.access import PlatformAccess
from bot.platforms.admin import KnowledgeAdmin
from bot.platforms.slack.actions import SlackAnswerButtons
from bot.platforms.slack.admin_commands import SlackAdminCommands
from bot.platforms.slack.assistant import SlackAssistantThreads
from bot.platforms.slack.blocks import answer_message
from bot.platforms.slack.channel_modes import answers_unmentioned
from bot.platforms.slack.curation import SlackCuration
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.durable import (
    EVENT_TTL_SECONDS,
    RESUMED,
    SlackDurableEvents,
    earlier_answer,
    event_key,
    remove_cut_answers,
)
from bot.platforms.slack.errors import log_slack_error
from bot.platforms.slack.questions import MENTION, Incoming, SlackQuestions
from bot.platforms.slack.sharing import SlackPrivateAnswers
from bot.platforms.slack.status import SlackStatus
from bot.platforms.slack.streaming import SlackStream, StreamTarget
from bot.service.lifecycle import WorkInProgress
from bot.service.markers import RedisMarkers
from bot.service.questions import RedisQuestionLedger

log = logging.getLogger(__name__)

THREAD_TTL_SECONDS = 30 * 86_400
# Message subtypes that are a person saying something; edits, deletions, joins and bot
# messages are not questions.
QUESTION_SUBTYPES = {None, "file_share", "thread_broadcast"}


@dataclass(frozen=True)
class SlackOptions:
    """The Slack side of the settings that listeners need."""

    escalation_channel: str | None = None
    experts: tuple[str, ...] = ()
    contact: str = "your manager or the People Team"
    user_hash_key: bytes | None = None
    max_upload_bytes: int = 25 * 1024 * 1024
    file_hosts: frozenset[str | None] = frozenset({"files.slack.com"})
    # Answers are streamed as they are written when a model writes them.
    streaming: bool = False
    # The access file's Slack section: how the bot answers in each channel.
    access: PlatformAccess = field(default_factory=PlatformAccess)
    console: ConsoleLinks | None = None


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
        assistant: SlackAssistantThreads,
        private_answers: SlackPrivateAnswers,
    ) -> None:
        self._answers = answers
        self._markers = markers
        self._ledger = ledger
        self._durable = SlackDurableEvents(ledger, markers)
        self._work = work
        self._directory = directory
        self._curation = curation
        self._options = options
        self._assistant = assistant
        self._private_answers = private_answers
        self._questions = SlackQuestions(directory, options.user_hash_key)
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
        self._assistant.register(app)
        self._private_answers.register(app)
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
        # follow-ups in a thread the bot has answered in, or, in `respond: questions`
        # channels, as top-level questions.
        thread_ts = event.get("thread_ts")
        text = event.get("text", "")
        if f"<@{context.bot_user_id}" in text:
            return
        if (
            await self._markers.is_marked(_thread_key(event["channel"], thread_ts))
            if thread_ts
            else answers_unmentioned(self._options.access, event["channel"], text)
        ):
            await self._answer(client, self._incoming(event, body, context, private=False))

    def _incoming(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        *,
        private: bool,
    ) -> Incoming:
        return Incoming(
            key=event_key(body),
            maybe_posted=bool(context.get(RESUMED)),
            team=body.get("team_id") or event.get("team", ""),
            channel=event["channel"],
            user=event.get("user", ""),
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            text=MENTION.sub("", event.get("text", "")).strip(),
            private=private,
            ephemeral=not private and self._options.access.behaviour(event["channel"]).private,
        )

    async def _answer(self, client: AsyncWebClient, incoming: Incoming) -> None:
        # An app_mention and a message event can carry the same message; so can retries.
        if not await self._markers.claim_as(
            f"slack:message:{incoming.channel}:{incoming.ts}", incoming.key, EVENT_TTL_SECONDS
        ):
            return
        async with self._work.track():
            await self._answer_claimed(client, incoming)

    async def _answer_claimed(self, client: AsyncWebClient, incoming: Incoming) -> None:
        # Top-level DMs are answered at top level, unless streamed (a stream is a thread reply);
        # everything else in the question's thread.
        # An ephemeral answer cannot be streamed: Slack streams only messages everyone sees.
        streaming = self._options.streaming and not incoming.ephemeral
        thread = incoming.thread_ts or (None if incoming.private and not streaming else incoming.ts)
        if incoming.maybe_posted:
            earlier = await earlier_answer(client, incoming.channel, thread, incoming.ts)
            if earlier.complete:
                log.info("question %s was answered before its replica stopped", incoming.key)
                return
            await remove_cut_answers(client, incoming.channel, earlier.cut)
        if thread is not None and not incoming.private:
            # Before the answer shows: a follow-up sent the moment it appears (without a
            # mention) must already find the thread the bot's.
            await self._markers.mark(_thread_key(incoming.channel, thread), THREAD_TTL_SECONDS)
        status = SlackStatus(
            client,
            channel=incoming.channel,
            thread_ts=thread or incoming.ts,
            question_ts=incoming.ts,
        )
        # Set while the answer is worked out: a Slack round trip less before the first words.
        status.show_soon()
        if incoming.private and incoming.thread_ts:
            await self._assistant.title(
                client,
                channel=incoming.channel,
                thread_ts=incoming.thread_ts,
                question=incoming.text,
            )
        try:
            question = await self._questions.question(client, incoming, thread)
            if streaming:
                target = StreamTarget(
                    incoming.channel, thread or incoming.ts, incoming.user, incoming.team
                )
                # A stream is visible from its first words: the posting is claimed before them.
                stream = SlackStream(client, target, lambda: self._ledger.posting(incoming.key))
                answer, delivered = await stream.answer(
                    self._answers.stream(question), status, question_ts=incoming.ts
                )
                if stream.taken_over:
                    log.warning("question %s was taken over by another replica", incoming.key)
                    return
            else:
                answer, delivered = await self._answers.answer(question), False
            if not delivered:
                await status.settled()
                if not await self._ledger.posting(incoming.key):
                    log.warning("question %s was taken over by another replica", incoming.key)
                    return
                if incoming.ephemeral:
                    await self._private_answers.post(
                        client,
                        channel=incoming.channel,
                        user=incoming.user,
                        thread_ts=thread or incoming.ts,
                        message=answer_message(answer, question_ts=incoming.ts),
                    )
                else:
                    message = answer_message(answer, question_ts=incoming.ts)
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
        except SlackApiError as e:
            log_slack_error("posting an answer", e)
        finally:
            await status.clear()

    # Plumbing

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error %s in a Slack %s: %s",
            reference, body.get("type") or "request", error, exc_info=error,
        )  # fmt: skip


def _thread_key(channel: str, thread_ts: str) -> str:
    return f"slack:thread:{channel}:{thread_ts}"
