"""What the bot does with each Teams activity: translate, ask the core, reply.

A turn must finish within about 15 seconds or Teams retries the activity. So the handler sends
a typing indicator at once, waits a bounded time for the answer, and when the answer is slower
ends the turn and delivers it later from the saved conversation reference. Every activity id
is claimed in Redis first, so a retry (to this process or another) is never answered twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from bot.core.answering import AnswerService
from bot.core.types import Answer, Question
from bot.loop.curation import AdminAnswer, Curator
from bot.loop.feedback import Feedback, PgFeedbackStore, Vote
from bot.platforms import messages
from bot.platforms.access import PlatformAccess
from bot.platforms.admin import AdminCommandError, KnowledgeAdmin, parse_admin_command, parse_scopes
from bot.platforms.identity import user_hash
from bot.platforms.memory import RedisConversationMemory
from bot.platforms.teams.cards import (
    GAPS_SHOWN,
    INPUT_ANSWER,
    INPUT_QUESTION,
    INPUT_SCOPES,
    CardAction,
    answer_activity,
    consent_activity,
    gap_list_activity,
    plain_answer_activity,
)
from bot.platforms.teams.connector import Outcome, send, send_text, send_typing
from bot.platforms.teams.reporter import teams_reply_to
from bot.service.lifecycle import WorkInProgress
from bot.service.markers import RedisMarkers
from knowledge.errors import DatabaseUnavailableError, LoadError
from knowledge.loading import uploaded

log = logging.getLogger(__name__)

ACTIVITY_TTL_SECONDS = 3600
# A reply chain in a channel is a topic; a personal chat is one long stream, so only its
# recent turns are context for a follow-up.
CHANNEL_MEMORY_SECONDS = 30 * 86_400
PERSONAL_MEMORY_SECONDS = 30 * 60
FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"
ADMIN_COMMAND = "kb"
_AT_TAG = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)


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


class TeamsBot:
    """The bot behind ``/api/messages``: botbuilder calls ``on_turn`` for every activity."""

    def __init__(
        self,
        *,
        answers: AnswerService,
        admin: KnowledgeAdmin,
        feedback: PgFeedbackStore,
        markers: RedisMarkers,
        memory: RedisConversationMemory,
        work: WorkInProgress,
        access: PlatformAccess,
        curator: Curator,
        options: TeamsOptions,
    ) -> None:
        self._answers = answers
        self._admin = admin
        self._feedback = feedback
        self._markers = markers
        self._memory = memory
        self._work = work
        self._access = access
        self._curator = curator
        self._options = options
        self._later: set[asyncio.Task[None]] = set()

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.type not in (ActivityTypes.message, ActivityTypes.conversation_update):
            return
        # Teams retries an activity it got no timely response for, possibly to another replica.
        key = f"teams:activity:{activity.conversation.id}:{activity.id}"
        if activity.id and not await self._markers.claim(key, ACTIVITY_TTL_SECONDS):
            log.info("activity %s already handled; ignoring the retry", activity.id)
            return
        if activity.type == ActivityTypes.conversation_update:
            await self._on_conversation_update(context)
            return
        async with self._work.track():
            await self._on_message(context)

    async def drain(self) -> None:
        """Wait for answers still being delivered after their turn ended."""
        while self._later:
            await asyncio.gather(*self._later, return_exceptions=True)

    # Messages

    async def _on_message(self, context: TurnContext) -> None:
        activity = context.activity
        action = CardAction.from_value(activity.value)
        if action is not None:
            await self._on_card_action(context, action)
            return
        personal = _is_personal(activity)
        if not personal and not _mentions(activity, activity.recipient.id):
            return
        text = _question_text(activity)
        command = _admin_command(text)
        files = [a for a in activity.attachments or [] if a.content_type == FILE_DOWNLOAD]
        if personal and files:
            await self._ingest_files(context, files)
        elif command is not None:
            await self._on_admin_command(context, command, personal)
        elif not text:
            if personal:
                await send_text(context, messages.teams_not_understood())
        else:
            await self._answer(context, text, personal)

    async def _answer(self, context: TurnContext, text: str, personal: bool) -> None:
        activity = context.activity
        await send_typing(context)
        conversation = activity.conversation.id
        question = Question(
            text=text,
            scopes=self._scopes(activity, personal),
            history=await self._memory.turns(conversation),
            asker=self._hash(activity),
            platform="teams",
            reply_to=teams_reply_to(activity),
        )
        answering = asyncio.create_task(self._answers.answer(question))
        done, _ = await asyncio.wait({answering}, timeout=self._options.reply_within_seconds)
        ttl = PERSONAL_MEMORY_SECONDS if personal else CHANNEL_MEMORY_SECONDS
        deliver = self._deliverer(text, conversation, ttl)
        if answering in done:
            await deliver(context, answering.result())
            return
        # Too slow for this turn: end it, and post the answer when it is ready.
        reference = TurnContext.get_conversation_reference(activity)
        log.info("answer to activity %s is slow; it will be delivered proactively", activity.id)
        self._run_later(self._deliver_later(context, reference, answering, deliver))

    def _deliverer(
        self, question: str, conversation: str, ttl: int
    ) -> Callable[[TurnContext, Answer], Awaitable[None]]:
        async def deliver(context: TurnContext, answer: Answer) -> None:
            sent = await send(
                context, answer_activity(answer, question=question), doing="answering"
            )
            if sent == "rejected":
                # Teams refused the card (too large, or a client without cards): send text.
                sent = await send(context, plain_answer_activity(answer), doing="answering")
            if sent == "sent" and answer.outcome in ("answered", "not_covered"):
                await self._memory.remember(conversation, question, answer.text, ttl_seconds=ttl)

        return deliver

    async def _deliver_later(
        self,
        context: TurnContext,
        reference: ConversationReference,
        answering: asyncio.Task[Answer],
        deliver: Callable[[TurnContext, Answer], Awaitable[None]],
    ) -> None:
        answer = await answering

        async def proactive(proactive_context: TurnContext) -> None:
            # The continuation activity has a fresh id; reply to the question instead.
            proactive_context.activity.id = reference.activity_id
            await deliver(proactive_context, answer)

        await context.adapter.continue_conversation(reference, proactive, self._options.app_id)

    def _run_later(self, work: Awaitable[None]) -> None:
        async def logged() -> None:
            try:
                async with self._work.track():
                    await work
            except Exception as e:
                reference = uuid.uuid4().hex[:12]
                log.error("delivering a slow answer failed (%s): %s", reference, e, exc_info=e)

        task = asyncio.create_task(logged())
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    def _scopes(self, activity: Activity, personal: bool) -> tuple[str, ...]:
        if personal:
            return self._access.person_scopes(_user_id(activity))
        data = activity.channel_data or {}
        ids = [
            activity.conversation.id.split(";", 1)[0],
            (data.get("channel") or {}).get("id"),
            (data.get("team") or {}).get("id"),
        ]
        return self._access.channel_scopes(*(i for i in ids if i))

    # Admin: kb commands and files, in a personal chat

    async def _on_admin_command(self, context: TurnContext, command: str, personal: bool) -> None:
        if not personal:
            await send_text(context, messages.teams_admin_in_personal_chat())
            return
        if _user_id(context.activity) not in self._options.admins:
            await send_text(context, messages.admin_refusal())
            return
        try:
            parsed = parse_admin_command(command)
        except AdminCommandError as e:
            await send_text(context, str(e))
            return
        if parsed.action == "help":
            await send_text(context, messages.admin_help(ADMIN_COMMAND))
            return
        if parsed.action == "gaps":
            await self._show_gaps(context)
            return
        if parsed.action == "add":
            reply = await self._admin.queue_add(parsed, teams_reply_to(context.activity))
        else:
            reply = await self._admin.run(parsed)
        await send_text(context, reply)

    async def _ingest_files(self, context: TurnContext, files: list[Any]) -> None:
        if _user_id(context.activity) not in self._options.admins:
            await send_text(context, messages.upload_refused())
            return
        await send_typing(context)
        for file in files:
            name = file.name or "upload"
            try:
                data = await self._download(name, (file.content or {}).get("downloadUrl", ""))
                source = uploaded(
                    name,
                    data,
                    link=file.content_url or "",
                    max_bytes=self._options.max_upload_bytes,
                )
            except LoadError as e:
                await send_text(context, messages.upload_failed(name, e.reason))
                continue
            await send_text(context, await self._admin.ingest_upload(source))

    async def _download(self, name: str, url: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise LoadError(name, "has no download link")
        limit = self._options.max_upload_bytes
        try:
            # Teams' download links are pre-authorised: no credentials are sent with them.
            async with (
                httpx.AsyncClient(timeout=30, follow_redirects=True) as http,
                http.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise LoadError(name, f"could not be downloaded (HTTP {response.status_code})")
                data = bytearray()
                async for piece in response.aiter_bytes():
                    data += piece
                    if len(data) > limit:
                        raise LoadError(name, f"is over the {limit // 1_048_576} MB limit")
                return bytes(data)
        except httpx.HTTPError as e:
            raise LoadError(name, f"could not be downloaded ({e.__class__.__name__})") from e

    # Card buttons

    async def _on_card_action(self, context: TurnContext, action: CardAction) -> None:
        if action.verb == "ask_human":
            await send_text(context, await self._escalate(context, action))
        elif action.verb in ("helpful", "not_helpful"):
            await self._on_vote(context, action)
        elif action.verb == "contact_ok":
            await send_text(context, await self._allow_contact(context, action))
        else:
            await send_text(context, await self._admin_answer(context, action))

    async def _on_vote(self, context: TurnContext, action: CardAction) -> None:
        vote: Vote = 1 if action.verb == "helpful" else -1
        voter = self._hash(context.activity)
        try:
            await self._feedback.record(
                Feedback(answer_id=action.answer_id, vote=vote, voter=voter, platform="teams")
            )
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("feedback %s on answer %s not saved: %s", reference, action.answer_id, e)
            await send_text(context, messages.feedback_not_saved(reference))
            return
        await send_text(context, messages.feedback_thanks(vote))
        if await self._curator.vote(action.answer_id, vote, voter=voter):
            await send(context, consent_activity(action.answer_id), doing="asking for consent")

    async def _allow_contact(self, context: TurnContext, action: CardAction) -> str:
        try:
            allowed = await self._curator.allow_contact(
                action.answer_id,
                asker=self._hash(context.activity),
                contact=context.activity.from_property.name or _user_id(context.activity),
            )
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("consent %s on answer %s not saved: %s", reference, action.answer_id, e)
            return messages.feedback_not_saved(reference)
        return messages.contact_allowed() if allowed else messages.contact_not_queued()

    # Closing the loop: gaps and admins' answers

    async def _show_gaps(self, context: TurnContext) -> None:
        try:
            gaps, total = await self._curator.open_gaps(GAPS_SHOWN)
        except DatabaseUnavailableError as e:
            await send_text(context, messages.admin_failed(str(e)))
            return
        await send(context, gap_list_activity(gaps, total), doing="listing gaps")

    async def _admin_answer(self, context: TurnContext, action: CardAction) -> str:
        """An admin's answer to a gap (``answer_gap``) or to a bot answer (``improve``)."""
        activity = context.activity
        if _user_id(activity) not in self._options.admins:
            return messages.admin_refusal()
        text = action.inputs.get(INPUT_ANSWER, "").strip()
        if not text:
            return messages.answer_required()
        try:
            scopes = parse_scopes(action.inputs.get(INPUT_SCOPES, "").split())
        except AdminCommandError as e:
            return str(e)
        answer = AdminAnswer(
            text=text,
            admin=activity.from_property.name or _user_id(activity),
            scopes=scopes,
            question=action.inputs.get(INPUT_QUESTION, ""),
        )
        async with self._work.track():
            if action.verb == "answer_gap" and action.gap_id is not None:
                return await self._curator.answer_gap(action.gap_id, answer)
            return await self._curator.improve(action.answer_id, answer)

    async def _escalate(self, context: TurnContext, action: CardAction) -> str:
        """Post the question and the answer to the experts; returns what to tell the asker."""
        options = self._options
        if options.escalation_channel is None and options.escalation_user is None:
            return messages.escalation_unavailable(options.contact)
        activity = context.activity
        post = Activity(
            type=ActivityTypes.message,
            text_format="markdown",
            text=messages.teams_escalation_post(
                asker=activity.from_property.name or "Someone",
                where=_where(activity),
                question=action.question,
                answer=action.answer,
                link=_message_link(activity),
            ),
        )
        tenant = _tenant(activity)
        if options.escalation_channel is not None:
            parameters = ConversationParameters(
                is_group=True,
                bot=activity.recipient,
                channel_data={"channel": {"id": options.escalation_channel}},
                activity=post,
                tenant_id=tenant,
            )
        else:
            parameters = ConversationParameters(
                is_group=False,
                bot=activity.recipient,
                members=[ChannelAccount(id=options.escalation_user)],
                tenant_id=tenant,
            )
        # A channel post is made with the conversation; a chat with a person needs sending.
        outcome: Outcome = "sent"

        async def post_in_chat(chat: TurnContext) -> None:
            nonlocal outcome
            if options.escalation_channel is None:
                outcome = await send(chat, post, doing="escalating a question")

        try:
            await context.adapter.create_conversation(
                options.app_id,
                post_in_chat,
                parameters,
                activity.channel_id,
                activity.service_url,
            )
        except Exception as e:  # the connector raises msrest errors of several kinds
            reference = uuid.uuid4().hex[:12]
            log.warning("Teams error %s while escalating a question: %s", reference, e)
            return messages.escalation_unavailable(options.contact) + f" ({reference})"
        if outcome != "sent":
            return messages.escalation_unavailable(options.contact)
        return messages.teams_escalation_sent()

    # Installation

    async def _on_conversation_update(self, context: TurnContext) -> None:
        activity = context.activity
        added = [m.id for m in activity.members_added or []]
        if activity.recipient.id in added and _is_personal(activity):
            admin = _user_id(activity) in self._options.admins
            await send_text(context, messages.teams_welcome(admin))

    def _hash(self, activity: Activity) -> str:
        return user_hash(
            "teams", f"{_tenant(activity)}:{_user_id(activity)}", self._options.user_hash_key
        )


