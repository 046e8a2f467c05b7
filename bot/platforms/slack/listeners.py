"""What the bot does with each Slack event, command and button: translate, ask the core, reply.

Bolt acknowledges events before these listeners run (``process_before_response=False``), so
Slack always gets its response within 3 seconds; the answer is posted afterwards.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.answering import AnswerService
from bot.core.types import Question, Turn
from bot.loop.curation import Curator
from bot.loop.feedback import Feedback, PgFeedbackStore
from bot.platforms import messages
from bot.platforms.admin import AdminCommandError, KnowledgeAdmin, parse_admin_command
from bot.platforms.identity import user_hash
from bot.platforms.slack.blocks import (
    ACTION_ASK_HUMAN,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    FEEDBACK_ACTIONS,
    ButtonValue,
    answer_message,
    consent_blocks,
    expert_mentions,
)
from bot.platforms.slack.curation import SlackCuration
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.mrkdwn import to_mrkdwn
from bot.platforms.slack.reporter import slack_reply_to, slack_thread
from bot.service.lifecycle import WorkInProgress
from bot.service.markers import RedisMarkers
from knowledge.errors import DatabaseUnavailableError, LoadError
from knowledge.loading import uploaded

log = logging.getLogger(__name__)

EVENT_TTL_SECONDS = 3600
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


class SlackListeners:
    def __init__(
        self,
        *,
        answers: AnswerService,
        admin: KnowledgeAdmin,
        feedback: PgFeedbackStore,
        markers: RedisMarkers,
        work: WorkInProgress,
        directory: SlackDirectory,
        curator: Curator,
        curation: SlackCuration,
        options: SlackOptions,
    ) -> None:
        self._answers = answers
        self._admin = admin
        self._feedback = feedback
        self._markers = markers
        self._work = work
        self._directory = directory
        self._curator = curator
        self._curation = curation
        self._options = options

    def register(self, app: AsyncApp) -> None:
        app.middleware(self.drop_retried_events)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.command("/kb")(self.on_kb_command)
        app.action(ACTION_HELPFUL)(self.on_feedback)
        app.action(ACTION_NOT_HELPFUL)(self.on_feedback)
        app.action(ACTION_ASK_HUMAN)(self.on_ask_human)
        self._curation.register(app)
        app.error(self.on_error)

    # Events

    async def drop_retried_events(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """A retry of an event that some process already took gets a 200 and nothing else."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await self._markers.claim(f"slack:event:{event_id}", EVENT_TTL_SECONDS):
            log.info("event %s already handled; dropping the retry", event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def on_mention(
        self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("bot_id"):
            return
        await self._answer(client, self._incoming(event, body, private=False))

    async def on_message(
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
                    await self._ingest_files(client, event)
            elif event.get("text", "").strip():
                await self._answer(client, self._incoming(event, body, private=True))
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
            await self._answer(client, self._incoming(event, body, private=False))

    def _incoming(self, event: dict[str, Any], body: dict[str, Any], *, private: bool) -> _Incoming:
        return _Incoming(
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
        if not await self._markers.claim(
            f"slack:message:{incoming.channel}:{incoming.ts}", EVENT_TTL_SECONDS
        ):
            return
        async with self._work.track():
            await self._answer_claimed(client, incoming)

    async def _answer_claimed(self, client: AsyncWebClient, incoming: _Incoming) -> None:
        await self._react(client, "reactions_add", incoming)
        try:
            scopes = await self._directory.scopes_for(
                channel_id=incoming.channel, private=incoming.private, user_id=incoming.user
            )
            # Top-level DMs are answered at top level; everything else in the question's thread.
            thread = incoming.thread_ts or (None if incoming.private else incoming.ts)
            question = Question(
                text=incoming.text,
                scopes=scopes,
                history=await self._history(client, incoming),
                asker=self._hash(incoming.team, incoming.user),
                platform="slack",
                # An admin's later answer goes under the question, wherever it was asked.
                reply_to=slack_thread(incoming.channel, thread or incoming.ts),
            )
            answer = await self._answers.answer(question)
            message = answer_message(answer, question_ts=incoming.ts)
            await client.chat_postMessage(
                channel=incoming.channel,
                thread_ts=thread,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
            if thread is not None and not incoming.private:
                await self._markers.mark(_thread_key(incoming.channel, thread), THREAD_TTL_SECONDS)
        except SlackApiError as e:
            _log_slack_error("posting an answer", e)
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
            _log_slack_error("reading the thread", e)
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

    # Admin: files in DMs and /kb

    async def _ingest_files(self, client: AsyncWebClient, event: dict[str, Any]) -> None:
        channel, user = event["channel"], event["user"]
        if not await self._directory.is_admin(user):
            await self._post_quietly(client, channel, messages.upload_refused())
            return
        for file in event["files"]:
            name = file.get("name") or file.get("title") or "upload"
            try:
                data = await self._download(client, file)
                source = uploaded(
                    name,
                    data,
                    link=file.get("permalink") or file.get("url_private", ""),
                    max_bytes=self._options.max_upload_bytes,
                )
            except LoadError as e:
                await self._post_quietly(client, channel, messages.upload_failed(name, e.reason))
                continue
            reply = await self._admin.ingest_upload(source)
            await self._post_quietly(client, channel, to_mrkdwn(reply))

    async def _download(self, client: AsyncWebClient, file: dict[str, Any]) -> bytes:
        name = file.get("name") or "upload"
        if int(file.get("size") or 0) > self._options.max_upload_bytes:
            limit = self._options.max_upload_bytes // 1_048_576
            raise LoadError(name, f"is over the {limit} MB limit")
        url = file.get("url_private_download") or file.get("url_private") or ""
        # The bot token goes only to Slack's own file hosts, never to a URL someone typed.
        if urlsplit(url).hostname not in self._options.file_hosts:
            raise LoadError(name, "is not a file hosted by Slack")
        headers = {"Authorization": f"Bearer {client.token}"}
        try:
            async with httpx.AsyncClient(timeout=30, follow_redirects=False) as http:
                response = await http.get(url, headers=headers)
        except httpx.HTTPError as e:
            raise LoadError(name, f"could not be downloaded ({e.__class__.__name__})") from e
        if response.status_code != 200:
            raise LoadError(name, f"could not be downloaded (HTTP {response.status_code})")
        return response.content

    async def on_kb_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not await self._directory.is_admin(command["user_id"]):
            await respond(text=messages.admin_refusal(), response_type="ephemeral")
            return
        try:
            parsed = parse_admin_command(command.get("text", ""))
        except AdminCommandError as e:
            await respond(text=to_mrkdwn(str(e)), response_type="ephemeral")
            return
        if parsed.action == "gaps":
            await self._curation.show_gaps(respond)
            return
        if parsed.action == "add":
            reply_to = slack_reply_to(command.get("response_url", ""), command["user_id"])
            reply = await self._admin.queue_add(parsed, reply_to)
        else:
            reply = await self._admin.run(parsed)
        await respond(text=to_mrkdwn(reply), response_type="ephemeral", replace_original=False)

    # Buttons

    async def on_feedback(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        value = ButtonValue.decode(action.get("value", ""))
        vote = FEEDBACK_ACTIONS[action["action_id"]]
        voter = self._hash(body.get("team", {}).get("id", ""), body["user"]["id"])
        try:
            await self._feedback.record(
                Feedback(
                    answer_id=value.answer_id,
                    vote=1 if vote > 0 else -1,
                    voter=voter,
                    platform="slack",
                )
            )
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("feedback %s on answer %s not saved: %s", reference, value.answer_id, e)
            reply = messages.feedback_not_saved(reference)
            await respond(text=reply, response_type="ephemeral", replace_original=False)
            return
        reply = messages.feedback_thanks(vote)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": reply}}]
        if await self._curator.vote(value.answer_id, vote, voter=voter):
            blocks += consent_blocks(action.get("value", ""))
        await respond(text=reply, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def on_ask_human(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        escalation = self._options.escalation_channel
        if escalation is None:
            reply = messages.escalation_unavailable(self._options.contact)
            await respond(text=reply, response_type="ephemeral", replace_original=False)
            return
        value = ButtonValue.decode(action.get("value", ""))
        channel = body["container"]["channel_id"]
        try:
            question = await self._message_text(client, channel, value.question_ts)
            permalink = await client.chat_getPermalink(
                channel=channel, message_ts=value.question_ts
            )
            await client.chat_postMessage(
                channel=escalation,
                text=messages.slack_escalation_post(
                    asker=f"<@{body['user']['id']}>",
                    where=f"<#{channel}>",
                    question=question,
                    answer=(body.get("message") or {}).get("text", ""),
                    permalink=permalink["permalink"],
                    experts=expert_mentions(self._options.experts),
                ),
                unfurl_links=False,
            )
            reply = messages.escalation_sent(f"<#{escalation}>")
        except SlackApiError as e:
            reference = _log_slack_error("escalating a question", e)
            reply = messages.escalation_unavailable(self._options.contact) + f" ({reference})"
        await respond(text=reply, response_type="ephemeral", replace_original=False)

    async def _message_text(self, client: AsyncWebClient, channel: str, ts: str) -> str:
        response = await client.conversations_replies(channel=channel, ts=ts, limit=1000)
        for message in response.get("messages") or []:
            if message.get("ts") == ts:
                return str(message.get("text", ""))
        return ""

    # Plumbing

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "unhandled error %s in a Slack %s: %s",
            reference, body.get("type") or "request", error, exc_info=error,
        )  # fmt: skip

    async def _post_quietly(self, client: AsyncWebClient, channel: str, text: str) -> None:
        try:
            await client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        except SlackApiError as e:
            _log_slack_error("posting a reply", e)

    def _hash(self, team: str, user: str) -> str:
        return user_hash("slack", f"{team}:{user}", self._options.user_hash_key)


def _thread_key(channel: str, thread_ts: str) -> str:
    return f"slack:thread:{channel}:{thread_ts}"


def _log_slack_error(doing: str, error: SlackApiError) -> str:
    """Log a Web API failure with a reference people can quote; returns the reference."""
    reference = uuid.uuid4().hex[:12]
    code = error.response.get("error") if error.response is not None else None
    log.warning("Slack error %s while %s: %s", reference, doing, code or error)
    return reference
