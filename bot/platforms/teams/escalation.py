"""The "Ask a human" button in Teams: the question and its answer posted to the experts, in
their channel or in a chat with the expert on call."""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote, urlencode

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationParameters

from bot.platforms import messages
from bot.platforms.teams.activity import tenant
from bot.platforms.teams.cards import CardAction
from bot.platforms.teams.connector import Outcome, send

log = logging.getLogger(__name__)


class TeamsEscalation:
    def __init__(self, *, app_id: str, channel: str | None, user: str | None, contact: str) -> None:
        self._app_id = app_id
        self._channel = channel
        self._user = user
        self._contact = contact

    async def escalate(self, context: TurnContext, action: CardAction) -> str:
        """Post the question and the answer to the experts; returns what to tell the asker."""
        if self._channel is None and self._user is None:
            return messages.escalation_unavailable(self._contact)
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
        if self._channel is not None:
            parameters = ConversationParameters(
                is_group=True,
                bot=activity.recipient,
                channel_data={"channel": {"id": self._channel}},
                activity=post,
                tenant_id=tenant(activity),
            )
        else:
            parameters = ConversationParameters(
                is_group=False,
                bot=activity.recipient,
                members=[ChannelAccount(id=self._user)],
                tenant_id=tenant(activity),
            )
        # A channel post is made with the conversation; a chat with a person needs sending.
        outcome: Outcome = "sent"

        async def post_in_chat(chat: TurnContext) -> None:
            nonlocal outcome
            if self._channel is None:
                outcome = await send(chat, post, doing="escalating a question")

        try:
            await context.adapter.create_conversation(
                self._app_id,
                post_in_chat,
                parameters,
                activity.channel_id,
                activity.service_url,
            )
        except Exception as e:  # the connector raises msrest errors of several kinds
            reference = uuid.uuid4().hex[:12]
            log.warning("Teams error %s while escalating a question: %s", reference, e)
            return messages.escalation_unavailable(self._contact) + f" ({reference})"
        if outcome != "sent":
            return messages.escalation_unavailable(self._contact)
        return messages.teams_escalation_sent()


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
        {"tenantId": tenant(activity), "groupId": team["aadGroupId"], "parentMessageId": root}
    )
    return f"https://teams.microsoft.com/l/message/{quote(channel, safe='')}/{root}?{query}"
