"""Background-job reports to the Teams admin who sent ``kb add``, in the same personal chat."""

from __future__ import annotations

import logging
import uuid

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationReference

from bot.core.types import ReplyTo
from bot.platforms.teams.connector import send_text

log = logging.getLogger(__name__)


def teams_reply_to(activity: Activity) -> ReplyTo:
    reference = TurnContext.get_conversation_reference(activity)
    return ReplyTo("teams", {"reference": reference.serialize()})


class TeamsReporter:
    def __init__(self, adapter: CloudAdapter, app_id: str) -> None:
        self._adapter = adapter
        self._app_id = app_id

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
