"""The buttons under a Slack answer: the helpful and not-helpful votes, and "Ask a human",
which posts the question and its answer to the experts' channel."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.loop.curation import Curator
from bot.loop.feedback import Feedback, PgFeedbackStore
from bot.platforms import messages
from bot.platforms.identity import user_hash
from bot.platforms.slack.blocks import (
    ACTION_ASK_HUMAN,
    ACTION_HELPFUL,
    ACTION_NOT_HELPFUL,
    FEEDBACK_ACTIONS,
    ButtonValue,
    consent_blocks,
    expert_mentions,
)
from bot.platforms.slack.errors import log_slack_error
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)


class SlackAnswerButtons:
    def __init__(
        self,
        *,
        feedback: PgFeedbackStore,
        curator: Curator,
        escalation_channel: str | None,
        experts: tuple[str, ...],
        contact: str,
        user_hash_key: bytes | None,
    ) -> None:
        self._feedback = feedback
        self._curator = curator
        self._escalation_channel = escalation_channel
        self._experts = experts
        self._contact = contact
        self._user_hash_key = user_hash_key

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION_HELPFUL)(self.on_feedback)
        app.action(ACTION_NOT_HELPFUL)(self.on_feedback)
        app.action(ACTION_ASK_HUMAN)(self.on_ask_human)

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
        escalation = self._escalation_channel
        if escalation is None:
            reply = messages.escalation_unavailable(self._contact)
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
                    experts=expert_mentions(self._experts),
                ),
                unfurl_links=False,
            )
            reply = messages.escalation_sent(f"<#{escalation}>")
        except SlackApiError as e:
            reference = log_slack_error("escalating a question", e)
            reply = messages.escalation_unavailable(self._contact) + f" ({reference})"
        await respond(text=reply, response_type="ephemeral", replace_original=False)

    async def _message_text(self, client: AsyncWebClient, channel: str, ts: str) -> str:
        response = await client.conversations_replies(channel=channel, ts=ts, limit=1000)
        for message in response.get("messages") or []:
            if message.get("ts") == ts:
                return str(message.get("text", ""))
        return ""

    def _hash(self, team: str, user: str) -> str:
        return user_hash("slack", f"{team}:{user}", self._user_hash_key)