def _is_personal(activity: Activity) -> bool:
    return (activity.conversation.conversation_type or "personal") == "personal"


def _user_id(activity: Activity) -> str:
    """The sender's Azure AD object id (what admins and access rules name), else their id."""
    sender = activity.from_property
    return str(sender.aad_object_id or sender.id or "")


def _mentions(activity: Activity, member_id: str) -> bool:
    return any(
        entity.type == "mention"
        and (entity.additional_properties.get("mentioned") or {}).get("id") == member_id
        for entity in activity.entities or []
    )


def _admin_command(text: str) -> str | None:
    """The command after a leading ``kb`` (any case), or None when the text is not one."""
    first, _, rest = text.partition(" ")
    return rest.strip() if first.lower() == ADMIN_COMMAND else None


def _question_text(activity: Activity) -> str:
    """The message text without the bot's @mention (Teams puts ``<at>Name</at>`` in it)."""
    text = activity.text or ""
    for entity in activity.entities or []:
        properties = entity.additional_properties
        mentioned = properties.get("mentioned") or {}
        if entity.type == "mention" and mentioned.get("id") == activity.recipient.id:
            text = text.replace(properties.get("text") or "", " ")
    return " ".join(_AT_TAG.sub(" ", text).split())


def _where(activity: Activity) -> str:
    data = activity.channel_data or {}
    channel = (data.get("channel") or {}).get("name")
    team = (data.get("team") or {}).get("name")
    if channel and team:
        return f"{team} › {channel}"
    kinds = {"channel": "a Teams channel", "groupChat": "a group chat"}
    return kinds.get(activity.conversation.conversation_type, "a personal chat")


def _message_link(activity: Activity) -> str:
    """A deep link to the question's reply chain in a channel (chats have none to share)."""
    data = activity.channel_data or {}
    channel = (data.get("channel") or {}).get("id")
    team = data.get("team") or {}
    if not channel or not team.get("aadGroupId"):
        return ""
    root = activity.conversation.id.partition(";messageid=")[2] or activity.id
    query = urlencode(
        {"tenantId": _tenant(activity), "groupId": team["aadGroupId"], "parentMessageId": root}
    )
    return f"https://teams.microsoft.com/l/message/{quote(channel, safe='')}/{root}?{query}"


def _tenant(activity: Activity) -> str:
    # botbuilder's schema reads ``conversation.tenantID``; Teams sends the tenant in channelData.
    return str(((activity.channel_data or {}).get("tenant") or {}).get("id") or "")
