"""Document owners in Teams: an Azure AD object id, written to in a new personal chat.

A chat is created through the Bot Connector of ``TEAMS_SERVICE_URL`` (the bot learns a
service URL only from activities, and an owner may never have written to it), in the tenant
of ``MICROSOFT_APP_TENANT_ID`` or the first of ``TEAMS_ALLOWED_TENANTS``. An e-mail address
is not looked up in Teams (that needs Microsoft Graph): Slack may still know it.
"""

from __future__ import annotations

import re

from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

from bot.core.types import ReplyTo

_AAD_OBJECT_ID = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)


def teams_person(user: str, *, app_id: str, service_url: str, tenant: str | None) -> ReplyTo:
    """Where a private message reaches ``user`` (an Azure AD object id): a chat the reporter
    creates (``report_privately``)."""
    reference = ConversationReference(
        bot=ChannelAccount(id=f"28:{app_id}"),
        user=ChannelAccount(id=user),
        conversation=ConversationAccount(id=""),
        channel_id="msteams",
        service_url=service_url,
    )
    return ReplyTo(
        "teams",
        {"reference": reference.serialize(), "private": False, "user": user, "tenant": tenant},
    )


class TeamsOwnerDirectory:
    def __init__(self, *, app_id: str, service_url: str, tenant: str | None) -> None:
        self._app_id = app_id
        self._service_url = service_url
        self._tenant = tenant

    async def find(self, owner: str) -> ReplyTo | None:
        owner = owner.strip()
        if not _AAD_OBJECT_ID.match(owner):
            return None
        return teams_person(
            owner, app_id=self._app_id, service_url=self._service_url, tenant=self._tenant
        )
