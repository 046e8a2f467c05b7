"""Messages posted later in Teams: background-job reports to the admin who sent ``kb add``, in
the same personal chat, and an admin's answer to the employee who asked, in their question's
reply chain or, when not everyone there may see it, in their personal chat with the bot."""

from __future__ import annotations

import logging
import uuid

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from bot.core.types import ReplyTo
from bot.platforms.access import PlatformAccess
from bot.platforms.delivery import Audience
from bot.platforms.teams.activity import access_ids, is_personal, tenant, user_id
from bot.platforms.teams.connector import send_text

log = logging.getLogger(__name__)


def teams_reply_to(activity: Activity) -> ReplyTo:
    """Where to answer ``activity`` later, and what the access rules need to know about it."""
    reference = TurnContext.get_conversation_reference(activity)
    return ReplyTo(
        "teams",
        {
            "reference": reference.serialize(),
            "private": is_personal(activity),
            "user": user_id(activity),
            "access_ids": access_ids(activity),
            "tenant": tenant(activity),
        },
    )


class TeamsReporter:
    def __init__(self, adapter: CloudAdapter, app_id: str, access: PlatformAccess) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._access = access

    async def report(self, reply_to: ReplyTo, markdown: str) -> None:
        reference = ConversationReference.deserialize(reply_to.address.get("reference") or {})

        async def post(context: TurnContext) -> None:
            # The continuation activity has a fresh id; reply to the command instead.
            context.activity.id = reference.activity_id
            await send_text(context, markdown)

        try:
            await self._adapter.continue_conversation(reference, post, self._app_id)
        except Exception as e:  # the connector raises msrest errors of several kinds
            log.warning("Teams error %s while reporting a job: %s", uuid.uuid4().hex[:12], e)

    async def report_privately(self, reply_to: ReplyTo, markdown: str) -> None:
        if reply_to.address.get("private", True):
            await self.report(reply_to, markdown)
            return
        reference = ConversationReference.deserialize(reply_to.address.get("reference") or {})
        member = reference.user.id if reference.user is not None else None
        if not member:
            log.warning("a message for one person has no one to go to; not sent")
            return
        parameters = ConversationParameters(
            is_group=False,
            bot=reference.bot,
            members=[ChannelAccount(id=member)],
            tenant_id=reply_to.address.get("tenant") or None,
        )

        async def post(chat: TurnContext) -> None:
            await send_text(chat, markdown)

        try:
            await self._adapter.create_conversation(
                self._app_id, post, parameters, reference.channel_id, reference.service_url
            )
        except Exception as e:  # the connector raises msrest errors of several kinds
            reference_id = uuid.uuid4().hex[:12]
            log.warning("Teams error %s while writing to an asker: %s", reference_id, e)

    async def audience(self, reply_to: ReplyTo) -> Audience:
        user = str(reply_to.address.get("user") or "")
        if not user:  # a reply chain queued before askers were kept: only what everyone sees
            return Audience()
        person = self._access.person_scopes(user)
        if reply_to.address.get("private", True):
            return Audience(person, person)
        ids = [str(i) for i in reply_to.address.get("access_ids") or []]
        return Audience(self._access.channel_scopes(*ids), person)
