"""The buttons under a Slack answer: Slack's own 👍/👎 (and the vote buttons of answers posted
before them), and "Ask a human", which posts the question and its answer to the experts'
channel.

The experts' channel is shown only what it may see under the access rules: a question asked
in a DM, or an answer citing documents the channel may not see, is posted without its text
(who asked, where, why not, and a link). The asker's text is escaped, so a ``<!channel>`` or
a disguised link in it reaches the experts as plain text.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.loop.curation import Curator
from bot.loop.feedback import Feedback, PgFeedbackStore
from bot.platforms import escalation_messages, messages
from bot.platforms.escalation_messages import Withheld
from bot.platforms.identity import user_hash
from bot.platforms.slack.blocks import (
    ACTION_ASK_HUMAN,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    FEEDBACK_ACTIONS,
    consent_blocks,
    expert_mentions,
)
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.errors import log_slack_error
from bot.platforms.slack.feedback_blocks import ACTION_FEEDBACK, ButtonValue, FeedbackValue
from bot.platforms.slack.mrkdwn import escape
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)


class SlackAnswerButtons:
    def __init__(
        self,
        *,
        feedback: PgFeedbackStore,
        curator: Curator,
        directory: SlackDirectory,
        escalation_channel: str | None,
        experts: tuple[str, ...],
        contact: str,
        user_hash_key: bytes | None,
    ) -> None:
        self._feedback = feedback
        self._curator = curator
        self._directory = directory
        self._escalation_channel = escalation_channel
        self._experts = experts
        self._contact = contact
        self._user_hash_key = user_hash_key

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION_HELPFUL)(self.on_feedback)
        app.action(ACTION_NOT_HELPFUL)(self.on_feedback)
        app.action(ACTION_ASK_HUMAN)(self.on_ask_human)
        app.action(ACTION_FEEDBACK)(self.on_native_feedback)

    async def on_feedback(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """A press of an older answer's own vote button."""
        await ack()
        vote = FEEDBACK_ACTIONS[action["action_id"]]
        await self._vote(body, vote, ButtonValue.decode(action.get("value", "")), respond)

    async def on_native_feedback(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """A press of Slack's own 👍/👎 (``feedback_buttons``) under an answer."""
        await ack()
        pressed = FeedbackValue.decode(action.get("value", ""))
        if pressed is None:
            log.info("feedback with a value that is not ours; ignored")
            return
        await self._vote(body, pressed.vote, pressed.button, respond)

    async def _vote(
        self, body: dict[str, Any], vote: int, value: ButtonValue, respond: AsyncRespond
    ) -> None:
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
            blocks += consent_blocks(value.encode())
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
        escalation = self._escalation_channel
        if escalation is None:
            reply = escalation_messages.escalation_unavailable(self._contact)
            await respond(text=reply, response_type="ephemeral", replace_original=False)
            return
        value = ButtonValue.decode(action.get("value", ""))
        channel = body["container"]["channel_id"]
        user = body["user"]["id"]
        try:
            permalink = await client.chat_getPermalink(
                channel=channel, message_ts=value.question_ts
            )
            post = await self._escalation_post(
                client, body, value, permalink["permalink"], escalation
            )
            await client.chat_postMessage(channel=escalation, text=post, unfurl_links=False)
            reply = escalation_messages.escalation_sent(f"<#{escalation}>")
        except SlackApiError as e:
            reference = log_slack_error("escalating a question", e)
            reply = escalation_messages.escalation_unavailable(self._contact) + f" ({reference})"
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("escalation %s by %s not posted: %s", reference, user, e)
            reply = escalation_messages.escalation_unavailable(self._contact) + f" ({reference})"
        await respond(text=reply, response_type="ephemeral", replace_original=False)

    async def _escalation_post(
        self,
        client: AsyncWebClient,
        body: dict[str, Any],
        value: ButtonValue,
        permalink: str,
        escalation: str,
    ) -> str:
        """The post for the experts: in full, or without the text the channel may not see."""
        channel = body["container"]["channel_id"]
        user = body["user"]["id"]
        record = await self._curator.remembered(value.answer_id)
        private = _is_direct_message(body) or (record is not None and record.private)
        where = escalation_messages.slack_direct_message() if private else f"<#{channel}>"
        withheld: Withheld | None = "private" if private else None
        if withheld is None:
            audience = await self._directory.scopes_for(
                channel_id=escalation, private=False, user_id=user
            )
            asked_with = await self._directory.scopes_for(
                channel_id=channel, private=False, user_id=user
            )
            if not await self._curator.shareable(record, asked_with=asked_with, audience=audience):
                withheld = "restricted"
        experts = expert_mentions(self._experts)
        if withheld is not None:
            return escalation_messages.slack_escalation_withheld(
                asker=f"<@{user}>", where=where, why=withheld, permalink=permalink, experts=experts
            )
        # The question as answered (mentions of the bot taken out), else as it is in Slack.
        question = record.question if record is not None else ""
        question = question or await self._message_text(client, channel, value.question_ts)
        return escalation_messages.slack_escalation_post(
            asker=f"<@{user}>",
            where=where,
            question=escape(question),
            # The bot's own message as Slack shows it: mrkdwn it wrote and escaped itself.
            answer=(body.get("message") or {}).get("text", ""),
            permalink=permalink,
            experts=experts,
        )

    async def _message_text(self, client: AsyncWebClient, channel: str, ts: str) -> str:
        response = await client.conversations_replies(channel=channel, ts=ts, limit=1000)
        for message in response.get("messages") or []:
            if message.get("ts") == ts:
                return str(message.get("text", ""))
        return ""

    def _hash(self, team: str, user: str) -> str:
        return user_hash("slack", f"{team}:{user}", self._user_hash_key)


def _is_direct_message(body: dict[str, Any]) -> bool:
    """Whether the button was pressed in a DM with the bot (Slack's DM ids start with D)."""
    channel = body.get("channel") or {}
    return channel.get("name") == "directmessage" or str(
        body["container"].get("channel_id", "")
    ).startswith("D")
