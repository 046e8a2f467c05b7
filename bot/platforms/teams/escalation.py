"""The "Ask a human" button in Teams: the question and its answer posted to the experts, in
their channel or in a chat with the expert on call.

The experts are shown only what they may see under the access rules: a question asked in a
personal chat, or an answer citing documents the experts' channel (or person) may not see, is
posted without its text (who asked, where, why not, and a link). The text comes from what the
bot remembers of the answer where it can, since a card's data can be forged, and everything
someone else wrote (the question, names, the answer from a card) is escaped as literal
Markdown, so no link or ``<at>`` mention in it takes effect.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import quote, urlencode

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationParameters

from bot.core.markdown import literal
from bot.loop.answer_records import AnswerRecord
from bot.loop.curation import Curator
from bot.platforms import escalation_messages
from bot.platforms.access import PlatformAccess
from bot.platforms.escalation_messages import Withheld
from bot.platforms.teams.activity import (
    base_conversation,
    conversation_scopes,
    is_personal,
    tenant,
)
from bot.platforms.teams.cards import CardAction
from bot.platforms.teams.connector import Outcome, send
from bot.platforms.teams.markdown import to_plain_text
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)


class TeamsEscalation:
    def __init__(
        self,
        *,
        curator: Curator,
        access: PlatformAccess,
        app_id: str,
        channel: str | None,
        user: str | None,
        contact: str,
    ) -> None:
        self._curator = curator
        self._access = access
        self._app_id = app_id
        self._channel = channel
        self._user = user
        self._contact = contact

    async def escalate(self, context: TurnContext, action: CardAction) -> str:
        """Post the question and the answer to the experts; returns what to tell the asker."""
        if self._channel is None and self._user is None:
            return escalation_messages.escalation_unavailable(self._contact)
        activity = context.activity
        try:
            text = await self._post_text(activity, action)
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("escalation %s not posted: %s", reference, e)
            return escalation_messages.escalation_unavailable(self._contact) + f" ({reference})"
        post = Activity(type=ActivityTypes.message, text_format="markdown", text=text)
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
            return escalation_messages.escalation_unavailable(self._contact) + f" ({reference})"
        if outcome != "sent":
            return escalation_messages.escalation_unavailable(self._contact)
        return escalation_messages.teams_escalation_sent()

    async def _post_text(self, activity: Activity, action: CardAction) -> str:
        """The post for the experts: in full, or without the text they may not see."""
        record = await self._curator.remembered(action.answer_id)
        if record is not None and not _asked_here(record, activity):
            record = None  # another conversation's answer id, in a forged card
        asker = literal(activity.from_property.name or "Someone")
        where = literal(_where(activity))
        link = _message_link(activity)
        withheld: Withheld | None = None
        if is_personal(activity) or (record is not None and record.private):
            withheld = "private"
        else:
            asked_with = conversation_scopes(activity, self._access)
            audience = self._audience()
            if not await self._curator.shareable(record, asked_with=asked_with, audience=audience):
                withheld = "restricted"
        if withheld is not None:
            return escalation_messages.teams_escalation_withheld(
                asker=asker, where=where, why=withheld, link=link
            )
        question = record.question if record is not None else action.question
        answer = to_plain_text(record.answer.text) if record is not None else action.answer
        return escalation_messages.teams_escalation_post(
            asker=asker, where=where, question=literal(question), answer=literal(answer), link=link
        )

    def _audience(self) -> tuple[str, ...]:
        """What the experts may see: their channel's scopes, or the expert's own."""
        if self._channel is not None:
            return self._access.channel_scopes(self._channel)
        return self._access.person_scopes(self._user or "")


def _asked_here(record: AnswerRecord, activity: Activity) -> bool:
    """Whether the remembered answer was given in the conversation its button was pressed in."""
    reply_to = record.reply_to
    if reply_to is None or reply_to.platform != "teams":
        return False
    conversation = ((reply_to.address.get("reference") or {}).get("conversation") or {}).get("id")
    return base_conversation(str(conversation or "")) == base_conversation(activity.conversation.id)


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
