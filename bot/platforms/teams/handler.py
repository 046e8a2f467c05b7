"""What the bot does with each Teams activity: translate, ask the core, reply.

A turn must finish within about 15 seconds or Teams retries the activity. So the handler sends
a typing indicator at once, waits a bounded time for the answer, and when the answer is slower
ends the turn and delivers it later from the saved conversation reference. Every activity id
is claimed in Redis first, so a retry (to this process or another) is never answered twice.
With a model configured, personal chats get the answer streamed (``streaming.py``), always from
the saved reference, since a stream outlasts the turn.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference

from bot.console.links import ConsoleLinks
from bot.core.answering import AnswerService
from bot.core.types import Answer, Question
from bot.loop.curation import Curator
from bot.loop.feedback import PgFeedbackStore
from bot.platforms import messages
from bot.platforms.access import PlatformAccess
from bot.platforms.admin import KnowledgeAdmin
from bot.platforms.memory import RedisConversationMemory
from bot.platforms.teams.actions import FEEDBACK_INVOKE, TeamsCardActions
from bot.platforms.teams.activity import (
    conversation_scopes,
    is_personal,
    mentions,
    question_text,
    sender_hash,
    stored_activity,
    user_id,
)
from bot.platforms.teams.admin_commands import FILE_DOWNLOAD, TeamsAdminCommands, admin_command
from bot.platforms.teams.answer_ids import RedisAnswerIds
from bot.platforms.teams.cards import CardAction
from bot.platforms.teams.connector import send_text, send_typing
from bot.platforms.teams.delivery import Deliver, TeamsAnswerDelivery
from bot.platforms.teams.escalation import TeamsEscalation
from bot.platforms.teams.reporter import teams_reply_to
from bot.platforms.teams.streaming import TeamsStream
from bot.service.lifecycle import WorkInProgress
from bot.service.markers import RedisMarkers
from bot.service.questions import PendingQuestion, RedisQuestionLedger, Resume

log = logging.getLogger(__name__)

ACTIVITY_TTL_SECONDS = 3600
# A reply chain in a channel is a topic; a personal chat is one long stream, so only its
# recent turns are context for a follow-up.
CHANNEL_MEMORY_SECONDS = 30 * 86_400
PERSONAL_MEMORY_SECONDS = 30 * 60


@dataclass(frozen=True)
class TeamsOptions:
    """The Teams side of the settings that the handler needs."""

    app_id: str = ""
    admins: frozenset[str] = frozenset()
    escalation_channel: str | None = None
    escalation_user: str | None = None
    contact: str = "your manager or the People Team"
    user_hash_key: bytes | None = None
    max_upload_bytes: int = 25 * 1024 * 1024
    reply_within_seconds: float = 10.0
    # Personal chats stream answers as they are written when a model writes them.
    streaming: bool = False
    console: ConsoleLinks | None = None


class TeamsBot:
    """The bot behind ``/api/messages``: botbuilder calls ``on_turn`` for every activity."""

    def __init__(
        self,
        *,
        answers: AnswerService,
        admin: KnowledgeAdmin,
        feedback: PgFeedbackStore,
        markers: RedisMarkers,
        ledger: RedisQuestionLedger,
        memory: RedisConversationMemory,
        answer_ids: RedisAnswerIds,
        work: WorkInProgress,
        access: PlatformAccess,
        curator: Curator,
        options: TeamsOptions,
    ) -> None:
        self._answers = answers
        self._markers = markers
        self._ledger = ledger
        self._memory = memory
        self._answer_ids = answer_ids
        self._delivery = TeamsAnswerDelivery(ledger=ledger, memory=memory, answer_ids=answer_ids)
        self._work = work
        self._access = access
        self._options = options
        self._later: set[asyncio.Task[None]] = set()
        self._admin_commands = TeamsAdminCommands(
            admin=admin,
            curator=curator,
            admins=options.admins,
            max_upload_bytes=options.max_upload_bytes,
            console=options.console,
        )
        self._card_actions = TeamsCardActions(
            feedback=feedback,
            curator=curator,
            work=work,
            escalation=TeamsEscalation(
                curator=curator,
                access=access,
                app_id=options.app_id,
                channel=options.escalation_channel,
                user=options.escalation_user,
                contact=options.contact,
            ),
            admins=options.admins,
            user_hash_key=options.user_hash_key,
        )

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.type not in (ActivityTypes.message, ActivityTypes.conversation_update) and (
            activity.type != ActivityTypes.invoke or activity.name != FEEDBACK_INVOKE
        ):
            return
        # Teams retries an activity it got no timely response for, possibly to another replica.
        key = f"teams:activity:{activity.conversation.id}:{activity.id}"
        if activity.type == ActivityTypes.conversation_update:
            if not activity.id or await self._markers.claim(key, ACTIVITY_TTL_SECONDS):
                await self._on_conversation_update(context)
            return
        if activity.type == ActivityTypes.invoke:  # a 👍/👎 from Teams' own feedback
            answer_id = await self._answer_ids.answer_of(
                activity.conversation.id, activity.reply_to_id or ""
            )
            await self._card_actions.on_feedback_invoke(context, answer_id)
            return
        # A message is kept until handled, and answered by another replica if this one dies.
        payload = {"activity": stored_activity(activity)}
        if activity.id and not await self._ledger.accept(key, payload, ACTIVITY_TTL_SECONDS):
            log.info("activity %s already handled; ignoring the retry", activity.id)
            return
        async with self._work.track():
            await self._handle(context, key)

    def resumer(self, adapter: BotAdapter) -> Resume:
        """What answers a Teams message taken over from a replica that died: the stored
        activity handled again, its replies sent proactively."""

        async def resume(pending: PendingQuestion) -> None:
            activity = Activity().deserialize(pending.payload["activity"])
            if pending.posting:
                log.warning("question %s may have been answered already; answering", pending.key)

            async def handle(context: TurnContext) -> None:
                context.activity = activity
                async with self._work.track():
                    await self._handle(context, pending.key)

            reference = TurnContext.get_conversation_reference(activity)
            await adapter.continue_conversation(reference, handle, self._options.app_id)

        return resume

    async def _handle(self, context: TurnContext, key: str) -> None:
        try:
            handed_off = await self._on_message(context, key)
        except Exception:
            self._ledger.abandon(key)
            raise
        if not handed_off:
            await self._ledger.finish(key)

    async def drain(self) -> None:
        """Wait for answers still being delivered after their turn ended."""
        while self._later:
            await asyncio.gather(*self._later, return_exceptions=True)

    # Messages

    async def _on_message(self, context: TurnContext, key: str) -> bool:
        """Handle a message; True when its answer is delivered later, by another task."""
        activity = context.activity
        action = CardAction.from_value(activity.value)
        if action is not None:
            await self._card_actions.on_card_action(context, action)
            return False
        personal = is_personal(activity)
        if not personal and not mentions(activity, activity.recipient.id):
            return False
        text = question_text(activity)
        command = admin_command(text)
        files = [a for a in activity.attachments or [] if a.content_type == FILE_DOWNLOAD]
        if personal and files:
            await self._admin_commands.ingest_files(context, files)
        elif command is not None:
            await self._admin_commands.on_command(context, command, personal)
        elif not text:
            if personal:
                await send_text(context, messages.teams_not_understood())
        else:
            return await self._answer(context, text, personal, key)
        return False

    async def _answer(self, context: TurnContext, text: str, personal: bool, key: str) -> bool:
        activity = context.activity
        conversation = activity.conversation.id
        question = Question(
            text=text,
            scopes=conversation_scopes(activity, self._access),
            history=await self._memory.turns(conversation),
            asker=sender_hash(activity, self._options.user_hash_key),
            platform="teams",
            reply_to=teams_reply_to(activity),
            private=personal,
        )
        ttl = PERSONAL_MEMORY_SECONDS if personal else CHANNEL_MEMORY_SECONDS
        deliver = self._delivery.deliverer(text, conversation, ttl, key)
        if personal and self._options.streaming:
            # The stream outlives the turn (Teams ends turns after 10-15 s): it is sent from
            # the saved conversation reference, as a slow answer is.
            reference = TurnContext.get_conversation_reference(activity)
            self._run_later(self._stream(context, reference, question, deliver, key), key)
            return True
        await send_typing(context)
        answering = asyncio.create_task(self._answers.answer(question))
        done, _ = await asyncio.wait({answering}, timeout=self._options.reply_within_seconds)
        if answering in done:
            await deliver(context, answering.result(), False)
            return False
        # Too slow for this turn: end it, and post the answer when it is ready.
        reference = TurnContext.get_conversation_reference(activity)
        log.info("answer to activity %s is slow; it will be delivered proactively", activity.id)
        self._run_later(self._deliver_later(context, reference, answering, deliver), key)
        return True

    async def _stream(
        self,
        context: TurnContext,
        reference: ConversationReference,
        question: Question,
        deliver: Deliver,
        key: str,
    ) -> None:
        async def proactive(proactive_context: TurnContext) -> None:
            proactive_context.activity.id = reference.activity_id
            # A stream is visible from its first update: claim the posting before it.
            if not await self._ledger.posting(key):
                log.warning("question %s was taken over by another replica", key)
                return
            stream = TeamsStream(proactive_context)
            answer, streamed = await stream.answer(
                self._answers.stream(question), question=question.text
            )
            await deliver(proactive_context, answer, streamed)
            if streamed:
                conversation = proactive_context.activity.conversation.id
                await self._answer_ids.remember(conversation, stream.message_ids, answer.id)

        await context.adapter.continue_conversation(reference, proactive, self._options.app_id)

    async def _deliver_later(
        self,
        context: TurnContext,
        reference: ConversationReference,
        answering: asyncio.Task[Answer],
        deliver: Deliver,
    ) -> None:
        answer = await answering

        async def proactive(proactive_context: TurnContext) -> None:
            # The continuation activity has a fresh id; reply to the question instead.
            proactive_context.activity.id = reference.activity_id
            await deliver(proactive_context, answer, False)

        await context.adapter.continue_conversation(reference, proactive, self._options.app_id)

    def _run_later(self, work: Awaitable[None], key: str) -> None:
        async def logged() -> None:
            try:
                async with self._work.track():
                    await work
            except Exception as e:
                self._ledger.abandon(key)
                reference = uuid.uuid4().hex[:12]
                log.error("delivering a slow answer failed (%s): %s", reference, e, exc_info=e)
            else:
                await self._ledger.finish(key)

        task = asyncio.create_task(logged())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    # Installation

    async def _on_conversation_update(self, context: TurnContext) -> None:
        activity = context.activity
        added = [m.id for m in activity.members_added or []]
        if activity.recipient.id in added and is_personal(activity):
            admin = user_id(activity) in self._options.admins
            await send_text(context, messages.teams_welcome(admin))
